// Package server wires Redthread's HTTP surface: the OpenLineage ingest
// endpoints (Marquez-compatible), GraphQL, the playground, health,
// readiness and metrics, with body-size limits, gzip, bearer-token auth and
// JSON errors that name the offending field.
package server

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/redthread/redthread/ingest"
)

// Ingester is the part of the ingest pipeline the server uses.
type Ingester interface {
	Submit(ctx context.Context, inputs []ingest.Input) []ingest.Result
	CountRejected(source, reason string)
	Status() ingest.Status
	Head() int64
	WaitApplied(ctx context.Context, offset int64) error
}

// Options configure the server. Zero values take the defaults.
type Options struct {
	Ingester     Ingester
	GraphQL      http.Handler // served at /graphql; nil answers 404
	Playground   http.Handler // served at /; nil answers 404
	Gatherer     prometheus.Gatherer
	Registerer   prometheus.Registerer
	Logger       *slog.Logger
	MaxBodyBytes int64    // largest request body, after decompression (default 16 MiB)
	MaxBatch     int      // most events in one batch request (default 10,000)
	APIKeys      []string // if set, ingest requires "Authorization: Bearer <one of them>"
	// StoreCheck, if set, is asked by /readyz whether the graph store
	// answers right now (a ping), besides the outcome of the last apply.
	StoreCheck func(ctx context.Context) error
	// ReadWait bounds how long a GraphQL query waits for the graph to
	// catch up with every event acknowledged before it started, so clients
	// read their own writes (default 5s; then it answers from what is
	// applied).
	ReadWait time.Duration
	// MLflowWebhook, if set, receives MLflow webhook deliveries at
	// POST /api/v1/mlflow/webhook, outside the bearer-token auth (see
	// mountMLflow).
	MLflowWebhook http.Handler
	// MLflowObserver, if set, takes MLflow observations (from `redthread
	// mlflow sync`) at POST /api/v1/mlflow/observations, behind the
	// bearer-token auth of the other ingest routes.
	MLflowObserver MLflowObserver
	// MLflowStatus, if set, reports the MLflow poller in /readyz.
	MLflowStatus func() *MLflowReadiness
}

// DefaultMaxBodyBytes is the default body-size limit.
const DefaultMaxBodyBytes = 16 << 20

// Server is Redthread's HTTP handler.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	methods  map[string][]string // path → the methods routed for it
	disabled map[string]string   // path → why its endpoint is off
	keys     [][32]byte
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New returns the HTTP handler.
func New(opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 10_000
	}
	if opts.ReadWait <= 0 {
		opts.ReadWait = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), methods: map[string][]string{}, disabled: map[string]string{}}
	for _, k := range opts.APIKeys {
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "redthread_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "redthread_http_request_seconds", Help: "HTTP request duration by route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"route"})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(s.requests, s.duration)
	}

	s.handle("POST /api/v1/lineage", "lineage", s.auth(http.HandlerFunc(s.postLineage)))
	s.handle("POST /api/v1/lineage/batch", "lineage_batch", s.auth(http.HandlerFunc(s.postLineageBatch)))
	s.handle("GET /healthz", "healthz", http.HandlerFunc(s.healthz))
	s.handle("GET /readyz", "readyz", http.HandlerFunc(s.readyz))
	s.mountMLflow()
	if opts.Gatherer != nil {
		s.handle("GET /metrics", "metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	}
	if opts.GraphQL != nil {
		s.handle("/graphql", "graphql", s.readYourWrites(opts.GraphQL))
	}
	// Everything else: JSON errors under /api/ and for the paths above
	// asked with another method; the playground (or a JSON 404) elsewhere.
	s.handle("/api/", "unknown", http.HandlerFunc(s.unrouted))
	if opts.Playground != nil {
		s.handle("/", "playground", s.knownPathOr(opts.Playground))
	} else {
		s.handle("/", "unknown", http.HandlerFunc(s.unrouted))
	}
	return s
}

// unrouted answers a request no route takes: 405 naming the allowed
// methods when its path has routes, 404 otherwise (saying why, for an
// endpoint that is off in this configuration).
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	if methods, ok := s.methods[r.URL.Path]; ok {
		w.Header().Set("Allow", strings.Join(methods, ", "))
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
			fmt.Sprintf("%s %s is not served; use %s", r.Method, r.URL.Path, strings.Join(methods, " or ")), "")
		return
	}
	msg := "no endpoint at " + r.URL.Path
	if why, ok := s.disabled[r.URL.Path]; ok {
		msg += ": " + why
	}
	writeError(w, http.StatusNotFound, "NOT_FOUND", msg, "")
}

// knownPathOr sends requests for a routed path (asked with another method)
// to unrouted, and everything else to next.
func (s *Server) knownPathOr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.methods[r.URL.Path]; ok {
			s.unrouted(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// handle registers h with metrics and panic recovery.
func (s *Server) handle(pattern, route string, h http.Handler) {
	if method, path, ok := strings.Cut(pattern, " "); ok {
		s.methods[path] = append(s.methods[path], method)
		if method == http.MethodGet {
			s.methods[path] = append(s.methods[path], http.MethodHead)
		}
	}
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if rec := recover(); rec != nil {
				if rec == http.ErrAbortHandler {
					panic(rec)
				}
				s.opts.Logger.Error("handler panic", "route", route, "panic", rec)
				if !sw.wrote {
					writeError(sw, http.StatusInternalServerError, "INTERNAL", "internal error", "")
				}
			}
			s.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
			s.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		h.ServeHTTP(sw, r)
	}))
}

// auth checks the bearer token when API keys are configured, comparing
// digests in constant time so neither the key nor its length leaks.
func (s *Server) auth(next http.Handler) http.Handler {
	if len(s.keys) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "Bearer "
		h := r.Header.Get("Authorization")
		ok := 0
		if len(h) > len(prefix) && h[:len(prefix)] == prefix {
			got := sha256.Sum256([]byte(h[len(prefix):]))
			for _, k := range s.keys {
				ok |= subtle.ConstantTimeCompare(got[:], k[:])
			}
		}
		if ok != 1 {
			s.opts.Ingester.CountRejected(sourceFor(r), "UNAUTHORIZED")
			w.Header().Set("WWW-Authenticate", `Bearer realm="redthread"`)
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "missing or invalid bearer token", "Authorization")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ConsistencyHeader is the request header with which a GraphQL query
// chooses not to wait for the graph to catch up: "eventual" answers from
// the graph as it is, which under heavy ingest may lag the log by the
// events queued for projection.
const ConsistencyHeader = "Redthread-Consistency"

// readYourWrites makes a query wait (at most ReadWait) until the graph has
// applied every event acknowledged before the query arrived. Ingest replies
// as soon as events are durable and the graph is projected just behind, so
// without this a client could post an event and not find it at once.
// Websocket subscriptions are not delayed, nor are queries that ask for
// eventual consistency (ConsistencyHeader).
func (s *Server) readYourWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventual := strings.EqualFold(r.Header.Get(ConsistencyHeader), "eventual")
		if !eventual && r.Header.Get("Upgrade") == "" && s.opts.Ingester.Status().StoreHealth == nil {
			ctx, cancel := context.WithTimeout(r.Context(), s.opts.ReadWait)
			_ = s.opts.Ingester.WaitApplied(ctx, s.opts.Ingester.Head())
			cancel()
		}
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and websocket upgrades reach the
// underlying writer (Hijack, Flush).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection to a websocket upgrade, recording 101.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer does not support hijacking")
	}
	w.code, w.wrote = http.StatusSwitchingProtocols, true
	return h.Hijack()
}
