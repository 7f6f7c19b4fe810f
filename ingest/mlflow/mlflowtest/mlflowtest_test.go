package mlflowtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"testing"
)

func TestSeedAndWebhook(t *testing.T) {
	uri := Start(t)
	ctx := t.Context()
	s, err := Seed(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, id := range []string{s.RunA, s.RunB, s.RunC, s.RunD, s.RunE} {
		if id == "" || ids[id] {
			t.Fatalf("run ids not distinct: %+v", s)
		}
		ids[id] = true
	}
	if s.LoggedModelA == "" {
		t.Error("no logged model for run A")
	}
	if got := s.ArtifactsA[PathModel]; got != s.ArtifactsB[PathModel] {
		t.Errorf("model.onnx differs between A and B: %s vs %s", got, s.ArtifactsB[PathModel])
	}

	// A second Seed finds the first.
	again, err := Seed(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	if again.RunA != s.RunA || again.RunE != s.RunE || again.LoggedModelA != s.LoggedModelA || again.SourceB != s.SourceB {
		t.Errorf("second Seed = %+v, want the first %+v", again, s)
	}

	if os.Getenv(EnvURI) == "" { // a shared server's other users expect run D running
		finishRunD(t, s)
	}

	id, err := CreateWebhook(ctx, uri, "redthread-test", "http://127.0.0.1:9/hook", "s3cr3t", []string{"model_version.created", "model_version_alias.created"})
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Webhooks []struct {
			ID     string `json:"webhook_id"`
			Events []struct {
				Entity string `json:"entity"`
				Action string `json:"action"`
			} `json:"events"`
		} `json:"webhooks"`
	}
	if err := newREST(uri).call(ctx, http.MethodGet, "webhooks", nil, &list); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range list.Webhooks {
		if w.ID == id {
			found = true
			if len(w.Events) != 2 || w.Events[0].Entity != "MODEL_VERSION" || w.Events[0].Action != "CREATED" {
				t.Errorf("webhook events %+v", w.Events)
			}
		}
	}
	if !found {
		t.Errorf("webhook %s not listed", id)
	}
	if err := DeleteWebhook(ctx, uri, id); err != nil {
		t.Fatal(err)
	}
	if err := DeleteWebhook(ctx, uri, id); err == nil {
		t.Error("deleting a deleted webhook succeeded")
	}
	if _, err := CreateWebhook(ctx, uri, "bad", "http://127.0.0.1:9/hook", "", []string{"created"}); err == nil {
		t.Error("an event without an entity was accepted")
	}
}

// finishRunD checks run D runs and that FinishRunD ends it.
func finishRunD(t *testing.T, s *Scenario) {
	ctx := t.Context()
	var got struct {
		Run struct {
			Info struct {
				Status  string `json:"status"`
				EndTime int64  `json:"end_time"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := newREST(s.TrackingURI).get(ctx, "runs/get", url.Values{"run_id": {s.RunD}}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Run.Info.Status != "RUNNING" {
		t.Errorf("run D status = %s, want RUNNING", got.Run.Info.Status)
	}
	if err := s.FinishRunD(ctx); err != nil {
		t.Fatal(err)
	}
	if err := newREST(s.TrackingURI).get(ctx, "runs/get", url.Values{"run_id": {s.RunD}}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Run.Info.Status != "FINISHED" || got.Run.Info.EndTime != EndD.UnixMilli() {
		t.Errorf("run D after FinishRunD = %+v", got.Run.Info)
	}
}

func TestArtifactsAreStable(t *testing.T) {
	a, b := Digests(ArtifactsA()), Digests(ArtifactsA())
	for p, sum := range a {
		if b[p] != sum {
			t.Errorf("%s: %s then %s", p, sum, b[p])
		}
	}
	var sums struct {
		Files map[string]string `json:"files"`
	}
	if err := json.Unmarshal(ArtifactsA()[ChecksumsPath], &sums); err != nil {
		t.Fatal(err)
	}
	if len(sums.Files) != len(a)-1 {
		t.Errorf("checksums.json lists %d files, want %d", len(sums.Files), len(a)-1)
	}
	for p, sum := range sums.Files {
		if a[p] != sum {
			t.Errorf("checksums.json: %s = %s, want %s", p, sum, a[p])
		}
	}
	if _, ok := ArtifactsC()[ChecksumsPath]; ok {
		t.Error("run C has a checksums.json")
	}
}
