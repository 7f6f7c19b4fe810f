package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPlaygroundInBrowser opens the playground of a real server in a real
// headless Chromium (web/test/playground.mjs, through npm's
// playwright-core), runs the first example query with GraphiQL's own
// button, and checks that the page loaded nothing from anywhere but the
// server, raised no errors, and showed the node the example finds.
func TestPlaygroundInBrowser(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	script, err := filepath.Abs("../../web/test/playground.mjs")
	if err != nil {
		t.Fatal(err)
	}
	for _, need := range []struct{ path, fix string }{
		{chromium, "install Debian's chromium (make deps-browser)"},
		{"../../web/node_modules/playwright-core", "run make web"},
		{"../../web/dist/index.html", "run make web"},
	} {
		if _, err := os.Stat(need.path); err != nil {
			msg := need.path + " is missing: " + need.fix
			if inCI() {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: the playground's build needs Node.js too")
	}

	srv := startServer(t, t.TempDir())
	event := `{"eventType":"COMPLETE","eventTime":"2025-11-12T10:30:00Z","producer":"https://example.com/playground-test",
	  "run":{"runId":"0195c4d4-7f3a-7c1e-9a64-1d2f3e4a5b6c"},"job":{"namespace":"airflow://prod:8080","name":"risk_features.build"},
	  "inputs":[{"namespace":"postgres://warehouse:5432","name":"shop.public.orders"}]}`
	resp, err := http.Post(srv.URL+"/api/v1/lineage", "application/json", strings.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("posting the event: %s", resp.Status)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, srv.URL+"/")
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, runErr := cmd.Output()
	var report struct {
		Foreign, Failed, Errors []string
		Response, Step          string
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("browser script: %v (%v)\n%s", err, runErr, out)
	}
	if runErr != nil || report.Step != "done" {
		t.Fatalf("browser stopped at %q: %v; errors %q", report.Step, runErr, report.Errors)
	}
	if len(report.Foreign) > 0 {
		t.Errorf("the playground loaded from elsewhere than the server: %q", report.Foreign)
	}
	if len(report.Failed) > 0 || len(report.Errors) > 0 {
		t.Errorf("failed requests %q, page errors %q", report.Failed, report.Errors)
	}
	for _, want := range []string{`"label": "Dataset"`, `"name": "shop.public.orders"`, `"next": null`} {
		if !strings.Contains(report.Response, want) {
			t.Fatalf("response pane lacks %s:\n%s", want, report.Response)
		}
	}
}
