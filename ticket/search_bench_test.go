package ticket

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/internal/testenv"
)

// BenchmarkTicketQueries runs each list query of the menus and search, and
// the board, on a 100,000-ticket database (200,000 messages in Japanese,
// Korean and English) loaded with COPY, and reports the median and the 99th
// percentile of one query's time (ms-median, ms-p99).
func BenchmarkTicketQueries(b *testing.B) {
	pool := testenv.NewDatabase(b)
	loadStart := time.Now()
	fillTickets(b, pool, 100000)
	b.Logf("100,000 tickets loaded with COPY and analysed in %s", time.Since(loadStart).Round(time.Millisecond))
	s := NewStore(pool, nil)
	ctx := context.Background()
	run := func(b *testing.B, q func() error) {
		times := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			if err := q(); err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(t0))
		}
		b.StopTimer()
		slices.Sort(times)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(ms(times[len(times)/2]), "ms-median")
		b.ReportMetric(ms(times[min(len(times)-1, len(times)*99/100)]), "ms-p99")
		b.ReportMetric(0, "ns/op")
	}
	for _, c := range searchCases() {
		b.Run("list_"+c.name, func(b *testing.B) {
			run(b, func() error { _, err := s.List(ctx, c.f); return err })
		})
	}
	b.Run("board_all", func(b *testing.B) { run(b, func() error { _, err := s.Board(ctx); return err }) })
	b.Run("board_my", func(b *testing.B) { run(b, func() error { _, err := s.MyBoard(ctx, "op07"); return err }) })
	b.Run("past_inquiries", func(b *testing.B) { run(b, func() error { _, err := s.PastInquiries(ctx, 4242, 100); return err }) })
}
