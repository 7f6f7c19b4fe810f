package mlflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeArtifacts serves a run's artifact files (directories implied by the
// paths), get-artifact and one logged model "m-1"; listing order is
// reversed to show ObserveRun does not depend on it.
func fakeArtifacts(t *testing.T, files map[string]string) *Client {
	return fakeMLflow(t, ClientOptions{}, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch r.URL.Path {
		case "/api/2.0/mlflow/artifacts/list":
			dir := q.Get("path")
			seen := map[string]bool{}
			var entries []string
			for p, body := range files {
				rest, ok := strings.CutPrefix(p, strings.TrimPrefix(dir+"/", "/"))
				if !ok {
					continue
				}
				name, _, isDir := strings.Cut(rest, "/")
				full := strings.TrimPrefix(dir+"/"+name, "/")
				if seen[full] {
					continue
				}
				seen[full] = true
				if isDir {
					entries = append(entries, fmt.Sprintf(`{"path":%q,"is_dir":true}`, full))
				} else {
					entries = append(entries, fmt.Sprintf(`{"path":%q,"is_dir":false,"file_size":%d}`, full, len(body)))
				}
			}
			slices.Sort(entries)
			slices.Reverse(entries)
			fmt.Fprintf(w, `{"files":[%s]}`, strings.Join(entries, ","))
		case "/get-artifact":
			body, ok := files[q.Get("path")]
			if !ok {
				w.WriteHeader(404)
				io.WriteString(w, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"No such artifact"}`)
				return
			}
			io.WriteString(w, body)
		case "/api/2.0/mlflow/logged-models/m-1":
			io.WriteString(w, `{"model":{"info":{"model_id":"m-1","tags":[{"key":"z","value":"1"},{"key":"a","value":"2"}]},"data":{"params":[{"key":"p2","value":"x"},{"key":"p1","value":"y"}]}}}`)
		default:
			w.WriteHeader(404)
			io.WriteString(w, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"nope"}`)
		}
	})
}

func hexSHA256(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestObserveRunChecksums(t *testing.T) {
	model := "weights"
	h := hexSHA256
	root := fmt.Sprintf(`{"files": {"model/model.onnx": "%s", "sub/a.txt": "%s", "checksums.json": "%s"}}`,
		h(model), h("claimed by the root"), strings.Repeat("0", 64))
	sub := fmt.Sprintf(`[{"path": "a.txt", "sha256": "sha256:%s"}]`, strings.ToUpper(h("a")))
	files := map[string]string{
		"checksums.json":        root,
		"model/model.onnx":      model,
		"sub/a.txt":             "a",
		"sub/checksums.json":    sub,
		"bad/checksums.json":    `{"files": `,
		"big/checksums.json":    strings.Repeat(" ", maxChecksumsBytes+1),
		"other/checksums.jsonl": "{}",
	}
	c := fakeArtifacts(t, files)
	run := Run{Info: RunInfo{RunID: "r1", ExperimentID: "1", Status: "FINISHED"}}
	o, err := c.ObserveRun(t.Context(), run, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Checksum{
		{Path: "bad/checksums.json", SHA256: h(files["bad/checksums.json"]), From: FromDownload}, // malformed: only its own digest
		{Path: "checksums.json", SHA256: h(root), From: FromDownload},                            // beats its own claim
		{Path: "model/model.onnx", SHA256: h(model), From: FromChecksumsFile},
		{Path: "sub/a.txt", SHA256: h("a"), From: FromChecksumsFile}, // the nearer file wins
		{Path: "sub/checksums.json", SHA256: h(sub), From: FromDownload},
	}
	if diff := cmp.Diff(want, o.Checksums); diff != "" {
		t.Errorf("checksums -want +got:\n%s", diff)
	}
	var paths []string
	for _, f := range o.Artifacts {
		paths = append(paths, f.Path)
	}
	wantPaths := []string{"bad", "bad/checksums.json", "big", "big/checksums.json", "checksums.json", "model", "model/model.onnx", "other", "other/checksums.jsonl", "sub", "sub/a.txt", "sub/checksums.json"}
	if diff := cmp.Diff(wantPaths, paths); diff != "" {
		t.Errorf("artifacts -want +got:\n%s", diff)
	}
}

func TestObserveRunIsCanonical(t *testing.T) {
	c := fakeArtifacts(t, map[string]string{"a.txt": "a"})
	run := Run{
		Info: RunInfo{RunID: "r1", ExperimentID: "1"},
		Data: RunData{
			Tags:    []Tag{{"b", "2"}, {"a", "1"}},
			Params:  []Tag{{"seed", "42"}, {"lr", "0.05"}},
			Metrics: []Metric{{Key: "ks", Value: 0.5}, {Key: "auc", Value: 0.8}},
		},
		Inputs: &RunInputs{DatasetInputs: []DatasetInput{
			{Dataset: Dataset{Name: "z", Digest: "1"}},
			{Tags: []Tag{{"mlflow.data.context", "training"}, {"k", "v"}}, Dataset: Dataset{Name: "a", Digest: "2"}},
			{Dataset: Dataset{Name: "a", Digest: "1"}},
		}},
		Outputs: &RunOutputs{ModelOutputs: []ModelRef{{ModelID: "m-gone"}, {ModelID: "m-1"}, {ModelID: "m-1", Step: 1}}},
	}
	orig, _ := json.Marshal(run)
	exp := &Experiment{ExperimentID: "1", Name: "e", Tags: []Tag{{"y", ""}, {"x", ""}}}
	o, err := c.ObserveRun(t.Context(), run, exp)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := json.Marshal(run); string(after) != string(orig) {
		t.Error("ObserveRun changed its argument")
	}
	if o.Format != ObservationFormat || o.Kind != KindRun || o.TrackingURI != c.TrackingURI() {
		t.Errorf("header %q %q %q", o.Format, o.Kind, o.TrackingURI)
	}
	r := o.Run
	if r.Data.Tags[0].Key != "a" || r.Data.Params[0].Key != "lr" || r.Data.Metrics[0].Key != "auc" || o.Experiment.Tags[0].Key != "x" {
		t.Errorf("not sorted: %+v %+v", r.Data, o.Experiment)
	}
	var ds []string
	for _, in := range r.Inputs.DatasetInputs {
		ds = append(ds, in.Dataset.Name+"@"+in.Dataset.Digest)
	}
	if diff := cmp.Diff([]string{"a@1", "a@2", "z@1"}, ds); diff != "" {
		t.Errorf("dataset inputs -want +got:\n%s", diff)
	}
	if r.Inputs.DatasetInputs[1].Tags[0].Key != "k" {
		t.Errorf("input tags not sorted: %v", r.Inputs.DatasetInputs[1].Tags)
	}
	if len(o.Models) != 1 || o.Models[0].Info.ModelID != "m-1" || o.Models[0].Info.Tags[0].Key != "a" || o.Models[0].Data.Params[0].Key != "p1" {
		t.Errorf("logged models %+v (the missing one skipped, the other once, sorted)", o.Models)
	}

	// Same state in another order: same bytes.
	slices.Reverse(run.Data.Tags)
	slices.Reverse(run.Data.Metrics)
	slices.Reverse(run.Inputs.DatasetInputs)
	slices.Reverse(run.Outputs.ModelOutputs)
	again, err := c.ObserveRun(t.Context(), run, exp)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(o)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Errorf("observations differ:\n%s\n%s", a, b)
	}
}

func TestObserveRunFailsOnServerErrors(t *testing.T) {
	c := fakeMLflow(t, ClientOptions{Retries: -1}, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
	})
	if _, err := c.ObserveRun(t.Context(), Run{Info: RunInfo{RunID: "r"}}, nil); err == nil {
		t.Error("no error when the artifact listing fails")
	}
}

func TestObserveRegistry(t *testing.T) {
	c, err := NewClient("http://127.0.0.1:5000/", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mv := ModelVersion{Name: "m", Version: "2", Tags: []Tag{{"z", ""}, {"a", ""}}, Aliases: []string{"champion", "beta"}}
	o := c.ObserveModelVersion(mv)
	if o.Kind != KindModelVersion || o.TrackingURI != "http://127.0.0.1:5000" || o.ModelVersion.Tags[0].Key != "a" || o.ModelVersion.Aliases[0] != "beta" {
		t.Errorf("%+v", o.ModelVersion)
	}
	if mv.Tags[0].Key != "z" || mv.Aliases[0] != "champion" {
		t.Error("ObserveModelVersion changed its argument")
	}
	rm := RegisteredModel{Name: "m", Tags: []Tag{{"z", ""}, {"a", ""}}, Aliases: []RegisteredModelAlias{{"champion", "2"}, {"challenger", "1"}}}
	o = c.ObserveRegisteredModel(rm)
	if o.Kind != KindRegisteredModel || o.RegisteredModel.Tags[0].Key != "a" || o.RegisteredModel.Aliases[0].Alias != "challenger" {
		t.Errorf("%+v", o.RegisteredModel)
	}
	if rm.Aliases[0].Alias != "champion" || rm.Tags[0].Key != "z" {
		t.Error("ObserveRegisteredModel changed its argument")
	}
}
