package main

import (
	"context"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/internal/testenv"
)

// ticket show prints what the customer wrote anew; --full the whole mail.
func TestTicketShowPrintsReplyTextFirst(t *testing.T) {
	pool := testenv.NewDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO services (key, name, address) VALUES ('support', 'Support', 'support@example.test');
		INSERT INTO tickets (service_key, subject, channel, customer_email) VALUES ('support', 'login', 'email', 'c@example.jp');
		INSERT INTO ticket_messages (ticket_id, kind, author, body, reply_text) VALUES
			(1, 'customer', 'c@example.jp', E'It works now.\n\nOn Tue, Support wrote:\n> try again', 'It works now.'),
			(1, 'customer', 'c@example.jp', E'On Tue, Support wrote:\n> try again', '')`); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "ticket", "show", "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"It works now.", "(quoted history left out; --full shows it)", "(no new words: the mail only quotes earlier messages"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "> try again") {
		t.Errorf("show prints the quoted history:\n%s", out)
	}
	full, err := run(t, "ticket", "show", "1", "--full")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(full, "> try again") != 2 {
		t.Errorf("show --full lacks the full text:\n%s", full)
	}
}

// ticket show prints the customer's other fields, the star, the ticket it
// was transferred from and a pending feedback request, as --json does.
func TestTicketShowPrintsCustomerFieldsStarAndFeedback(t *testing.T) {
	pool := testenv.NewDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO services (key, name, address) VALUES ('support', 'Support', 'support@example.test');
		INSERT INTO tickets (service_key, subject, channel, customer_email) VALUES ('support', 'first', 'email', 'c@example.jp');
		INSERT INTO tickets (service_key, subject, channel, customer_email, customer_fields, starred, source_ticket_id, feedback_requested_at)
			VALUES ('support', 'login', 'email', 'c@example.jp', '{"phone": "090-1234-5678", "customer_id": "C-77"}', true, 1, now())`); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "ticket", "show", "2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"customer_id", "C-77", "phone", "090-1234-5678", "starred", "transferred from", "[CT-1]", "feedback requested"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "customer_id"), strings.Index(out, "phone"); i > j {
		t.Errorf("customer fields not in order:\n%s", out)
	}
}
