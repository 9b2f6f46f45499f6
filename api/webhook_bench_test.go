package api_test

import (
	"slices"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/ticket"
)

// BenchmarkDoorayWebhookLatency measures the time from a change in Dooray!
// (the fake's move returns once its hook is delivered) to the ticket's new
// status: receiver, queue, worker, API read and store. The worker here checks
// its queue every 5ms (asynq's TaskCheckInterval); serve's setting adds to it.
func BenchmarkDoorayWebhookLatency(b *testing.B) {
	w := newHookWorld(b, true)
	id, post := w.transferred(b)
	project := w.fake.ProjectID()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		class, want := "working", ticket.StatusDoorayInProgress
		if i%2 == 1 {
			class, want = "closed", ticket.StatusDoorayAnswered
		}
		start := time.Now()
		if err := w.fake.MovePost(project, post, class); err != nil {
			b.Fatal(err)
		}
		for w.status(b, id) != want {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("status not %s after 10s", want)
			}
			time.Sleep(500 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "ms-median")
	b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "ms-p99")
}
