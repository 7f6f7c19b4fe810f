// Package ingest is Redthread's write path: decode → validate → append to
// the event log (durable before the reply) → map → apply to the graph store
// → publish a notice to subscribers.
//
// One committer goroutine owns the log and the store. Callers decode and
// map in their own goroutines (so the work spreads over cores) and hand the
// result to the committer, which appends everything that arrived meanwhile
// in one fsynced transaction (group commit), then applies the mutations.
// If applying fails (a store that is down), the events are still safe in the
// log and the committer replays them from the log once the store answers:
// the graph is a projection of the log, rebuildable at any time.
package ingest
