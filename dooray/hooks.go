package dooray

import (
	"context"
	"net/http"
	"strings"
)

// Hook registration types.
const (
	HookTypeTask    = "task"
	HookTypeProject = "project"
)

// HookRegistration is the body of RegisterHook. Dooray! has no signing secret
// for hooks: put an unguessable token into URL and treat payloads as hints.
type HookRegistration struct {
	URL        string       `json:"url"`
	Type       string       `json:"type,omitempty"` // task (default) | project
	SendEvents []string     `json:"sendEvents,omitempty"`
	Option     *HookOptions `json:"option,omitempty"`
}

// HookOptions ask for bodies inside the payloads.
type HookOptions struct {
	Body struct {
		Include          bool `json:"include"`
		EmbedInlineImage bool `json:"embedInlineImage"`
	} `json:"body"`
}

// RegisterHook makes Dooray! POST project events to reg.URL. There is no API
// to list or delete hooks (that is done in the web UI), so every call adds one.
func (c *Client) RegisterHook(ctx context.Context, projectID ID, reg HookRegistration) (ID, error) {
	path := apiPath("/project/v1/projects/%s/hooks", projectID)
	if projectID == "" {
		return "", invalid(http.MethodPost, path, "empty project id")
	}
	if !strings.HasPrefix(reg.URL, "https://") && !strings.HasPrefix(reg.URL, "http://") {
		return "", invalid(http.MethodPost, path, "hook URL must be http(s)")
	}
	cl, err := jsonCall(http.MethodPost, path, reg, false)
	if err != nil {
		return "", err
	}
	return c.create(ctx, cl)
}
