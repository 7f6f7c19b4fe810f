package sqlite_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/sqlite"
)

// TestStoreIsItsFilesOneWriter checks that a second store on an open
// store's file is refused with ECONFLICT naming the file, and that closing
// the first frees the file.
func TestStoreIsItsFilesOneWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "graph.db")
	first, err := sqlite.OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := sqlite.OpenStore(path)
	if graph.ErrorCode(err) != graph.ECONFLICT || !strings.Contains(err.Error(), path) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("a second store on an open file: %v, want ECONFLICT naming %s", err, path)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := sqlite.OpenStore(path)
	if err != nil {
		t.Fatalf("reopening after Close: %v", err)
	}
	again.Close()
}
