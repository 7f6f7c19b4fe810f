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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
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
	"github.com/redthread/redthread/internal/gqlmodel"
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
// 400), the POST body limit, and coded errors for requests that no
// transport takes or whose body is not a GraphQL request. gqlgen answers
// those with 400 "transport not supported" without a code, or with its
// decoding error, which echoes the body, under code INTERNAL.
type gate struct {
	next    http.Handler
	ws      *gqlws.Implementation
	maxBody int64
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "" {
		if !g.ws.OriginAllowed(r) {
			writeError(w, http.StatusForbidden, graph.EUNAUTHORIZED, "", "websocket origin "+strconv.Quote(r.Header.Get("Origin"))+" is not allowed")
			return
		}
		g.next.ServeHTTP(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		g.next.ServeHTTP(w, r)
	case http.MethodPost:
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, codeUnsupportedMediaType, "",
				fmt.Sprintf("Content-Type %q is not supported; send application/json", r.Header.Get("Content-Type")))
			return
		}
		if r.ContentLength > g.maxBody {
			writeError(w, http.StatusRequestEntityTooLarge, graph.ETOOLARGE, "", "request body exceeds "+strconv.FormatInt(g.maxBody, 10)+" bytes")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.maxBody))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeError(w, http.StatusRequestEntityTooLarge, graph.ETOOLARGE, "", "request body exceeds "+strconv.FormatInt(g.maxBody, 10)+" bytes")
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, graph.EINVALID, "", "reading the request body: "+err.Error())
			return
		}
		if field, msg := checkRequest(body); msg != "" {
			writeError(w, http.StatusBadRequest, graph.EINVALID, field, msg)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		g.next.ServeHTTP(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, "", "method "+r.Method+" is not allowed; use GET or POST")
	}
}

// Codes of the gate's HTTP errors that have no graph error code; they are
// the ones the ingest endpoints use for the same statuses.
const (
	codeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	codeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
)

// graphQLRequest is the shape of a POST body: each member may be absent or
// null.
type graphQLRequest struct {
	Query         *string         `json:"query"`
	OperationName *string         `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

// checkRequest reports what makes body something other than a GraphQL
// request: the member at fault (or "") and a message, which never quotes
// the body. An empty message means the body is fine.
func checkRequest(body []byte) (field, msg string) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return "", "empty request body; send a JSON object with a query"
	}
	var req graphQLRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return "", fmt.Sprintf("request body is not JSON: %s (at byte %d)", syntax.Error(), syntax.Offset)
		case errors.As(err, &typ) && typ.Field == "":
			return "", "request body must be a JSON object, not " + typ.Value
		case errors.As(err, &typ):
			return typ.Field, fmt.Sprintf("must be a string, not %s", typ.Value)
		default:
			return "", "request body is not a GraphQL request: " + err.Error()
		}
	}
	if trimmed[0] != '{' {
		return "", "request body must be a JSON object, not " + jsonKind(trimmed[0])
	}
	for _, m := range []struct {
		name string
		raw  json.RawMessage
	}{{"variables", req.Variables}, {"extensions", req.Extensions}} {
		if len(m.raw) > 0 && m.raw[0] != '{' && !bytes.Equal(m.raw, []byte("null")) {
			return m.name, "must be a JSON object"
		}
	}
	return "", ""
}

// jsonKind names the kind of JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 'n':
		return "null"
	case 't', 'f':
		return "bool"
	default:
		return "number"
	}
}

// writeError answers with a GraphQL-shaped error body, naming field in
// extensions.field when it is not empty.
func writeError(w http.ResponseWriter, status int, code, field, msg string) {
	ext := map[string]string{"code": code}
	if field != "" {
		ext["field"] = field
	}
	body, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{"message": msg, "extensions": ext}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
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
		field := de.Field
		if field == gqlmodel.ArgumentField {
			// A scalar's unmarshaler, which gqlgen calls with the argument's
			// name as the last element of the path.
			field = ""
			if n := len(gqlErr.Path); n > 0 {
				if name, ok := gqlErr.Path[n-1].(ast.PathName); ok {
					field = string(name)
				}
			}
		}
		msg := graph.ErrorMessage(&graph.Error{Code: de.Code, Field: field, Message: de.Message})
		out := &gqlerror.Error{
			Message:    msg,
			Path:       gqlErr.Path,
			Locations:  gqlErr.Locations,
			Extensions: map[string]any{"code": de.Code},
		}
		if de.Code == graph.EINTERNAL {
			p.logInternal(ctx, gqlErr.Path, err)
		} else if field != "" {
			out.Extensions["field"] = field
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
