package oauth

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
)

// AuthorizationError is a lost or refused authorization: the provider
// answered invalid_grant (a refresh token revoked, expired or rotated away;
// consent withdrawn), invalid_client, unauthorized_client and the like. Trying
// again cannot help until an operator acts, so the Source does not ask the
// provider again before Until (or before a new refresh token is stored).
type AuthorizationError struct {
	Name  string    // the login, e.g. "mailbox support"
	Code  string    // the OAuth2 error code, e.g. invalid_grant
	Until time.Time // no new attempt before this
	Err   error
	hint  string // what the operator should do
}

func (e *AuthorizationError) Error() string {
	s := fmt.Sprintf("oauth2 %s: authorization lost (%s): %v", e.Name, e.Code, e.Err)
	if e.hint != "" {
		s += "; " + e.hint
	}
	if !e.Until.IsZero() {
		s += "; next attempt after " + e.Until.UTC().Format(time.RFC3339)
	}
	return s
}

func (e *AuthorizationError) Unwrap() error { return e.Err }

// IsAuthorizationLost reports whether err is (or wraps) an *AuthorizationError.
func IsAuthorizationLost(err error) bool {
	var ae *AuthorizationError
	return errors.As(err, &ae)
}

// permanentCodes are the token endpoint's answers that only an operator can fix.
var permanentCodes = map[string]bool{
	"invalid_grant": true, "invalid_client": true, "unauthorized_client": true, "invalid_scope": true,
	"access_denied": true, "consent_required": true, "interaction_required": true, "unsupported_grant_type": true,
}

// classify turns a token endpoint failure into an *AuthorizationError when
// it is permanent; network failures and 5xx stay as they are (temporary).
func (c Config) classify(err error) error {
	var ae *AuthorizationError
	if errors.As(err, &ae) {
		return err
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && (permanentCodes[re.ErrorCode] || re.Response != nil && re.Response.StatusCode == 401) {
		code := re.ErrorCode
		if code == "" {
			code = re.Response.Status
		}
		return &AuthorizationError{Name: c.Name, Code: code, Err: errors.New(describe(re)), hint: c.hint()}
	}
	return fmt.Errorf("oauth2 %s: token endpoint: %w", c.Name, err)
}

// describe is the provider's own words, without the response body (which
// could echo what was sent).
func describe(re *oauth2.RetrieveError) string {
	if re.ErrorDescription != "" {
		return re.ErrorCode + ": " + re.ErrorDescription
	}
	if re.ErrorCode != "" {
		return re.ErrorCode
	}
	return "HTTP " + re.Response.Status
}

// Permanent is true: only an operator can mend a lost authorization. The
// mail adapters ask for it without importing this package.
func (e *AuthorizationError) Permanent() bool { return true }
