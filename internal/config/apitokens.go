package config

import (
	"errors"
	"fmt"
)

// APIRoles are the roles an API token may have.
var APIRoles = []string{"operator", "administrator"}

// apiTokens checks http.api_tokens: each a unique name, a role and one secret.
func (v *validator) apiTokens(h HTTP) {
	names := map[string]bool{}
	if h.APITokenEnv != "" {
		names[LegacyAPITokenName] = true
	}
	for i, t := range h.APITokens {
		p := fmt.Sprintf("http.api_tokens[%d]", i)
		switch {
		case t.Name == "":
			v.add(p+".name", "is required: it is recorded as the actor of what the token does")
		case names[t.Name] && t.Name == LegacyAPITokenName:
			v.add(p+".name", "%q is the name of the token http.api_token_env names", t.Name)
		case names[t.Name]:
			v.add(p+".name", "%q is declared twice", t.Name)
		}
		names[t.Name] = true
		v.oneOf(p+".role", t.Role, APIRoles)
		v.secret(p+".token", t.TokenEnv, t.TokenFile)
		if t.TokenEnv == "" && t.TokenFile == "" {
			v.add(p+".token_env", "is required (or token_file)")
		}
	}
}

// ResolvedAPIToken is an API token with its secret read.
type ResolvedAPIToken struct {
	Name, Role, Secret string
}

// ResolveAPITokens reads the secrets of every API token: api_token_env (as the
// administrator "api") and api_tokens. A token whose secret is missing is left
// out and named in the error; two tokens with the same secret are refused, as
// the name a request acts under would then be a guess.
func ResolveAPITokens(h HTTP) ([]ResolvedAPIToken, error) {
	var out []ResolvedAPIToken
	var problems []error
	add := func(name, role, env, file string) {
		secret, err := Secret(env, file)
		if err != nil {
			problems = append(problems, fmt.Errorf("API token %q: %w", name, err))
			return
		}
		for _, o := range out {
			if o.Secret == secret {
				problems = append(problems, fmt.Errorf("API tokens %q and %q have the same secret; both left out", o.Name, name))
				out = deleteToken(out, o.Name)
				return
			}
		}
		out = append(out, ResolvedAPIToken{Name: name, Role: role, Secret: secret})
	}
	if h.APITokenEnv != "" {
		add(LegacyAPITokenName, "administrator", h.APITokenEnv, "")
	}
	for _, t := range h.APITokens {
		add(t.Name, t.Role, t.TokenEnv, t.TokenFile)
	}
	return out, errors.Join(problems...)
}

func deleteToken(ts []ResolvedAPIToken, name string) []ResolvedAPIToken {
	out := ts[:0]
	for _, t := range ts {
		if t.Name != name {
			out = append(out, t)
		}
	}
	return out
}
