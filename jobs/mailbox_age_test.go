package jobs

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMailboxAgeIsTheLastSuccessfulCheck: contiple_mailbox_last_fetch_age_seconds
// is the time since intake last read the mailbox, not since its last mail. A
// quiet mailbox that was last written to two days ago but is read every poll
// looks fresh; once its password is wrong, its age grows and it is failing.
func TestMailboxAgeIsTheLastSuccessfulCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newDovecotUser(t)
	in, p, mi := newPollIntake(t, u, "seen")
	metrics := NewMetrics(in.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	reg := prometheus.NewRegistry()
	if err := metrics.Register(reg); err != nil {
		t.Fatal(err)
	}
	gauge := func(name string) float64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				if f.GetName() == name && len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == "support" {
					return m.GetGauge().GetValue()
				}
			}
		}
		t.Fatalf("no %s{mailbox=\"support\"}", name)
		return 0
	}
	poll, _ := NewMailPollTask("support", time.Second)

	// Quiet and healthy: the last mail came two days ago, the poll finds none.
	if _, err := in.pool.Exec(ctx, "UPDATE mailboxes SET last_fetch_at = now() - interval '2 days'"); err != nil {
		t.Fatal(err)
	}
	if err := p.handle(ctx, poll); err != nil {
		t.Fatal(err)
	}
	if age := gauge("contiple_mailbox_last_fetch_age_seconds"); age < 0 || age > 600 {
		t.Errorf("a quiet mailbox read just now has age %.0f s; want the time since this check", age)
	}
	if f := gauge("contiple_mailbox_failing"); f != 0 {
		t.Errorf("failing = %v for a healthy mailbox", f)
	}

	// Broken: the password is wrong now. An hour passes (the check is made
	// older by hand), polls fail: the age keeps growing.
	if _, err := in.pool.Exec(ctx, "UPDATE mailboxes SET last_check_at = last_check_at - interval '1 hour'"); err != nil {
		t.Fatal(err)
	}
	mi.Account.Password = "not-the-password"
	p.Mailboxes["support"] = mi
	if err := p.handle(ctx, poll); err == nil {
		t.Fatal("poll with a wrong password succeeded")
	}
	if age := gauge("contiple_mailbox_last_fetch_age_seconds"); age < 3600 {
		t.Errorf("a mailbox failing for an hour has age %.0f s; want at least 3600", age)
	}
	if f := gauge("contiple_mailbox_failing"); f != 1 {
		t.Errorf("failing = %v for a broken mailbox", f)
	}
}
