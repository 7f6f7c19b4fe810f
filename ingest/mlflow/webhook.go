package mlflow

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest"
)

// MLflow 3 model-registry webhooks (MLflow ≥ 3.3) POST a JSON body
//
//	{"entity": "model_version", "action": "created", "timestamp": "<ISO 8601>", "data": {…}}
//
// (plus "workspace" when MLflow runs with workspaces) and sign it, following
// the Standard Webhooks conventions, with
//
//	X-MLflow-Signature: v1,<base64 of HMAC-SHA256(secret, delivery_id + "." + timestamp + "." + body)>
//
// MLflow retries a delivery that answers 429 or 5xx by resending the same
// request: same delivery id, same timestamp, same body.

// Delivery headers sent by MLflow.
const (
	HeaderDeliveryID = "X-MLflow-Delivery-Id" // a UUID per delivery, kept across retries
	HeaderTimestamp  = "X-MLflow-Timestamp"   // Unix seconds when the delivery was signed
	HeaderSignature  = "X-MLflow-Signature"   // "v1,<base64>", possibly several separated by spaces
)

// WebhookFormat is the value of WebhookRecord.Format.
const WebhookFormat = "webhook/v1"

// WebhookSource is the event-log source of webhook records.
const WebhookSource = "mlflow/webhook"

// Webhook event names, "<entity>.<action>" as MLflow writes them. Events
// not listed here (prompt.*, budget_policy.exceeded, future ones) are
// accepted and logged but carry no typed payload.
const (
	EventRegisteredModelCreated   = "registered_model.created"
	EventModelVersionCreated      = "model_version.created"
	EventModelVersionTagSet       = "model_version_tag.set"
	EventModelVersionTagDeleted   = "model_version_tag.deleted"
	EventModelVersionAliasCreated = "model_version_alias.created"
	EventModelVersionAliasDeleted = "model_version_alias.deleted"
)

// A WebhookRecord is the body of an event-log record whose source is
// WebhookSource: one authenticated MLflow webhook delivery. It leaves out
// the delivery's timestamp header and signature, so a redelivery of the
// same delivery id with the same body encodes to the same bytes and the
// log keeps it once.
type WebhookRecord struct {
	// Format is always WebhookFormat; it tells a webhook record from an
	// Observation and from any other JSON.
	Format string `json:"redthread_mlflow"`
	// TrackingURI is the MLflow server the receiver is configured for (the
	// body does not name it); see Namespace.
	TrackingURI string `json:"tracking_uri"`
	// DeliveryID is the X-MLflow-Delivery-Id header.
	DeliveryID string `json:"delivery_id"`
	// Event is "<entity>.<action>" of the payload, in lower case, e.g.
	// EventModelVersionCreated.
	Event string `json:"event"`
	// Payload is the delivery body as received. Encoding the record with
	// encoding/json compacts it (MLflow's ", " and ": " separators go, and
	// <, >, & are escaped) without changing its meaning.
	Payload json.RawMessage `json:"payload"`
}

// WebhookEvent is a webhook payload read into types. Entity, Action,
// Timestamp and Workspace are set for every event; at most one of the
// pointers is, according to the event, and none for events Redthread does
// not map.
type WebhookEvent struct {
	Entity    string // e.g. "model_version", lower case
	Action    string // e.g. "created", lower case
	Timestamp string // the body's "timestamp" as sent (ISO 8601 from MLflow); not the signed header
	Workspace string // the MLflow workspace, when MLflow runs with workspaces

	ModelVersionCreated    *WebhookModelVersionCreated
	TagSet                 *WebhookTagSet
	TagDeleted             *WebhookTagDeleted
	AliasCreated           *WebhookAliasCreated
	AliasDeleted           *WebhookAliasDeleted
	RegisteredModelCreated *WebhookRegisteredModelCreated
}

// Name returns "<entity>.<action>", the value of WebhookRecord.Event.
func (e WebhookEvent) Name() string { return e.Entity + "." + e.Action }

// WebhookModelVersionCreated is the data of model_version.created.
type WebhookModelVersionCreated struct {
	Name        string
	Version     string
	Source      string            // e.g. "models:/m-…" (a logged model) or "runs:/<run>/model"
	RunID       string            // empty when MLflow sends null
	Description string            // empty when MLflow sends null
	Tags        map[string]string // nil when there are none
}

// WebhookTagSet is the data of model_version_tag.set.
type WebhookTagSet struct {
	Name, Version, Key, Value string
}

// WebhookTagDeleted is the data of model_version_tag.deleted.
type WebhookTagDeleted struct {
	Name, Version, Key string
}

// WebhookAliasCreated is the data of model_version_alias.created: alias
// now points at version (moving it from any other version).
type WebhookAliasCreated struct {
	Name, Alias, Version string
}

// WebhookAliasDeleted is the data of model_version_alias.deleted.
type WebhookAliasDeleted struct {
	Name, Alias string
}

// WebhookRegisteredModelCreated is the data of registered_model.created.
type WebhookRegisteredModelCreated struct {
	Name        string
	Description string
	Tags        map[string]string // nil when there are none
}

// DecodeWebhook reads the body of a WebhookRecord from the event log and
// its payload. It is lenient where MLflow's JSON may vary (a version as a
// number or a string, null for absent values, unknown fields and unknown
// events) and strict where the graph needs a value (names, versions, keys,
// aliases). Errors are *graph.Error with code graph.EINVALID whose field
// is a path in the record, e.g. "payload.data.name".
func DecodeWebhook(body []byte) (WebhookRecord, WebhookEvent, error) {
	if _, err := payloadObject("", body); err != nil {
		return WebhookRecord{}, WebhookEvent{}, err
	}
	var rec WebhookRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return WebhookRecord{}, WebhookEvent{}, graph.FieldErrorf(graph.EINVALID, te.Field, "want a string, got %s", te.Value)
		}
		return WebhookRecord{}, WebhookEvent{}, payloadNotJSON("", body)
	}
	switch {
	case rec.Format == "":
		return rec, WebhookEvent{}, graph.FieldErrorf(graph.EINVALID, "redthread_mlflow", "required field is missing")
	case rec.Format != WebhookFormat:
		return rec, WebhookEvent{}, graph.FieldErrorf(graph.EINVALID, "redthread_mlflow", "want %q, got %q", WebhookFormat, rec.Format)
	case strings.TrimSpace(rec.TrackingURI) == "":
		return rec, WebhookEvent{}, graph.FieldErrorf(graph.EINVALID, "tracking_uri", "required field is missing")
	case strings.TrimSpace(rec.DeliveryID) == "":
		return rec, WebhookEvent{}, graph.FieldErrorf(graph.EINVALID, "delivery_id", "required field is missing")
	}
	ev, err := decodeDelivery("payload", rec.Payload)
	if err != nil {
		return rec, WebhookEvent{}, err
	}
	if rec.Event != ev.Name() {
		return rec, WebhookEvent{}, graph.FieldErrorf(graph.EINVALID, "event", "want %q (the payload's entity.action), got %q", ev.Name(), rec.Event)
	}
	return rec, ev, nil
}

// decodeDelivery reads a delivery body. root is the path of the body in
// error fields: "payload" in a record, "" for a delivery on the wire.
func decodeDelivery(root string, body []byte) (WebhookEvent, error) {
	obj, err := payloadObject(root, body)
	if err != nil {
		return WebhookEvent{}, err
	}
	p := func(name string) string { return fieldPath(root, name) }
	var ev WebhookEvent
	if ev.Entity, err = payloadRequired(p("entity"), obj["entity"]); err != nil {
		return WebhookEvent{}, err
	}
	if ev.Action, err = payloadRequired(p("action"), obj["action"]); err != nil {
		return WebhookEvent{}, err
	}
	ev.Entity, ev.Action = strings.ToLower(strings.TrimSpace(ev.Entity)), strings.ToLower(strings.TrimSpace(ev.Action))
	if ev.Timestamp, err = payloadString(p("timestamp"), obj["timestamp"]); err != nil {
		return WebhookEvent{}, err
	}
	if ev.Workspace, err = payloadString(p("workspace"), obj["workspace"]); err != nil {
		return WebhookEvent{}, err
	}

	name := ev.Name()
	switch name {
	case EventRegisteredModelCreated, EventModelVersionCreated, EventModelVersionTagSet,
		EventModelVersionTagDeleted, EventModelVersionAliasCreated, EventModelVersionAliasDeleted:
	default:
		return ev, nil // accepted and kept in the log, not mapped
	}
	dp := p("data")
	d := payloadFields{root: dp}
	if d.obj, err = payloadObject(dp, obj["data"]); err != nil {
		return WebhookEvent{}, err
	}
	switch name {
	case EventModelVersionCreated:
		v := &WebhookModelVersionCreated{
			Name: d.required("name"), Version: d.required("version"), Source: d.optional("source"),
			RunID: d.optional("run_id"), Description: d.optional("description"), Tags: d.tags("tags"),
		}
		ev.ModelVersionCreated = v
	case EventModelVersionTagSet:
		ev.TagSet = &WebhookTagSet{Name: d.required("name"), Version: d.required("version"), Key: d.required("key"), Value: d.optional("value")}
	case EventModelVersionTagDeleted:
		ev.TagDeleted = &WebhookTagDeleted{Name: d.required("name"), Version: d.required("version"), Key: d.required("key")}
	case EventModelVersionAliasCreated:
		ev.AliasCreated = &WebhookAliasCreated{Name: d.required("name"), Alias: d.required("alias"), Version: d.required("version")}
	case EventModelVersionAliasDeleted:
		ev.AliasDeleted = &WebhookAliasDeleted{Name: d.required("name"), Alias: d.required("alias")}
	case EventRegisteredModelCreated:
		ev.RegisteredModelCreated = &WebhookRegisteredModelCreated{Name: d.required("name"), Description: d.optional("description"), Tags: d.tags("tags")}
	}
	if d.err != nil {
		return WebhookEvent{}, d.err
	}
	return ev, nil
}

// payloadFields reads the members of one JSON object, keeping the first error so
// a payload reads as one flat list of fields.
type payloadFields struct {
	root string
	obj  map[string]json.RawMessage
	err  error
}

func (f *payloadFields) required(name string) string {
	if f.err != nil {
		return ""
	}
	s, err := payloadRequired(fieldPath(f.root, name), f.obj[name])
	f.err = err
	return s
}

func (f *payloadFields) optional(name string) string {
	if f.err != nil {
		return ""
	}
	s, err := payloadString(fieldPath(f.root, name), f.obj[name])
	f.err = err
	return s
}

// tags reads an object of tag values (MLflow sends {key: value}); null,
// absent and {} give nil.
func (f *payloadFields) tags(name string) map[string]string {
	if f.err != nil {
		return nil
	}
	path := fieldPath(f.root, name)
	raw := bytes.TrimSpace(f.obj[name])
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '{' {
		f.err = graph.FieldErrorf(graph.EINVALID, path, "want an object of tag values, got %s", payloadKind(raw[0]))
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		f.err = payloadNotJSON(path, raw)
		return nil
	}
	if len(m) == 0 {
		return nil
	}
	tags := make(map[string]string, len(m))
	for k, v := range m {
		s, err := payloadString(path+"["+strconv.Quote(k)+"]", v)
		if err != nil {
			f.err = err
			return nil
		}
		tags[k] = s
	}
	return tags
}

// payloadObject reads raw as a JSON object; path names it in errors.
func payloadObject(path string, raw []byte) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		if path == "" {
			return nil, graph.FieldErrorf(graph.EINVALID, "", "empty body: want a JSON object")
		}
		return nil, graph.FieldErrorf(graph.EINVALID, path, "required field is missing")
	case raw[0] != '{':
		if !json.Valid(raw) {
			return nil, payloadNotJSON(path, raw)
		}
		return nil, graph.FieldErrorf(graph.EINVALID, path, "want an object, got %s", payloadKind(raw[0]))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, payloadNotJSON(path, raw)
	}
	return obj, nil
}

// payloadString reads a scalar leniently: a string as is, a number as its JSON
// text (MLflow versions are strings, but a client may send 3), null or
// absent as "".
func payloadString(path string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", payloadNotJSON(path, raw)
		}
		return s, nil
	case c == '-' || c >= '0' && c <= '9':
		return string(raw), nil
	default:
		return "", graph.FieldErrorf(graph.EINVALID, path, "want a string, got %s", payloadKind(c))
	}
}

// payloadRequired is payloadString that refuses an empty or blank value.
func payloadRequired(path string, raw json.RawMessage) (string, error) {
	s, err := payloadString(path, raw)
	if err == nil && strings.TrimSpace(s) == "" {
		err = graph.FieldErrorf(graph.EINVALID, path, "required field is missing")
	}
	return s, err
}

func fieldPath(root, name string) string {
	if root == "" {
		return name
	}
	return root + "." + name
}

func payloadKind(first byte) string {
	switch first {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func payloadNotJSON(path string, body []byte) error {
	var v any
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return graph.FieldErrorf(graph.EINVALID, path, "not valid JSON at byte %d: %s", se.Offset, se.Error())
	}
	return graph.FieldErrorf(graph.EINVALID, path, "not valid JSON")
}

// Signature errors, one per way a signature can fail, all with code
// graph.EUNAUTHORIZED and the signature header as their field.
var (
	ErrSignatureMissing  = graph.FieldErrorf(graph.EUNAUTHORIZED, HeaderSignature, "missing: create the MLflow webhook with a secret")
	ErrSignatureScheme   = graph.FieldErrorf(graph.EUNAUTHORIZED, HeaderSignature, "no v1 signature (the only scheme supported)")
	ErrSignatureEncoding = graph.FieldErrorf(graph.EUNAUTHORIZED, HeaderSignature, "v1 signature is not valid base64")
	ErrSignatureMismatch = graph.FieldErrorf(graph.EUNAUTHORIZED, HeaderSignature, "signature does not match: wrong secret, or the delivery was altered")
)

// SignWebhook returns the X-MLflow-Signature value MLflow sends for a
// delivery: "v1," and the base64 of HMAC-SHA256(secret, deliveryID + "." +
// timestamp + "." + body).
func SignWebhook(secret []byte, deliveryID, timestamp string, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(webhookMAC(secret, deliveryID, timestamp, body))
}

func webhookMAC(secret []byte, deliveryID, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(deliveryID))
	m.Write([]byte{'.'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks the X-MLflow-Signature header of a delivery. The
// header holds one or more space-separated "<scheme>,<base64>" signatures
// (several during a secret rotation); it passes when any v1 one matches,
// compared in constant time. Otherwise it returns ErrSignatureMismatch if
// some v1 signature decoded, else ErrSignatureEncoding if one did not, else
// ErrSignatureScheme, or ErrSignatureMissing for an empty header. An empty
// secret verifies nothing.
func VerifySignature(secret []byte, deliveryID, timestamp string, body []byte, header string) error {
	sigs := strings.Fields(header)
	if len(sigs) == 0 {
		return ErrSignatureMissing
	}
	want := webhookMAC(secret, deliveryID, timestamp, body)
	var sawV1, decoded bool
	for _, s := range sigs {
		scheme, b64, ok := strings.Cut(s, ",")
		if !ok || scheme != "v1" {
			continue
		}
		sawV1 = true
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			// Be lenient about padding; nothing else.
			if got, err = base64.RawStdEncoding.DecodeString(b64); err != nil {
				continue
			}
		}
		decoded = true
		if len(secret) > 0 && hmac.Equal(got, want) {
			return nil
		}
	}
	switch {
	case decoded:
		return ErrSignatureMismatch
	case sawV1:
		return ErrSignatureEncoding
	default:
		return ErrSignatureScheme
	}
}

// Submitter is the part of the ingest pipeline the webhook receiver uses.
type Submitter interface {
	Submit(ctx context.Context, inputs []ingest.Input) []ingest.Result
}

// WebhookOptions configure the webhook receiver. Secret and TrackingURI
// are required; zero values of the others take the defaults.
type WebhookOptions struct {
	Secret      []byte // the secret the MLflow webhook was created with
	TrackingURI string // the MLflow server that sends the deliveries
	// Window is how far a delivery's X-MLflow-Timestamp may be from now,
	// either way, and how long its delivery id is remembered to drop
	// replays (default 5 minutes).
	Window       time.Duration
	Now          func() time.Time // default time.Now
	MaxBodyBytes int64            // largest delivery body (default 1 MiB)
	Logger       *slog.Logger
	Registerer   prometheus.Registerer // nil: metrics are not registered
}

// Defaults of WebhookOptions.
const (
	DefaultWebhookWindow       = 5 * time.Minute
	DefaultWebhookMaxBodyBytes = 1 << 20
)

// maxRememberedDeliveries bounds the memory of delivery ids; past it the
// oldest are forgotten first (and a replay of one of those still meets the
// timestamp window and the log's own dedupe).
const maxRememberedDeliveries = 100_000

// maxDeliveryIDLen bounds a remembered delivery id; MLflow sends a UUID.
const maxDeliveryIDLen = 200

type webhookHandler struct {
	opts       WebhookOptions
	sub        Submitter
	seen       *deliveries
	deliveries *prometheus.CounterVec
}

// NewWebhookHandler returns the receiver of MLflow webhook deliveries. It
// authenticates each one by its signature and timestamp (before reading it
// as JSON), drops a delivery id it already logged within the window,
// checks the payload, and submits a WebhookRecord with source
// WebhookSource. It answers 200 with {"offset":N,"duplicate":bool} once
// the record is durable; MLflow retries 5xx answers, never 4xx ones.
func NewWebhookHandler(opts WebhookOptions, sub Submitter) (http.Handler, error) {
	if len(opts.Secret) == 0 {
		return nil, errors.New("mlflow webhook: a secret is required (MLflow signs deliveries only when the webhook has one)")
	}
	if strings.TrimSpace(opts.TrackingURI) == "" {
		return nil, errors.New("mlflow webhook: the tracking URI of the MLflow server is required")
	}
	if sub == nil {
		return nil, errors.New("mlflow webhook: a submitter is required")
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWebhookWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultWebhookMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &webhookHandler{
		opts: opts, sub: sub,
		seen: newDeliveries(maxRememberedDeliveries),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redthread_mlflow_webhook_deliveries_total",
			Help: "MLflow webhook deliveries by outcome: accepted, duplicate, unauthorized, invalid, too_large, unavailable, error.",
		}, []string{"outcome"}),
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(h.deliveries); err != nil {
			return nil, fmt.Errorf("mlflow webhook: registering metrics: %w", err)
		}
	}
	return h, nil
}

// webhookReply is the body of a 200 answer.
type webhookReply struct {
	Offset    int64 `json:"offset"`
	Duplicate bool  `json:"duplicate"`
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeWebhookError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use POST", "")
		return
	}
	body, err := io.ReadAll(io.LimitReader(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes), h.opts.MaxBodyBytes+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || int64(len(body)) > h.opts.MaxBodyBytes:
		h.reject(w, r, http.StatusRequestEntityTooLarge, "too_large", graph.Errorf(graph.ETOOLARGE, "body exceeds the limit of %d bytes", h.opts.MaxBodyBytes))
		return
	case err != nil:
		h.reject(w, r, http.StatusBadRequest, "invalid", graph.Errorf(graph.EINVALID, "reading body: %v", err))
		return
	}

	// Authenticate before reading the body as JSON: nothing unsigned is parsed.
	id, ts := r.Header.Get(HeaderDeliveryID), r.Header.Get(HeaderTimestamp)
	now := h.opts.Now()
	sent, err := h.authenticate(id, ts, body, r.Header.Get(HeaderSignature), now)
	if err != nil {
		h.reject(w, r, http.StatusUnauthorized, "unauthorized", err)
		return
	}
	if off, ok := h.seen.lookup(id, now); ok {
		h.deliveries.WithLabelValues("duplicate").Inc()
		h.opts.Logger.Debug("mlflow webhook redelivered; already logged", "delivery_id", id, "offset", off)
		writeWebhookJSON(w, http.StatusOK, webhookReply{Offset: off, Duplicate: true})
		return
	}

	ev, err := decodeDelivery("", body)
	if err != nil {
		h.reject(w, r, http.StatusBadRequest, "invalid", err)
		return
	}
	rec, err := json.Marshal(WebhookRecord{
		Format: WebhookFormat, TrackingURI: h.opts.TrackingURI, DeliveryID: id, Event: ev.Name(), Payload: body,
	})
	if err != nil {
		h.reject(w, r, http.StatusInternalServerError, "error", graph.Internal(err))
		return
	}
	res := h.sub.Submit(r.Context(), []ingest.Input{{Source: WebhookSource, Body: rec}})
	if len(res) != 1 {
		h.reject(w, r, http.StatusInternalServerError, "error", graph.Internal(fmt.Errorf("submit returned %d results for 1 input", len(res))))
		return
	}
	if err := res[0].Err; err != nil {
		switch graph.ErrorCode(err) {
		case graph.EINVALID:
			h.reject(w, r, http.StatusBadRequest, "invalid", err)
		case graph.EUNAVAILABLE:
			h.reject(w, r, http.StatusServiceUnavailable, "unavailable", err)
		default:
			h.reject(w, r, http.StatusInternalServerError, "error", err)
		}
		return
	}
	// Remembered only once durable, so MLflow's retry after a 503 is taken.
	h.seen.remember(id, res[0].Offset, sent.Add(h.opts.Window), now)
	h.deliveries.WithLabelValues("accepted").Inc()
	h.opts.Logger.Info("mlflow webhook logged", "event", ev.Name(), "delivery_id", id,
		"offset", res[0].Offset, "duplicate", res[0].Duplicate)
	writeWebhookJSON(w, http.StatusOK, webhookReply{Offset: res[0].Offset, Duplicate: res[0].Duplicate})
}

// authenticate checks the delivery headers and returns the signed time.
func (h *webhookHandler) authenticate(id, ts string, body []byte, sig string, now time.Time) (time.Time, error) {
	switch {
	case id == "":
		return time.Time{}, graph.FieldErrorf(graph.EUNAUTHORIZED, HeaderDeliveryID, "missing")
	case len(id) > maxDeliveryIDLen:
		return time.Time{}, graph.FieldErrorf(graph.EUNAUTHORIZED, HeaderDeliveryID, "longer than %d bytes", maxDeliveryIDLen)
	case ts == "":
		return time.Time{}, graph.FieldErrorf(graph.EUNAUTHORIZED, HeaderTimestamp, "missing")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, graph.FieldErrorf(graph.EUNAUTHORIZED, HeaderTimestamp, "want Unix seconds, got %q", ts)
	}
	if err := VerifySignature(h.opts.Secret, id, ts, body, sig); err != nil {
		return time.Time{}, err
	}
	sent := time.Unix(secs, 0)
	if d := now.Sub(sent); d > h.opts.Window || d < -h.opts.Window {
		return time.Time{}, graph.FieldErrorf(graph.EUNAUTHORIZED, HeaderTimestamp,
			"%s is %s from this server's clock; the limit is %s (a replay, or clocks out of sync)", ts, d.Abs().Round(time.Second), h.opts.Window)
	}
	return sent, nil
}

// reject answers with err and counts it; internal errors are logged and
// shown as "internal error".
func (h *webhookHandler) reject(w http.ResponseWriter, r *http.Request, status int, outcome string, err error) {
	h.deliveries.WithLabelValues(outcome).Inc()
	code := graph.ErrorCode(err)
	msg := "internal error"
	var ge *graph.Error
	if code != graph.EINTERNAL && errors.As(err, &ge) {
		msg = ge.Message
	}
	attrs := []any{"status", status, "delivery_id", r.Header.Get(HeaderDeliveryID), "remote", r.RemoteAddr, "err", err}
	switch {
	case status >= 500:
		h.opts.Logger.Error("mlflow webhook failed", attrs...)
	default:
		h.opts.Logger.Warn("mlflow webhook rejected", attrs...)
	}
	writeWebhookError(w, status, code, msg, graph.ErrorField(err))
}

// webhookError has the shape of every Redthread error body (see
// internal/server.ErrorBody), which this package cannot import.
type webhookError struct {
	Code    int    `json:"code"`
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeWebhookError(w http.ResponseWriter, status int, code, message, field string) {
	writeWebhookJSON(w, status, webhookError{Code: status, Error: code, Message: message, Field: field})
}

func writeWebhookJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// deliveries remembers the delivery ids already logged, each until its
// signed timestamp leaves the window (after which the timestamp check
// refuses a replay anyway), at most max of them.
type deliveries struct {
	mu    sync.Mutex
	max   int
	byID  map[string]delivery
	order []string // ids in the order remembered; may hold ids since forgotten
}

type delivery struct {
	offset  int64
	expires time.Time
}

func newDeliveries(max int) *deliveries {
	return &deliveries{max: max, byID: map[string]delivery{}}
}

// lookup returns the log offset of id if it was logged and has not expired.
func (d *deliveries) lookup(id string, now time.Time) (int64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prune(now)
	e, ok := d.byID[id]
	if !ok || !now.Before(e.expires) {
		return 0, false
	}
	return e.offset, true
}

// remember records id as logged at offset until expires.
func (d *deliveries) remember(id string, offset int64, expires, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prune(now)
	for len(d.byID) >= d.max && len(d.order) > 0 {
		delete(d.byID, d.order[0])
		d.order = d.order[1:]
	}
	if _, ok := d.byID[id]; !ok {
		d.order = append(d.order, id)
	}
	d.byID[id] = delivery{offset: offset, expires: expires}
}

// prune forgets ids from the oldest while they have expired. Expiries are
// close to insertion order (every timestamp is within the window of the
// clock when remembered), so stopping at the first live one leaves little.
func (d *deliveries) prune(now time.Time) {
	for len(d.order) > 0 {
		id := d.order[0]
		if e, ok := d.byID[id]; ok && now.Before(e.expires) {
			return
		}
		delete(d.byID, id)
		d.order = d.order[1:]
	}
}

// size returns how many ids are remembered.
func (d *deliveries) size() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.byID)
}
