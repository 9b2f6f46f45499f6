package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// DoorayDefaultOrganization is the organisation of the old single `dooray:`
// block of the configuration, and of every link made before organisations.
const DoorayDefaultOrganization = "default"

// ErrDoorayOff refuses an escalation from a service whose Dooray! transfer is
// switched off. The service's open escalations keep syncing.
var ErrDoorayOff = errors.New("Dooray! transfer is switched off for this service")

// DoorayServiceSettings is the Dooray! part of a service (services.settings):
// the switch, the default organisation and project, the assignees there, and
// the further organisations escalations may go to.
type DoorayServiceSettings struct {
	Enabled       *bool              `json:"dooray_enabled,omitempty"` // nil: on
	Organization  string             `json:"dooray_organization,omitempty"`
	ProjectID     string             `json:"dooray_project_id,omitempty"`
	Projects      []string           `json:"dooray_projects,omitempty"` // allowed in the default organisation; empty: any
	ToMemberIDs   json.RawMessage    `json:"dooray_to_member_ids,omitempty"`
	ToEmails      json.RawMessage    `json:"dooray_to_emails,omitempty"`
	Organizations []DoorayServiceOrg `json:"dooray_organizations,omitempty"`
}

// DoorayServiceOrg is a further organisation a service may transfer to.
type DoorayServiceOrg struct {
	Key         string   `json:"key"`
	Projects    []string `json:"projects,omitempty"` // allowed there, the first the default; empty: any
	ToMemberIDs []string `json:"to_member_ids,omitempty"`
	ToEmails    []string `json:"to_emails,omitempty"`
}

// On reports whether the service transfers to Dooray!.
func (d DoorayServiceSettings) On() bool { return d.Enabled == nil || *d.Enabled }

func (d DoorayServiceSettings) defaultOrg() string {
	if d.Organization == "" {
		return DoorayDefaultOrganization
	}
	return d.Organization
}

// Target resolves where an escalation goes: the organisation (default: the
// service's) and the project (default: the service's default project there).
// Organisations and projects the service does not name are refused.
func (d DoorayServiceSettings) Target(service, org, project string) (string, string, error) {
	if !d.On() {
		return "", "", fmt.Errorf("service %s: %w", service, ErrDoorayOff)
	}
	org, project = strings.TrimSpace(org), strings.TrimSpace(project)
	if org == "" {
		org = d.defaultOrg()
	}
	var allowed []string
	switch o := d.org(org); {
	case org == d.defaultOrg():
		allowed = d.Projects
		if len(allowed) > 0 && d.ProjectID != "" && !slices.Contains(allowed, d.ProjectID) {
			allowed = append([]string{d.ProjectID}, allowed...)
		}
		if project == "" {
			project = d.ProjectID
		}
	case o != nil:
		allowed = o.Projects
		if project == "" && len(allowed) > 0 {
			project = allowed[0]
		}
	default:
		names := []string{d.defaultOrg()}
		for _, o := range d.Organizations {
			names = append(names, o.Key)
		}
		return "", "", inputf("service %s does not transfer to Dooray! organisation %q (it may: %s)", service, org, strings.Join(names, ", "))
	}
	if project == "" {
		return "", "", inputf("an escalation to organisation %s needs a Dooray! project: service %s has no default there", org, service)
	}
	if len(allowed) > 0 && !slices.Contains(allowed, project) {
		return "", "", inputf("service %s does not transfer to project %s of organisation %s (it may: %s)", service, project, org, strings.Join(allowed, ", "))
	}
	return org, project, nil
}

func (d DoorayServiceSettings) org(key string) *DoorayServiceOrg {
	for i := range d.Organizations {
		if d.Organizations[i].Key == key {
			return &d.Organizations[i]
		}
	}
	return nil
}

// Assignees are the members and e-mail users a task in org is given.
func (d DoorayServiceSettings) Assignees(org string) (members, emails []string) {
	if org == d.defaultOrg() {
		return lenientStrings(d.ToMemberIDs), lenientStrings(d.ToEmails)
	}
	if o := d.org(org); o != nil {
		return o.ToMemberIDs, o.ToEmails
	}
	return nil, nil
}

// doorayServiceSettings reads the Dooray! settings of a service.
func doorayServiceSettings(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, service string) (DoorayServiceSettings, error) {
	var raw []byte
	var d DoorayServiceSettings
	err := q.QueryRow(ctx, `SELECT settings FROM services WHERE key = $1`, service).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, inputf("unknown service %q", service)
	}
	if err != nil {
		return d, err
	}
	return d, decodeDooraySettings(raw, &d)
}

// decodeDooraySettings is lenient where hand-written settings may differ (a
// single string for a list): a mistyped switch is an error, never "on".
func decodeDooraySettings(raw []byte, d *DoorayServiceSettings) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("service settings: %w", err)
	}
	for k, v := range m {
		var err error
		switch k {
		case "dooray_enabled":
			if string(v) != "null" {
				var on bool
				err = json.Unmarshal(v, &on)
				d.Enabled = &on
			}
		case "dooray_organization":
			err = json.Unmarshal(v, &d.Organization)
		case "dooray_project_id":
			err = json.Unmarshal(v, &d.ProjectID)
		case "dooray_projects":
			d.Projects = lenientStrings(v)
		case "dooray_to_member_ids":
			d.ToMemberIDs = v
		case "dooray_to_emails":
			d.ToEmails = v
		case "dooray_organizations":
			err = json.Unmarshal(v, &d.Organizations)
		}
		if err != nil {
			return fmt.Errorf("service settings %s: %w", k, err)
		}
	}
	return nil
}
