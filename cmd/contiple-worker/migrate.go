package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/migrations"
	"github.com/contiple/contiple-worker/ticket"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (safe to run twice or concurrently); with a configuration, sync its services too",
		Long: "Applies pending migrations under an advisory lock. With --config (or CONTIPLE_CONFIG) it then\n" +
			"syncs the declared services, mailboxes, templates, forbidden words and triggers, as serve does,\n" +
			"so that the ticket commands work before the first serve.",
		Args: cobra.NoArgs,
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
			synced := 0
			if a.configPath != "" {
				cfg, err := a.loadConfig()
				if err != nil {
					return err
				}
				defs, err := serviceDefs(cfg)
				if err != nil {
					return err
				}
				if err := ticket.NewStore(pool, nil).SyncServices(cmd.Context(), defs); err != nil {
					return fmt.Errorf("sync services: %w", err)
				}
				synced = len(defs)
			}
			if a.json {
				return printJSON(a.out, map[string]any{"applied": nonNilSlice(applied), "services_synced": synced})
			}
			if len(applied) == 0 {
				fmt.Fprintln(a.out, "database is up to date")
			}
			for _, v := range applied {
				fmt.Fprintf(a.out, "applied migration %03d\n", v)
			}
			if a.configPath != "" {
				fmt.Fprintf(a.out, "%d service(s) synced from %s\n", synced, a.configPath)
			}
			return nil
		},
	}
}
