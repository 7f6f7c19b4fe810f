package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// parseGraphFlags parses args (and REDTHREAD_* variables) as serve's graph
// flags do.
func parseGraphFlags(t *testing.T, args ...string) (*graphFlags, error) {
	t.Helper()
	var g graphFlags
	fs := newFlagSet("test", "test", io.Discard)
	g.register(fs)
	return &g, parseFlags(fs, args)
}

func TestNeo4jConfigFromFlags(t *testing.T) {
	t.Setenv("REDTHREAD_NEO4J_ACQUIRE_TIMEOUT", "7s")
	t.Setenv("REDTHREAD_NEO4J_PASSWORD", "from-env")
	g, err := parseGraphFlags(t, "--graph", "neo4j://db.example:7687", "--neo4j-user", "rt", "--neo4j-database", "lineage",
		"--neo4j-max-pool", "12", "--neo4j-connect-timeout", "2s", "--neo4j-max-conn-lifetime", "30m", "--neo4j-retry-time", "9s")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := g.neo4jConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.URI != "neo4j://db.example:7687" || cfg.Username != "rt" || cfg.Password != "from-env" || cfg.Database != "lineage" {
		t.Errorf("connection: %+v", cfg)
	}
	if cfg.MaxConnectionPoolSize != 12 || cfg.ConnectionAcquisitionTimeout != 7*time.Second || cfg.SocketConnectTimeout != 2*time.Second ||
		cfg.MaxConnectionLifetime != 30*time.Minute || cfg.MaxTransactionRetryTime != 9*time.Second {
		t.Errorf("pool settings: %+v", cfg)
	}
	if cfg.TLSConfig != nil {
		t.Errorf("no -neo4j-ca: want the driver's default TLS settings, got %+v", cfg.TLSConfig)
	}
}

func TestNeo4jConfigCA(t *testing.T) {
	caFile, tlsDir := testPKI(t, t.TempDir())
	g, err := parseGraphFlags(t, "--graph", "neo4j+s://db.example:7687", "--neo4j-ca", caFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := g.neo4jConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLSConfig == nil || cfg.TLSConfig.RootCAs == nil || cfg.TLSConfig.InsecureSkipVerify {
		t.Fatalf("-neo4j-ca: want verification against the CA, got %+v", cfg.TLSConfig)
	}

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"--graph", "bolt://db:7687", "--neo4j-ca", caFile}, "needs a bolt+s:// or neo4j+s://"},
		{[]string{"--graph", "neo4j+ssc://db:7687", "--neo4j-ca", caFile}, "needs a bolt+s:// or neo4j+s://"},
		{[]string{"--graph", "bolt+s://db:7687", "--neo4j-ca", filepath.Join(tlsDir, "private.key")}, "no PEM certificate"},
		{[]string{"--graph", "bolt+s://db:7687", "--neo4j-ca", filepath.Join(t.TempDir(), "missing.pem")}, "no such file"},
		{[]string{"--graph", "bolt://db:7687", "--neo4j-acquire-timeout", "-1s"}, "-neo4j-acquire-timeout -1s"},
		{[]string{"--graph", "bolt://db:7687", "--neo4j-max-pool", "-3"}, "-neo4j-max-pool -3"},
	}
	for _, tc := range bad {
		g, err := parseGraphFlags(t, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.neo4jConfig(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}
