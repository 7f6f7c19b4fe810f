package ingest

import "github.com/prometheus/client_golang/prometheus"

// metrics are the pipeline's Prometheus collectors.
type metrics struct {
	events       *prometheus.CounterVec
	rejected     *prometheus.CounterVec
	latency      prometheus.Histogram
	groupRecords prometheus.Histogram
	applySeconds prometheus.Histogram
	applyRecords prometheus.Histogram
	applyErrors  prometheus.Counter
	skipped      prometheus.Counter
	logRecords   prometheus.Gauge
	logBytes     prometheus.Gauge
	head         prometheus.Gauge
	applied      prometheus.Gauge
	lag          prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redthread_ingest_events_total",
			Help: "Events accepted into the log, by source, kind and result (accepted or duplicate).",
		}, []string{"source", "kind", "result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redthread_ingest_rejected_total",
			Help: "Inputs rejected, by source and reason (error code).",
		}, []string{"source", "reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "redthread_ingest_latency_seconds",
			Help:    "Time from receipt to a durable (and projected) reply.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		groupRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "redthread_ingest_group_records",
			Help:    "Records appended per group commit (one fsync).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		applySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "redthread_store_apply_seconds",
			Help:    "Time to apply one group of batches to the graph store.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		applyRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "redthread_store_apply_records",
			Help:    "Log records applied to the graph store in one transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		applyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "redthread_store_apply_errors_total",
			Help: "Failed applies to the graph store (the events stay in the log and are replayed).",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "redthread_projection_skipped_total",
			Help: "Log records whose projection the graph store refused as invalid (projected as empty; see the logs).",
		}),
		logRecords: prometheus.NewGauge(prometheus.GaugeOpts{Name: "redthread_log_records", Help: "Records in the event log."}),
		logBytes:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "redthread_log_bytes", Help: "Bytes of event bodies in the event log, as received (large bodies are stored compressed)."}),
		head:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "redthread_log_head_offset", Help: "Highest offset in the event log."}),
		applied:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "redthread_projection_applied_offset", Help: "Highest log offset applied to the graph store."}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "redthread_projection_lag_records",
			Help: "Log records not yet applied to the graph store (head minus applied offset).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.rejected, m.latency, m.groupRecords, m.applySeconds, m.applyRecords, m.applyErrors, m.skipped,
			m.logRecords, m.logBytes, m.head, m.applied, m.lag)
	}
	return m
}
