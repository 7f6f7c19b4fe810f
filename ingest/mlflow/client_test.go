package mlflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeMLflow serves handler and returns a client of it that retries
// without pausing.
func fakeMLflow(t *testing.T, opts ClientOptions, handler http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.backoff = func(int, *http.Response) time.Duration { return 0 }
	return c
}

func TestNewClientValidatesURI(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:5000", "file:///tmp/mlruns", "databricks", "sqlite:///mlflow.db", "http://", "http://h/?q=1", "ht tp://x"} {
		if _, err := NewClient(bad, ClientOptions{}); err == nil {
			t.Errorf("NewClient(%q) succeeded", bad)
		}
	}
	for in, want := range map[string]string{
		"http://127.0.0.1:5000":              "http://127.0.0.1:5000",
		"https://mlflow.example.com/":        "https://mlflow.example.com",
		"https://u:p@mlflow.example.com/ml/": "https://mlflow.example.com/ml",
	} {
		c, err := NewClient(in, ClientOptions{})
		if err != nil {
			t.Fatalf("NewClient(%q): %v", in, err)
		}
		if got := c.TrackingURI(); got != want {
			t.Errorf("TrackingURI of %q = %q, want %q", in, got, want)
		}
	}
}

func TestClientSendsAuthAndKeepsPathPrefix(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts ClientOptions
		user string // URI credentials
		want string
	}{
		{"bearer", ClientOptions{Token: "tok"}, "", "Bearer tok"},
		{"basic", ClientOptions{Username: "ana", Password: "pw"}, "", "Basic YW5hOnB3"},
		{"basic from URI", ClientOptions{}, "ana:pw@", "Basic YW5hOnB3"},
		{"none", ClientOptions{}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var auth, path, agent string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth, path, agent = r.Header.Get("Authorization"), r.URL.EscapedPath(), r.UserAgent()
				io.WriteString(w, `{"model":{"info":{"model_id":"m-1"}}}`)
			}))
			defer srv.Close()
			c, err := NewClient(strings.Replace(srv.URL, "://", "://"+tc.user, 1)+"/prefix/", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.GetLoggedModel(t.Context(), "m-1/x")
			if err != nil {
				t.Fatal(err)
			}
			if m.Info.ModelID != "m-1" {
				t.Errorf("model id %q", m.Info.ModelID)
			}
			if auth != tc.want {
				t.Errorf("Authorization %q, want %q", auth, tc.want)
			}
			if path != "/prefix/api/2.0/mlflow/logged-models/m-1%2Fx" {
				t.Errorf("path %q", path)
			}
			if agent != "redthread" {
				t.Errorf("User-Agent %q", agent)
			}
		})
	}
}

func TestAPIErrorDecoding(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		code     string
		msg      string
		notFound bool
	}{
		{"mlflow json", 404, `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run with id=x not found", "sqlstate": "KAM00"}`, "RESOURCE_DOES_NOT_EXIST", "Run with id=x not found", true},
		{"bad request", 400, `{"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid clause"}`, "INVALID_PARAMETER_VALUE", "Invalid clause", false},
		{"html", 403, "<!doctype html><title>Forbidden</title>", "", "Forbidden", false},
		{"plain 404", 404, "no such route\n", "", "no such route", true},
		{"empty", 401, "", "", "Unauthorized", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeMLflow(t, ClientOptions{}, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			_, err := c.GetRun(t.Context(), "x")
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			if ae.Status != tc.status || ae.Code != tc.code || ae.Message != tc.msg || ae.Endpoint != "GET /api/2.0/mlflow/runs/get" {
				t.Errorf("got %+v", ae)
			}
			if IsNotFound(err) != tc.notFound {
				t.Errorf("IsNotFound = %v, want %v", !tc.notFound, tc.notFound)
			}
			for _, part := range []string{ae.Endpoint, tc.code, tc.msg} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("%q does not name %q", err, part)
				}
			}
		})
	}
	if IsNotFound(errors.New("RESOURCE_DOES_NOT_EXIST")) || IsNotFound(nil) {
		t.Error("IsNotFound of a plain error")
	}
	if !IsNotFound(fmt.Errorf("wrapped: %w", &APIError{Code: "RESOURCE_DOES_NOT_EXIST"})) {
		t.Error("IsNotFound does not unwrap")
	}
}

func TestUnknownAliasIsNotFound(t *testing.T) {
	c := fakeMLflow(t, ClientOptions{}, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400) // what MLflow 3.17 answers
		io.WriteString(w, `{"error_code": "INVALID_PARAMETER_VALUE", "message": "Registered model alias nope not found."}`)
	})
	_, err := c.GetModelVersionByAlias(t.Context(), "m", "nope")
	if !IsNotFound(err) {
		t.Errorf("IsNotFound(%v) = false", err)
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []int // answers in turn; the last repeats
		retries  int
		calls    int32
		ok       bool
	}{
		{"500 then ok", []int{500, 502, 200}, 0, 3, true},
		{"429 then ok", []int{429, 200}, 0, 2, true},
		{"500 until given up", []int{500}, 0, 4, false},
		{"two retries", []int{503}, 2, 3, false},
		{"no retries", []int{500}, -1, 1, false},
		{"404 not retried", []int{404}, 0, 1, false},
		{"400 not retried", []int{400}, 0, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			c := fakeMLflow(t, ClientOptions{Retries: tc.retries}, func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				status := tc.statuses[min(n, len(tc.statuses)-1)]
				w.WriteHeader(status)
				if status == 200 {
					io.WriteString(w, `{"experiments":[{"experiment_id":"1","name":"e"}]}`)
					return
				}
				fmt.Fprintf(w, `{"error_code":"E%d","message":"attempt %d"}`, status, n)
			})
			exps, _, err := c.SearchExperiments(t.Context(), "", 0)
			if got := calls.Load(); got != tc.calls {
				t.Errorf("%d calls, want %d", got, tc.calls)
			}
			if tc.ok {
				if err != nil || len(exps) != 1 {
					t.Errorf("got %v, %v", exps, err)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tc.statuses[len(tc.statuses)-1] {
				t.Errorf("error %v, want the last answer", err)
			}
		})
	}
}

func TestRetriesConnectionErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	c, err := NewClient(url, ClientOptions{Retries: 2})
	if err != nil {
		t.Fatal(err)
	}
	var tries atomic.Int32
	c.backoff = func(int, *http.Response) time.Duration { tries.Add(1); return 0 }
	if _, err := c.GetRun(t.Context(), "x"); err == nil {
		t.Fatal("no error from a closed server")
	}
	if tries.Load() != 2 {
		t.Errorf("%d retries, want 2", tries.Load())
	}
}

func TestRetryStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var calls atomic.Int32
	c := fakeMLflow(t, ClientOptions{Retries: 100}, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 2 {
			cancel()
		}
		w.WriteHeader(503)
	})
	_, err := c.GetRun(ctx, "x")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d calls after cancel, want 2", n)
	}
}

func TestDefaultBackoff(t *testing.T) {
	resp := &http.Response{Header: http.Header{"Retry-After": {"2"}}}
	if d := defaultBackoff(1, resp); d != 2*time.Second {
		t.Errorf("Retry-After 2 gave %v", d)
	}
	prev := time.Duration(0)
	for n := 1; n < 10; n++ {
		d := defaultBackoff(n, nil)
		if d < prev || d > 5*time.Second || d <= 0 {
			t.Errorf("backoff(%d) = %v after %v", n, d, prev)
		}
		prev = d
	}
}

func TestResponseLimits(t *testing.T) {
	big := strings.Repeat("x", 1000)
	for _, chunked := range []bool{false, true} {
		c := fakeMLflow(t, ClientOptions{MaxResponseBytes: 500}, func(w http.ResponseWriter, r *http.Request) {
			if chunked {
				w.(http.Flusher).Flush() // no Content-Length
			}
			fmt.Fprintf(w, `{"experiments":[{"experiment_id":"1","name":%q}]}`, big)
		})
		_, _, err := c.SearchExperiments(t.Context(), "", 0)
		var tl *TooLargeError
		if !errors.As(err, &tl) || tl.Limit != 500 {
			t.Errorf("chunked=%v: error %v, want TooLargeError", chunked, err)
		}
		// An explicit limit overrides MaxResponseBytes; 0 falls back to it.
		for limit, ok := range map[int64]bool{10: false, 2000: true, 0: false} {
			data, err := c.DownloadArtifact(t.Context(), "r", "a.txt", limit)
			if ok != (err == nil) {
				t.Errorf("chunked=%v limit %d: %d bytes, error %v", chunked, limit, len(data), err)
			}
		}
	}
}

func TestDownloadArtifactRequest(t *testing.T) {
	c := fakeMLflow(t, ClientOptions{}, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/get-artifact" || r.URL.Query().Get("path") != "model/MLmodel" || r.URL.Query().Get("run_uuid") != "r1" {
			w.WriteHeader(404)
			return
		}
		io.WriteString(w, "artifact_path: model\n")
	})
	data, err := c.DownloadArtifact(t.Context(), "r1", "model/MLmodel", 0)
	if err != nil || string(data) != "artifact_path: model\n" {
		t.Errorf("got %q, %v", data, err)
	}
}

func TestAllPagesFollowsTokensAndStopsOnRepeats(t *testing.T) {
	pages := map[string]string{
		"":   `{"registered_models":[{"name":"a"}],"next_page_token":"t1"}`,
		"t1": `{"registered_models":[{"name":"b"}],"next_page_token":"t2"}`,
		"t2": `{"registered_models":[{"name":"c"}]}`,
	}
	c := fakeMLflow(t, ClientOptions{}, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, pages[r.URL.Query().Get("page_token")])
	})
	rms, err := c.AllRegisteredModels(t.Context())
	if err != nil || len(rms) != 3 || rms[2].Name != "c" {
		t.Errorf("got %v, %v", rms, err)
	}
	pages["t2"] = `{"registered_models":[],"next_page_token":"t1"}`
	if _, err := c.AllRegisteredModels(t.Context()); err == nil || !strings.Contains(err.Error(), "repeated page token") {
		t.Errorf("a token loop gave %v", err)
	}
}

func TestSearchRunsNeedsExperiments(t *testing.T) {
	c := fakeMLflow(t, ClientOptions{}, func(w http.ResponseWriter, r *http.Request) { t.Error("request sent") })
	if _, _, err := c.SearchRuns(t.Context(), RunQuery{}); err == nil {
		t.Error("no error without experiment ids")
	}
}

// artifactTree serves artifacts/list for a tree given as directory →
// entries.
func artifactTree(t *testing.T, tree map[string][]FileInfo) *Client {
	return fakeMLflow(t, ClientOptions{}, func(w http.ResponseWriter, r *http.Request) {
		entries := tree[r.URL.Query().Get("path")]
		var b strings.Builder
		b.WriteString(`{"root_uri":"mlflow-artifacts:/1/r/artifacts","files":[`)
		for i, e := range entries {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"path":%q,"is_dir":%v,"file_size":%d}`, e.Path, e.IsDir, e.FileSize)
		}
		b.WriteString("]}")
		io.WriteString(w, b.String())
	})
}

func TestWalkArtifactsLimits(t *testing.T) {
	t.Run("loops", func(t *testing.T) {
		c := artifactTree(t, map[string][]FileInfo{
			"":  {{Path: "b", IsDir: true}, {Path: "a.txt", FileSize: 1}},
			"b": {{Path: "b", IsDir: true}, {Path: "b/c.txt", FileSize: 2}, {Path: "b/c.txt", FileSize: 2}},
		})
		got, err := c.WalkArtifacts(t.Context(), "r")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"a.txt", "b", "b/c.txt"}
		if len(got) != len(want) {
			t.Fatalf("got %v", got)
		}
		for i := range want {
			if got[i].Path != want[i] {
				t.Errorf("entry %d = %q, want %q", i, got[i].Path, want[i])
			}
		}
	})
	t.Run("depth", func(t *testing.T) {
		tree := map[string][]FileInfo{}
		dir := ""
		for i := range MaxArtifactDepth + 1 {
			sub := strings.TrimPrefix(dir+"/d"+fmt.Sprint(i), "/")
			tree[dir] = []FileInfo{{Path: sub, IsDir: true}}
			dir = sub
		}
		_, err := artifactTree(t, tree).WalkArtifacts(t.Context(), "r")
		if err == nil || !strings.Contains(err.Error(), "MaxArtifactDepth") {
			t.Errorf("a tree %d deep gave %v", MaxArtifactDepth+1, err)
		}
	})
	t.Run("depth at the limit", func(t *testing.T) {
		tree := map[string][]FileInfo{}
		dir := ""
		for i := range MaxArtifactDepth {
			sub := strings.TrimPrefix(dir+"/d"+fmt.Sprint(i), "/")
			tree[dir] = []FileInfo{{Path: sub, IsDir: true}}
			dir = sub
		}
		tree[dir] = []FileInfo{{Path: dir + "/f.txt"}}
		got, err := artifactTree(t, tree).WalkArtifacts(t.Context(), "r")
		if err != nil || len(got) != MaxArtifactDepth+1 {
			t.Errorf("a tree %d deep: %d entries, %v", MaxArtifactDepth, len(got), err)
		}
	})
	t.Run("entries", func(t *testing.T) {
		var files []FileInfo
		for i := range MaxArtifactEntries + 1 {
			files = append(files, FileInfo{Path: fmt.Sprintf("f%05d", i)})
		}
		_, err := artifactTree(t, map[string][]FileInfo{"": files}).WalkArtifacts(t.Context(), "r")
		if err == nil || !strings.Contains(err.Error(), "MaxArtifactEntries") {
			t.Errorf("%d entries gave %v", len(files), err)
		}
		got, err := artifactTree(t, map[string][]FileInfo{"": files[:MaxArtifactEntries]}).WalkArtifacts(t.Context(), "r")
		if err != nil || len(got) != MaxArtifactEntries {
			t.Errorf("%d entries: %d, %v", MaxArtifactEntries, len(got), err)
		}
	})
}
