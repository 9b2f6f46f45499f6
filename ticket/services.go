package ticket

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ServiceDef is a helpdesk service as declared in the configuration.
type ServiceDef struct {
	Key, Name, Address, Locale string
	Settings                   map[string]any // Dooray! project and members
	Mailbox                    *MailboxDef
	Templates                  []TemplateDef
	ForbiddenWords             []string
	Triggers                   []Trigger // kept in settings, applied at ticket creation
}

// MailboxDef is the IMAP account of a service; no secret is ever part of it.
type MailboxDef struct {
	Host, Username, Folder string
	Port                   int
}

// TemplateDef is one mail form of a service, its files already read.
type TemplateDef struct{ Kind, Locale, Subject, Text, HTML string }

// SyncServices makes the database's services, mailboxes, templates and
// forbidden words those declared, in one transaction. Services no longer
// declared are kept (their tickets refer to them); their mail settings are not.
func (s *Store) SyncServices(ctx context.Context, defs []ServiceDef) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, d := range defs {
			settings := map[string]any{triggersKey: d.Triggers}
			for k, v := range d.Settings {
				settings[k] = v
			}
			d.Settings = settings
			if _, err := tx.Exec(ctx, `INSERT INTO services (key, name, address, locale, settings) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (key) DO UPDATE SET name = $2, address = $3, locale = $4, settings = $5, updated_at = now()`,
				d.Key, d.Name, d.Address, d.Locale, d.Settings); err != nil {
				return err
			}
			if m := d.Mailbox; m != nil {
				// The mailbox keeps its UIDVALIDITY and last UID unless it now points elsewhere.
				if _, err := tx.Exec(ctx, `INSERT INTO mailboxes (service_key, name, host, port, username, folder)
					VALUES ($1, $1, $2, $3, $4, $5)
					ON CONFLICT (name) DO UPDATE SET host = $2, port = $3, username = $4, folder = $5,
						uidvalidity = CASE WHEN (mailboxes.host, mailboxes.port, mailboxes.username, mailboxes.folder) = ($2, $3, $4, $5)
							THEN mailboxes.uidvalidity END,
						last_uid = CASE WHEN (mailboxes.host, mailboxes.port, mailboxes.username, mailboxes.folder) = ($2, $3, $4, $5)
							THEN mailboxes.last_uid ELSE 0 END`,
					d.Key, m.Host, m.Port, m.Username, m.Folder); err != nil {
					return err
				}
			}
			for _, q := range []string{"DELETE FROM mail_templates WHERE service_key = $1", "DELETE FROM forbidden_words WHERE service_key = $1"} {
				if _, err := tx.Exec(ctx, q, d.Key); err != nil {
					return err
				}
			}
			for _, t := range d.Templates {
				if _, err := tx.Exec(ctx, `INSERT INTO mail_templates (service_key, kind, locale, subject, text_body, html_body)
					VALUES ($1, $2, $3, $4, $5, $6)`, d.Key, t.Kind, t.Locale, t.Subject, t.Text, t.HTML); err != nil {
					return err
				}
			}
			for _, w := range d.ForbiddenWords {
				if _, err := tx.Exec(ctx, `INSERT INTO forbidden_words (service_key, word) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
					d.Key, w); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
