package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/ticket"
)

// withSuppressStore is withStore with smtp.suppress_for of the configuration,
// when one is given.
func (a *app) withSuppressStore(cmd *cobra.Command, fn func(*ticket.Store) error) error {
	return a.withStore(cmd.Context(), func(s *ticket.Store) error {
		if a.configPath != "" {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			s.SetSuppressFor(cfg.SMTP.SuppressFor.Std())
		}
		return fn(s)
	})
}

func (a *app) mailSuppressedCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "suppressed",
		Short: "List addresses not mailed because they bounced (until smtp.suppress_for ends or the customer writes again)",
		Args:  cobra.NoArgs,
	}
	limit := c.Flags().Int("limit", 100, "at most this many, newest first")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		return a.withSuppressStore(cmd, func(s *ticket.Store) error {
			list, err := s.Suppressed(cmd.Context(), *limit)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(a.out, nonNilSlice(list))
			}
			if len(list) == 0 {
				fmt.Fprintln(a.out, "no suppressed address")
				return nil
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ADDRESS\tSINCE\tUNTIL\tTICKET\tREASON")
			for _, x := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.Address, stamp(x.Since), stamp(x.Until), ticketOrDash(x.TicketID), x.Reason)
			}
			return tw.Flush()
		})
	}
	return c
}

func (a *app) mailUnsuppressCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "unsuppress ADDRESS…",
		Short: "Mail these addresses again (the mails stopped meanwhile: outbox retry)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStore(cmd.Context(), func(s *ticket.Store) error {
				for _, addr := range args {
					x, err := s.Unsuppress(cmd.Context(), addr, defaultActor())
					if err != nil {
						return err
					}
					fmt.Fprintf(a.out, "%s is mailed again\n", x.Address)
				}
				return nil
			})
		},
	}
}
