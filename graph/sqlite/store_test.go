package sqlite_test

import (
	"path/filepath"
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
