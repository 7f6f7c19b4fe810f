//go:build !unix

package sqlite

// lockWriter does nothing where flock is not available: keeping a second
// writer off the file is left to the operator (see the unix version).
func lockWriter(string) (release func(), err error) { return func() {}, nil }
