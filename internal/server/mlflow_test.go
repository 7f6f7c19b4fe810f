package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// stubWebhook stands in for the MLflow receiver and records what reached it.
type stubWebhook struct {
	mu   sync.Mutex
	got  []*http.Request
	body []string
}

func (s *stubWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.got = append(s.got, r)
	s.body = append(s.body, string(b))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"offset":1,"duplicate":false}`)
}

func (s *stubWebhook) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func TestMLflowWebhookBypassesBearerAuth(t *testing.T) {
	hook := &stubWebhook{}
	srv, _ := newTestServer(t, Options{APIKeys: []string{"k1"}, MLflowWebhook: hook})

	// MLflow sends no Authorization header; the signature is checked by
	// the receiver, so the request must reach it.
	const delivery = `{"entity": "model_version", "action": "created", "data": {"name": "m", "version": "1"}}`
	resp, body := post(t, srv.URL+"/api/v1/mlflow/webhook", []byte(delivery), map[string]string{
		"X-MLflow-Delivery-Id": "6f1c9a52-3d4b-4e8f-9a0b-1c2d3e4f5a6b",
		"X-MLflow-Timestamp":   "1795703820",
		"X-MLflow-Signature":   "v1,kVl/S5HgeV9GHutggM3qTKfFedrdaCs4D3MnDCZYI6Y=",
	})
	if resp.StatusCode != http.StatusOK || string(body) != `{"offset":1,"duplicate":false}` {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	if hook.calls() != 1 {
		t.Fatalf("the receiver was called %d times, want once", hook.calls())
	}
	r := hook.got[0]
	if r.Header.Get("X-MLflow-Signature") == "" || r.Header.Get("X-MLflow-Delivery-Id") == "" || hook.body[0] != delivery {
		t.Errorf("the receiver did not get the delivery as sent: headers %v, body %q", r.Header, hook.body[0])
	}

	// A wrong bearer token is not the receiver's business either.
	resp, _ = post(t, srv.URL+"/api/v1/mlflow/webhook", []byte(delivery), map[string]string{"Authorization": "Bearer wrong"})
	if resp.StatusCode != http.StatusOK || hook.calls() != 2 {
		t.Errorf("with a wrong token: status %d, %d calls", resp.StatusCode, hook.calls())
	}

	// The other ingest routes still require the token.
	resp, _ = post(t, srv.URL+"/api/v1/lineage", []byte(okEvent), nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("lineage without a token: status %d, want 401", resp.StatusCode)
	}
}

func TestMLflowWebhookRoute(t *testing.T) {
	hook := &stubWebhook{}
	s := New(Options{Ingester: &fakeIngester{}, MLflowWebhook: hook, Registerer: prometheus.NewRegistry()})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	resp, _ := post(t, srv.URL+"/api/v1/mlflow/webhook", []byte(`{}`), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := testutil.ToFloat64(s.requests.WithLabelValues("mlflow_webhook", "200")); got != 1 {
		t.Errorf("redthread_http_requests_total{route=mlflow_webhook,code=200} = %v, want 1", got)
	}

	get, err := http.Get(srv.URL + "/api/v1/mlflow/webhook")
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if get.StatusCode != http.StatusMethodNotAllowed || hook.calls() != 1 {
		t.Errorf("GET: status %d, %d calls; want 405 and the receiver untouched", get.StatusCode, hook.calls())
	}
}

func TestMLflowWebhookNotConfigured(t *testing.T) {
	srv, _ := newTestServer(t, Options{})
	resp, _ := post(t, srv.URL+"/api/v1/mlflow/webhook", []byte(`{}`), nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404 when no receiver is configured", resp.StatusCode)
	}
}
