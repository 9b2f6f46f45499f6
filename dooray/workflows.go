package dooray

import (
	"context"
	"net/http"
)

// WorkflowClass is the fixed meaning behind a project's customisable workflow
// names; map states by class (or id), never by name.
type WorkflowClass string

const (
	Backlog    WorkflowClass = "backlog"    // 대기
	Registered WorkflowClass = "registered" // to do
	Working    WorkflowClass = "working"    // in progress
	Closed     WorkflowClass = "closed"     // done
)

// Workflow is one task state of a project.
type Workflow struct {
	ID    ID              `json:"id"`
	Name  string          `json:"name"`
	Order int             `json:"order"` // position within its class
	Names []LocalizedName `json:"names"`
	Class WorkflowClass   `json:"class"`
}

// LocalizedName is a name in one locale (ko_KR, en_US, ja_JP, zh_CN).
type LocalizedName struct {
	Locale string `json:"locale"`
	Name   string `json:"name"`
}

// WorkflowRef is how posts point at their workflow.
type WorkflowRef struct {
	ID   ID     `json:"id"`
	Name string `json:"name,omitempty"`
}

// Workflows returns the task states of a project.
func (c *Client) Workflows(ctx context.Context, projectID ID) ([]Workflow, error) {
	path := apiPath("/project/v1/projects/%s/workflows", projectID)
	if projectID == "" {
		return nil, invalid(http.MethodGet, path, "empty project id")
	}
	var ws []Workflow
	_, err := c.do(ctx, call{method: http.MethodGet, path: path, idempotent: true}, &ws)
	return ws, err
}

// FirstOfClass returns the first workflow of class by order, the one a move to
// that class should pick when the project has several.
func FirstOfClass(ws []Workflow, class WorkflowClass) (Workflow, bool) {
	var best Workflow
	found := false
	for _, w := range ws {
		if w.Class == class && (!found || w.Order < best.Order) {
			best, found = w, true
		}
	}
	return best, found
}
