package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redthread/redthread/graph"
)

// redthread runs the built binary and returns stdout, stderr and the exit code.
func redthread(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestIngestAndLineageCommands(t *testing.T) {
	srv := startServer(t, t.TempDir())
	dir := t.TempDir()
	// An NDJSON file with one invalid event, and a JSON array file.
	var nd bytes.Buffer
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("11111111-2222-4333-8444-%012d", i)
		nd.Write(runEvent(id, "COMPLETE", "cli.step", "s3://cli", fmt.Sprintf("stage_%d", i), "s3://cli", fmt.Sprintf("stage_%d", i+1)))
		nd.WriteByte('\n')
	}
	nd.WriteString(`{"eventType":"COMPLETE","eventTime":"2025-11-12T10:30:00Z","run":{"runId":"r"},"job":{"namespace":"cli"}}` + "\n")
	if err := os.WriteFile(filepath.Join(dir, "a.ndjson"), nd.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	arr := "[" + string(runEvent("11111111-2222-4333-8444-999999999999", "START", "cli.other", "s3://cli", "x", "s3://cli", "y")) + "]"
	if err := os.WriteFile(filepath.Join(dir, "b.json"), []byte(arr), 0o600); err != nil {
		t.Fatal(err)
	}

	// The URL comes from the environment, as every flag can.
	stdout, stderr, code := redthread(t, []string{"REDTHREAD_URL=" + srv.URL}, "ingest", "--quiet", dir)
	if code != 1 {
		t.Fatalf("ingest exit %d, want 1 (one event rejected)\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "sent 7 events: 6 accepted (0 already known), 1 rejected") {
		t.Fatalf("summary: %q", stdout)
	}
	// The field is the event's own path, whatever its place in the batch
	// request (it is the 6th of 7 events sent in one request here).
	if !strings.Contains(stderr, "a.ndjson#6: INVALID (job.name): required field is missing") {
		t.Fatalf("rejection should name file, position and the event's field: %q", stderr)
	}
	// So it is with other batch sizes, and with flags after the operand.
	_, stderr, code = redthread(t, nil, "ingest", filepath.Join(dir, "a.ndjson"), "--quiet", "--url", srv.URL, "--batch", "4")
	if code != 1 || !strings.Contains(stderr, "a.ndjson#6: INVALID (job.name): required field is missing") {
		t.Fatalf("ingest --batch 4: exit %d, stderr %q", code, stderr)
	}

	// Sending the same files again changes nothing.
	stdout, _, _ = redthread(t, nil, "ingest", "--quiet", "--url", srv.URL, filepath.Join(dir, "b.json"))
	if !strings.Contains(stdout, "1 accepted (1 already known)") {
		t.Fatalf("re-ingest summary: %q", stdout)
	}

	start := graph.DatasetKey("s3://cli", "stage_0")
	stdout, stderr, code = redthread(t, nil, "lineage", start, "--url", srv.URL, "--depth", "15", "--format", "dot")
	if code != 0 {
		t.Fatalf("lineage dot: exit %d: %s", code, stderr)
	}
	last := graph.DatasetVersionKey("s3://cli", "stage_5", "run-11111111-2222-4333-8444-000000000004")
	if !strings.HasPrefix(stdout, "digraph lineage {") || !strings.Contains(stdout, fmt.Sprintf("%q", last)) {
		t.Fatalf("dot output lacks the 5th stage:\n%s", stdout)
	}
	stdout, _, code = redthread(t, nil, "lineage", "--url", srv.URL, "--depth", "1", start)
	if code != 0 || !strings.Contains(stdout, `"READ_BY"`) {
		t.Fatalf("lineage json: exit %d\n%s", code, stdout)
	}
	// Flags on both sides of the key.
	stdout, stderr, code = redthread(t, nil, "lineage", "--url", srv.URL, start, "--depth", "1", "--format", "json")
	if code != 0 || !strings.Contains(stdout, `"READ_BY"`) {
		t.Fatalf("lineage with flags around the key: exit %d\n%s%s", code, stdout, stderr)
	}
	_, stderr, code = redthread(t, nil, "lineage", "--url", srv.URL, start, "dataset:x:y")
	if code != 2 || !strings.Contains(stderr, "want one KEY, got 2 operands") {
		t.Fatalf("two keys: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = redthread(t, nil, "lineage", "--url", srv.URL, "dataset:nope:none")
	if code != 1 || !strings.Contains(stderr, "NOT_FOUND") {
		t.Fatalf("unknown key: exit %d, stderr %q", code, stderr)
	}
	_, _, code = redthread(t, nil, "frobnicate")
	if code != 2 {
		t.Fatalf("unknown command exit %d, want 2", code)
	}
	stdout, _, _ = redthread(t, nil, "version")
	if !strings.HasPrefix(stdout, "redthread ") {
		t.Fatalf("version: %q", stdout)
	}
}
