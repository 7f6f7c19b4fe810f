package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redthread/redthread/graph/sqlite"
	"github.com/redthread/redthread/graph/storetest"
)

// binPath is the redthread binary built once for the end-to-end tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "redthread-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "redthread")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building redthread for e2e tests:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// inCI reports whether tests run in CI, where a missing dependency fails.
func inCI() bool { return os.Getenv("CI") == "true" }

// serverProc is a running `redthread serve` child process.
type serverProc struct {
	cmd     *exec.Cmd
	URL     string
	dataDir string
	logs    *syncBuffer
	done    chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer starts `redthread serve` on a free loopback port with the
// given data dir and extra flags, and waits until /healthz answers.
func startServer(t testing.TB, dataDir string, extra ...string) *serverProc {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn"}, extra...)
	cmd := exec.Command(binPath, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, dataDir: dataDir, logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			if m := listenLineRE.FindStringSubmatch(line); m != nil {
				urlCh <- m[1]
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case p.URL = <-urlCh:
	case err := <-p.done:
		t.Fatalf("redthread serve exited before listening: %v\n%s", err, p.logs)
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("redthread serve did not start\n%s", p.logs)
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop asks the server to shut down gracefully and waits.
func (p *serverProc) stop(t testing.TB) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("server did not stop on SIGINT\n%s", p.logs)
	}
}

// kill stops the server with SIGKILL, as a crash would.
func (p *serverProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// postJSON posts body and returns the status and response body.
func postJSON(ctx context.Context, url string, body []byte, hdr ...string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// gql runs a GraphQL query against the server and decodes data into out;
// GraphQL errors fail the test.
func (p *serverProc) gql(t *testing.T, query string, vars map[string]any, out any) {
	t.Helper()
	errs := p.gqlErrors(t, query, vars, out)
	if len(errs) > 0 {
		t.Fatalf("GraphQL errors: %+v", errs)
	}
}

// gqlErrors runs a query and returns its errors (data decoded into out if any).
func (p *serverProc) gqlErrors(t *testing.T, query string, vars map[string]any, out any) []graphQLError {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	status, b, err := postJSON(t.Context(), p.URL+"/graphql", body)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []graphQLError  `json:"errors"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatalf("GraphQL status %d, body %s", status, b)
	}
	if out != nil && len(resp.Data) > 0 && string(resp.Data) != "null" {
		if err := json.Unmarshal(resp.Data, out); err != nil {
			t.Fatalf("decoding %s: %v", resp.Data, err)
		}
	}
	return resp.Errors
}

// runEvent returns a small valid RunEvent JSON for tests.
func runEvent(runID, eventType, jobName, inNS, inName, outNS, outName string) []byte {
	return []byte(strings.NewReplacer(
		"RUNID", runID, "ETYPE", eventType, "JOB", jobName,
		"INNS", inNS, "INNAME", inName, "OUTNS", outNS, "OUTNAME", outName,
	).Replace(`{"eventType":"ETYPE","eventTime":"2025-11-12T10:30:00.000Z","producer":"https://example.invalid/e2e",
"schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
"run":{"runId":"RUNID"},"job":{"namespace":"e2e","name":"JOB"},
"inputs":[{"namespace":"INNS","name":"INNAME"}],"outputs":[{"namespace":"OUTNS","name":"OUTNAME"}]}`))
}

// replayedGraph replays the event log of dataDir into a new SQLite graph
// with redthread reindex and returns what it holds.
func replayedGraph(t *testing.T, dataDir string) storetest.StoreDump {
	t.Helper()
	target := filepath.Join(t.TempDir(), "replayed.db")
	stdout, stderr, code := redthread(t, nil, "reindex", "--quiet", "--data-dir", dataDir, "--graph", "sqlite:"+target)
	if code != 0 {
		t.Fatalf("reindex into SQLite: exit %d\n%s\n%s", code, stdout, stderr)
	}
	s, err := sqlite.OpenStore(target)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := storetest.Dump(t, s)
	if len(d.Nodes) == 0 {
		t.Fatal("the replayed graph is empty: nothing to compare")
	}
	return d
}
