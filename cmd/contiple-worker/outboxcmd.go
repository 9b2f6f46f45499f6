package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/ticket"
)

// outboxCmd lists the work that failed for good and runs it again: nothing
// owed is dropped without a person deciding.
func (a *app) outboxCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "outbox", Short: "Work that failed for good (archived tasks, mails not sent), and running it again"}
	failed := &cobra.Command{
		Use:   "failed",
		Short: "List outbox rows whose task failed for good, and customer mails that failed or were suppressed",
		Args:  cobra.NoArgs,
	}
	limit := failed.Flags().Int("limit", 100, "at most this many of each, newest first")
	failed.RunE = func(c *cobra.Command, _ []string) error {
		return a.withStore(c.Context(), func(s *ticket.Store) error {
			work, err := s.FailedOutbox(c.Context(), *limit)
			if err != nil {
				return err
			}
			mails, err := s.OutboundProblems(c.Context(), *limit)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(a.out, map[string]any{"outbox": nonNilSlice(work), "outbound_mails": nonNilSlice(mails)})
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			if len(work) == 0 {
				fmt.Fprintln(tw, "no failed outbox row")
			} else {
				fmt.Fprintln(tw, "OUTBOX\tKIND\tTICKET\tPAYLOAD\tFAILED\tERROR")
				for _, w := range work {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", w.OutboxID, w.Kind, ticketOrDash(w.TicketID), w.Payload, stamp(w.FailedAt), w.Error)
				}
			}
			fmt.Fprintln(tw)
			if len(mails) == 0 {
				fmt.Fprintln(tw, "no failed or suppressed mail")
			} else {
				fmt.Fprintln(tw, "MAIL\tSTATE\tTICKET\tKIND\tRECIPIENT\tATTEMPTS\tERROR")
				for _, m := range mails {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", m.ID, m.State, ticket.Marker(m.TicketID), m.Kind, m.Recipient, m.Attempts, m.Error)
				}
			}
			return tw.Flush()
		})
	}
	retry := &cobra.Command{
		Use:   "retry ID…",
		Short: "Run failed outbox rows again (with --mail: failed or suppressed customer mails by MAIL id)",
		Long: "Writes a new outbox row for each: a running worker picks it up at once. Work already done is\n" +
			"not done twice (a mail sent is never sent again). Fix the cause first: correct the address\n" +
			"(ticket update N --customer-email), lift a suppression (mail unsuppress), fix the template.",
		Args: cobra.MinimumNArgs(1),
	}
	mail := retry.Flags().Bool("mail", false, "the ids are outbound mail ids (outbox failed, MAIL column)")
	retry.RunE = func(c *cobra.Command, args []string) error {
		return a.withStore(c.Context(), func(s *ticket.Store) error {
			for _, arg := range args {
				id, err := strconv.ParseInt(arg, 10, 64)
				if err != nil || id <= 0 {
					return fmt.Errorf("%q is not an id", arg)
				}
				var newID int64
				if *mail {
					newID, err = s.RetryOutbound(c.Context(), id, defaultActor())
				} else {
					newID, err = s.RetryOutbox(c.Context(), id, defaultActor())
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(a.out, "%s queued again as outbox row %d\n", arg, newID)
			}
			return nil
		})
	}
	cmd.AddCommand(failed, retry)
	return cmd
}

func ticketOrDash(id *int64) string {
	if id == nil {
		return "-"
	}
	return ticket.Marker(*id)
}
