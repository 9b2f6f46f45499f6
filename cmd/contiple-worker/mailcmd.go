package main

import (
	"bufio"
	"encoding/json"
	"os"

	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/channels/email"
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
				out.Parsed, err = email.Parse(raw, email.ParseOptions{MaxSize: *maxSize})
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
	cmd.AddCommand(parse)
	return cmd
}
