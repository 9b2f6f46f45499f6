// Package oauth logs mailboxes in with OAuth2: token sources for Microsoft 365,
// Google Workspace and a generic provider (golang.org/x/oauth2), their access
// tokens shared through Redis and refreshed early by one process at a time, the
// rotated refresh token persisted before it is used again, and the XOAUTH2 and
// OAUTHBEARER SASL clients that present a token to IMAP and SMTP servers.
//
// It is a leaf: the mail adapters take a small authenticator interface that
// *Authenticator satisfies, and cmd wires the two together.
package oauth
