package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/contiple/contiple-worker/ticket"
)

// Metrics are the worker's Prometheus metrics. Register them on a registry of
// the caller's; nothing here is global.
type Metrics struct {
	tasks       *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	doorayWaits *prometheus.CounterVec
	doorayWait  *prometheus.CounterVec
	// recurringFailures counts failed runs of recurring tasks (see Recurring).
	recurringFailures *prometheus.CounterVec
	store             *ticket.Store
	log               *slog.Logger
}

// NewMetrics creates the metrics; store feeds the board and outbox-lag gauges.
func NewMetrics(store *ticket.Store, log *slog.Logger) *Metrics {
	return &Metrics{
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contiple_tasks_total", Help: "Tasks processed, by type and result (ok, retry, failed).",
		}, []string{"type", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "contiple_task_duration_seconds", Help: "Time to process a task, by type.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"type"}),
		doorayWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contiple_dooray_waits_total", Help: "Waits before Dooray! requests, by reason: pacing (our rate limiter), throttled (after a 429), backoff (after a 5xx).",
		}, []string{"reason"}),
		doorayWait: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contiple_dooray_wait_seconds_total", Help: "Time spent waiting before Dooray! requests, by reason.",
		}, []string{"reason"}),
		recurringFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contiple_recurring_failures_total", Help: "Failed runs of recurring tasks (mail:poll, dooray:sync, mail:expire_raw), by type and target (mailbox or Dooray! project); they are not archived and run again next interval.",
		}, []string{"type", "target"}),
		store: store,
		log:   log,
	}
}

// DoorayWait counts a wait of the Dooray! client (its Config.OnWait).
func (m *Metrics) DoorayWait(reason string, d time.Duration) {
	m.doorayWaits.WithLabelValues(reason).Inc()
	m.doorayWait.WithLabelValues(reason).Add(d.Seconds())
}

// Register adds the metrics to reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	return errors.Join(reg.Register(m.tasks), reg.Register(m.duration), reg.Register(m.doorayWaits),
		reg.Register(m.doorayWait), reg.Register(m.recurringFailures), reg.Register(m))
}

// Middleware counts every task by type and result.
func (m *Metrics) Middleware(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		err := next.ProcessTask(ctx, t)
		result := "ok"
		switch {
		case errors.Is(err, asynq.SkipRetry), errors.Is(err, asynq.RevokeTask):
			result = "failed"
		case err != nil:
			result = "retry"
		}
		m.tasks.WithLabelValues(t.Type(), result).Inc()
		m.duration.WithLabelValues(t.Type()).Observe(time.Since(start).Seconds())
		return err
	})
}

var (
	boardDesc = prometheus.NewDesc("contiple_board_tickets",
		"The at-a-glance board: tickets by measure (received_today, resolved_today, in_progress, on_hold, unassigned).",
		[]string{"measure"}, nil)
	rateDesc = prometheus.NewDesc("contiple_board_processing_rate",
		"Share of the tickets received in the last 24 hours that are resolved.", nil, nil)
	lagDesc = prometheus.NewDesc("contiple_outbox_lag_seconds",
		"Age of the oldest outbox row not yet relayed to the queue.", nil, nil)
	fetchAgeDesc = prometheus.NewDesc("contiple_mailbox_last_fetch_age_seconds",
		"Seconds since the last successful check of each mailbox, whether it had mail or not (-1: never checked): a quiet mailbox stays low, a broken one grows.", []string{"mailbox"}, nil)
	mailboxFailingDesc = prometheus.NewDesc("contiple_mailbox_failing",
		"1 when the last intake attempt of the mailbox failed (see mailboxes.last_error).", []string{"mailbox"}, nil)
	inboundDesc = prometheus.NewDesc("contiple_inbound_mails",
		"Stored inbound mail by state: failed (see `mail failed`), ignored, received (waiting for ingest).", []string{"state"}, nil)
	outboundDesc = prometheus.NewDesc("contiple_outbound_problems",
		"Customer mails not sent, by state (failed, suppressed) and reason.", []string{"state", "reason"}, nil)
)

// Describe implements prometheus.Collector for the gauges read at scrape time.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- boardDesc
	ch <- rateDesc
	ch <- lagDesc
	ch <- fetchAgeDesc
	ch <- mailboxFailingDesc
	ch <- inboundDesc
	ch <- outboundDesc
}

// Collect reads the board and the outbox lag from the database.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := m.store.Board(ctx)
	if err != nil {
		m.log.Warn("metrics: board", "err", err)
	} else {
		for measure, v := range map[string]int{"received_today": b.ReceivedToday, "resolved_today": b.ResolvedToday,
			"in_progress": b.InProgress, "on_hold": b.OnHold, "unassigned": b.Unassigned} {
			ch <- prometheus.MustNewConstMetric(boardDesc, prometheus.GaugeValue, float64(v), measure)
		}
		ch <- prometheus.MustNewConstMetric(rateDesc, prometheus.GaugeValue, b.ProcessingRate)
	}
	if lag, err := m.store.OutboxLag(ctx); err != nil {
		m.log.Warn("metrics: outbox lag", "err", err)
	} else {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, lag)
	}
	ops, err := m.store.Operations(ctx)
	if err != nil {
		m.log.Warn("metrics: operations", "err", err)
		return
	}
	for name, age := range ops.MailboxFetchAge {
		ch <- prometheus.MustNewConstMetric(fetchAgeDesc, prometheus.GaugeValue, age, name)
		ch <- prometheus.MustNewConstMetric(mailboxFailingDesc, prometheus.GaugeValue, ops.MailboxFailing[name], name)
	}
	for state, n := range ops.InboundByState {
		ch <- prometheus.MustNewConstMetric(inboundDesc, prometheus.GaugeValue, n, state)
	}
	for k, n := range ops.OutboundProblems {
		ch <- prometheus.MustNewConstMetric(outboundDesc, prometheus.GaugeValue, n, k[0], k[1])
	}
}
