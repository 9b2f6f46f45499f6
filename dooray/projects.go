package dooray

import (
	"context"
	"iter"
	"net/http"
	"net/url"
)

// Project is a Dooray! project.
type Project struct {
	ID                ID     `json:"id"`
	Code              string `json:"code"`
	Description       string `json:"description"`
	State             string `json:"state"` // active | archived | deleted
	Scope             string `json:"scope"` // private | public
	Type              string `json:"type"`  // public | private (personal)
	OrganizationID    ID     `json:"organizationId"`
	ProjectCategoryID ID     `json:"projectCategoryId"`
	Organization      *struct {
		ID ID `json:"id"`
	} `json:"organization,omitempty"`
}

// ProjectFilter narrows ListProjects; zero values leave Dooray!'s defaults.
type ProjectFilter struct {
	Member string // "me": projects the token's member belongs to
	Type   string // public (default) | private
	Scope  string // private | public
	State  string // active | archived | deleted
	Page   int
	Size   int // ≤ MaxPageSize
}

// GetProject returns one project.
func (c *Client) GetProject(ctx context.Context, projectID ID) (Project, error) {
	var p Project
	path := apiPath("/project/v1/projects/%s", projectID)
	if projectID == "" {
		return p, invalid(http.MethodGet, path, "empty project id")
	}
	_, err := c.do(ctx, call{method: http.MethodGet, path: path, idempotent: true}, &p)
	return p, err
}

// ListProjects returns one page of projects.
func (c *Client) ListProjects(ctx context.Context, f ProjectFilter) (Page[Project], error) {
	q := url.Values{}
	for k, v := range map[string]string{"member": f.Member, "type": f.Type, "scope": f.Scope, "state": f.State} {
		if v != "" {
			q.Set(k, v)
		}
	}
	page, size := setPaging(q, f.Page, f.Size)
	var items []Project
	total, err := c.do(ctx, call{method: http.MethodGet, path: "/project/v1/projects", query: q, idempotent: true}, &items)
	return Page[Project]{Items: items, TotalCount: total, Page: page, Size: size}, err
}

// AllProjects iterates every project matching f (its Page and Size are ignored).
func (c *Client) AllProjects(ctx context.Context, f ProjectFilter) iter.Seq2[Project, error] {
	return all(ctx, func(ctx context.Context, page, size int) (Page[Project], error) {
		f.Page, f.Size = page, size
		return c.ListProjects(ctx, f)
	})
}
