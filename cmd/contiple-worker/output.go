package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/contiple/contiple-worker/ticket"
)

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func customer(t ticket.Ticket) string {
	switch {
	case t.CustomerName != "" && t.CustomerEmail != "":
		return fmt.Sprintf("%s <%s>", t.CustomerName, t.CustomerEmail)
	case t.CustomerEmail != "":
		return t.CustomerEmail
	}
	return t.CustomerName
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printTicketLine(w io.Writer, t ticket.Ticket) {
	fmt.Fprintf(w, "%s %s (%s, %s) %s\n", ticket.Marker(t.ID), t.Status, t.Priority, orDash(t.Assignee), t.Subject)
}

func printTicketList(w io.Writer, ts []ticket.Ticket) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tSTATUS\tPRIORITY\tSERVICE\tASSIGNEE\tCUSTOMER\tSUBJECT")
	for _, t := range ts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Status, t.Priority, t.Service, orDash(t.Assignee),
			orDash(customer(t)), t.Subject)
	}
	tw.Flush()
}

func printTicketDetail(w io.Writer, t ticket.Ticket, msgs []ticket.Message, events []ticket.Event, full bool) {
	fmt.Fprintf(w, "%s %s\n", ticket.Marker(t.ID), t.Subject)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  status\t%s\n  priority\t%s\n  service\t%s\n  channel\t%s\n  customer\t%s\n",
		t.Status, t.Priority, t.Service, t.Channel, orDash(customer(t)))
	for _, k := range slices.Sorted(maps.Keys(t.CustomerFields)) {
		fmt.Fprintf(tw, "    %s\t%s\n", k, t.CustomerFields[k])
	}
	fmt.Fprintf(tw, "  assignee\t%s %s\n  created\t%s\n", orDash(t.Assignee), t.Group, stamp(t.CreatedAt))
	if t.Starred {
		fmt.Fprintln(tw, "  starred\tyes (important)")
	}
	if t.SourceTicketID != nil {
		fmt.Fprintf(tw, "  transferred from\t%s\n", ticket.Marker(*t.SourceTicketID))
	}
	if t.FeedbackRequestedAt != nil {
		fmt.Fprintf(tw, "  feedback requested\t%s (inform the customer)\n", stamp(*t.FeedbackRequestedAt))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nProcessing history:")
	for _, m := range msgs {
		fmt.Fprintf(w, "  #%d %s %s by %s", m.ID, stamp(m.CreatedAt), m.Kind, orDash(m.Author))
		if len(m.Masks) > 0 {
			fmt.Fprintf(w, " (%d masked span(s))", len(m.Masks))
		}
		fmt.Fprintln(w)
		// What the customer said comes first; the quoted history only on request.
		text := m.ReplyText
		switch {
		case full:
			text = m.Body
		case m.QuoteOnly:
			text = "(no new words: the mail only quotes earlier messages; --full shows it)"
		case m.ReplyText != m.Body:
			text += "\n(quoted history left out; --full shows it)"
		}
		for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			fmt.Fprintf(w, "      %s\n", line)
		}
	}
	fmt.Fprintln(w, "\nEvents:")
	for _, e := range events {
		fmt.Fprintf(w, "  %s %s by %s", stamp(e.CreatedAt), e.Kind, orDash(e.Actor))
		if e.From != e.To && e.To != "" {
			fmt.Fprintf(w, ": %s → %s", orDash(string(e.From)), e.To)
		}
		if len(e.Data) > 0 {
			b, _ := json.Marshal(e.Data)
			fmt.Fprintf(w, " %s", b)
		}
		fmt.Fprintln(w)
	}
}

func stamp(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }
