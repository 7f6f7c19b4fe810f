package gqlws

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOriginAllowed(t *testing.T) {
	impl := New(Options{AllowedOrigins: []string{"https://Audit.Example.com/", "https://*.corp.example", "[bad"}})
	for _, c := range []struct {
		origin string
		want   bool
	}{
		{"", true},                                    // not a browser
		{"https://api.redthread.example", true},       // same host as the request
		{"http://API.redthread.example", true},        // host comparison ignores case and scheme
		{"http://localhost:5173", true},               // loopback
		{"http://127.0.0.9", true},                    // loopback
		{"http://[::1]:8080", true},                   // loopback
		{"http://app.localhost", true},                // loopback name
		{"https://audit.example.com", true},           // allowed exactly (case and trailing slash ignored)
		{"https://eu.corp.example", true},             // allowed by pattern
		{"http://eu.corp.example", false},             // pattern names https
		{"https://corp.example", false},               // the pattern needs a subdomain
		{"https://evil.example", false},               // foreign
		{"https://api.redthread.example.evil", false}, // foreign, despite the prefix
		{"null", false},                               // opaque origin (sandboxed frame, file:)
		{"::not a url", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://api.redthread.example/graphql", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := impl.OriginAllowed(r); got != c.want {
			t.Errorf("origin %q: allowed = %v, want %v", c.origin, got, c.want)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "http://x/graphql", nil)
	r.Header.Set("Origin", "https://anything.example")
	if !New(Options{AllowedOrigins: []string{"*"}}).OriginAllowed(r) {
		t.Error(`"*" should allow any origin`)
	}
}

// wrapper hides the ResponseWriter's Hijack, as logging and metrics
// middleware often do, but offers Unwrap.
type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// echoServer accepts with impl behind wrapper and echoes each message back
// as JSON, reporting the error that ends the read loop on done.
func echoServer(t *testing.T, impl *Implementation, done chan<- error) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := impl.Accept(wrapper{w}, r, transport.WebsocketAcceptOptions{
			ResponseHeader: http.Header{"X-Test": {"yes"}},
			Subprotocols:   []string{"graphql-ws", "graphql-transport-ws"},
		})
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		for {
			_, rd, err := c.NextReader()
			if err != nil {
				done <- err
				return
			}
			b, err := io.ReadAll(rd)
			if err != nil {
				done <- err
				return
			}
			if err := c.WriteJSON(map[string]string{"echo": string(b), "protocol": c.Subprotocol()}); err != nil {
				done <- err
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func dial(t *testing.T, srv *httptest.Server, protocol string) (*websocket.Conn, *http.Response) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{protocol}}
	conn, res, err := d.DialContext(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return conn, res
}

func TestAcceptEchoAndNormalClose(t *testing.T) {
	done := make(chan error, 1)
	srv := echoServer(t, New(Options{}), done)
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		conn, res := dial(t, srv, protocol)
		if res.Header.Get("X-Test") != "yes" {
			t.Fatal("the transport's response header was not sent")
		}
		if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"connection_init"}`)); err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := conn.ReadJSON(&got); err != nil {
			t.Fatal(err)
		}
		if got["echo"] != `{"type":"connection_init"}` || got["protocol"] != protocol {
			t.Fatalf("echo = %v", got)
		}
		if err := conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye")); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, transport.ErrWebsocketClosed) {
			t.Fatalf("server read ended with %v, want ErrWebsocketClosed", err)
		}
		conn.Close()
	}
}

func TestReadLimit(t *testing.T) {
	done := make(chan error, 1)
	srv := echoServer(t, New(Options{ReadLimit: 16}), done)
	conn, _ := dial(t, srv, "graphql-transport-ws")
	defer conn.Close()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 17))); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, websocket.ErrReadLimit) {
		t.Fatalf("server read ended with %v, want ErrReadLimit", err)
	}
}

func TestRefusedOriginWritesNothing(t *testing.T) {
	done := make(chan error, 1)
	srv := echoServer(t, New(Options{}), done)
	d := websocket.Dialer{}
	_, res, err := d.DialContext(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http"), http.Header{"Origin": {"https://evil.example"}})
	if err == nil {
		t.Fatal("dial succeeded")
	}
	if got := <-done; !errors.Is(got, ErrOriginNotAllowed) {
		t.Fatalf("Accept error %v, want ErrOriginNotAllowed", got)
	}
	// The handler returned without writing: net/http's default 200, empty,
	// which gqlgen's transport replaces with its own error response.
	if res == nil || res.StatusCode != http.StatusOK {
		t.Fatalf("response %v", res)
	}
}

func TestWriteCloseCutsLongReasons(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := New(Options{}).Accept(w, r, transport.WebsocketAcceptOptions{})
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.WriteClose(transport.WebsocketCloseProtocolError, strings.Repeat("é", 100)) // 200 bytes
	}))
	defer srv.Close()
	conn, _ := dial(t, srv, "graphql-transport-ws")
	defer conn.Close()
	_, _, err := conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("read error %v, want a close", err)
	}
	if ce.Code != transport.WebsocketCloseProtocolError || len(ce.Text) > maxCloseReason || !utf8.ValidString(ce.Text) || ce.Text == "" {
		t.Fatalf("close %d %q (%d bytes)", ce.Code, ce.Text, len(ce.Text))
	}
}
