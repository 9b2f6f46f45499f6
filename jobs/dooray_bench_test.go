package jobs

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkDooraySyncCycle measures one poll round (the fan-out and every
// project's poll) over n followed escalations of which 1% changed since the
// last round: the requests it costs and its time. The cost follows the
// changes: one list per project and one log read per changed task.
func BenchmarkDooraySyncCycle(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("links=%d", n), func(b *testing.B) {
			clock := &doorayClock{}
			e := newDoorayEnv(b, doorayEnvOpts{clock: clock})
			bulk := e.bulkLinks(b, clock, max(1, n/500), n)
			changes := max(1, n/100)
			var requests, cycles int
			var took time.Duration
			for round := 0; b.Loop(); round++ {
				b.StopTimer()
				for k := range changes {
					i := ((round*changes + k) * 7919) % n
					var err error
					if k%2 == 0 {
						err = e.fake.MovePost(bulk.project[i], bulk.posts[i], []string{"working", "closed"}[round%2])
					} else {
						_, err = e.fake.AddComment(bulk.project[i], bulk.posts[i], fmt.Sprintf("round %d", round))
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				start := time.Now()
				got := e.cycle(b)
				took += time.Since(start)
				requests += sum(got)
				cycles++
			}
			b.ReportMetric(float64(requests)/float64(cycles), "requests/cycle")
			b.ReportMetric(float64(took.Milliseconds())/float64(cycles), "ms/cycle")
			b.ReportMetric(float64(changes), "changed/cycle")
		})
	}
}
