package resolvers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/internal/gqlhandler"
	"github.com/redthread/redthread/internal/pubsub"
)

// wsMessage is a message of either GraphQL websocket subprotocol.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsClient speaks one subprotocol to the test server over a real socket.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	msgs chan wsMessage
}

func (e *env) dialWS(subprotocol string, header http.Header) (*wsClient, *http.Response, error) {
	e.t.Helper()
	d := websocket.Dialer{Subprotocols: []string{subprotocol}, HandshakeTimeout: 30 * time.Second}
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http")
	conn, res, err := d.DialContext(e.t.Context(), url, header)
	if err != nil {
		return nil, res, err
	}
	c := &wsClient{t: e.t, conn: conn, msgs: make(chan wsMessage, 16)}
	go func() {
		defer close(c.msgs)
		for {
			var m wsMessage
			if err := conn.ReadJSON(&m); err != nil {
				return
			}
			c.msgs <- m
		}
	}()
	e.t.Cleanup(func() { _ = conn.Close() })
	return c, res, nil
}

func (c *wsClient) send(m wsMessage) {
	c.t.Helper()
	if err := c.conn.WriteJSON(m); err != nil {
		c.t.Fatalf("send %s: %v", m.Type, err)
	}
}

// next returns the next message that is not a keep-alive, failing the test
// if none comes within a generous deadline (a hang, not a speed check).
func (c *wsClient) next() wsMessage {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 30*time.Second)
	defer cancel()
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatal("websocket closed while waiting for a message")
			}
			if m.Type == "ka" || m.Type == "ping" || m.Type == "pong" {
				continue
			}
			return m
		case <-ctx.Done():
			c.t.Fatal("no websocket message within 30s")
		}
	}
}

func (c *wsClient) expect(typ string) wsMessage {
	c.t.Helper()
	m := c.next()
	if m.Type != typ {
		c.t.Fatalf("got %s message %s, want %s", m.Type, m.Payload, typ)
	}
	return m
}

// waitSubscribers waits until the hub has n subscribers, so that a
// publication cannot race the subscription it is meant for.
func waitSubscribers(t *testing.T, hub *pubsub.Hub, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for hub.Subscribers() != n {
		select {
		case <-ctx.Done():
			t.Fatalf("hub has %d subscribers, want %d", hub.Subscribers(), n)
		case <-tick.C:
		}
	}
}

const subscription = `subscription($f: LineageEventFilter) { lineageEvents(filter: $f) {
	offset receivedAt kind eventType eventTime producer jobKey runKey inputs outputs warnings } }`

type eventOut struct {
	Offset     int64
	ReceivedAt string
	Kind       string
	EventType  *string
	EventTime  *string
	Producer   *string
	JobKey     *string
	RunKey     *string
	Inputs     []string
	Outputs    []string
	Warnings   []string
}

func decodeEvent(t *testing.T, payload json.RawMessage) eventOut {
	t.Helper()
	var r struct {
		Data   struct{ LineageEvents eventOut }
		Errors []gqlError
	}
	if err := json.Unmarshal(payload, &r); err != nil || len(r.Errors) > 0 {
		t.Fatalf("event payload %s: %v", payload, err)
	}
	return r.Data.LineageEvents
}

func subscribePayload(t *testing.T, vars map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": subscription, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A published message that matches the filter reaches a graphql-transport-ws
// subscriber (GraphiQL's protocol); one that does not is never sent.
func TestSubscriptionGraphQLTransportWS(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{})
	c, _, err := e.dialWS("graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.conn.Subprotocol(); got != "graphql-transport-ws" {
		t.Fatalf("negotiated %q", got)
	}
	c.send(wsMessage{Type: "connection_init"})
	c.expect("connection_ack")
	c.send(wsMessage{ID: "1", Type: "subscribe", Payload: subscribePayload(t, map[string]any{
		"f": map[string]any{"datasetKey": keyOrders, "eventTypes": []string{"complete"}},
	})})
	waitSubscribers(t, e.hub, 1)

	received := time.Date(2024, 5, 2, 8, 0, 0, 0, time.UTC)
	e.hub.Publish(pubsub.Message{Offset: 9, Kind: "RunEvent", EventType: "START", Received: received,
		Inputs: []string{keyOrdersV1}}) // filtered out: wrong event type
	e.hub.Publish(pubsub.Message{Offset: 10, Kind: "RunEvent", EventType: "COMPLETE", Received: received,
		EventTime: received.Add(-time.Minute), Producer: "https://example.com/producer",
		JobKey: keyJob, RunKey: keyRun, Inputs: []string{keyOrdersV1}, Warnings: []string{"lenient"}})

	m := c.expect("next")
	if m.ID != "1" {
		t.Fatalf("next for id %q", m.ID)
	}
	got := decodeEvent(t, m.Payload)
	if got.Offset != 10 || got.ReceivedAt != "2024-05-02T08:00:00Z" || *got.EventTime != "2024-05-02T07:59:00Z" ||
		*got.JobKey != keyJob || *got.RunKey != keyRun || len(got.Inputs) != 1 || len(got.Outputs) != 0 || got.Warnings[0] != "lenient" {
		t.Fatalf("event = %+v", got)
	}

	// Completing the subscription releases its hub subscription.
	c.send(wsMessage{ID: "1", Type: "complete"})
	waitSubscribers(t, e.hub, 0)
	if err := c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")); err != nil {
		t.Fatal(err)
	}
}

// The legacy graphql-ws subprotocol (subscriptions-transport-ws) works too,
// and a hub that drops a lagging subscriber ends the stream with complete.
func TestSubscriptionLegacyGraphQLWS(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{})
	c, _, err := e.dialWS("graphql-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(wsMessage{Type: "connection_init"})
	c.expect("connection_ack")
	c.send(wsMessage{ID: "a", Type: "start", Payload: subscribePayload(t, map[string]any{
		"f": map[string]any{"jobNamespace": "airflow://prod:8080", "kinds": []string{"RunEvent"}},
	})})
	waitSubscribers(t, e.hub, 1)
	e.hub.Publish(pubsub.Message{Offset: 1, Kind: "RunEvent", Received: t0, JobKey: graph.JobKey("airflow://other", "x")})
	e.hub.Publish(pubsub.Message{Offset: 2, Kind: "RunEvent", Received: t0, JobKey: keyJob})
	if got := decodeEvent(t, c.expect("data").Payload); got.Offset != 2 {
		t.Fatalf("got offset %d, want 2 (offset 1 is another namespace)", got.Offset)
	}
	e.hub.Close()
	if m := c.expect("complete"); m.ID != "a" {
		t.Fatalf("complete for id %q", m.ID)
	}
}

func TestSubscriptionErrors(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{})
	c, _, err := e.dialWS("graphql-transport-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(wsMessage{Type: "connection_init"})
	c.expect("connection_ack")
	c.send(wsMessage{ID: "1", Type: "subscribe", Payload: subscribePayload(t, map[string]any{
		"f": map[string]any{"datasetKey": keyRun},
	})})
	var r response
	if err := json.Unmarshal(c.expect("next").Payload, &r); err != nil {
		t.Fatal(err)
	}
	e.wantError(r, graph.EINVALID, "filter.datasetKey")
	c.expect("complete")
}

// A browser page from another origin cannot open a websocket; one from an
// allowed origin can.
func TestWebsocketOrigin(t *testing.T) {
	e := newEnv(t, gqlhandler.Options{AllowedOrigins: []string{"https://*.audit.example"}})
	_, res, err := e.dialWS("graphql-transport-ws", http.Header{"Origin": {"https://evil.example"}})
	if err == nil {
		t.Fatal("dial from a foreign origin succeeded")
	}
	if res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin got %v, want 403", res)
	}
	if _, _, err := e.dialWS("graphql-transport-ws", http.Header{"Origin": {"https://eu.audit.example"}}); err != nil {
		t.Fatalf("allowed origin: %v", err)
	}
	if _, _, err := e.dialWS("graphql-transport-ws", http.Header{"Origin": {"http://localhost:3000"}}); err != nil {
		t.Fatalf("loopback origin: %v", err)
	}
}
