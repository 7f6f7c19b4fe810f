package sqlite_test

import (
	"database/sql"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/sqlite"
	"github.com/redthread/redthread/graph/storetest"
	"go.uber.org/goleak"
)

// TestMain checks that closing a Log or Store leaves no goroutine behind
// (database/sql starts one per pool).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// openStore opens a store on a fresh file that is closed when t ends.
func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.OpenStore(path)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) graph.Store {
		return openStore(t, filepath.Join(t.TempDir(), "graph.db"))
	})
}

func TestSkeletonLeavesContent(t *testing.T) {
	storetest.SkeletonLeavesContent(t, openStore(t, filepath.Join(t.TempDir(), "graph.db")))
}

// TestSchemaVersion checks that a file whose recorded layout differs from
// this build's is refused with ECONFLICT rather than misread.
func TestSchemaVersion(t *testing.T) {
	for _, tc := range []struct {
		component string
		open      func(path string) (io.Closer, error)
	}{
		{"graph", func(p string) (io.Closer, error) { return sqlite.OpenStore(p) }},
		{"event log", func(p string) (io.Closer, error) { return sqlite.OpenLog(p) }},
	} {
		t.Run(tc.component, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "redthread.db")
			c, err := tc.open(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			c, err = tc.open(path) // same version: reopens
			if err != nil {
				t.Fatalf("reopening: %v", err)
			}
			c.Close()

			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.Exec(`UPDATE schema_versions SET version = version + 1 WHERE component = ?`, tc.component)
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			c, err = tc.open(path)
			if graph.ErrorCode(err) != graph.ECONFLICT || !strings.Contains(err.Error(), "version") {
				t.Errorf("opening a file of another layout version: %v, want ECONFLICT", err)
			}
			if err == nil {
				c.Close()
			}
		})
	}
}
