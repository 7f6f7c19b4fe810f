package mlflow

import (
	"encoding/json"
	"testing"

	"github.com/redthread/redthread/graph"
)

// deliveryRecord is a delivery record around an MLflow webhook payload.
func deliveryRecord(t *testing.T, payload string) []byte {
	t.Helper()
	var head struct{ Entity, Action string }
	if err := json.Unmarshal([]byte(payload), &head); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(WebhookRecord{Format: WebhookFormat, TrackingURI: testURI,
		DeliveryID: "5f0c7a8e-1d2b-4c3d-9e8f-0a1b2c3d4e5f", Event: head.Entity + "." + head.Action, Payload: json.RawMessage(payload)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeMutations(t *testing.T, body []byte) mapped {
	t.Helper()
	ev, err := Decoder()(body)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if ev.Kind != RecordWebhook {
		t.Errorf("kind %q", ev.Kind)
	}
	m := mapped{nodes: map[string]graph.Node{}, edges: map[string]graph.Edge{}}
	for _, mu := range ev.Mutations {
		if mu.Kind == graph.UpsertNode {
			if _, err := graph.NormalizeProps(mu.Node.Props); err != nil {
				t.Errorf("node %s: %v", mu.Node.Key, err)
			}
			m.nodes[mu.Node.Key] = mu.Node
		} else {
			m.edges[mu.Edge.ID()] = mu.Edge
		}
	}
	return m
}

func TestMapWebhook(t *testing.T) {
	reg := Namespace(testURI)
	mv := graph.ModelVersionKey(reg, "risk-default", "4")
	rm := graph.RegisteredModelKey(reg, "risk-default")

	m := decodeMutations(t, deliveryRecord(t, `{"entity":"model_version","action":"created","timestamp":"2025-11-21T09:00:00.000000+00:00",
		"data":{"name":"risk-default","version":"4","source":"models:/m-7f3a","run_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9",
		"tags":{"security_decision":"PASS","cosign_sig":"MEUCIQ=="},"description":null}}`))
	n := m.nodes[mv]
	if n.Props["security_decision"] != "PASS" || n.Props["tag.cosign_sig"] != "MEUCIQ==" || n.Props["run_id"] != "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" {
		t.Errorf("created version props %v", n.Props)
	}
	if n.FirstSeen.IsZero() {
		t.Error("the payload timestamp was not used as the event time")
	}
	m.hasEdge(t, "run:0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", graph.EdgeRegisteredAs, mv)
	m.hasEdge(t, mv, graph.EdgeVersionOf, rm)

	m = decodeMutations(t, deliveryRecord(t, `{"entity":"model_version_tag","action":"set","timestamp":"2025-11-21T09:01:00Z",
		"data":{"name":"risk-default","version":"4","key":"attestation","value":"rekor:1234"}}`))
	if p := m.nodes[mv].Props; p["attestation"] != "rekor:1234" || p["tag.attestation"] != "rekor:1234" {
		t.Errorf("tag set props %v", p)
	}
	m = decodeMutations(t, deliveryRecord(t, `{"entity":"model_version_tag","action":"deleted","timestamp":"2025-11-21T09:02:00Z",
		"data":{"name":"risk-default","version":"4","key":"attestation"}}`))
	if v, ok := m.nodes[mv].Props["attestation"]; !ok || v != nil {
		t.Errorf("tag deleted: attestation = %#v %v, want an explicit nil", v, ok)
	}
	m = decodeMutations(t, deliveryRecord(t, `{"entity":"model_version_alias","action":"created","timestamp":"2025-11-21T09:03:00Z",
		"data":{"name":"risk-default","alias":"champion","version":"4"}}`))
	if m.nodes[rm].Props["alias.champion"] != "4" {
		t.Errorf("alias created: %v", m.nodes[rm].Props)
	}
	m = decodeMutations(t, deliveryRecord(t, `{"entity":"model_version_alias","action":"deleted","timestamp":"2025-11-21T09:04:00Z",
		"data":{"name":"risk-default","alias":"champion"}}`))
	if v, ok := m.nodes[rm].Props["alias.champion"]; !ok || v != nil {
		t.Errorf("alias deleted: %#v %v", v, ok)
	}
	m = decodeMutations(t, deliveryRecord(t, `{"entity":"model_version","action":"created","timestamp":"2025-11-21T09:05:00Z",
		"data":{"name":"risk-default","version":"5","source":"s3://models-legacy/x","run_id":null,"tags":{}}}`))
	if p := m.nodes[graph.ModelVersionKey(reg, "risk-default", "5")].Props; p["registered_without_run"] != true {
		t.Errorf("version without run: %v", p)
	}
	if len(m.edges) != 1 {
		t.Errorf("a version without a run has edges %v", m.edges)
	}
	m = decodeMutations(t, deliveryRecord(t, `{"entity":"prompt","action":"created","timestamp":"2025-11-21T09:06:00Z","data":{"name":"p"}}`))
	if len(m.nodes)+len(m.edges) != 0 {
		t.Errorf("a prompt event mapped to %v %v", m.nodes, m.edges)
	}
}
