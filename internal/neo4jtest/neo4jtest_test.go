package neo4jtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noEngine makes Setup find no Docker engine, and points testcontainers at
// a socket that does not exist, so that these tests behave the same on
// machines with and without an engine. (testcontainers falls back to the
// default socket when DOCKER_HOST names none, so an engine there may still
// be reached: the image the test asks for then cannot be pulled.)
func noEngine(t *testing.T) {
	t.Helper()
	saved := engineAnswers
	engineAnswers = func(context.Context) bool { return false }
	t.Cleanup(func() { engineAnswers = saved })
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
}

// setupDoesNothing runs Setup and its stop, and checks that they neither
// failed, nor wrote anything, nor changed REDTHREAD_NEO4J_URI from want.
func setupDoesNothing(t *testing.T, want string) {
	t.Helper()
	var log bytes.Buffer
	stop, err := Setup(&log)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if got := os.Getenv(EnvURI); got != want {
		t.Errorf("%s = %q after Setup and stop, want %q: Setup had nothing to start", EnvURI, got, want)
	}
	if log.Len() != 0 {
		t.Errorf("Setup wrote %q, want nothing", log.String())
	}
}

func TestSetupLeavesANamedServerAlone(t *testing.T) {
	noEngine(t)
	t.Setenv(EnvURI, "bolt://db.example:7687")
	t.Setenv(EnvDocker, "1") // the URI wins even over an explicit request
	setupDoesNothing(t, "bolt://db.example:7687")
}

func TestSetupStartsNothingWithoutAnEngineOrWhenToldNot(t *testing.T) {
	for _, c := range []struct {
		docker string
		engine bool
	}{
		{"", false}, // no engine answers
		{"0", true}, // one does, but the tests were told to use none
	} {
		t.Run(fmt.Sprintf("REDTHREAD_NEO4J_DOCKER=%q engine=%v", c.docker, c.engine), func(t *testing.T) {
			noEngine(t)
			engineAnswers = func(context.Context) bool { return c.engine }
			t.Setenv(EnvURI, "")
			t.Setenv(EnvDocker, c.docker)
			t.Setenv(EnvImage, "example.invalid/neo4j:5.26")
			setupDoesNothing(t, "")
		})
	}
}

func TestSetupExplainsAnEngineThatDoesNotAnswer(t *testing.T) {
	noEngine(t)
	t.Setenv(EnvURI, "")
	t.Setenv(EnvDocker, "1")
	t.Setenv(EnvImage, "example.invalid/neo4j:5.26")
	var log bytes.Buffer
	stop, err := Setup(&log)
	stop()
	if err == nil {
		t.Fatal("Setup succeeded with no Docker engine; want an error")
	}
	for _, want := range []string{"example.invalid/neo4j:5.26", EnvURI, EnvImage, EnvDocker + "=0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !strings.Contains(log.String(), "starting example.invalid/neo4j:5.26") {
		t.Errorf("log %q does not say what it tried to start", log.String())
	}
	if got := os.Getenv(EnvURI); got != "" {
		t.Errorf("%s = %q after a failed start, want unset", EnvURI, got)
	}
}
