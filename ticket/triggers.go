package ticket

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Trigger is an ordered rule of a service (seed 4-3), applied when a ticket is
// created: when every condition given holds, its actions apply. Lists within a
// condition are alternatives; text matches ignore case.
type Trigger struct {
	Name            string   `json:"name"`
	FromAddresses   []string `json:"from_addresses,omitempty"`
	FromDomains     []string `json:"from_domains,omitempty"`
	SubjectContains []string `json:"subject_contains,omitempty"`
	BodyContains    []string `json:"body_contains,omitempty"`
	Channels        []string `json:"channels,omitempty"`

	AssignTo       string   `json:"assign_to,omitempty"`
	AssignRandom   []string `json:"assign_random,omitempty"`
	AssignSequence []string `json:"assign_sequence,omitempty"`
	Group          string   `json:"group,omitempty"`
	Priority       string   `json:"priority,omitempty"`
}

// triggersKey is where a service's triggers live in services.settings.
const triggersKey = "triggers"

func containsFold(s string, subs []string) bool {
	s = strings.ToLower(s)
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, strings.ToLower(sub)) })
}

func (tr Trigger) matches(t Ticket, body string) bool {
	from := strings.ToLower(t.CustomerEmail)
	_, domain, _ := strings.Cut(from, "@")
	switch {
	case len(tr.FromAddresses) > 0 && !slices.ContainsFunc(tr.FromAddresses, func(a string) bool { return strings.EqualFold(a, from) }):
		return false
	case len(tr.FromDomains) > 0 && !slices.ContainsFunc(tr.FromDomains, func(d string) bool {
		d = strings.ToLower(strings.TrimPrefix(d, "@"))
		return domain == d || strings.HasSuffix(domain, "."+d)
	}):
		return false
	case len(tr.SubjectContains) > 0 && !containsFold(t.Subject, tr.SubjectContains):
		return false
	case len(tr.BodyContains) > 0 && !containsFold(body, tr.BodyContains):
		return false
	case len(tr.Channels) > 0 && !slices.Contains(tr.Channels, string(t.Channel)):
		return false
	}
	return true
}

// applyTriggers runs the service's triggers on a new ticket, in order. The
// first trigger that assigns wins; later ones may still set the priority.
// Each trigger that fires is an event.
func applyTriggers(ctx context.Context, tx pgx.Tx, t Ticket, body string, now time.Time) (Ticket, error) {
	var raw []byte
	if err := tx.QueryRow(ctx, "SELECT settings -> 'triggers' FROM services WHERE key = $1", t.Service).Scan(&raw); err != nil {
		return t, err
	}
	if len(raw) == 0 || string(raw) == "null" {
		return t, nil
	}
	var triggers []Trigger
	if err := json.Unmarshal(raw, &triggers); err != nil {
		return t, fmt.Errorf("triggers of service %q: %w", t.Service, err)
	}
	for _, tr := range triggers {
		if !tr.matches(t, body) {
			continue
		}
		actor := "trigger:" + tr.Name
		data := map[string]any{"trigger": tr.Name}
		if p, err := ParsePriority(tr.Priority); tr.Priority != "" && err == nil && p != t.Priority {
			if _, err := tx.Exec(ctx, "UPDATE tickets SET priority = $2 WHERE id = $1", t.ID, p); err != nil {
				return t, err
			}
			data["priority"], t.Priority = p, p
		}
		if t.Assignee == "" {
			op, err := tr.operator(ctx, tx, t.Service)
			if err != nil {
				return t, err
			}
			if op != "" {
				data["operator"] = op
				if t, err = transactIn(ctx, tx, t.ID, ActionAssign, actor, now, func(c *change) (map[string]any, error) {
					_, err := c.tx.Exec(ctx, "UPDATE tickets SET assignee = $2, operator_group = $3 WHERE id = $1", t.ID, op, tr.Group)
					return map[string]any{"operator": op, "group": tr.Group, "via": "trigger", "trigger": tr.Name}, err
				}); err != nil {
					return t, err
				}
			}
		}
		if err := insertEvent(ctx, tx, t.ID, "trigger", actor, "", "", data, now); err != nil {
			return t, err
		}
	}
	return t, nil
}

// operator is whom the trigger assigns: a named operator, one at random, or
// the next of a group in turn (the turn is kept per service and trigger).
func (tr Trigger) operator(ctx context.Context, tx pgx.Tx, service string) (string, error) {
	switch {
	case tr.AssignTo != "":
		return tr.AssignTo, nil
	case len(tr.AssignRandom) > 0:
		return tr.AssignRandom[rand.IntN(len(tr.AssignRandom))], nil
	case len(tr.AssignSequence) > 0:
		var next int
		err := tx.QueryRow(ctx, `INSERT INTO trigger_cursors (service_key, trigger_name, next_index) VALUES ($1, $2, 1)
			ON CONFLICT (service_key, trigger_name) DO UPDATE SET next_index = trigger_cursors.next_index + 1
			RETURNING next_index`, service, tr.Name).Scan(&next)
		if err != nil {
			return "", err
		}
		return tr.AssignSequence[(next-1)%len(tr.AssignSequence)], nil
	}
	return "", nil
}

// mailAddress checks a bare address such as a@example.jp.
func mailAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}
