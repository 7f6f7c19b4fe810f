// Package bench is the load generator behind `redthread bench`: sustained
// OpenLineage ingest and lineage-query latency against a running service.
//
// It speaks only HTTP to a base URL (POST /api/v1/lineage, POST
// /api/v1/lineage/batch, POST /graphql), so it can be pointed at Redthread
// or at Marquez; against Redthread it also follows the projection through
// GET /readyz (ProjectionTracker). The events come from internal/workload, so a run is
// reproducible from its workload Config.
//
// Every run is bounded in count and in time, and only loopback targets are
// allowed: this is a benchmark, not a way to load someone else's server.
package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/redthread/redthread/internal/workload"
)

// Mode says how ingest posts events.
type Mode string

// Ingest modes.
const (
	// ModeSingle posts one event per POST /api/v1/lineage.
	ModeSingle Mode = "single"
	// ModeBatch posts BatchSize events as a JSON array per POST
	// /api/v1/lineage/batch.
	ModeBatch Mode = "batch"
)

// Paths of the endpoints, relative to Config.BaseURL.
const (
	LineagePath = "/api/v1/lineage"
	BatchPath   = "/api/v1/lineage/batch"
	GraphQLPath = "/graphql"
)

// Defaults applied to zero Config fields.
const (
	DefaultClients        = 16
	DefaultBatchSize      = 100
	DefaultDuration       = 10 * time.Minute
	DefaultRequestTimeout = 30 * time.Second
	DefaultQueries        = 100
	DefaultSampleKeys     = 20

	// Downstream lineage answers impact questions, Upstream provenance.
	Downstream              = "DOWNSTREAM"
	Upstream                = "UPSTREAM"
	DefaultProgressInterval = time.Second
	DefaultRSSInterval      = 250 * time.Millisecond
)

// DefaultDepths are the lineage depths measured when Config.Depths is empty.
var DefaultDepths = []int{5, 20}

// Config configures a benchmark run. Zero values take the defaults.
type Config struct {
	// BaseURL is the service, e.g. "http://127.0.0.1:8080". Its host must
	// be a loopback address or "localhost".
	BaseURL string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// Workload selects the events (and the lineage sample keys).
	Workload workload.Config

	// Mode is ModeSingle (default) or ModeBatch.
	Mode Mode
	// Clients is the number of concurrent ingest clients, and the size of
	// the connection pool (default 16).
	Clients int
	// BatchSize is the number of events per batch request (default 100).
	BatchSize int
	// Events caps the events sent; zero or more than the workload has
	// means the whole workload.
	Events int
	// Duration caps the wall time of a run (default 10 minutes). When it
	// passes no new request starts; requests in flight finish.
	Duration time.Duration
	// RequestTimeout bounds one request (default 30 s).
	RequestTimeout time.Duration
	// Gzip compresses request bodies (Content-Encoding: gzip).
	Gzip bool

	// Queries is the number of lineage queries per depth (default 100).
	Queries int
	// Depths are the lineage depths to measure (default 5 and 20).
	Depths []int
	// Direction is the lineage direction: Downstream (impact, the
	// default) or Upstream (provenance).
	Direction string
	// Keys are the lineage start keys; empty means SampleKeys keys from
	// the workload: snapshots at the head of long chains for Downstream,
	// at their end for Upstream.
	Keys []string
	// SampleKeys is how many keys to take from the workload (default 20).
	SampleKeys int
	// QueryClients is the number of concurrent lineage clients (default 1,
	// so latency is measured without queueing).
	QueryClients int

	// RSSPID, when positive, is a process whose resident memory is sampled
	// from /proc/<pid>/status during the run.
	RSSPID int
	// StorePID, when positive, is the graph store's own server (such as
	// Neo4j), whose CPU time during ingest is reported beside RSSPID's.
	StorePID int
	// RSSInterval is the sampling period (default 250 ms).
	RSSInterval time.Duration
	// ProgressInterval is the period of progress lines (default 1 s).
	ProgressInterval time.Duration
}

// normalize applies defaults and checks the configuration.
func (c Config) normalize() (Config, error) {
	if err := CheckLoopback(c.BaseURL); err != nil {
		return c, err
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	switch c.Mode {
	case "":
		c.Mode = ModeSingle
	case ModeSingle, ModeBatch:
	default:
		return c, fmt.Errorf("bench: unknown mode %q (want %q or %q)", c.Mode, ModeSingle, ModeBatch)
	}
	if c.Clients <= 0 {
		c.Clients = DefaultClients
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Duration <= 0 {
		c.Duration = DefaultDuration
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.Queries <= 0 {
		c.Queries = DefaultQueries
	}
	if len(c.Depths) == 0 {
		c.Depths = DefaultDepths
	}
	for _, d := range c.Depths {
		if d < 0 {
			return c, fmt.Errorf("bench: negative lineage depth %d", d)
		}
	}
	if c.SampleKeys <= 0 {
		c.SampleKeys = DefaultSampleKeys
	}
	switch c.Direction {
	case "":
		c.Direction = Downstream
	case Downstream, Upstream:
	default:
		return c, fmt.Errorf("bench: lineage direction %q: want %s or %s", c.Direction, Downstream, Upstream)
	}
	if c.QueryClients <= 0 {
		c.QueryClients = 1
	}
	if c.RSSInterval <= 0 {
		c.RSSInterval = DefaultRSSInterval
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = DefaultProgressInterval
	}
	return c, nil
}

// CheckLoopback returns an error unless rawURL is an http(s) URL whose host
// is "localhost" or a loopback IP address.
func CheckLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("bench: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("bench: base URL %q: want http:// or https://", rawURL)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("bench: base URL %q: only loopback targets (127.0.0.0/8, ::1, localhost) are allowed", rawURL)
}

// errNotLoopback is returned by the dialer for any non-loopback address,
// whatever a name resolved to or a redirect pointed at.
var errNotLoopback = errors.New("bench: refusing to connect to a non-loopback address")

// newClient returns a keep-alive HTTP client whose pool holds at most
// conns connections and which only dials loopback addresses.
func newClient(conns int, timeout time.Duration) (*http.Client, *http.Transport) {
	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return errNotLoopback
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy:               nil, // never through a proxy: the target is local
		DialContext:         dialer.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: timeout}, tr
}

// stopReason tells why a load loop ended.
func stopReason(ctx, runCtx context.Context, exhausted bool) string {
	switch {
	case ctx.Err() != nil:
		return "canceled"
	case runCtx.Err() != nil:
		return "duration"
	case exhausted:
		return "workload"
	default:
		return "count"
	}
}
