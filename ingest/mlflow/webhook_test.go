package mlflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest"
)

// A delivery signed by MLflow 3.17.2 itself: the body is what
// mlflow.webhooks.delivery._send_webhook_request writes (json.dumps of
// entity, action, timestamp, data) and the header what its
// _generate_hmac_signature returned for this secret, id and timestamp.
const (
	mlflowSecret     = "s3cret-shared-with-mlflow"
	mlflowDeliveryID = "6f1c9a52-3d4b-4e8f-9a0b-1c2d3e4f5a6b"
	mlflowTimestamp  = "1795703820" // 2026-11-26T14:37:00Z
	mlflowBody       = `{"entity": "model_version", "action": "created", "timestamp": "2026-11-26T14:37:00.123456+00:00", "data": {"name": "churn", "version": "3", "source": "models:/m-0a1b2c3d4e5f", "run_id": "5f2b8c1d9e7a4b3c8d6e0f1a2b3c4d5e", "tags": {"prov.git_sha": "4e1f0c2"}, "description": null}}`
	mlflowSignature  = "v1,kVl/S5HgeV9GHutggM3qTKfFedrdaCs4D3MnDCZYI6Y="
	testTrackingURI  = "http://127.0.0.1:5000"
)

var mlflowTime = time.Unix(1795703820, 0)

func TestSignWebhookMatchesMLflow(t *testing.T) {
	got := SignWebhook([]byte(mlflowSecret), mlflowDeliveryID, mlflowTimestamp, []byte(mlflowBody))
	if got != mlflowSignature {
		t.Fatalf("SignWebhook = %q, MLflow sent %q", got, mlflowSignature)
	}
}

func TestVerifySignature(t *testing.T) {
	good := strings.TrimPrefix(mlflowSignature, "v1,")
	wrong := SignWebhook([]byte("another secret"), mlflowDeliveryID, mlflowTimestamp, []byte(mlflowBody))
	tests := []struct {
		name    string
		secret  string
		id, ts  string
		body    string
		header  string
		wantErr error
	}{
		{name: "signed by MLflow", header: mlflowSignature},
		{name: "without base64 padding", header: "v1," + strings.TrimRight(good, "=")},
		{name: "surrounding spaces", header: "  " + mlflowSignature + "\t"},
		{name: "wrong secret", secret: "not the secret", header: mlflowSignature, wantErr: ErrSignatureMismatch},
		{name: "tampered body", body: strings.Replace(mlflowBody, `"version": "3"`, `"version": "4"`, 1), header: mlflowSignature, wantErr: ErrSignatureMismatch},
		{name: "tampered timestamp", ts: "1795703821", header: mlflowSignature, wantErr: ErrSignatureMismatch},
		{name: "tampered delivery id", id: "6f1c9a52-3d4b-4e8f-9a0b-1c2d3e4f5a6c", header: mlflowSignature, wantErr: ErrSignatureMismatch},
		{name: "missing header", header: "", wantErr: ErrSignatureMissing},
		{name: "blank header", header: "   ", wantErr: ErrSignatureMissing},
		{name: "v0 scheme", header: "v0," + good, wantErr: ErrSignatureScheme},
		{name: "no scheme", header: good, wantErr: ErrSignatureScheme},
		{name: "upper-case scheme", header: "V1," + good, wantErr: ErrSignatureScheme},
		{name: "bad base64", header: "v1,kVl/S5Hg!!notbase64!!", wantErr: ErrSignatureEncoding},
		{name: "empty v1 signature", header: "v1,", wantErr: ErrSignatureMismatch},
		{name: "truncated mac", header: "v1," + good[:20], wantErr: ErrSignatureMismatch},
		{name: "cut mid-character", header: "v1," + good[:21], wantErr: ErrSignatureEncoding},
		{name: "several, the second matches", header: wrong + " " + mlflowSignature},
		{name: "several, one of another scheme", header: "v0,abc " + mlflowSignature},
		{name: "several, none matches", header: wrong + " v1,AAAA", wantErr: ErrSignatureMismatch},
		{name: "several, bad base64 and mismatch", header: "v1,!!! " + wrong, wantErr: ErrSignatureMismatch},
		{name: "several, bad base64 and other scheme", header: "v1,!!! v0," + good, wantErr: ErrSignatureEncoding},
		{name: "empty secret verifies nothing", secret: "-", header: SignWebhook(nil, mlflowDeliveryID, mlflowTimestamp, []byte(mlflowBody)), wantErr: ErrSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret, id, ts, body := mlflowSecret, mlflowDeliveryID, mlflowTimestamp, mlflowBody
			if tt.secret != "" {
				secret = tt.secret
			}
			if secret == "-" {
				secret = ""
			}
			if tt.id != "" {
				id = tt.id
			}
			if tt.ts != "" {
				ts = tt.ts
			}
			if tt.body != "" {
				body = tt.body
			}
			err := VerifySignature([]byte(secret), id, ts, []byte(body), tt.header)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("VerifySignature = %v, want %v", err, tt.wantErr)
			}
			if err != nil && graph.ErrorCode(err) != graph.EUNAUTHORIZED {
				t.Errorf("code %q, want %q", graph.ErrorCode(err), graph.EUNAUTHORIZED)
			}
		})
	}
}

func TestSignatureErrorsAreDistinct(t *testing.T) {
	errs := []error{ErrSignatureMissing, ErrSignatureScheme, ErrSignatureEncoding, ErrSignatureMismatch}
	for i, a := range errs {
		for j, b := range errs {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v is %v", a, b)
			}
		}
	}
}

// webhookBody builds a delivery body as MLflow writes it.
func webhookBody(entity, action, data string) string {
	return fmt.Sprintf(`{"entity": %q, "action": %q, "timestamp": "2026-11-26T14:37:00.123456+00:00", "data": %s}`, entity, action, data)
}

// record builds the body of a log record around a delivery body.
func record(t testing.TB, event, payload string) []byte {
	t.Helper()
	b, err := json.Marshal(WebhookRecord{
		Format: WebhookFormat, TrackingURI: testTrackingURI, DeliveryID: mlflowDeliveryID, Event: event, Payload: json.RawMessage(payload),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeWebhook(t *testing.T) {
	const ts = "2026-11-26T14:37:00.123456+00:00"
	tests := []struct {
		name    string
		event   string
		payload string
		want    WebhookEvent
	}{{
		name: "model_version.created from MLflow", event: EventModelVersionCreated, payload: mlflowBody,
		want: WebhookEvent{Entity: "model_version", Action: "created", Timestamp: ts,
			ModelVersionCreated: &WebhookModelVersionCreated{
				Name: "churn", Version: "3", Source: "models:/m-0a1b2c3d4e5f", RunID: "5f2b8c1d9e7a4b3c8d6e0f1a2b3c4d5e",
				Tags: map[string]string{"prov.git_sha": "4e1f0c2"},
			}},
	}, {
		name: "model_version.created with nulls, no tags, numeric version", event: EventModelVersionCreated,
		payload: webhookBody("model_version", "created", `{"name": "churn", "version": 12, "source": "runs:/abc/model", "run_id": null, "tags": {}, "description": null}`),
		want: WebhookEvent{Entity: "model_version", Action: "created", Timestamp: ts,
			ModelVersionCreated: &WebhookModelVersionCreated{Name: "churn", Version: "12", Source: "runs:/abc/model"}},
	}, {
		name: "model_version.created with a workspace and lenient tag values", event: EventModelVersionCreated,
		payload: `{"entity": "model_version", "action": "created", "timestamp": "t", "workspace": "team-a", "data": {"name": "m", "version": "1", "description": "first", "tags": {"a": "x", "n": 3, "z": null}}}`,
		want: WebhookEvent{Entity: "model_version", Action: "created", Timestamp: "t", Workspace: "team-a",
			ModelVersionCreated: &WebhookModelVersionCreated{Name: "m", Version: "1", Description: "first",
				Tags: map[string]string{"a": "x", "n": "3", "z": ""}}},
	}, {
		name: "model_version_tag.set", event: EventModelVersionTagSet,
		payload: webhookBody("model_version_tag", "set", `{"name": "example_model", "version": "1", "key": "example_key", "value": "example_value"}`),
		want: WebhookEvent{Entity: "model_version_tag", Action: "set", Timestamp: ts,
			TagSet: &WebhookTagSet{Name: "example_model", Version: "1", Key: "example_key", Value: "example_value"}},
	}, {
		name: "model_version_tag.set with an empty value", event: EventModelVersionTagSet,
		payload: webhookBody("model_version_tag", "set", `{"name": "m", "version": "1", "key": "k", "value": ""}`),
		want: WebhookEvent{Entity: "model_version_tag", Action: "set", Timestamp: ts,
			TagSet: &WebhookTagSet{Name: "m", Version: "1", Key: "k"}},
	}, {
		name: "model_version_tag.deleted", event: EventModelVersionTagDeleted,
		payload: webhookBody("model_version_tag", "deleted", `{"name": "example_model", "version": "1", "key": "example_key"}`),
		want: WebhookEvent{Entity: "model_version_tag", Action: "deleted", Timestamp: ts,
			TagDeleted: &WebhookTagDeleted{Name: "example_model", Version: "1", Key: "example_key"}},
	}, {
		name: "model_version_alias.created", event: EventModelVersionAliasCreated,
		payload: webhookBody("model_version_alias", "created", `{"name": "example_model", "alias": "champion", "version": "1"}`),
		want: WebhookEvent{Entity: "model_version_alias", Action: "created", Timestamp: ts,
			AliasCreated: &WebhookAliasCreated{Name: "example_model", Alias: "champion", Version: "1"}},
	}, {
		name: "model_version_alias.deleted", event: EventModelVersionAliasDeleted,
		payload: webhookBody("model_version_alias", "deleted", `{"name": "example_model", "alias": "champion"}`),
		want: WebhookEvent{Entity: "model_version_alias", Action: "deleted", Timestamp: ts,
			AliasDeleted: &WebhookAliasDeleted{Name: "example_model", Alias: "champion"}},
	}, {
		name: "registered_model.created", event: EventRegisteredModelCreated,
		payload: webhookBody("registered_model", "created", `{"name": "example_model", "tags": {"example_key": "example_value"}, "description": "An example registered model"}`),
		want: WebhookEvent{Entity: "registered_model", Action: "created", Timestamp: ts,
			RegisteredModelCreated: &WebhookRegisteredModelCreated{Name: "example_model", Description: "An example registered model",
				Tags: map[string]string{"example_key": "example_value"}}},
	}, {
		name: "registered_model.created with an empty description", event: EventRegisteredModelCreated,
		payload: webhookBody("registered_model", "created", `{"name": "m", "tags": {}, "description": ""}`),
		want: WebhookEvent{Entity: "registered_model", Action: "created", Timestamp: ts,
			RegisteredModelCreated: &WebhookRegisteredModelCreated{Name: "m"}},
	}, {
		name: "upper-case entity and action", event: EventModelVersionAliasDeleted,
		payload: `{"entity": "MODEL_VERSION_ALIAS", "action": "DELETED", "data": {"name": "m", "alias": "a"}}`,
		want: WebhookEvent{Entity: "model_version_alias", Action: "deleted",
			AliasDeleted: &WebhookAliasDeleted{Name: "m", Alias: "a"}},
	}, {
		name: "prompt.created is kept, not mapped", event: "prompt.created",
		payload: webhookBody("prompt", "created", `{"name": "example_prompt", "tags": {"example_key": "example_value"}, "description": "An example prompt"}`),
		want:    WebhookEvent{Entity: "prompt", Action: "created", Timestamp: ts},
	}, {
		name: "prompt_version.created is kept, not mapped", event: "prompt_version.created",
		payload: webhookBody("prompt_version", "created", `{"name": "p", "version": "1", "template": "Hello {{name}}!", "tags": {}, "description": null}`),
		want:    WebhookEvent{Entity: "prompt_version", Action: "created", Timestamp: ts},
	}, {
		name: "budget_policy.exceeded is kept, not mapped", event: "budget_policy.exceeded",
		payload: webhookBody("budget_policy", "exceeded", `{"budget_policy_id": "bp-abc123", "budget_amount": 100.0, "current_spend": 105.5}`),
		want:    WebhookEvent{Entity: "budget_policy", Action: "exceeded", Timestamp: ts},
	}, {
		name: "an unknown event with odd data is kept", event: "model_version.updated",
		payload: `{"entity": "model_version", "action": "updated", "timestamp": 1795703820, "data": [1, 2]}`,
		want:    WebhookEvent{Entity: "model_version", Action: "updated", Timestamp: "1795703820"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := record(t, tt.event, tt.payload)
			rec, ev, err := DecodeWebhook(body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ev); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
			if rec.Event != tt.event || rec.DeliveryID != mlflowDeliveryID || rec.TrackingURI != testTrackingURI || rec.Format != WebhookFormat {
				t.Errorf("record = %+v", rec)
			}
			// The handler reads the delivery on the wire the same way.
			wire, err := decodeDelivery("", []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, wire); diff != "" {
				t.Errorf("delivery (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeWebhookErrors(t *testing.T) {
	mv := func(data string) string { return webhookBody("model_version", "created", data) }
	rec := func(payload string) string {
		return `{"redthread_mlflow":"webhook/v1","tracking_uri":"http://m:5000","delivery_id":"d","event":"model_version.created","payload":` + payload + `}`
	}
	tests := []struct {
		name      string
		body      string
		wantField string
		wantMsg   string
	}{
		{"empty body", "", "", "empty body"},
		{"not an object", `["x"]`, "", "want an object, got array"},
		{"not JSON", `{"redthread_mlflow":`, "", "not valid JSON"},
		{"format missing", `{"tracking_uri":"u","delivery_id":"d","event":"e","payload":{}}`, "redthread_mlflow", "required"},
		{"an observation", `{"redthread_mlflow":"observation/v1","kind":"run","tracking_uri":"u"}`, "redthread_mlflow", `want "webhook/v1"`},
		{"tracking_uri not a string", `{"redthread_mlflow":"webhook/v1","tracking_uri":5000}`, "tracking_uri", "want a string, got number"},
		{"tracking_uri missing", `{"redthread_mlflow":"webhook/v1","delivery_id":"d","payload":{}}`, "tracking_uri", "required"},
		{"delivery_id missing", `{"redthread_mlflow":"webhook/v1","tracking_uri":"u","payload":{}}`, "delivery_id", "required"},
		{"payload missing", `{"redthread_mlflow":"webhook/v1","tracking_uri":"u","delivery_id":"d","event":"x.y"}`, "payload", "required"},
		{"payload null", rec(`null`), "payload", "required"},
		{"payload not an object", rec(`[1]`), "payload", "want an object, got array"},
		{"entity missing", rec(`{"action":"created","data":{}}`), "payload.entity", "required"},
		{"entity blank", rec(`{"entity":" ","action":"created","data":{}}`), "payload.entity", "required"},
		{"action an object", rec(`{"entity":"model_version","action":{},"data":{}}`), "payload.action", "want a string, got object"},
		{"timestamp an object", rec(`{"entity":"model_version","action":"created","timestamp":{},"data":{}}`), "payload.timestamp", "want a string, got object"},
		{"workspace a boolean", rec(`{"entity":"model_version","action":"created","workspace":true,"data":{}}`), "payload.workspace", "want a string, got boolean"},
		{"data missing", rec(`{"entity":"model_version","action":"created"}`), "payload.data", "required"},
		{"data an array", rec(mv(`[]`)), "payload.data", "want an object, got array"},
		{"name missing", rec(mv(`{"version":"1"}`)), "payload.data.name", "required"},
		{"name empty", rec(mv(`{"name":"","version":"1"}`)), "payload.data.name", "required"},
		{"version missing", rec(mv(`{"name":"m"}`)), "payload.data.version", "required"},
		{"version a boolean", rec(mv(`{"name":"m","version":true}`)), "payload.data.version", "want a string, got boolean"},
		{"source an array", rec(mv(`{"name":"m","version":"1","source":["s3://b"]}`)), "payload.data.source", "want a string, got array"},
		{"tags an array", rec(mv(`{"name":"m","version":"1","tags":[{"key":"k","value":"v"}]}`)), "payload.data.tags", "want an object of tag values, got array"},
		{"tag value an object", rec(mv(`{"name":"m","version":"1","tags":{"k":{}}}`)), `payload.data.tags["k"]`, "want a string, got object"},
		{"event disagrees with payload", `{"redthread_mlflow":"webhook/v1","tracking_uri":"u","delivery_id":"d","event":"model_version.deleted","payload":` + mv(`{"name":"m","version":"1"}`) + `}`, "event", `want "model_version.created"`},
		{"tag set without key", rec(webhookBody("model_version_tag", "set", `{"name":"m","version":"1","value":"v"}`)), "payload.data.key", "required"},
		{"tag deleted without version", rec(webhookBody("model_version_tag", "deleted", `{"name":"m","key":"k"}`)), "payload.data.version", "required"},
		{"alias created without alias", rec(webhookBody("model_version_alias", "created", `{"name":"m","version":"1"}`)), "payload.data.alias", "required"},
		{"alias created without version", rec(webhookBody("model_version_alias", "created", `{"name":"m","alias":"a"}`)), "payload.data.version", "required"},
		{"alias deleted without name", rec(webhookBody("model_version_alias", "deleted", `{"alias":"a"}`)), "payload.data.name", "required"},
		{"registered model without name", rec(webhookBody("registered_model", "created", `{"tags":{}}`)), "payload.data.name", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeWebhook([]byte(tt.body))
			if err == nil {
				t.Fatal("no error")
			}
			var ge *graph.Error
			if !errors.As(err, &ge) || ge.Code != graph.EINVALID {
				t.Fatalf("error %v (%T) is not an INVALID *graph.Error", err, err)
			}
			if ge.Field != tt.wantField {
				t.Errorf("field %q, want %q (%v)", ge.Field, tt.wantField, err)
			}
			if !strings.Contains(ge.Message, tt.wantMsg) {
				t.Errorf("message %q does not say %q", ge.Message, tt.wantMsg)
			}
		})
	}
}

// fakeSubmitter stands in for the pipeline: it logs bodies, answers a
// repeated body as a duplicate of its first offset (as the log does), and
// fails the next submissions with errs.
type fakeSubmitter struct {
	mu    sync.Mutex
	calls int
	got   []ingest.Input
	errs  []error
}

func (f *fakeSubmitter) Submit(_ context.Context, inputs []ingest.Input) []ingest.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	out := make([]ingest.Result, len(inputs))
	for i, in := range inputs {
		if len(f.errs) > 0 {
			out[i].Err, f.errs = f.errs[0], f.errs[1:]
			continue
		}
		for j, g := range f.got {
			if string(g.Body) == string(in.Body) {
				out[i] = ingest.Result{Offset: int64(j + 1), Duplicate: true}
			}
		}
		if !out[i].Duplicate {
			f.got = append(f.got, in)
			out[i].Offset = int64(len(f.got))
		}
	}
	return out
}

func (f *fakeSubmitter) logged() []ingest.Input {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ingest.Input(nil), f.got...)
}

// testClock is an injected clock the tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func newWebhook(t *testing.T, opts WebhookOptions) (http.Handler, *fakeSubmitter, *testClock) {
	t.Helper()
	sub := &fakeSubmitter{}
	clock := &testClock{now: mlflowTime}
	opts.Secret, opts.TrackingURI, opts.Now = []byte(mlflowSecret), testTrackingURI, clock.Now
	h, err := NewWebhookHandler(opts, sub)
	if err != nil {
		t.Fatal(err)
	}
	return h, sub, clock
}

// sentDelivery is one request as MLflow sends it.
type sentDelivery struct {
	id, ts, body, sig string
}

// signed returns a delivery of body signed with the test secret at ts.
func signed(id, ts, body string) sentDelivery {
	return sentDelivery{id: id, ts: ts, body: body, sig: SignWebhook([]byte(mlflowSecret), id, ts, []byte(body))}
}

var fromMLflow = sentDelivery{id: mlflowDeliveryID, ts: mlflowTimestamp, body: mlflowBody, sig: mlflowSignature}

func (d sentDelivery) send(t *testing.T, h http.Handler) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/mlflow/webhook", strings.NewReader(d.body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range map[string]string{HeaderDeliveryID: d.id, HeaderTimestamp: d.ts, HeaderSignature: d.sig} {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("reply is not JSON: %q", w.Body.String())
	}
	return w.Code, out
}

// wantError checks an error reply against the shape of internal/server's.
func wantError(t *testing.T, code int, body map[string]any, wantCode int, wantError, wantField string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("status %d, want %d: %v", code, wantCode, body)
	}
	if body["code"] != float64(wantCode) || body["error"] != wantError || body["message"] == "" {
		t.Errorf("error body %v, want code %d and error %q with a message", body, wantCode, wantError)
	}
	if f, _ := body["field"].(string); f != wantField {
		t.Errorf("field %q, want %q (%v)", f, wantField, body)
	}
}

func TestWebhookLogsADelivery(t *testing.T) {
	h, sub, _ := newWebhook(t, WebhookOptions{})
	code, body := fromMLflow.send(t, h)
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, body)
	}
	if diff := cmp.Diff(map[string]any{"offset": 1.0, "duplicate": false}, body); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}
	got := sub.logged()
	if len(got) != 1 {
		t.Fatalf("submitted %d inputs, want 1", len(got))
	}
	want := `{"redthread_mlflow":"webhook/v1","tracking_uri":"http://127.0.0.1:5000",` +
		`"delivery_id":"6f1c9a52-3d4b-4e8f-9a0b-1c2d3e4f5a6b","event":"model_version.created",` +
		`"payload":{"entity":"model_version","action":"created","timestamp":"2026-11-26T14:37:00.123456+00:00",` +
		`"data":{"name":"churn","version":"3","source":"models:/m-0a1b2c3d4e5f","run_id":"5f2b8c1d9e7a4b3c8d6e0f1a2b3c4d5e",` +
		`"tags":{"prov.git_sha":"4e1f0c2"},"description":null}}}`
	if got[0].Source != WebhookSource || string(got[0].Body) != want {
		t.Errorf("submitted %s %s\nwant %s %s", got[0].Source, got[0].Body, WebhookSource, want)
	}
	if _, ev, err := DecodeWebhook(got[0].Body); err != nil || ev.ModelVersionCreated == nil || ev.ModelVersionCreated.Version != "3" {
		t.Errorf("the logged record does not decode: %+v, %v", ev, err)
	}
}

func TestWebhookRefusesUnauthenticated(t *testing.T) {
	stale := mlflowTime.Add(-DefaultWebhookWindow - time.Second).Unix()
	future := mlflowTime.Add(DefaultWebhookWindow + time.Second).Unix()
	forged := fromMLflow
	forged.sig = SignWebhook([]byte("guessed"), forged.id, forged.ts, []byte(forged.body))
	tampered := fromMLflow
	tampered.body = strings.Replace(tampered.body, `"churn"`, `"fraud"`, 1)
	noID, noTS, noSig := fromMLflow, fromMLflow, fromMLflow
	noID.id, noTS.ts, noSig.sig = "", "", ""
	tests := []struct {
		name      string
		d         sentDelivery
		wantField string
	}{
		{"forged signature", forged, HeaderSignature},
		{"tampered body", tampered, HeaderSignature},
		{"missing signature", noSig, HeaderSignature},
		{"missing delivery id", noID, HeaderDeliveryID},
		{"overlong delivery id", signed(strings.Repeat("d", maxDeliveryIDLen+1), mlflowTimestamp, mlflowBody), HeaderDeliveryID},
		{"missing timestamp", noTS, HeaderTimestamp},
		{"timestamp not an integer", signed("d1", "1795703820.5", mlflowBody), HeaderTimestamp},
		{"timestamp in milliseconds", signed("d2", "1795703820000", mlflowBody), HeaderTimestamp},
		{"stale timestamp", signed("d3", strconv.FormatInt(stale, 10), mlflowBody), HeaderTimestamp},
		{"future timestamp", signed("d4", strconv.FormatInt(future, 10), mlflowBody), HeaderTimestamp},
		{"unsigned invalid JSON is not parsed", sentDelivery{id: "d5", ts: mlflowTimestamp, body: "{not json", sig: "v1,AAAA"}, HeaderSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, sub, _ := newWebhook(t, WebhookOptions{})
			code, body := tt.d.send(t, h)
			wantError(t, code, body, http.StatusUnauthorized, graph.EUNAUTHORIZED, tt.wantField)
			if n := len(sub.logged()); n != 0 {
				t.Errorf("submitted %d inputs", n)
			}
		})
	}
}

func TestWebhookWindowEdges(t *testing.T) {
	for _, skew := range []time.Duration{-DefaultWebhookWindow, DefaultWebhookWindow} {
		h, _, _ := newWebhook(t, WebhookOptions{})
		ts := strconv.FormatInt(mlflowTime.Add(skew).Unix(), 10)
		if code, body := signed("edge", ts, mlflowBody).send(t, h); code != http.StatusOK {
			t.Errorf("skew %s: status %d: %v", skew, code, body)
		}
	}
	h, _, _ := newWebhook(t, WebhookOptions{Window: time.Minute})
	ts := strconv.FormatInt(mlflowTime.Add(-61*time.Second).Unix(), 10)
	code, body := signed("narrow", ts, mlflowBody).send(t, h)
	wantError(t, code, body, http.StatusUnauthorized, graph.EUNAUTHORIZED, HeaderTimestamp)
}

func TestWebhookRefusesInvalidPayloads(t *testing.T) {
	tests := []struct {
		name, body, wantField string
	}{
		{"not JSON", `{"entity": "model_version"`, ""},
		{"empty", ``, ""},
		{"no name", webhookBody("model_version", "created", `{"version": "1"}`), "data.name"},
		{"no entity", `{"action": "created", "data": {}}`, "entity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, sub, _ := newWebhook(t, WebhookOptions{})
			code, body := signed("bad-"+tt.name, mlflowTimestamp, tt.body).send(t, h)
			wantError(t, code, body, http.StatusBadRequest, graph.EINVALID, tt.wantField)
			if n := len(sub.logged()); n != 0 {
				t.Errorf("submitted %d inputs", n)
			}
		})
	}
}

func TestWebhookDropsRedeliveries(t *testing.T) {
	h, sub, clock := newWebhook(t, WebhookOptions{})
	if code, body := fromMLflow.send(t, h); code != http.StatusOK {
		t.Fatalf("status %d: %v", code, body)
	}
	code, body := fromMLflow.send(t, h)
	if code != http.StatusOK {
		t.Fatalf("redelivery: status %d: %v", code, body)
	}
	if diff := cmp.Diff(map[string]any{"offset": 1.0, "duplicate": true}, body); diff != "" {
		t.Errorf("redelivery reply (-want +got):\n%s", diff)
	}
	if sub.calls != 1 {
		t.Errorf("submitted %d times, want once", sub.calls)
	}

	// The same body under another delivery id is another delivery.
	if code, body := signed("another-id", mlflowTimestamp, mlflowBody).send(t, h); code != http.StatusOK || body["duplicate"] != false || body["offset"] != 2.0 {
		t.Errorf("another delivery id: status %d: %v", code, body)
	}

	// Once the window has passed, a replay is refused by its timestamp.
	clock.set(mlflowTime.Add(DefaultWebhookWindow + time.Second))
	code, body = fromMLflow.send(t, h)
	wantError(t, code, body, http.StatusUnauthorized, graph.EUNAUTHORIZED, HeaderTimestamp)
	if len(sub.logged()) != 2 {
		t.Errorf("logged %d records, want 2", len(sub.logged()))
	}
}

func TestWebhookAnswersSubmitFailures(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantCode  int
		wantError string
		wantField string
		wantMsg   string
	}{
		{"log unavailable", graph.Errorf(graph.EUNAVAILABLE, "event log unavailable; retry"), http.StatusServiceUnavailable, graph.EUNAVAILABLE, "", "event log unavailable; retry"},
		{"refused by the decoder", graph.FieldErrorf(graph.EINVALID, "payload.data.source", "not a URI"), http.StatusBadRequest, graph.EINVALID, "payload.data.source", "not a URI"},
		{"internal", graph.Internal(errors.New("disk on fire")), http.StatusInternalServerError, graph.EINTERNAL, "", "internal error"},
		{"not a domain error", errors.New("secret detail"), http.StatusInternalServerError, graph.EINTERNAL, "", "internal error"},
		{"too large for the log", graph.Errorf(graph.ETOOLARGE, "record too large"), http.StatusInternalServerError, graph.ETOOLARGE, "", "record too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, sub, _ := newWebhook(t, WebhookOptions{})
			sub.errs = []error{tt.err}
			code, body := fromMLflow.send(t, h)
			wantError(t, code, body, tt.wantCode, tt.wantError, tt.wantField)
			if body["message"] != tt.wantMsg {
				t.Errorf("message %q, want %q", body["message"], tt.wantMsg)
			}
		})
	}
}

func TestWebhookRetryAfterUnavailableIsLogged(t *testing.T) {
	h, sub, clock := newWebhook(t, WebhookOptions{})
	sub.errs = []error{graph.Errorf(graph.EUNAVAILABLE, "event log unavailable; retry")}
	code, body := fromMLflow.send(t, h)
	wantError(t, code, body, http.StatusServiceUnavailable, graph.EUNAVAILABLE, "")

	// MLflow resends the same request after a back-off.
	clock.set(mlflowTime.Add(3 * time.Second))
	code, body = fromMLflow.send(t, h)
	if code != http.StatusOK || body["duplicate"] != false || body["offset"] != 1.0 {
		t.Fatalf("retry: status %d: %v", code, body)
	}
	if sub.calls != 2 || len(sub.logged()) != 1 {
		t.Errorf("%d submit calls and %d records, want 2 and 1", sub.calls, len(sub.logged()))
	}
}

func TestWebhookBodyLimit(t *testing.T) {
	h, sub, _ := newWebhook(t, WebhookOptions{MaxBodyBytes: 64})
	small := `{"entity": "prompt", "action": "created", "data": {}}`
	if code, body := signed("small", mlflowTimestamp, small).send(t, h); code != http.StatusOK {
		t.Errorf("%d-byte body: status %d: %v", len(small), code, body)
	}
	big := webhookBody("prompt", "created", `{"name": "`+strings.Repeat("p", 64)+`"}`)
	code, body := signed("big", mlflowTimestamp, big).send(t, h)
	wantError(t, code, body, http.StatusRequestEntityTooLarge, graph.ETOOLARGE, "")
	if n := len(sub.logged()); n != 1 {
		t.Errorf("logged %d records, want 1", n)
	}
}

func TestWebhookOnlyPost(t *testing.T) {
	h, _, _ := newWebhook(t, WebhookOptions{})
	for _, m := range []string{http.MethodGet, http.MethodPut} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(m, "/api/v1/mlflow/webhook", nil))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
			t.Errorf("%s: status %d, Allow %q", m, w.Code, w.Header().Get("Allow"))
		}
		var e map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e["code"] != 405.0 {
			t.Errorf("%s: body %q", m, w.Body.String())
		}
	}
}

func TestNewWebhookHandlerNeedsSecretAndServer(t *testing.T) {
	sub := &fakeSubmitter{}
	for name, opts := range map[string]WebhookOptions{
		"no secret":       {TrackingURI: testTrackingURI},
		"no tracking URI": {Secret: []byte("s")},
	} {
		if _, err := NewWebhookHandler(opts, sub); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := NewWebhookHandler(WebhookOptions{Secret: []byte("s"), TrackingURI: testTrackingURI}, nil); err == nil {
		t.Error("no submitter: no error")
	}
}

func TestWebhookMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, _, _ := newWebhook(t, WebhookOptions{Registerer: reg})
	fromMLflow.send(t, h)
	fromMLflow.send(t, h)
	forged := fromMLflow
	forged.sig = "v1,AAAA"
	forged.send(t, h)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 {
		t.Fatalf("gathered %d families: %v", len(mfs), err)
	}
	c := h.(*webhookHandler).deliveries
	for outcome, want := range map[string]float64{"accepted": 1, "duplicate": 1, "unauthorized": 1} {
		if got := testutil.ToFloat64(c.WithLabelValues(outcome)); got != want {
			t.Errorf("%s = %v, want %v", outcome, got, want)
		}
	}
	// A second receiver on the same registry is a configuration error, not a panic.
	if _, err := NewWebhookHandler(WebhookOptions{Secret: []byte("s"), TrackingURI: "u", Registerer: reg}, &fakeSubmitter{}); err == nil {
		t.Error("registering twice: no error")
	}
}

func TestDeliveriesAreBoundedAndExpire(t *testing.T) {
	d := newDeliveries(3)
	t0 := mlflowTime
	for i := range 5 {
		d.remember(fmt.Sprint(i), int64(i), t0.Add(time.Minute), t0)
	}
	if d.size() != 3 {
		t.Errorf("remembered %d, want 3", d.size())
	}
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok := d.lookup(fmt.Sprint(i), t0); ok != want {
			t.Errorf("id %d remembered = %v, want %v", i, ok, want)
		}
	}
	if off, ok := d.lookup("4", t0.Add(59*time.Second)); !ok || off != 4 {
		t.Errorf("lookup before expiry = %d, %v", off, ok)
	}
	if _, ok := d.lookup("4", t0.Add(time.Minute)); ok {
		t.Error("remembered past its expiry")
	}
	if d.size() != 0 {
		t.Errorf("%d left after all expired", d.size())
	}
	// Remembering an id again keeps one entry.
	d.remember("x", 1, t0.Add(time.Minute), t0)
	d.remember("x", 1, t0.Add(2*time.Minute), t0)
	if d.size() != 1 || len(d.order) != 1 {
		t.Errorf("size %d, order %d after remembering one id twice", d.size(), len(d.order))
	}
}
