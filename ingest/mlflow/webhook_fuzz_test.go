package mlflow

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/redthread/redthread/graph"
)

// webhookSeeds are delivery bodies in the shapes MLflow 3 sends (see
// mlflow/webhooks/types.py), plus near misses.
var webhookSeeds = []string{
	mlflowBody,
	webhookBody("model_version", "created", `{"name": "churn", "version": "1", "source": "runs:/5f2b8c1d/model", "run_id": null, "tags": {}, "description": null}`),
	webhookBody("model_version", "created", `{"name": "churn", "version": 7, "source": "models:/m-1", "tags": {"a": 1, "b": null}}`),
	webhookBody("model_version_tag", "set", `{"name": "churn", "version": "3", "key": "prov.security_decision", "value": "approved"}`),
	webhookBody("model_version_tag", "deleted", `{"name": "churn", "version": "3", "key": "stage"}`),
	webhookBody("model_version_alias", "created", `{"name": "churn", "alias": "champion", "version": "3"}`),
	webhookBody("model_version_alias", "deleted", `{"name": "churn", "alias": "champion"}`),
	webhookBody("registered_model", "created", `{"name": "churn", "tags": {"team": "risk"}, "description": "Churn model"}`),
	webhookBody("prompt_version", "created", `{"name": "greet", "version": "1", "template": "Hello {{name}}!", "tags": {}, "description": null}`),
	webhookBody("budget_policy", "exceeded", `{"budget_policy_id": "bp-abc123", "budget_amount": 100.0, "window_start": 1704067200000}`),
	`{"entity": "model_version", "action": "created", "workspace": "team-a", "data": {"name": "m", "version": "1"}}`,
	`{"entity": "MODEL_VERSION_ALIAS", "action": "DELETED", "data": {"name": "m", "alias": "a"}}`,
	webhookBody("model_version", "created", `{"name": "", "version": "1"}`),
	webhookBody("model_version", "created", `{"name": "m", "version": true, "tags": [1]}`),
	`{"entity": "model_version", "action": "created", "data": null}`,
	`{"entity": 1, "action": [], "data": {}}`,
	`[]`, `null`, ``, `{`, `{"entity": "model_version", "action": "created", "data": {"name": "m\u00e9", "version": "1", "tags": {"k": "<&>"}}}`,
}

// FuzzDecodeWebhook feeds log records (and, through the same bytes, raw
// deliveries) to the decoders: they must never panic, must fail only with
// an INVALID *graph.Error, and must decode what they accept the same way
// after the record is encoded again.
func FuzzDecodeWebhook(f *testing.F) {
	for _, s := range webhookSeeds {
		f.Add([]byte(s))
		if json.Valid([]byte(s)) {
			ev, _ := decodeDelivery("", []byte(s))
			f.Add(record(f, ev.Name(), s))
		}
	}
	f.Add([]byte(`{"redthread_mlflow":"webhook/v1","tracking_uri":"u","delivery_id":"d","event":"x.y","payload":{"entity":"x","action":"y"}}`))
	f.Add([]byte(`{"redthread_mlflow":"observation/v1","kind":"run"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if ev, err := decodeDelivery("", body); err != nil {
			checkInvalid(t, err)
		} else {
			checkEvent(t, ev)
		}

		rec, ev, err := DecodeWebhook(body)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		checkEvent(t, ev)
		if rec.Event != ev.Name() || rec.Format != WebhookFormat || rec.TrackingURI == "" || rec.DeliveryID == "" {
			t.Fatalf("accepted an inconsistent record %+v for event %q", rec, ev.Name())
		}
		again, err := json.Marshal(rec)
		if err != nil {
			t.Fatalf("accepted record does not encode: %v", err)
		}
		rec2, ev2, err := DecodeWebhook(again)
		if err != nil {
			t.Fatalf("re-encoded record refused: %v\n%s", err, again)
		}
		if diff := cmp.Diff(ev, ev2); diff != "" {
			t.Fatalf("event changed on re-encoding (-first +second):\n%s", diff)
		}
		if rec2.Event != rec.Event || rec2.DeliveryID != rec.DeliveryID || rec2.TrackingURI != rec.TrackingURI {
			t.Fatalf("record changed on re-encoding: %+v != %+v", rec2, rec)
		}
	})
}

func checkInvalid(t *testing.T, err error) {
	t.Helper()
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Code != graph.EINVALID {
		t.Fatalf("error %v (%T) is not an INVALID *graph.Error", err, err)
	}
}

// checkEvent checks that an accepted event carries the typed payload of
// its name, and only that one, with every required field set.
func checkEvent(t *testing.T, ev WebhookEvent) {
	t.Helper()
	set := map[string]bool{
		EventModelVersionCreated:      ev.ModelVersionCreated != nil,
		EventModelVersionTagSet:       ev.TagSet != nil,
		EventModelVersionTagDeleted:   ev.TagDeleted != nil,
		EventModelVersionAliasCreated: ev.AliasCreated != nil,
		EventModelVersionAliasDeleted: ev.AliasDeleted != nil,
		EventRegisteredModelCreated:   ev.RegisteredModelCreated != nil,
	}
	for name, isSet := range set {
		if isSet != (name == ev.Name()) {
			t.Fatalf("event %q: typed payload of %q set = %v", ev.Name(), name, isSet)
		}
	}
	if ev.Entity == "" || ev.Action == "" || ev.Entity != strings.ToLower(ev.Entity) || ev.Action != strings.ToLower(ev.Action) {
		t.Fatalf("entity %q, action %q", ev.Entity, ev.Action)
	}
	var required []string
	switch {
	case ev.ModelVersionCreated != nil:
		required = []string{ev.ModelVersionCreated.Name, ev.ModelVersionCreated.Version}
	case ev.TagSet != nil:
		required = []string{ev.TagSet.Name, ev.TagSet.Version, ev.TagSet.Key}
	case ev.TagDeleted != nil:
		required = []string{ev.TagDeleted.Name, ev.TagDeleted.Version, ev.TagDeleted.Key}
	case ev.AliasCreated != nil:
		required = []string{ev.AliasCreated.Name, ev.AliasCreated.Alias, ev.AliasCreated.Version}
	case ev.AliasDeleted != nil:
		required = []string{ev.AliasDeleted.Name, ev.AliasDeleted.Alias}
	case ev.RegisteredModelCreated != nil:
		required = []string{ev.RegisteredModelCreated.Name}
	}
	for _, v := range required {
		if strings.TrimSpace(v) == "" {
			t.Fatalf("event %q accepted with an empty required field: %+v", ev.Name(), ev)
		}
	}
}

// FuzzVerifySignature checks that verification never panics, fails only
// with one of the four signature errors, accepts what SignWebhook signs
// (alone or among other signatures) unless the secret is empty, and
// accepts nothing under an empty secret.
func FuzzVerifySignature(f *testing.F) {
	f.Add([]byte(mlflowSecret), mlflowDeliveryID, mlflowTimestamp, []byte(mlflowBody), mlflowSignature)
	f.Add([]byte(mlflowSecret), mlflowDeliveryID, mlflowTimestamp, []byte(mlflowBody), "v0,abc "+mlflowSignature)
	f.Add([]byte(mlflowSecret), mlflowDeliveryID, "1795703821", []byte(mlflowBody), mlflowSignature)
	f.Add([]byte("whsec_other"), "d", "0", []byte(`{}`), "v1,!!!")
	f.Add([]byte{}, "", "", []byte{}, "")
	f.Add([]byte{0xff, 0}, "a.b", "1.2", []byte("x.y"), "v1, v1,,  ,v1")
	f.Fuzz(func(t *testing.T, secret []byte, id, ts string, body []byte, header string) {
		err := VerifySignature(secret, id, ts, body, header)
		switch {
		case err == nil:
			if len(secret) == 0 {
				t.Fatal("verified a signature under an empty secret")
			}
		case errors.Is(err, ErrSignatureMissing), errors.Is(err, ErrSignatureScheme),
			errors.Is(err, ErrSignatureEncoding), errors.Is(err, ErrSignatureMismatch):
		default:
			t.Fatalf("unexpected error %v", err)
		}

		good := SignWebhook(secret, id, ts, body)
		for _, h := range []string{good, header + " " + good, good + " " + header} {
			err := VerifySignature(secret, id, ts, body, h)
			if len(secret) == 0 {
				if err == nil {
					t.Fatal("verified a signature under an empty secret")
				}
				continue
			}
			if err != nil {
				t.Fatalf("own signature in %q refused: %v", h, err)
			}
		}
	})
}
