package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/sqlite"
	"github.com/redthread/redthread/ingest"
	"github.com/redthread/redthread/ingest/mlflow"
	"github.com/redthread/redthread/ingest/openlineage"
	"github.com/redthread/redthread/internal/server"
)

// formats are the input formats the pipeline decodes, at ingest and on
// replay (reindex must know every format the log may hold).
func formats(v *openlineage.Validator) ingest.Formats {
	return ingest.Formats{
		"openlineage":     ingest.OpenLineage(v),
		mlflow.FormatName: mlflow.Decoder(),
	}
}

// mlflowFlags configure the MLflow poller and webhook receiver of serve.
type mlflowFlags struct {
	URI           string
	Poll          bool
	Interval      time.Duration
	FullEvery     time.Duration
	Experiments   stringList
	Token         string
	WebhookSecret string
}

func (m *mlflowFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.URI, "mlflow-uri", "", "MLflow tracking server to poll for runs and model versions, e.g. http://127.0.0.1:5000 (empty: no poller)")
	fs.BoolVar(&m.Poll, "mlflow-poll", true, "poll -mlflow-uri (false: only receive its webhooks)")
	fs.DurationVar(&m.Interval, "mlflow-interval", 30*time.Second, "time between MLflow poll passes")
	fs.DurationVar(&m.FullEvery, "mlflow-full-every", time.Hour, "time between full MLflow passes, which re-read finished runs to catch edits")
	fs.Var(&m.Experiments, "mlflow-experiment", "MLflow experiment name or id to poll (repeatable; default all)")
	fs.StringVar(&m.Token, "mlflow-token", "", "bearer token for the MLflow REST API (or MLFLOW_TRACKING_TOKEN)")
	fs.StringVar(&m.WebhookSecret, "mlflow-webhook-secret", "", "shared secret of MLflow webhooks; enables POST /api/v1/mlflow/webhook (needs -mlflow-uri, which names the registry)")
}

// mlflowClient returns the REST client for uri, with the token from the
// flag or MLFLOW_TRACKING_TOKEN, and MLflow's basic-auth variables.
func mlflowClient(uri, token string) (*mlflow.Client, error) {
	if token == "" {
		token = os.Getenv("MLFLOW_TRACKING_TOKEN")
	}
	return mlflow.NewClient(uri, mlflow.ClientOptions{
		Token: token, Username: os.Getenv("MLFLOW_TRACKING_USERNAME"), Password: os.Getenv("MLFLOW_TRACKING_PASSWORD"),
		UserAgent: "redthread/" + version,
	})
}

// mlflowParts are the MLflow pieces serve runs.
type mlflowParts struct {
	observer *mlflow.Observer
	webhook  http.Handler
	poller   *mlflow.Poller
}

func newMLflowParts(m mlflowFlags, pipeline *ingest.Pipeline, log *sqlite.Log, store graph.Store, reg prometheus.Registerer, logger *slog.Logger) (*mlflowParts, error) {
	hist := mlflow.GraphHistory{
		Nodes:    store.Nodes,
		BySHA256: log.BySHA256,
		Wait: func(ctx context.Context) error {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			return pipeline.WaitApplied(wctx, pipeline.Head())
		},
	}
	parts := &mlflowParts{observer: mlflow.NewObserver(pipeline, hist)}
	if m.WebhookSecret != "" {
		if m.URI == "" {
			return nil, errors.New("-mlflow-webhook-secret needs -mlflow-uri: the tracking URI names the model registry of the versions a webhook announces")
		}
		h, err := mlflow.NewWebhookHandler(mlflow.WebhookOptions{
			Secret: []byte(m.WebhookSecret), TrackingURI: m.URI, Logger: logger, Registerer: reg,
		}, pipeline)
		if err != nil {
			return nil, err
		}
		parts.webhook = h
	}
	if m.URI != "" && m.Poll {
		client, err := mlflowClient(m.URI, m.Token)
		if err != nil {
			return nil, fmt.Errorf("-mlflow-uri: %w", err)
		}
		parts.poller = mlflow.NewPoller(client, pipeline, log, hist, mlflow.PollerOptions{
			Interval: m.Interval, FullEvery: m.FullEvery, Experiments: m.Experiments,
			Logger: logger.With("component", "mlflow"), Registerer: reg,
		})
	}
	return parts, nil
}

// status reports the poller in /readyz; nil when there is none.
func (p *mlflowParts) status() func() *server.MLflowReadiness {
	if p.poller == nil {
		return nil
	}
	return func() *server.MLflowReadiness {
		st := p.poller.Status()
		r := &server.MLflowReadiness{TrackingURI: st.TrackingURI, Unfinished: len(st.Cursor.Unfinished)}
		if !st.LastPass.IsZero() {
			t := st.LastPass.UTC()
			r.LastPass = &t
		}
		if st.LastErr != nil {
			r.LastError = st.LastErr.Error()
		}
		if st.Cursor.StartTime != 0 {
			r.CursorStart = time.UnixMilli(int64(st.Cursor.StartTime)).UTC().Format(time.RFC3339)
		}
		return r
	}
}

// describe says what of MLflow is on, for the startup line.
func (m mlflowFlags) describe() string {
	var on []string
	if m.URI != "" && m.Poll {
		on = append(on, "polling "+m.URI+" every "+m.Interval.String())
	}
	if m.WebhookSecret != "" {
		on = append(on, "webhooks")
	}
	if len(on) == 0 {
		return "off"
	}
	return strings.Join(on, ", ")
}
