package oauth

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
)

// SASL mechanisms that carry an OAuth2 bearer token.
const (
	MechOAuthBearer = "OAUTHBEARER" // RFC 7628 (Google, Dovecot)
	MechXOAuth2     = "XOAUTH2"     // Google's and Microsoft's older form (the only one Microsoft 365 offers)
)

// PickMechanism returns the mechanism to use among those a server offers
// (OAUTHBEARER before XOAUTH2), or "" when it offers neither.
func PickMechanism(offered []string) string {
	has := func(m string) bool {
		for _, o := range offered {
			if strings.EqualFold(o, m) {
				return true
			}
		}
		return false
	}
	for _, m := range []string{MechOAuthBearer, MechXOAuth2} {
		if has(m) {
			return m
		}
	}
	return ""
}

// NewSASLClient returns the client of mech presenting token for user. host and
// port go into OAUTHBEARER's message, as RFC 7628 asks.
func NewSASLClient(mech, user, token, host string, port int) (sasl.Client, error) {
	switch strings.ToUpper(mech) {
	case MechOAuthBearer:
		return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: token, Host: host, Port: port}), nil
	case MechXOAuth2:
		return &xoauth2Client{user: user, token: token}, nil
	}
	return nil, fmt.Errorf("oauth: SASL mechanism %q does not carry OAuth2 tokens", mech)
}

// xoauth2Client is the XOAUTH2 mechanism: one message
// "user=U ^A auth=Bearer T ^A ^A". A server that refuses the token answers
// with a JSON challenge, reported as a *ServerError.
type xoauth2Client struct{ user, token string }

func (c *xoauth2Client) Start() (string, []byte, error) {
	return MechXOAuth2, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	e := &ServerError{}
	if err := json.Unmarshal(challenge, e); err != nil {
		return nil, fmt.Errorf("oauth: XOAUTH2 server sent an unreadable challenge: %w", err)
	}
	return nil, e
}

// ServerError is a server's refusal of a token during XOAUTH2 (its JSON
// challenge). OAUTHBEARER's counterpart is go-sasl's *sasl.OAuthBearerError.
type ServerError struct {
	Status  string `json:"status"`
	Schemes string `json:"schemes"`
	Scope   string `json:"scope"`
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("XOAUTH2 authentication error (status %s, scope %q)", e.Status, e.Scope)
}
