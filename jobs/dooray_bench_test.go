package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// BenchmarkDooraySyncCycle measures one poll round (the fan-out and every
// project's poll) over n followed escalations of which 1% changed since the
// last round: the requests it costs and its time. The cost follows the
// changes: per project one list of changes and one count (the departure
// check), and one log read per changed task.
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
	b.Run("orgs=3,links=10000-each", benchOrganizationsSyncCycle)
}

// benchOrganizationsSyncCycle is one poll round over three
// organisations, each a fake on its own host with its own token and rate
// limit, with 10,000 followed escalations each of which 1% changed: the
// requests it costs, its time (per-project polls run ten at a time, as ten
// workers would), and each organisation's request rate, which its limiter
// keeps under its limit (a 429 fails the benchmark).
func benchOrganizationsSyncCycle(b *testing.B) {
	const perOrg = 10000
	limits := []int{50, 40, 30} // requests a second each organisation allows
	clock := &doorayClock{}
	pool := testenv.NewDatabase(b)
	if _, err := pool.Exec(context.Background(), `INSERT INTO services (key, name, address) VALUES ('support', 'Support', 'support@example.test')`); err != nil {
		b.Fatal(err)
	}
	store := ticket.NewStore(pool, nil)
	q := &doorayRecorder{}
	e := &doorayEnv{pool: pool, store: store, queue: q}
	var orgs []DoorayOrganization
	fakes := map[string]*dooraytest.Server{}
	bulks := map[string]doorayBulk{}
	for i, limit := range limits {
		key := fmt.Sprintf("org%d", i+1)
		fake := dooraytest.NewServer(dooraytest.WithClock(clock.now), dooraytest.WithToken(key+"-token"),
			dooraytest.WithRateLimit(limit, limit), dooraytest.WithOrganizationID(fmt.Sprintf("%d000000000000000001", i+1)))
		b.Cleanup(fake.Close)
		// As serve does with rate_per_second: the organisation's own bucket.
		c, err := dooray.New(dooray.Config{BaseURL: fake.URL, Token: fake.Token(), HTTPClient: fake.Client(), MaxRetryWait: 5 * time.Second,
			Limiter: dooray.NewMemoryLimiter(dooray.LimiterConfig{ReplenishRate: float64(limit), BurstCapacity: limit, Fixed: true})})
		if err != nil {
			b.Fatal(err)
		}
		orgs = append(orgs, DoorayOrganization{Key: key, Client: c, BotMemberID: fake.BotMemberID()})
		fakes[key] = fake
		bulks[key] = e.bulkLinksIn(b, clock, fake, key, perOrg/500, perOrg)
	}
	e.h = NewDooray(DoorayConfig{Store: store, Queue: q, Log: doorayDiscard(), Organizations: orgs})
	e.concurrentCycle(b) // the departure check learns its baselines
	changes := perOrg / 100
	var requests, cycles int
	var took time.Duration
	rate := map[string]float64{}
	for round := 0; b.Loop(); round++ {
		b.StopTimer()
		for key, bulk := range bulks {
			for k := range changes {
				i := ((round*changes + k) * 7919) % perOrg
				var err error
				if k%2 == 0 {
					err = fakes[key].MovePost(bulk.project[i], bulk.posts[i], []string{"working", "closed"}[round%2])
				} else {
					_, err = fakes[key].AddComment(bulk.project[i], bulk.posts[i], fmt.Sprintf("round %d", round))
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		before := map[string]int{}
		for key, f := range fakes {
			before[key] = sum(f.Requests())
		}
		b.StartTimer()
		start := time.Now()
		e.concurrentCycle(b)
		d := time.Since(start)
		b.StopTimer()
		took += d
		cycles++
		for key, f := range fakes {
			n := sum(f.Requests()) - before[key]
			requests += n
			rate[key] = max(rate[key], float64(n)/d.Seconds())
			if th := f.Throttled(); th != 0 {
				b.Fatalf("organisation %s answered 429 %d times", key, th)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(requests)/float64(cycles), "requests/cycle")
	b.ReportMetric(float64(took.Milliseconds())/float64(cycles), "ms/cycle")
	b.ReportMetric(float64(changes*len(limits)), "changed/cycle")
	for i, limit := range limits {
		key := fmt.Sprintf("org%d", i+1)
		// The mean rate over a whole cycle; the limiter paces every request.
		b.ReportMetric(rate[key]/float64(limit), key+"-rate/limit")
	}
}

// concurrentCycle is cycle with every project's poll run ten at a time, as
// ten workers would, over every organisation.
func (e *doorayEnv) concurrentCycle(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	task, _ := NewDooraySyncAllTask("", time.Minute)
	if err := e.h.handleSync(ctx, task); err != nil {
		t.Fatal(err)
	}
	tasks := e.queue.take()
	sem := make(chan struct{}, 10)
	var wg sync.WaitGroup
	errs := make([]error, len(tasks))
	for i, task := range tasks {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = e.h.handleSync(ctx, task)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
