// Package mailer renders the resolve and hold mails of each service from
// templates (text/template for subject and text, html/template for HTML; built-in
// ja, ko and en forms), previews them with their forbidden words, builds the
// MIME message (threading headers, Auto-Submitted, no header injection) and sends
// it over SMTP with go-mail, reusing connections and classifying failures as
// permanent or temporary. It knows nothing of tickets: callers pass the data in.
package mailer
