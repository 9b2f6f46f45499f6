// Package mailer renders the resolve and hold mails of each service from
// templates, previews them with their forbidden words, and sends them over SMTP
// with go-mail. It knows nothing of tickets: callers pass the data in.
package mailer
