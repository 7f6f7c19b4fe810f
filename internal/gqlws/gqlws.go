// Package gqlws adapts github.com/gorilla/websocket to gqlgen's websocket
// transport (transport.WebsocketImplementation), which since gqlgen 0.17.92
// ships only an adapter for coder/websocket.
//
// gqlgen's transport speaks both GraphQL websocket subprotocols,
// graphql-transport-ws (the graphql-ws library, GraphiQL) and the legacy
// graphql-ws (subscriptions-transport-ws); this package negotiates whichever
// the client asks for, checks the Origin of browser requests, and enforces a
// read limit and write deadlines.
package gqlws

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// Defaults for Options.
const (
	DefaultReadLimit        = 1 << 20          // bytes in one message from the client
	DefaultWriteTimeout     = 10 * time.Second // for one message to the client
	DefaultHandshakeTimeout = 10 * time.Second // for the opening handshake
)

// ErrOriginNotAllowed is returned by Accept for a browser request whose
// Origin the policy refuses.
var ErrOriginNotAllowed = errors.New("gqlws: websocket origin not allowed")

// Options configure an Implementation. Zero values take the defaults.
type Options struct {
	// AllowedOrigins are origins allowed to open a websocket beyond the
	// same origin and loopback ones, which always are. Each is an origin
	// such as "https://audit.example.com", a path.Match pattern such as
	// "https://*.example.com", or "*" for any origin. Matching ignores case.
	AllowedOrigins []string
	// ReadLimit is the largest message accepted from the client, in bytes.
	// gqlgen's transport sets its own PayloadReadLimit after Accept.
	ReadLimit int64
	// WriteTimeout bounds each write, so a client that stopped reading
	// cannot hold a connection (and its subscriptions) forever.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the opening handshake.
	HandshakeTimeout time.Duration
}

// Implementation accepts websocket connections for gqlgen's transport.
// It is safe for concurrent use.
type Implementation struct {
	opts     Options
	upgrader websocket.Upgrader
}

var _ transport.WebsocketImplementation = (*Implementation)(nil)

// New returns an Implementation with opts.
func New(opts Options) *Implementation {
	if opts.ReadLimit <= 0 {
		opts.ReadLimit = DefaultReadLimit
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	opts.AllowedOrigins = slices.Clone(opts.AllowedOrigins)
	i := &Implementation{opts: opts}
	i.upgrader = websocket.Upgrader{
		HandshakeTimeout: opts.HandshakeTimeout,
		CheckOrigin:      i.OriginAllowed,
		// gqlgen writes its own response when Accept fails; writing one here
		// too would make two.
		Error: func(http.ResponseWriter, *http.Request, int, error) {},
	}
	return i
}

// OriginAllowed reports whether r may open a websocket. A request without
// an Origin header is not from a browser and is allowed (cross-site
// websocket hijacking needs a victim's browser). A browser request is
// allowed when its origin has the request's host (same origin), is on a
// loopback host (localhost, 127.0.0.0/8, ::1), or matches AllowedOrigins.
func (i *Implementation) OriginAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return false // includes the opaque origin "null"
	}
	if strings.EqualFold(u.Host, r.Host) || isLoopback(u.Hostname()) {
		return true
	}
	canon := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, p := range i.opts.AllowedOrigins {
		p = strings.ToLower(strings.TrimSuffix(p, "/"))
		if p == "*" || p == canon {
			return true
		}
		if ok, err := path.Match(p, canon); err == nil && ok {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Accept upgrades the request, negotiating one of options.Subprotocols.
func (i *Implementation) Accept(w http.ResponseWriter, r *http.Request, options transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	if !i.OriginAllowed(r) {
		return nil, ErrOriginNotAllowed
	}
	up := i.upgrader
	up.Subprotocols = options.Subprotocols
	if _, ok := w.(http.Hijacker); !ok {
		// Middleware often wraps the ResponseWriter without forwarding
		// Hijack, which gorilla needs; http.ResponseController finds it
		// through Unwrap.
		w = hijacker{w}
	}
	ws, err := up.Upgrade(w, r, options.ResponseHeader)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(i.opts.ReadLimit)
	return &conn{ws: ws, writeTimeout: i.opts.WriteTimeout}, nil
}

// hijacker gives a wrapped ResponseWriter a Hijack method.
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

// conn is one connection. gqlgen reads from one goroutine and writes from
// several (responses of concurrent subscriptions, keep-alives), while
// gorilla allows one writer at a time: mu serialises the data writes.
// Control frames (WriteClose) are safe beside them.
type conn struct {
	ws           *websocket.Conn
	writeTimeout time.Duration
	mu           sync.Mutex
}

var (
	_ transport.WebsocketConn          = (*conn)(nil)
	_ transport.WebsocketReadLimiter   = (*conn)(nil)
	_ transport.WebsocketReadDeadliner = (*conn)(nil)
)

// NextReader returns the next message. A normal close by the peer
// (including a browser leaving the page) is transport.ErrWebsocketClosed,
// which gqlgen does not report as an error.
func (c *conn) NextReader() (int, io.Reader, error) {
	t, r, err := c.ws.NextReader()
	if err != nil {
		if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
			return t, nil, transport.ErrWebsocketClosed
		}
		return t, nil, err
	}
	return t, r, nil
}

// WriteJSON writes v as one text message within the write timeout.
func (c *conn) WriteJSON(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteJSON(v)
}

// maxCloseReason is the longest close reason a close frame can carry: a
// control frame holds 125 bytes, two of which are the code.
const maxCloseReason = 123

// WriteClose sends a close frame with code and message (cut to fit).
func (c *conn) WriteClose(code int, message string) error {
	if len(message) > maxCloseReason {
		message = message[:maxCloseReason]
		for !utf8.ValidString(message) {
			message = message[:len(message)-1]
		}
	}
	err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, message), time.Now().Add(c.writeTimeout))
	if errors.Is(err, websocket.ErrCloseSent) {
		return nil
	}
	return err
}

// Close closes the network connection.
func (c *conn) Close() error { return c.ws.Close() }

// Subprotocol is the negotiated subprotocol ("" when the client named none).
func (c *conn) Subprotocol() string { return c.ws.Subprotocol() }

// SetReadLimit sets the largest message accepted from the client.
func (c *conn) SetReadLimit(limit int64) { c.ws.SetReadLimit(limit) }

// SetReadDeadline sets the read deadline. gqlgen calls it from its ping
// goroutine while another goroutine reads, so it goes straight to the
// network connection, whose deadline methods are safe for concurrent use.
func (c *conn) SetReadDeadline(t time.Time) error { return c.ws.NetConn().SetReadDeadline(t) }
