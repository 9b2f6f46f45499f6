package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/jobs"
	"github.com/contiple/contiple-worker/mailer"
	"github.com/contiple/contiple-worker/ticket"
)

// ticketCmd is the operator CLI over the ticket store. Each subcommand is one
// store operation; a refused one exits non-zero with the store's one-line reason.
func (a *app) ticketCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ticket", Short: "Operate on tickets (create, list, show, resolve, hold, …)"}
	actor := cmd.PersistentFlags().String("as", defaultActor(), "operator name recorded in the events (env CONTIPLE_OPERATOR)")

	// one wraps an operation on ticket N that returns the ticket.
	one := func(use, short string, setup func(*cobra.Command), run func(*cobra.Command, *ticket.Store, int64) (ticket.Ticket, error)) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1)}
		if setup != nil {
			setup(c)
		}
		c.RunE = func(c *cobra.Command, args []string) error {
			id, err := ticketNumber(args[0])
			if err != nil {
				return err
			}
			return a.withStore(c.Context(), func(s *ticket.Store) error {
				t, err := run(c, s, id)
				if err != nil {
					return err
				}
				return a.printTicket(t)
			})
		}
		return c
	}
	note := func(c *cobra.Command) {
		c.Flags().String("note", "", "the processing note (required)")
		c.MarkFlagRequired("note")
	}
	str := func(c *cobra.Command, name string) string { v, _ := c.Flags().GetString(name); return v }

	create := &cobra.Command{Use: "create", Short: "Create a ticket by hand (channel created)", Args: cobra.NoArgs}
	create.Flags().String("service", "", "service key (required)")
	create.Flags().String("subject", "", "subject (required)")
	create.Flags().String("customer-email", "", "customer's address")
	create.Flags().String("customer-name", "", "customer's name")
	create.Flags().String("body", "", "the inquiry")
	create.Flags().String("priority", "normal", "low | normal | high | urgent")
	create.Flags().String("channel", "created", "email | phone | chat | helpcenter | created")
	create.MarkFlagRequired("service")
	create.MarkFlagRequired("subject")
	create.RunE = func(c *cobra.Command, _ []string) error {
		return a.withStore(c.Context(), func(s *ticket.Store) error {
			t, err := s.Create(c.Context(), ticket.NewTicket{Service: str(c, "service"), Subject: str(c, "subject"),
				CustomerEmail: str(c, "customer-email"), CustomerName: str(c, "customer-name"), Body: str(c, "body"),
				Priority: ticket.Priority(str(c, "priority")), Channel: ticket.Channel(str(c, "channel")), Actor: *actor})
			if err != nil {
				return err
			}
			return a.printTicket(t)
		})
	}

	list := a.ticketListCmd()

	show := &cobra.Command{Use: "show N", Short: "Show a ticket with its processing history and events", Args: cobra.ExactArgs(1)}
	full := show.Flags().Bool("full", false, "print each mail's full text, quoted history included (default: what the customer wrote anew)")
	show.RunE = func(c *cobra.Command, args []string) error {
		id, err := ticketNumber(args[0])
		if err != nil {
			return err
		}
		return a.withStore(c.Context(), func(s *ticket.Store) error {
			t, err := s.Get(c.Context(), id)
			if err != nil {
				return err
			}
			msgs, err := s.Messages(c.Context(), id)
			if err != nil {
				return err
			}
			events, err := s.Events(c.Context(), id)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(a.out, map[string]any{"ticket": t, "messages": msgs, "events": events})
			}
			printTicketDetail(a.out, t, msgs, events, *full)
			return nil
		})
	}

	assign := one("assign N", "Assign to an operator (keep or transfer); unassigned becomes in_progress", func(c *cobra.Command) {
		c.Flags().String("operator", "", "operator (required)")
		c.Flags().String("group", "", "operator group")
		c.Flags().String("via", "transfer", "keep | transfer")
		c.MarkFlagRequired("operator")
	}, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
		ctx := c.Context()
		return s.Assign(ctx, id, ticket.Assignment{Operator: str(c, "operator"), Group: str(c, "group"), Via: str(c, "via"), Actor: *actor})
	})
	noteOp := func(use, short string, op func(*ticket.Store) func(context.Context, int64, ticket.Note) (ticket.Ticket, error)) *cobra.Command {
		return one(use, short, note, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
			return op(s)(c.Context(), id, ticket.Note{Text: str(c, "note"), Actor: *actor})
		})
	}
	// resolve and hold go through the outbound facade: the mail is rendered
	// first and refused when it holds forbidden words, unless --force.
	replyOp := func(use, short string, kind mailer.Kind) *cobra.Command {
		return one(use, short, func(c *cobra.Command) {
			note(c)
			c.Flags().Bool("force", false, "send the mail even if it contains forbidden words")
		}, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
			force, _ := c.Flags().GetBool("force")
			return jobs.NewOutbound(s).Reply(c.Context(), id, kind, str(c, "note"), *actor, force)
		})
	}
	resolve := replyOp("resolve N", "Resolve and send the resolve mail (refused on forbidden words unless --force)", mailer.KindResolve)
	hold := replyOp("hold N", "Put on hold and send the hold mail (refused on forbidden words unless --force)", mailer.KindHold)
	preview := &cobra.Command{Use: "preview N", Short: "Show the resolve or hold mail that would be sent, with its forbidden words", Args: cobra.ExactArgs(1)}
	preview.Flags().String("action", "", "resolve | hold (required)")
	note(preview)
	preview.MarkFlagRequired("action")
	preview.RunE = func(c *cobra.Command, args []string) error {
		id, err := ticketNumber(args[0])
		if err != nil {
			return err
		}
		kind, err := mailer.ParseKind(str(c, "action"))
		if err != nil {
			return err
		}
		return a.withStore(c.Context(), func(s *ticket.Store) error {
			p, err := jobs.NewOutbound(s).Preview(c.Context(), id, kind, str(c, "note"))
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(a.out, p)
			}
			printMailPreview(a.out, p)
			return nil
		})
	}
	comment := noteOp("comment N", "Add an internal note (nothing is sent)", func(s *ticket.Store) func(context.Context, int64, ticket.Note) (ticket.Ticket, error) {
		return s.Comment
	})

	internal := one("internal-resolve N", "Resolve without mail (with --spam: into the spam box)", func(c *cobra.Command) {
		c.Flags().String("note", "", "why")
		c.Flags().Bool("spam", false, "move to the spam box")
	}, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
		ctx := c.Context()
		spam, _ := c.Flags().GetBool("spam")
		return s.InternalResolve(ctx, id, ticket.Note{Text: str(c, "note"), Actor: *actor}, spam)
	})
	spam := one("spam N", "Move to the spam box (internal resolve as spam)", nil, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
		ctx := c.Context()
		return s.InternalResolve(ctx, id, ticket.Note{Actor: *actor}, true)
	})
	restore := one("restore N", "Take a ticket out of the spam box", nil, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
		ctx := c.Context()
		return s.Restore(ctx, id, *actor)
	})
	deleteSpam := &cobra.Command{Use: "delete-spam N", Short: "Delete a ticket in the spam box for good", Args: cobra.ExactArgs(1)}
	deleteSpam.RunE = func(c *cobra.Command, args []string) error {
		id, err := ticketNumber(args[0])
		if err != nil {
			return err
		}
		return a.withStore(c.Context(), func(s *ticket.Store) error {
			if err := s.DeleteSpam(c.Context(), id, *actor); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "deleted %s\n", ticket.Marker(id))
			return nil
		})
	}
	complete := one("complete N", "Close a resolved ticket for good (administrator)", nil, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
		ctx := c.Context()
		return s.Complete(ctx, id, *actor)
	})
	escalate := one("escalate N", "Escalate to Dooray!: a task is created in the project", func(c *cobra.Command) {
		c.Flags().String("project", "", "Dooray! project id (required)")
		c.Flags().String("content", "", "task content (required)")
		c.MarkFlagRequired("project")
		c.MarkFlagRequired("content")
	}, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
		ctx := c.Context()
		return s.Escalate(ctx, id, ticket.Escalation{ProjectID: str(c, "project"), Content: str(c, "content"), Actor: *actor})
	})
	doorayComment := one("dooray-comment N", "Add a comment to the ticket's Dooray! task", func(c *cobra.Command) {
		c.Flags().String("text", "", "comment (required)")
		c.MarkFlagRequired("text")
	}, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
		ctx := c.Context()
		return s.DoorayComment(ctx, id, ticket.Note{Text: str(c, "text"), Actor: *actor})
	})
	transfer := one("issue-transfer N", "Transfer to an issue-management service (a ticket is created there)", func(c *cobra.Command) {
		c.Flags().String("service", "", "target service key (required)")
		c.Flags().String("subject", "", "subject there (default: this ticket's)")
		c.Flags().String("body", "", "what to hand over")
		c.Flags().String("channel", "created", "intake type there")
		c.MarkFlagRequired("service")
	}, func(c *cobra.Command, s *ticket.Store, id int64) (ticket.Ticket, error) {
		ctx := c.Context()
		src, created, err := s.TransferIssue(ctx, id, ticket.IssueTransfer{Service: str(c, "service"), Subject: str(c, "subject"),
			Body: str(c, "body"), Channel: ticket.Channel(str(c, "channel")), Actor: *actor})
		if err == nil && !a.json {
			fmt.Fprintf(a.out, "created %s in service %s\n", ticket.Marker(created.ID), created.Service)
		}
		return src, err
	})

	mask := &cobra.Command{Use: "mask N", Short: "Mask characters [from, to) of a message (personal data)", Args: cobra.ExactArgs(1)}
	mask.Flags().Int64("message", 0, "message id (see ticket show)")
	mask.Flags().Int("from", 0, "first character, counted from 0")
	mask.Flags().Int("to", 0, "character after the last")
	mask.MarkFlagRequired("message")
	mask.MarkFlagRequired("to")
	mask.RunE = func(c *cobra.Command, args []string) error {
		id, err := ticketNumber(args[0])
		if err != nil {
			return err
		}
		msg, _ := c.Flags().GetInt64("message")
		from, _ := c.Flags().GetInt("from")
		to, _ := c.Flags().GetInt("to")
		return a.withStore(c.Context(), func(s *ticket.Store) error {
			m, err := s.MaskSpan(c.Context(), id, msg, from, to, *actor)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(a.out, m)
			}
			fmt.Fprintf(a.out, "masked [%d, %d) of message %d as mask %d (recoverable: %v)\n", m.Start, m.End, msg, m.ID, m.Sealed)
			return nil
		})
	}
	unmask := &cobra.Command{Use: "unmask N", Short: "Restore masked spans of a message (needs CONTIPLE_MASK_KEY)", Args: cobra.ExactArgs(1)}
	unmask.Flags().Int64("message", 0, "message id")
	unmask.Flags().Int64("mask", 0, "one mask id (default: all of the message)")
	unmask.MarkFlagRequired("message")
	unmask.RunE = func(c *cobra.Command, args []string) error {
		id, err := ticketNumber(args[0])
		if err != nil {
			return err
		}
		msg, _ := c.Flags().GetInt64("message")
		maskID, _ := c.Flags().GetInt64("mask")
		return a.withStore(c.Context(), func(s *ticket.Store) error {
			n, err := s.Unmask(c.Context(), id, msg, maskID, *actor)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(a.out, map[string]int{"restored": n})
			}
			fmt.Fprintf(a.out, "restored %d span(s) of message %d\n", n, msg)
			return nil
		})
	}

	cmd.AddCommand(create, list, show, assign, resolve, hold, preview, comment, internal, spam, restore, deleteSpam,
		complete, escalate, doorayComment, transfer, mask, unmask)
	cmd.AddCommand(a.ticketEditCmds(one, actor)...)
	return cmd
}

func (a *app) withStore(ctx context.Context, fn func(*ticket.Store) error) error {
	s, pool, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	return fn(s)
}

func (a *app) printTicket(t ticket.Ticket) error {
	if a.json {
		return printJSON(a.out, t)
	}
	printTicketLine(a.out, t)
	return nil
}

func ticketNumber(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not a ticket number", s)
	}
	return id, nil
}

func defaultActor() string {
	if v := os.Getenv("CONTIPLE_OPERATOR"); v != "" {
		return v
	}
	if v := os.Getenv("USER"); v != "" {
		return v
	}
	return "operator"
}

// printMailPreview prints the headers and text of a previewed mail, then its
// forbidden words.
func printMailPreview(w io.Writer, p jobs.MailPreview) {
	fmt.Fprintf(w, "From: %s\nTo: %s\nSubject: %s\n", p.From, p.To, p.Subject)
	if p.InReplyTo != "" {
		fmt.Fprintf(w, "In-Reply-To: <%s>\n", p.InReplyTo)
	}
	if len(p.References) > 0 {
		fmt.Fprintf(w, "References: <%s>\n", strings.Join(p.References, "> <"))
	}
	fmt.Fprintf(w, "Message-ID: (fixed when the mail is queued)\nAuto-Submitted: auto-replied\n")
	parts := "text/plain"
	if p.HTML != "" {
		parts += ", text/html"
	}
	fmt.Fprintf(w, "Parts: %s (template locale %s)\n", parts, p.Locale)
	fmt.Fprintf(w, "\n%s\n", strings.TrimRight(p.Text, "\n"))
	if p.Refused != "" {
		fmt.Fprintf(w, "note: the %s itself would be refused now: %s\n", p.Kind, p.Refused)
	}
	if len(p.Forbidden) == 0 {
		fmt.Fprintln(w, "forbidden words: none")
		return
	}
	fmt.Fprintf(w, "forbidden words: %d\n", len(p.Forbidden))
	for _, h := range p.Forbidden {
		fmt.Fprintf(w, "  %q in %s at character %d\n", h.Word, h.Part, h.Pos)
	}
}
