package main

import (
	"github.com/contiple/contiple-worker/api"
	"github.com/contiple/contiple-worker/internal/config"
)

// apiTokens reads the API's tokens (http.api_token_env as the administrator
// "api", and http.api_tokens); none leaves the API off, and the log says why.
func (a *app) apiTokens(h config.HTTP) []api.Token {
	resolved, err := config.ResolveAPITokens(h)
	if err != nil {
		a.log.Warn("integration API: tokens left out", "err", err)
	}
	if len(resolved) == 0 {
		a.log.Warn("integration API disabled: no token (http.api_tokens or http.api_token_env)", "endpoint", "integration API")
		return nil
	}
	tokens := make([]api.Token, len(resolved))
	for i, t := range resolved {
		tokens[i] = api.Token{Name: t.Name, Role: api.Role(t.Role), Secret: t.Secret}
	}
	return tokens
}
