package jobs

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// BenchmarkMailSendPostfix is the whole mail:send handler (lock, load,
// render, claim, SMTP into the local Postfix, record) with 1 and 4 workers
// sharing one mailer.Sender whose SMTP sessions are reused, with the
// statements and round trips to PostgreSQL per mail.
func BenchmarkMailSendPostfix(b *testing.B) {
	addr := testenv.Lookup(b, "CONTIPLE_SMTP_ADDR")
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			sender := sendSender(b, addr)
			e := sendNewEnv(b, sender)
			e.h.RecipientPerHour = 0
			ids := make(chan int64, b.N)
			for i := 0; i < b.N; i++ {
				_, id := e.sendResolved(b, fmt.Sprintf("bench%d@example.test", i%20))
				ids <- id
			}
			close(ids)
			var counts dbCounter
			e.h.Store = ticket.NewStore(tracedPool(b, e.pool, &counts), nil)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < workers; w++ {
				wg.Go(func() {
					for id := range ids {
						if err := e.h.Send(context.Background(), id); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "mails/s")
			b.ReportMetric(float64(sender.Dials()), "dials")
			b.ReportMetric(float64(counts.statements.Load())/float64(b.N), "stmts/mail")
			b.ReportMetric(float64(counts.roundTrips.Load())/float64(b.N), "roundtrips/mail")
		})
	}
}
