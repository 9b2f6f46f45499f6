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
	tasks    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	store    *ticket.Store
	log      *slog.Logger
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
		store: store,
		log:   log,
	}
}

// Register adds the metrics to reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	return errors.Join(reg.Register(m.tasks), reg.Register(m.duration), reg.Register(m))
}

// Middleware counts every task by type and result.
func (m *Metrics) Middleware(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		err := next.ProcessTask(ctx, t)
		result := "ok"
		switch {
		case errors.Is(err, asynq.SkipRetry):
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
)

// Describe implements prometheus.Collector for the gauges read at scrape time.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- boardDesc
	ch <- rateDesc
	ch <- lagDesc
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
}
