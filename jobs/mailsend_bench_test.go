package jobs

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/mailer"
	"github.com/contiple/contiple-worker/ticket"
)

// BenchmarkMailSendPostfix is the whole mail:send handler (lock, load,
// render, claim, SMTP into the local Postfix, record) with 1, 4 and 10 (as
// serve runs) workers sharing one mailer.Sender that keeps at most four
// sessions open for reuse (as serve by default), with the statements and round
// trips to PostgreSQL per mail. The recipients are in Postfix's discard domain:
// Postfix accepts and queues each mail, and does not then deliver it to Dovecot
// on the same two cores (a relay does that elsewhere).
func BenchmarkMailSendPostfix(b *testing.B) {
	addr := testenv.Lookup(b, "CONTIPLE_SMTP_ADDR")
	domain := testenv.Lookup(b, "CONTIPLE_SMTP_DISCARD_DOMAIN")
	for _, workers := range []int{1, 4, 10} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			host, port, _ := net.SplitHostPort(addr)
			p, _ := strconv.Atoi(port)
			sender, err := mailer.NewSender(mailer.SMTPConfig{Host: host, Port: p, TLS: "none", Timeout: 10 * time.Second,
				HELO: "worker.test"}) // at most 4 sessions open and idle, as serve by default
			if err != nil {
				b.Fatal(err)
			}
			defer sender.Close()
			e := sendNewEnv(b, sender)
			e.h.RecipientPerHour = 0
			ids := make(chan int64, b.N)
			for i := 0; i < b.N; i++ {
				_, id := e.sendResolved(b, fmt.Sprintf("bench%d@%s", i%20, domain))
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
