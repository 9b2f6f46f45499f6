// Package oauthtest is a small OAuth2 authorization server for tests and for
// `contiple-worker demo --oauth2`: client credentials, refresh tokens that
// rotate, the JWT-bearer grant of Google service accounts, the device-code
// flow and the authorization-code flow with PKCE. Its access tokens are RS256
// JWTs signed with the key that scripts/services.sh gave the local Dovecot, so
// Dovecot (and Postfix through it) accepts them until their exp. Tokens expire
// and grants are revoked on demand, and every request to the token endpoint
// is counted.
package oauthtest
