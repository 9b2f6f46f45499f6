package mailer

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/internal/testenv"
)

// BenchmarkRender is the cost of one mail's content: the ja resolve form
// (text and HTML) on a ticket, templates already parsed.
func BenchmarkRender(b *testing.B) {
	r := NewRenderer()
	tmpl, _ := Default(KindResolve, "ja")
	d := sample("ja")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(KindResolve, "ja", tmpl, d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderAndBuild adds building the MIME message (encoding included).
func BenchmarkRenderAndBuild(b *testing.B) {
	r := NewRenderer()
	tmpl, _ := Default(KindResolve, "ja")
	d := sample("ja")
	b.ReportAllocs()
	for b.Loop() {
		out, err := r.Render(KindResolve, "ja", tmpl, d)
		if err != nil {
			b.Fatal(err)
		}
		m := testMessage()
		m.Subject, m.Text, m.HTML = out.Subject, out.Text, out.HTML
		if _, err := m.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendPostfix sends into the local Postfix (scripts/services.sh) with
// 1 and 4 concurrent senders sharing one Sender, whose sessions are reused. The
// recipients are in Postfix's discard domain (see BenchmarkMailSendPostfix).
func BenchmarkSendPostfix(b *testing.B) {
	addr := testenv.Lookup(b, "CONTIPLE_SMTP_ADDR")
	domain := testenv.Lookup(b, "CONTIPLE_SMTP_DISCARD_DOMAIN")
	host, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			s, err := NewSender(SMTPConfig{Host: host, Port: port, Timeout: 10 * time.Second, MaxIdle: workers})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < workers; w++ {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						m := testMessage()
						m.To.Address = fmt.Sprintf("bench%d@%s", i%20, domain)
						m.MessageID = fmt.Sprintf("ct-%d-bench%d@example.test", i, time.Now().UnixNano())
						if err := s.Send(context.Background(), m); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "mails/s")
			b.ReportMetric(float64(s.Dials()), "dials")
		})
	}
}
