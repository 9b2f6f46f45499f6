package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/jobs"
	"github.com/contiple/contiple-worker/ticket"
)

func (a *app) mailCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "mail", Short: "Inbound mail tools"}
	parse := &cobra.Command{
		Use:   "parse FILE…",
		Short: "Parse raw messages (.eml) and print one JSON object per file, one per line",
		Long: "Prints, for each file, the parsed message: addresses, subject, date, threading ids, text, HTML,\n" +
			"the customer's reply without quoted history, attachments, auto-reply and bounce flags.\n" +
			"A file that cannot be parsed still yields an object, with \"error\" and whatever could be read.",
		Args: cobra.MinimumNArgs(1),
	}
	maxSize := parse.Flags().Int64("max-size", 0, "largest message to parse, in bytes (0: 50 MiB)")
	locale := parse.Flags().String("locale", "", "the receiving service's locale (ja, ko, zh-TW …): breaks ties when a charset must be guessed")
	parse.RunE = func(_ *cobra.Command, files []string) error {
		w := bufio.NewWriter(a.out)
		defer w.Flush()
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, f := range files {
			out := struct {
				File string `json:"file"`
				*email.Parsed
			}{File: f}
			raw, err := os.ReadFile(f)
			if err != nil {
				out.Parsed, _ = email.Parse(nil, email.ParseOptions{}) // an empty result, every list []
				out.Parsed.Error = err.Error()
			} else {
				out.Parsed, err = email.Parse(raw, email.ParseOptions{MaxSize: *maxSize, Locale: *locale})
				if err != nil && out.Parsed == nil {
					out.Parsed = &email.Parsed{}
				}
				if err != nil && out.Parsed.Error == "" {
					out.Parsed.Error = err.Error()
				}
			}
			if err := enc.Encode(out); err != nil {
				return err
			}
		}
		return nil
	}
	cmd.AddCommand(parse, a.mailFailedCmd(), a.mailRetryCmd(), a.mailSuppressedCmd(), a.mailUnsuppressCmd())
	return cmd
}

func (a *app) mailFailedCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "failed",
		Short: "List inbound mail that could not be read (and, with --ignored, mail recorded without a ticket)",
		Args:  cobra.NoArgs,
	}
	ignored := c.Flags().Bool("ignored", false, "also list ignored mail: loops, auto-replies, unmatched bounces")
	limit := c.Flags().Int("limit", 100, "at most this many, newest first")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		store, pool, err := a.openStore(cmd.Context())
		if err != nil {
			return err
		}
		defer pool.Close()
		states := []string{ticket.InboundFailed}
		if *ignored {
			states = append(states, ticket.InboundIgnored)
		}
		mails, err := store.InboundByState(cmd.Context(), states, *limit)
		if err != nil {
			return err
		}
		if a.json {
			return printJSON(a.out, nonNilSlice(mails))
		}
		if len(mails) == 0 {
			fmt.Fprintln(a.out, "no failed mail")
			return nil
		}
		tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tMAILBOX\tUID\tSTATE\tTICKET\tRECEIVED\tSIZE\tERROR")
		for _, m := range mails {
			t := "-"
			if m.TicketID != nil {
				t = strconv.FormatInt(*m.TicketID, 10)
			}
			fmt.Fprintf(tw, "%d\t%s\t%d/%d\t%s\t%s\t%s\t%d\t%s\n", m.ID, m.Mailbox, m.UIDValidity, m.UID, m.State, t,
				stamp(m.ReceivedAt), m.Size, m.Error)
		}
		return tw.Flush()
	}
	return c
}

func (a *app) mailRetryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "retry ID…",
		Short: "Ingest failed or ignored inbound mail again (after a fix, or a raised limit)",
		Long: "Puts each mail back to be ingested: a running worker picks it up at once. A ticket made\n" +
			"for a failed mail before keeps its number and gets the content read now. A mail that was over\n" +
			"mail.max_message_bytes (left on the server) is fetched from its mailbox by UIDVALIDITY and UID\n" +
			"under the configuration's limit (--config): raise the limit first.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, pool, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer pool.Close()
			poll := &jobs.MailPoll{Store: store, Log: a.log}
			for _, arg := range args {
				id, err := strconv.ParseInt(arg, 10, 64)
				if err != nil {
					return fmt.Errorf("%q is not an inbound mail id", arg)
				}
				err = store.RetryInbound(cmd.Context(), id)
				fetched := errors.Is(err, ticket.ErrNotStored)
				if fetched && poll.Mailboxes == nil {
					// Only a mail left on the server needs the mailboxes and the limit.
					cfg, cerr := a.loadConfig()
					if cerr != nil {
						return fmt.Errorf("%w: %w", err, cerr)
					}
					logins, closeLogins, cerr := a.cliOAuthLogins(cfg, pool)
					if cerr != nil {
						return cerr
					}
					defer closeLogins()
					if poll.Mailboxes, cerr = mailboxIntakes(cfg, logins); cerr != nil {
						return cerr
					}
					poll.MaxBytes = cfg.Mail.MaxMessageBytes
				}
				if fetched {
					_, err = poll.Retry(cmd.Context(), id)
				}
				if err != nil {
					return err
				}
				if fetched {
					fmt.Fprintf(a.out, "inbound mail %d fetched from its mailbox and queued for ingest\n", id)
					continue
				}
				fmt.Fprintf(a.out, "inbound mail %d queued for ingest\n", id)
			}
			return nil
		},
	}
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
