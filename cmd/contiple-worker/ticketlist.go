package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/ticket"
)

// ticketListCmd finds tickets with the filters of the API's GET /api/v1/tickets.
func (a *app) ticketListCmd() *cobra.Command {
	c := &cobra.Command{Use: "list", Short: "Find tickets, newest first (the spam box only with --status spam)", Args: cobra.NoArgs}
	fl := c.Flags()
	status := fl.StringSlice("status", nil, "only these statuses (comma-separated or repeated)")
	var f ticket.ListFilter
	fl.StringVar(&f.Service, "service", "", "only this service")
	fl.StringVar(&f.Assignee, "assignee", "", "only this operator's")
	fl.StringVar(&f.Group, "group", "", "only this operator group's")
	fl.BoolVar(&f.Transferred, "transferred", false, "only transferred (issue management or Dooray!)")
	fl.BoolVar(&f.Starred, "starred", false, "only important (starred)")
	fl.BoolVar(&f.Feedback, "feedback", false, "only those with a feedback request")
	fl.StringVar(&f.Customer, "customer", "", "customer address (exact) or part of the name")
	channel := fl.String("channel", "", "email | phone | chat | helpcenter | created")
	fl.StringVar(&f.Text, "text", "", "text in the subject or any message")
	times := map[string]**time.Time{"created-from": &f.CreatedFrom, "created-to": &f.CreatedTo, "updated-from": &f.UpdatedFrom, "updated-to": &f.UpdatedTo}
	raw := map[string]*string{}
	for name := range times {
		raw[name] = fl.String(name, "", "RFC 3339 time or date (from: inclusive, to: exclusive)")
	}
	fl.StringVar(&f.Cursor, "cursor", "", "continue after the page that printed this cursor")
	fl.IntVar(&f.Limit, "limit", 100, "at most this many")
	c.RunE = func(c *cobra.Command, _ []string) error {
		for _, s := range *status {
			sts, err := ticket.ParseStatuses(s)
			if err != nil {
				return err
			}
			f.Statuses = append(f.Statuses, sts...)
		}
		f.Channel = ticket.Channel(*channel)
		for name, dst := range times {
			if *raw[name] == "" {
				continue
			}
			at, err := time.Parse(time.RFC3339, *raw[name])
			if err != nil {
				if at, err = time.ParseInLocation(time.DateOnly, *raw[name], time.Local); err != nil {
					return fmt.Errorf("--%s %q: want an RFC 3339 time or a date", name, *raw[name])
				}
			}
			*dst = &at
		}
		return a.withStore(c.Context(), func(s *ticket.Store) error {
			p, err := s.List(c.Context(), f)
			if err != nil {
				return err
			}
			if a.json {
				p.Tickets = nonNilSlice(p.Tickets)
				return printJSON(a.out, p)
			}
			printTicketList(a.out, p.Tickets)
			if p.Next != "" {
				fmt.Fprintf(a.out, "more: --cursor %s\n", p.Next)
			}
			return nil
		})
	}
	return c
}
