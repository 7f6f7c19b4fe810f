// Package mlflowtest runs a real MLflow server for tests and seeds it with
// Redthread's reference scenario (the seed document's risk-default_v2
// runs, their artifacts and the registered model built from them).
package mlflowtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvURI names a running MLflow server to use instead of starting one.
const EnvURI = "REDTHREAD_MLFLOW_URI"

// ScriptPath is the start script, relative to the module root.
const ScriptPath = "deploy/local/mlflow/mlflow.sh"

// startTimeout bounds a start, the first of which installs MLflow.
const startTimeout = 15 * time.Minute

// Start returns the tracking URI of a private MLflow server that lives
// until t ends: mlflow.sh started on a free port with its home in a
// temporary directory. With REDTHREAD_MLFLOW_URI set it returns that server
// instead. When MLflow cannot be started the test is skipped, or fails
// when CI=true. A start takes about 10 s once MLflow is installed (the
// first install takes a minute or more).
func Start(t testing.TB) string {
	t.Helper()
	if uri := os.Getenv(EnvURI); uri != "" {
		return strings.TrimRight(uri, "/")
	}
	uri, err := start(t)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mlflowtest: cannot start MLflow: %v", err)
		}
		t.Skipf("mlflowtest: cannot start MLflow (set CI=true to fail instead, or %s to use a running server): %v", EnvURI, err)
	}
	return uri
}

func start(t testing.TB) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, ScriptPath)
	if _, err := os.Stat(script); err != nil {
		return "", err
	}
	if _, err := exec.LookPath("bash"); err != nil {
		return "", err
	}
	home := t.TempDir()
	var lastErr error
	// A free port can be taken between finding and binding it: try again.
	for range 3 {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		env := append(os.Environ(), "MLFLOW_PORT="+strconv.Itoa(port), "MLFLOW_HOME_DIR="+home)
		out, err := runScript(script, env, "start")
		if err == nil {
			t.Cleanup(func() {
				if _, err := runScript(script, env, "stop"); err != nil {
					t.Logf("mlflowtest: stopping MLflow on port %d: %v", port, err)
				}
			})
			return lastLine(out), nil
		}
		lastErr = err
		// The script leaves nothing running when start fails, but make
		// sure before the next port.
		_, _ = runScript(script, env, "stop")
	}
	return "", lastErr
}

// runScript runs mlflow.sh with one command and returns its stdout.
func runScript(script string, env []string, command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script, command)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", filepath.Base(script), command, err, tail(stderr.String(), 2000))
	}
	return stdout.String(), nil
}

// moduleRoot is the nearest directory above the working directory that
// holds a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
