package dooray

import (
	"context"
	"net/http"
	"net/url"
)

// Me is the member that owns the token.
type Me struct {
	ID                   ID     `json:"id"` // = organizationMemberId
	Name                 string `json:"name"`
	UserCode             string `json:"userCode"`
	ExternalEmailAddress string `json:"externalEmailAddress"`
	IDProviderType       string `json:"idProviderType"`
	IDProviderUserID     string `json:"idProviderUserId"`
	DefaultOrganization  struct {
		ID ID `json:"id"`
	} `json:"defaultOrganization"`
	Locale       string `json:"locale"`
	TimezoneName string `json:"timezoneName"`
}

// Me returns the token's member: the bot's id, needed to skip its own events.
func (c *Client) Me(ctx context.Context) (Me, error) {
	var m Me
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/common/v1/members/me", idempotent: true}, &m)
	return m, err
}

// Member returns a member by id (the same shape as Me); a missing one is a
// 404 APIError (IsNotFound).
func (c *Client) Member(ctx context.Context, id ID) (Me, error) {
	var m Me
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/common/v1/members/" + url.PathEscape(string(id)), idempotent: true}, &m)
	return m, err
}
