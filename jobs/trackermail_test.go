package jobs

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/contiple/contiple-worker/ticket"
)

// doorayDKIM signs mail as dooray.com with a test key that its lookup serves.
type doorayDKIM struct{ key ed25519.PrivateKey }

func newDoorayDKIM(t testing.TB) doorayDKIM {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return doorayDKIM{key}
}

func (d doorayDKIM) lookup(name string) ([]string, error) {
	if name != "dm1._domainkey.dooray.com" {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(d.key.Public().(ed25519.PublicKey))}, nil
}

func (d doorayDKIM) sign(t testing.TB, raw string) string {
	t.Helper()
	var out bytes.Buffer
	if err := dkim.Sign(&out, strings.NewReader(raw), &dkim.SignOptions{Domain: "dooray.com", Selector: "dm1", Signer: d.key,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID", "Content-Type"}}); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// escalatedTicket makes a customer's ticket and escalates it to Dooray!.
func (in *intake) escalatedTicket(customer string) int64 {
	in.t.Helper()
	ctx := context.Background()
	id := in.deliver(mailFrom(customer, "印刷できません", "3階のプリンターで印刷できません。")).TicketID
	if _, err := in.store.Assign(ctx, id, ticket.Assignment{Operator: "sato"}); err != nil {
		in.t.Fatal(err)
	}
	if _, err := in.store.Escalate(ctx, id, ticket.Escalation{ProjectID: "p1", Content: "printer", Actor: "sato"}); err != nil {
		in.t.Fatal(err)
	}
	return id
}

func (in *intake) kinds(id int64) []string {
	var out []string
	for _, m := range in.messages(id) {
		out = append(out, string(m.Kind))
	}
	return out
}

func TestDoorayMailIsAuthenticatedByDKIM(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	keys := newDoorayDKIM(t)
	in.h.LookupTXT = keys.lookup
	id := in.escalatedTicket("tanaka@customer.example")
	if id != 1 {
		t.Fatalf("ticket %d, the fixtures name 1", id)
	}

	// A forged From: x@dooray.com naming the ticket writes nothing into it:
	// it is ordinary mail, a new ticket (the sender does not belong to 1).
	forged := in.deliver(fixture(t, "dooray_forged.eml"))
	if forged.Outcome != ticket.IngestCreated || forged.TicketID == id {
		t.Errorf("forged Dooray! mail: %+v", forged)
	}
	if k := in.kinds(id); strings.Join(k, ",") != "customer,escalation" {
		t.Errorf("ticket %d history after the forgery: %v", id, k)
	}

	// Dooray!'s own notification, signed by dooray.com, joins the ticket as a Dooray! message.
	notification := strings.ReplaceAll(fixture(t, "dooray_notification.eml"), "{N}", fmt.Sprint(id))
	res := in.deliver(keys.sign(t, notification))
	if res.Outcome != ticket.IngestThreaded || res.TicketID != id {
		t.Fatalf("signed notification: %+v", res)
	}
	ms := in.messages(id)
	if last := ms[len(ms)-1]; last.Kind != ticket.MessageDoorayIn || !strings.Contains(last.Body, "3층 프린터 드라이버를 재설치했습니다") {
		t.Errorf("last message %+v", last)
	}
	if st := in.ticket(id).Status; st != ticket.StatusInProgress {
		t.Errorf("a Dooray! mail changed the status to %s", st)
	}

	// The same signed mail changed on the way (the subject names another ticket) is not Dooray!'s.
	other := in.escalatedTicket("suzuki@customer.example")
	tampered := strings.Replace(keys.sign(t, strings.Replace(notification, "log-1@", "log-2@", 1)), fmt.Sprintf("[CT-%d]", id), fmt.Sprintf("[CT-%d]", other), 1)
	if res := in.deliver(tampered); res.TicketID == other || res.Outcome != ticket.IngestCreated {
		t.Errorf("tampered notification: %+v", res)
	}

	// Signed by Dooray! but about a ticket never escalated: ordinary mail, not dropped.
	plain := in.deliver(mailFrom("yamada@customer.example", "質問", "質問です"))
	signed := strings.ReplaceAll(fixture(t, "dooray_notification.eml"), "{N}", fmt.Sprint(plain.TicketID))
	signed = strings.Replace(signed, "log-1@", "log-3@", 1)
	if res := in.deliver(keys.sign(t, signed)); res.Outcome != ticket.IngestCreated || res.TicketID == plain.TicketID {
		t.Errorf("signed mail about an unescalated ticket: %+v", res)
	}
}

// A customer whose own mail domain Dooray! hosts (signed by dooray.com) is a
// customer: a ticket of their own, and their replies thread as theirs.
func TestCustomerOnDoorayHostedMailIsACustomer(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	keys := newDoorayDKIM(t)
	in.h.LookupTXT = keys.lookup
	first := in.deliver(keys.sign(t, mailFrom("Kim <kim@dooray.com>", "결제 오류", "결제가 안 됩니다.", "Message-ID: <kim-1@dooray.com>")))
	if first.Outcome != ticket.IngestCreated {
		t.Fatalf("first mail: %+v", first)
	}
	ctx := context.Background()
	if _, err := in.store.Assign(ctx, first.TicketID, ticket.Assignment{Operator: "lee"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.store.Escalate(ctx, first.TicketID, ticket.Escalation{ProjectID: "p1", Content: "payment", Actor: "lee"}); err != nil {
		t.Fatal(err)
	}
	reply := mailFrom("Kim <kim@dooray.com>", fmt.Sprintf("Re: [CT-%d] 결제 오류", first.TicketID), "아직 안 됩니다.", "Message-ID: <kim-2@dooray.com>")
	if res := in.deliver(keys.sign(t, reply)); res.TicketID != first.TicketID {
		t.Fatalf("reply: %+v", res)
	}
	ms := in.messages(first.TicketID)
	if last := ms[len(ms)-1]; last.Kind != ticket.MessageCustomer || last.Author != "kim@dooray.com" {
		t.Errorf("the customer's reply filed as %s by %s", last.Kind, last.Author)
	}
}
