package api

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Role is what a token may do. An operator works tickets; an administrator
// also takes the actions the seed reserves for administrators: completing,
// restoring from the spam box, deleting spam, and unmasking personal data.
type Role string

const (
	RoleOperator      Role = "operator"
	RoleAdministrator Role = "administrator"
)

// Token is one bearer token of the API. Name is recorded as the actor of
// every event its requests cause: a request body cannot name someone else.
type Token struct {
	Name   string
	Role   Role
	Secret string
}

// administratorOnly lists the operations an operator's token is refused (403).
var administratorOnly = map[string]bool{
	"POST /api/v1/tickets/{id}/complete":                  true,
	"POST /api/v1/tickets/{id}/restore":                   true,
	"DELETE /api/v1/tickets/{id}":                         true, // delete spam
	"POST /api/v1/tickets/{id}/messages/{message}/unmask": true,
}

type identityKey struct{}

// identify finds the token of the request, comparing in constant time with
// every token so that the time taken tells nothing about which one is close.
func (v *V1) identify(r *http.Request) (Token, bool) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || secret == "" {
		return Token{}, false
	}
	var found Token
	var match int
	for _, t := range v.Tokens {
		if t.Secret == "" {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(secret), []byte(t.Secret)) == 1 {
			found, match = t, match+1
		}
	}
	return found, match == 1
}

// auth lets through a request with a known token whose role allows the
// operation, with the token in its context.
func (v *V1) auth(pattern string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := v.identify(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="contiple-worker"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: apiError{Code: "unauthorized", Message: "a valid bearer token is required"}})
			return
		}
		if administratorOnly[pattern] && tok.Role != RoleAdministrator {
			writeJSON(w, http.StatusForbidden, errorBody{Error: apiError{Code: "forbidden",
				Message: "this operation needs an administrator's token; " + tok.Name + " is an " + string(tok.Role),
				Details: map[string]string{"token": tok.Name, "role": string(tok.Role), "needs": string(RoleAdministrator)}}})
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, tok)))
	})
}

// actorOf is who acts: the name of the request's token.
func actorOf(ctx context.Context) string {
	tok, _ := ctx.Value(identityKey{}).(Token)
	return tok.Name
}
