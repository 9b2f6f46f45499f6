package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

const phone = "090-8765-4321"

// maskedMail is a customer's mail with the phone number in every place mail
// keeps it: the text part (quoted-printable, so the raw mail has it as is),
// the HTML part split by a tag (a plain search and replace misses it), and a
// text attachment (base64 in the raw mail, decoded in the attachments table).
func maskedMail(messageID string) string {
	att := base64.StdEncoding.EncodeToString([]byte("連絡先: " + phone + "\r\n"))
	return "From: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>\r\n" +
		"To: support@example.test\r\n" +
		"Subject: =?UTF-8?B?6Zu76Kmx44GP44Gg44GV44GE?=\r\n" +
		"Message-ID: <" + messageID + ">\r\n" +
		"Date: Tue, 24 Nov 2026 10:00:00 +0900\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n" +
		"--mix\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n" +
		"--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"=E9=9B=BB=E8=A9=B1=E3=81=AF " + phone + " =E3=81=A7=E3=81=99=E3=80=82\r\n" +
		"--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"<p>=E9=9B=BB=E8=A9=B1=E3=81=AF <b>090-8765</b>-4321 =E3=81=A7=E3=81=99=E3=80=82</p>\r\n" +
		"--alt--\r\n" +
		"--mix\r\nContent-Type: text/plain; charset=utf-8; name=\"contact.txt\"\r\n" +
		"Content-Disposition: attachment; filename=\"contact.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		att + "\r\n--mix--\r\n"
}

// TestMaskLeavesNoCopyInTheDatabase masks the phone number of a customer's
// mail and then reads a pg_dump of the whole database: no byte of the number
// may be left in it, in text or in any bytea (the raw mail, a duplicate
// delivery of it, its attachments, the HTML, the escalation that quoted it).
// Unmasking brings every copy back as it was.
func TestMaskLeavesNoCopyInTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	sealer, err := ticket.NewSealer(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	in.store = ticket.NewStore(in.pool, sealer)
	in.h.Store = in.store
	url := testenv.URLFor(t, in.pool)

	raw := maskedMail("phone@example.jp")
	res := in.deliver(raw)
	if res.Outcome != ticket.IngestCreated {
		t.Fatalf("first delivery: %+v", res)
	}
	if dup := in.deliver(raw); dup.Outcome != ticket.IngestDuplicate {
		t.Fatalf("second delivery: %+v", dup)
	}
	id := res.TicketID
	if _, err := in.store.Assign(ctx, id, ticket.Assignment{Operator: "sato"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.store.Escalate(ctx, id, ticket.Escalation{ProjectID: "p1", Content: "お客様の電話 " + phone + " に折り返し", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	if where := leaks(pgDump(t, url), phone); len(where) < 2 {
		t.Fatalf("before masking the dump holds the number only in %v: the check would prove nothing", where)
	}

	msgs := in.messages(id)
	customer, escalation := msgs[0], msgs[1]
	if escalation.Kind != ticket.MessageEscalation || !strings.Contains(customer.HTML, "090-8765") {
		t.Fatalf("messages: %+v", msgs)
	}
	for _, m := range []ticket.Message{customer, escalation} {
		start := strings.Index(m.Body, phone)
		if start < 0 {
			t.Fatalf("message %d has no %s: %q", m.ID, phone, m.Body)
		}
		from := len([]rune(m.Body[:start]))
		if _, err := in.store.MaskSpan(ctx, id, m.ID, from, from+len(phone), "sato"); err != nil {
			t.Fatal(err)
		}
	}
	if where := leaks(pgDump(t, url), phone); len(where) > 0 {
		t.Fatalf("after masking, the dump still holds %s: %v", phone, where)
	}

	// Every read path gives the masked text.
	for _, m := range in.messages(id) {
		if strings.Contains(m.Body+m.HTML+m.ReplyText, "8765") {
			t.Errorf("message %d reads %q / %q / reply %q", m.ID, m.Body, m.HTML, m.ReplyText)
		}
	}
	reply, err := in.store.ReplyContext(ctx, id, ticket.MessageResolve)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(reply.CustomerText, "8765") || !strings.Contains(reply.CustomerText, "*************") {
		t.Errorf("reply quotes %q", reply.CustomerText)
	}
	var linkID int64
	if err := in.pool.QueryRow(ctx, "SELECT id FROM dooray_links WHERE ticket_id = $1", id).Scan(&linkID); err != nil {
		t.Fatal(err)
	}
	if esc, err := in.store.DoorayEscalation(ctx, linkID); err != nil || strings.Contains(esc.Content, "8765") {
		t.Errorf("escalation content %q, %v", esc.Content, err)
	}
	var inboundID int64
	if err := in.pool.QueryRow(ctx, "SELECT id FROM inbound_mails WHERE state = 'processed'").Scan(&inboundID); err != nil {
		t.Fatal(err)
	}
	if im, err := in.store.Inbound(ctx, inboundID); err != nil || len(im.Raw) != 0 {
		t.Errorf("raw mail reads %d bytes (%v), want none while sealed", len(im.Raw), err)
	}

	// Unmasking restores every copy: the body, the HTML, the raw mails and
	// the attachment under its content address.
	for _, m := range []ticket.Message{customer, escalation} {
		if _, err := in.store.Unmask(ctx, id, m.ID, 0, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	after := in.messages(id)
	if after[0].Body != customer.Body || after[0].HTML != customer.HTML || after[1].Body != escalation.Body ||
		after[0].ReplyText != customer.ReplyText || !strings.Contains(customer.ReplyText, phone) {
		t.Errorf("after unmask: %q %q %q, reply %q (was %q)", after[0].Body, after[0].HTML, after[1].Body, after[0].ReplyText, customer.ReplyText)
	}
	rows, err := in.pool.Query(ctx, "SELECT raw, raw_state FROM inbound_mails ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var got []byte
		var state string
		if err := rows.Scan(&got, &state); err != nil {
			t.Fatal(err)
		}
		if string(got) != raw || state != ticket.RawKept {
			t.Errorf("raw mail %d after unmask: %s, %d bytes", n, state, len(got))
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d raw mails, want 2", n)
	}
	var sum string
	var data []byte
	if err := in.pool.QueryRow(ctx, `SELECT a.sha256, a.data FROM message_attachments ma JOIN attachments a ON a.sha256 = ma.sha256
		WHERE ma.message_id = $1 AND ma.sealed IS NULL`, customer.ID).Scan(&sum, &data); err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != sum || !bytes.Contains(data, []byte(phone)) {
		t.Errorf("attachment after unmask: %q under %s", data, sum)
	}
}

// TestMaskSealsTheOriginalOfUnreadableMail: mail that could not be read is
// kept whole, as the raw mail and as original.eml in its ticket. Masking any
// span of its message seals both; `mail retry` then says why it cannot read
// it; without a key both are dropped for good.
func TestMaskSealsTheOriginalOfUnreadableMail(t *testing.T) {
	t.Parallel()
	for _, keyed := range []bool{true, false} {
		name := map[bool]string{true: "sealed", false: "keyless"}[keyed]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			in := newIntake(t)
			if keyed {
				sealer, err := ticket.NewSealer(base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210")))
				if err != nil {
					t.Fatal(err)
				}
				in.store = ticket.NewStore(in.pool, sealer)
				in.h.Store = in.store
			}
			in.h.Parse = email.ParseOptions{MaxSize: 600} // over the limit: unreadable, kept as original.eml
			res := in.deliver(maskedMail("big@example.jp"))
			if res.Outcome != ticket.IngestFailed || res.TicketID == 0 {
				t.Fatalf("delivery: %+v", res)
			}
			url := testenv.URLFor(t, in.pool)
			if where := leaks(pgDump(t, url), phone); len(where) == 0 {
				t.Fatal("before masking the dump does not hold the number: the check would prove nothing")
			}
			m := in.messages(res.TicketID)[0]
			if _, err := in.store.MaskSpan(ctx, res.TicketID, m.ID, 0, 4, "sato"); err != nil {
				t.Fatal(err)
			}
			if where := leaks(pgDump(t, url), phone); len(where) > 0 {
				t.Fatalf("after masking, the dump still holds %s: %v", phone, where)
			}
			var inboundID int64
			if err := in.pool.QueryRow(ctx, "SELECT id FROM inbound_mails").Scan(&inboundID); err != nil {
				t.Fatal(err)
			}
			err := in.store.RetryInbound(ctx, inboundID)
			want := map[bool]string{true: "unmask the message first", false: "masked without a key"}[keyed]
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("mail retry of the sealed mail: %v; want an error saying %q", err, want)
			}
			if !keyed {
				return
			}
			if _, err := in.store.Unmask(ctx, res.TicketID, m.ID, 0, "admin"); err != nil {
				t.Fatal(err)
			}
			var data []byte
			if err := in.pool.QueryRow(ctx, `SELECT a.data FROM message_attachments ma JOIN attachments a ON a.sha256 = ma.sha256
				WHERE ma.message_id = $1 AND ma.filename = 'original.eml'`, m.ID).Scan(&data); err != nil {
				t.Fatal(err)
			}
			if string(data) != maskedMail("big@example.jp") {
				t.Errorf("original.eml after unmask: %q", data)
			}
			if err := in.store.RetryInbound(ctx, inboundID); err != nil {
				t.Errorf("mail retry after unmask: %v", err)
			}
		})
	}
}

// pgDump is a plain-text pg_dump of the database at url (PostgreSQL 15's
// client, as the services run 15). Missing, it fails the test under CI.
func pgDump(t *testing.T, url string) []byte {
	t.Helper()
	bin := "/usr/lib/postgresql/15/bin/pg_dump"
	if _, err := os.Stat(bin); err != nil {
		msg := "no pg_dump at " + bin + ": run scripts/services.sh up (it installs PostgreSQL 15)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	out, err := exec.Command(bin, "--no-owner", "--dbname", url).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("pg_dump: %v\n%s", err, stderr)
	}
	return out
}

var byteaHex = regexp.MustCompile(`\\x([0-9a-f]+)`)

// leaks says where in a dump value is found: as text (text, jsonb) and inside
// bytea values, which a dump writes in hex.
func leaks(dump []byte, value string) []string {
	var where []string
	if bytes.Contains(dump, []byte(value)) {
		where = append(where, "text")
	}
	for _, m := range byteaHex.FindAllSubmatch(dump, -1) {
		b, err := hex.DecodeString(string(m[1]))
		if err == nil && bytes.Contains(b, []byte(value)) {
			where = append(where, "bytea "+string(b[:min(len(b), 40)]))
		}
	}
	return where
}
