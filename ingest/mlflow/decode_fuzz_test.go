package mlflow

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/redthread/redthread/graph"
)

// FuzzDecodeRecord feeds the "mlflow" record decoder (observations,
// webhook records, cursors) arbitrary bytes: it must never panic, must
// fail only with an EINVALID *graph.Error, must be deterministic (replay
// relies on it), and what it maps must be storable.
func FuzzDecodeRecord(f *testing.F) {
	run := sampleRun()
	body, _ := json.Marshal(run)
	f.Add(body)
	run.Supersedes = &Supersedes{SHA256: "ab", Offset: 3, AfterFinish: true}
	body, _ = json.Marshal(run)
	f.Add(body)
	mv, _ := json.Marshal(Observation{Format: ObservationFormat, Kind: KindModelVersion, TrackingURI: testURI,
		ModelVersion: &ModelVersion{Name: "risk-default", Version: "1", RunID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
			Tags: []Tag{{"security_decision", "PASS"}}, Aliases: []string{"champion"}}})
	f.Add(mv)
	rm, _ := json.Marshal(Observation{Format: ObservationFormat, Kind: KindRegisteredModel, TrackingURI: testURI,
		RegisteredModel: &RegisteredModel{Name: "risk-default", Aliases: []RegisteredModelAlias{{"champion", "2"}}}})
	f.Add(rm)
	f.Add([]byte(`{"redthread_mlflow":"cursor/v1","tracking_uri":"http://x","start_time":"1762943400000","unfinished":["a"]}`))
	f.Add([]byte(`{"redthread_mlflow":"webhook/v1","tracking_uri":"http://x","delivery_id":"d","event":"model_version_alias.created","payload":{"entity":"model_version_alias","action":"created","timestamp":"2025-11-21T09:03:00Z","data":{"name":"m","alias":"a","version":"1"}}}`))
	f.Add([]byte(`{"redthread_mlflow":"observation/v1","kind":"run","tracking_uri":"http://x","run":{"info":{"run_id":"r","start_time":1e30},"data":{"metrics":[{"key":"m","value":"NaN"}]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Decoder()(body)
		if err != nil {
			if graph.ErrorCode(err) != graph.EINVALID {
				t.Fatalf("error %v has code %s, want INVALID", err, graph.ErrorCode(err))
			}
			return
		}
		again, err := Decoder()(body)
		if err != nil || !reflect.DeepEqual(ev.Mutations, again.Mutations) {
			t.Fatalf("decoding is not deterministic: %v", err)
		}
		for _, m := range ev.Mutations {
			switch m.Kind {
			case graph.UpsertNode:
				if _, err := graph.NormalizeProps(m.Node.Props); err != nil {
					t.Fatalf("node %s: %v", m.Node.Key, err)
				}
				if !m.Node.Label.Valid() || m.Node.Key == "" {
					t.Fatalf("bad node %+v", m.Node)
				}
			case graph.UpsertEdge:
				if _, err := graph.NormalizeProps(m.Edge.Props); err != nil {
					t.Fatalf("edge %s: %v", m.Edge.ID(), err)
				}
				if !m.Edge.Type.Valid() {
					t.Fatalf("bad edge %+v", m.Edge)
				}
			}
		}
	})
}
