package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/internal/config"
)

func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the configuration file"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Report every problem of a configuration file, with its field path",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := config.Load(args[0])
			var ps config.Problems
			if errors.As(err, &ps) {
				if a.json {
					printJSON(a.out, map[string]any{"file": args[0], "problems": ps.Strings()})
				} else {
					for _, p := range ps {
						fmt.Fprintf(a.out, "%s: %s\n", args[0], p)
					}
				}
				return fmt.Errorf("%s: %d problem(s)", args[0], len(ps))
			}
			if err != nil {
				return err
			}
			notices := c.Notices()
			if a.json {
				return printJSON(a.out, map[string]any{"file": args[0], "problems": []string{}, "notices": notices})
			}
			fmt.Fprintf(a.out, "%s: ok\n", args[0])
			for _, n := range notices {
				fmt.Fprintf(a.out, "%s: note: %s\n", args[0], n)
			}
			return nil
		},
	})
	return cmd
}
