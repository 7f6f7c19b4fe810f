// Package gqlhandler builds Redthread's GraphQL endpoint: gqlgen's server
// over the resolvers, with POST, GET and websocket transports (the latter
// through gqlws, over gorilla/websocket), a parsed-query cache,
// introspection, depth and complexity limits, and coded errors.
//
// Every error carries extensions.code. Domain errors keep their graph code
// (INVALID, NOT_FOUND, …) and message, plus extensions.field when they name
// an argument; anything else, resolver panics included, is logged with its
// cause and shown as "internal error" with code INTERNAL. gqlgen's own
// protocol errors keep their codes (GRAPHQL_PARSE_FAILED,
// GRAPHQL_VALIDATION_FAILED, COMPLEXITY_LIMIT_EXCEEDED), and the depth limit
// answers DEPTH_LIMIT_EXCEEDED.
package gqlhandler

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/internal/gqlexec"
	"github.com/redthread/redthread/internal/gqlws"
	"github.com/redthread/redthread/internal/pubsub"
	"github.com/redthread/redthread/resolvers"
)

// Defaults for Options.
const (
	DefaultMaxDepth      = 15      // fields nested in one operation
	DefaultMaxComplexity = 5000    // gqlgen complexity points of one operation
	DefaultMaxBodyBytes  = 1 << 20 // bytes of one POST body
)

const (
	// queryCacheSize is how many parsed and validated documents are kept.
	queryCacheSize = 1000
	// keepAlive is how often an idle websocket gets a keep-alive (graphql-ws)
	// or ping (graphql-transport-ws) message, so proxies do not cut it.
	keepAlive = 15 * time.Second
	// initTimeout is how long a websocket client has to send connection_init.
	initTimeout = 15 * time.Second
)

// Options configure the handler. Store is required; zero values of the
// others take the defaults.
type Options struct {
	// Store answers every query.
	Store graph.Store
	// Hub feeds subscriptions; nil makes them answer UNAVAILABLE.
	Hub *pubsub.Hub
	// Logger receives internal errors and resolver panics; nil discards.
	Logger *slog.Logger
	// MaxDepth is the deepest selection nesting accepted (DefaultMaxDepth).
	MaxDepth int
	// MaxComplexity is the highest gqlgen complexity accepted
	// (DefaultMaxComplexity).
	MaxComplexity int
	// AllowedOrigins are the browser origins allowed to open a websocket
	// beyond the same origin and loopback ones (see gqlws.Options).
	AllowedOrigins []string
	// MaxBodyBytes is the largest POST body accepted (DefaultMaxBodyBytes).
	MaxBodyBytes int64
}

// New returns the GraphQL handler, to be mounted at /graphql. It panics
// when opts.Store is nil, a wiring mistake.
func New(opts Options) http.Handler {
	if opts.Store == nil {
		panic("gqlhandler: Options.Store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if opts.MaxComplexity <= 0 {
		opts.MaxComplexity = DefaultMaxComplexity
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}

	es := gqlexec.NewExecutableSchema(gqlexec.Config{
		Resolvers: &resolvers.Resolver{Store: opts.Store, Hub: opts.Hub},
	})
	p := &presenter{log: opts.Logger}
	ws := gqlws.New(gqlws.Options{AllowedOrigins: opts.AllowedOrigins})

	srv := handler.New(es)
	srv.AddTransport(transport.Websocket{
		Implementation:        ws,
		KeepAlivePingInterval: keepAlive,
		PingPongInterval:      keepAlive,
		MissingPongOk:         true, // the ping only keeps proxies awake
		InitTimeout:           initTimeout,
		ErrorFunc: func(_ context.Context, err error) {
			opts.Logger.Debug("graphql websocket", "err", err)
		},
	})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](queryCacheSize))
	srv.Use(extension.Introspection{})
	srv.Use(DepthLimit{Max: opts.MaxDepth})
	srv.Use(extension.FixedComplexityLimit(opts.MaxComplexity))
	srv.SetErrorPresenter(p.present)
	srv.SetRecoverFunc(p.recover)

	return &gate{next: srv, ws: ws, maxBody: opts.MaxBodyBytes}
}

// gate applies what gqlgen's server does not: the Origin check before a
// websocket upgrade (so a refused browser gets 403, not gqlgen's generic
// 400) and the POST body limit.
type gate struct {
	next    http.Handler
	ws      *gqlws.Implementation
	maxBody int64
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "" && !g.ws.OriginAllowed(r) {
		writeError(w, http.StatusForbidden, graph.EUNAUTHORIZED, "websocket origin "+strconv.Quote(r.Header.Get("Origin"))+" is not allowed")
		return
	}
	if r.Method == http.MethodPost {
		if r.ContentLength > g.maxBody {
			writeError(w, http.StatusRequestEntityTooLarge, graph.ETOOLARGE, "request body exceeds "+strconv.FormatInt(g.maxBody, 10)+" bytes")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, g.maxBody)
	}
	g.next.ServeHTTP(w, r)
}

// writeError answers with a GraphQL-shaped error body.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"errors":[{"message":` + strconv.Quote(msg) + `,"extensions":{"code":"` + code + `"}}]}`))
}

// presenter maps errors to what the caller sees and logs internal ones.
type presenter struct {
	log *slog.Logger
}

// present is gqlgen's ErrorPresenterFunc. gqlgen has already wrapped a
// resolver's error in a *gqlerror.Error carrying its path; the cause is
// reached through Unwrap.
func (p *presenter) present(ctx context.Context, err error) *gqlerror.Error {
	var gqlErr *gqlerror.Error
	if !errors.As(err, &gqlErr) {
		gqlErr = gqlerror.WrapPath(graphql.GetPath(ctx), err)
	}
	var de *graph.Error
	switch {
	case errors.As(err, &de):
		out := &gqlerror.Error{
			Message:    graph.ErrorMessage(de),
			Path:       gqlErr.Path,
			Locations:  gqlErr.Locations,
			Extensions: map[string]any{"code": de.Code},
		}
		if de.Code == graph.EINTERNAL {
			p.logInternal(ctx, gqlErr.Path, err)
		} else if de.Field != "" {
			out.Extensions["field"] = de.Field
		}
		return out
	case gqlErr.Err == nil:
		// Made by gqlgen or the parser and validator: its message is meant
		// for the caller. Only a code is missing on the few that come from
		// a broken invariant (a non-null field resolved to null).
		if _, ok := gqlErr.Extensions["code"]; !ok {
			p.log.Warn("graphql error without a code", "path", gqlErr.Path.String(), "message", gqlErr.Message)
			errcode.Set(gqlErr, graph.EINTERNAL)
		}
		return gqlErr
	default:
		p.logInternal(ctx, gqlErr.Path, err)
		return &gqlerror.Error{
			Message:    "internal error",
			Path:       gqlErr.Path,
			Locations:  gqlErr.Locations,
			Extensions: map[string]any{"code": graph.EINTERNAL},
		}
	}
}

func (p *presenter) logInternal(ctx context.Context, path ast.Path, err error) {
	attrs := []any{"path", path.String(), "err", err}
	if graphql.HasOperationContext(ctx) {
		attrs = append(attrs, "operation", graphql.GetOperationContext(ctx).OperationName)
	}
	p.log.ErrorContext(ctx, "graphql internal error", attrs...)
}

// recover is gqlgen's RecoverFunc: it logs the panic with its stack and
// returns an already presented error, because the websocket transport sends
// errors from a panicking subscription without calling the presenter.
func (p *presenter) recover(ctx context.Context, v any) error {
	p.log.ErrorContext(ctx, "graphql resolver panic", "panic", v, "path", graphql.GetPath(ctx).String(), "stack", string(debug.Stack()))
	err := gqlerror.Errorf("internal error")
	errcode.Set(err, graph.EINTERNAL)
	return err
}
