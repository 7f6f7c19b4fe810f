package main

import (
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redthread/redthread/ingest/mlflow"
	"github.com/redthread/redthread/internal/server"
)

// TestRemoteObserverSplitsTooLargeBatches: a server that refuses a batch
// as too large gets it again in halves, and the results keep their order.
func TestRemoteObserverSplitsTooLargeBatches(t *testing.T) {
	var sizes []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Errorf("body not gzip: %v", err)
			return
		}
		var obs []mlflow.Observation
		if err := json.NewDecoder(zr).Decode(&obs); err != nil {
			t.Errorf("decode: %v", err)
			return
		}
		sizes = append(sizes, len(obs))
		if len(obs) > 2 {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_ = json.NewEncoder(w).Encode(server.ErrorBody{Code: 413, Error: "TOO_LARGE", Message: "too big"})
			return
		}
		var resp server.ObservationsResponse
		for i, o := range obs {
			resp.Results = append(resp.Results, server.ObservationResult{Index: i, Key: o.Run.Info.RunID, Status: mlflow.StatusNew})
		}
		_ = json.NewEncoder(w).Encode(resp)
	}))
	defer srv.Close()
	var obs []*mlflow.Observation
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		obs = append(obs, &mlflow.Observation{Format: mlflow.ObservationFormat, Kind: mlflow.KindRun, TrackingURI: "http://m",
			Run: &mlflow.Run{Info: mlflow.RunInfo{RunID: id, StartTime: mlflow.Millis(time.Now().UnixMilli())}}})
	}
	r := &remoteObserver{api: newAPIClient(srv.URL, "")}
	res, err := r.Observe(t.Context(), "mlflow/sync", obs)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, x := range res {
		keys = append(keys, x.Key)
	}
	if got := len(keys); got != 5 || keys[0] != "a" || keys[4] != "e" {
		t.Errorf("results %v, want a..e in order", keys)
	}
	if len(sizes) < 3 || sizes[0] != 5 {
		t.Errorf("request sizes %v, want 5 refused then halves", sizes)
	}
}
