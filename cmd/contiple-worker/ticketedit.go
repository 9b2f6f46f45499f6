package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/ticket"
)

type oneFunc = func(use, short string, setup func(*cobra.Command), run func(*cobra.Command, *ticket.Store, int64) (ticket.Ticket, error)) *cobra.Command

// ticketEditCmds change a ticket's own data (priority, customer fields, star),
// ask for feedback from issue management, and list a customer's past inquiries.
func (a *app) ticketEditCmds(one oneFunc, actor *string) []*cobra.Command {
	update := one("update N", "Change priority or customer fields; a corrected address readdresses the mails not sent yet", func(c *cobra.Command) {
		c.Flags().String("priority", "", "low | normal | high | urgent")
		c.Flags().String("customer-name", "", "customer's name")
		c.Flags().String("customer-email", "", "customer's address (then: outbox retry, or Run in the dashboard)")
		c.Flags().StringToString("customer-field", nil, "customer fields KEY=VALUE, replacing all (repeat or comma-separate)")
	}, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
		u := ticket.TicketUpdate{Actor: *actor}
		if c.Flags().Changed("priority") {
			p, _ := c.Flags().GetString("priority")
			u.Priority = (*ticket.Priority)(&p)
		}
		for flag, dst := range map[string]**string{"customer-name": &u.CustomerName, "customer-email": &u.CustomerEmail} {
			if c.Flags().Changed(flag) {
				v, _ := c.Flags().GetString(flag)
				*dst = &v
			}
		}
		if c.Flags().Changed("customer-field") {
			u.CustomerFields, _ = c.Flags().GetStringToString("customer-field")
		}
		return s.Update(c.Context(), id, u)
	})
	starOp := func(on bool) func(*cobra.Command, *ticket.Store, int64) (ticket.Ticket, error) {
		return func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
			return s.Update(c.Context(), id, ticket.TicketUpdate{Starred: &on, Actor: *actor})
		}
	}
	star := one("star N", "Mark as important", nil, starOp(true))
	unstar := one("unstar N", "Unmark as important", nil, starOp(false))
	feedback := one("feedback-request N", "On a ticket made by an issue transfer: ask the original assignee to inform the customer", func(c *cobra.Command) {
		c.Flags().String("note", "", "what the customer should be told (required)")
		c.MarkFlagRequired("note")
	}, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
		note, _ := c.Flags().GetString("note")
		return s.RequestFeedback(c.Context(), id, ticket.Note{Text: note, Actor: *actor})
	})
	past := &cobra.Command{Use: "past N", Short: "The customer's other tickets (past inquiries), newest first", Args: cobra.ExactArgs(1)}
	past.RunE = func(c *cobra.Command, args []string) error {
		id, err := ticketNumber(args[0])
		if err != nil {
			return err
		}
		return a.withStore(c.Context(), func(s *ticket.Store) error {
			ts, err := s.PastInquiries(c.Context(), id, 100)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(a.out, nonNilSlice(ts))
			}
			if len(ts) == 0 {
				fmt.Fprintln(a.out, "no other ticket of this customer")
				return nil
			}
			printTicketList(a.out, ts)
			return nil
		})
	}
	return []*cobra.Command{update, star, unstar, feedback, past}
}
