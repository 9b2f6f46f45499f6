package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/migrations"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (safe to run twice or concurrently)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pool, err := a.openPool(cmd.Context())
			if err != nil {
				return err
			}
			defer pool.Close()
			applied, err := migrations.Up(cmd.Context(), pool)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(a.out, map[string]any{"applied": applied})
			}
			if len(applied) == 0 {
				fmt.Fprintln(a.out, "database is up to date")
			}
			for _, v := range applied {
				fmt.Fprintf(a.out, "applied migration %03d\n", v)
			}
			return nil
		},
	}
}
