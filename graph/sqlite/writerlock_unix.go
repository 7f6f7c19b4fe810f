//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/redthread/redthread/graph"
)

// lockWriter takes the store's writer lock: an exclusive flock on a file
// beside the database (path + "-writer.lock"), held until release. The
// Store's caches (ids, known edges, content sums) stay true only while it
// is the one writer of its file, so a second Store on the same file, in
// this process or another, is refused with ECONFLICT. The lock is on a
// file of its own because closing any descriptor of the database file
// would drop SQLite's own POSIX locks on it. The kernel releases the lock
// when the process ends, however it ends. On a file system that has no
// flock, the store opens without the guard.
func lockWriter(path string) (release func(), err error) {
	name := path + "-writer.lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, graph.Internal(fmt.Errorf("sqlite: open the writer lock %s: %w", name, err))
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOTSUP) {
			// A file system without flock (some network mounts): open
			// unguarded rather than not at all, as SQLite itself does.
			return func() {}, nil
		}
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, graph.Errorf(graph.ECONFLICT,
				"sqlite: the graph %s is already open for writing (%s is locked): is another `redthread serve` or `redthread reindex` using it? Stop it first", path, name)
		}
		return nil, graph.Internal(fmt.Errorf("sqlite: lock %s: %w", name, err))
	}
	return func() { f.Close() }, nil
}
