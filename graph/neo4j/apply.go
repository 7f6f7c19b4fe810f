package neo4j

import (
	"context"
	"fmt"
	"slices"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/redthread/redthread/graph"
)

// rowsPerStatement caps the rows one UNWIND statement carries, so that a
// large Apply call (a reindex, a bulk load) sends several statements of
// bounded size within its one transaction.
const rowsPerStatement = 2000

// Apply applies the batches in order in one transaction together with
// the highest batch offset, so that either all of them and their offset
// are recorded or none. Every mutation is validated before the
// transaction starts; an edge whose endpoint is neither in the store nor
// upserted earlier in the call is an EINVALID error naming the endpoint,
// and nothing of the call is applied. The driver retries the transaction
// on transient errors (a lost connection, a deadlock, a leader switch);
// Neo4j unreachable is EUNAVAILABLE.
//
// A batch is applied whatever its offset, as the SQLite store does: one
// older than AppliedOffset is not skipped. Merges are idempotent.
func (s *Store) Apply(ctx context.Context, batches ...graph.Batch) error {
	write, err := s.PrepareApply(batches...)
	if err != nil {
		return err
	}
	return write(ctx)
}

// PrepareApply does the part of Apply that needs no server: it validates
// and plans the batches and builds the transaction's statements, and
// returns the write that runs them, which behaves as Apply(ctx, batches...)
// would from there (the endpoints are checked and the applied offset is
// recorded in its one transaction). The pipeline plans the next group
// while the server runs the previous write, which Neo4j would otherwise
// wait for. The batches must not change until the write has returned.
func (s *Store) PrepareApply(batches ...graph.Batch) (write func(context.Context) error, err error) {
	p, err := planWrite(batches)
	if err != nil {
		return nil, err
	}
	if p.count == 0 && p.maxOffset == 0 {
		return func(context.Context) error { return nil }, nil
	}
	stmts := p.statements()
	return func(ctx context.Context) error { return s.write(ctx, p, stmts) }, nil
}

// write runs a plan's statements in one transaction.
func (s *Store) write(ctx context.Context, p *writePlan, stmts []statement) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	sess := s.session(ctx, neo4j.AccessModeWrite)
	defer sess.Close(context.WithoutCancel(ctx))
	_, err := sess.ExecuteWrite(ctx, func(tx neo4j.ManagedTransaction) (any, error) {
		// ids maps keys to internal node ids within this attempt only.
		ids := make(map[string]int64, len(p.nodeByKey)+len(p.mustExist))
		if len(p.mustExist) > 0 {
			if err := existingKeys(ctx, tx, p.mustExist, ids); err != nil {
				return nil, err
			}
			exists := make(map[string]bool, len(ids))
			for k := range ids {
				exists[k] = true
			}
			if err := p.missingEndpoint(exists); err != nil {
				return nil, err
			}
		}
		for _, st := range stmts {
			if st.ends != nil {
				bindEndpoints(st.params, st.ends, ids)
			}
			recs, err := run(ctx, tx, st.cypher, st.params)
			if err != nil {
				return nil, err
			}
			if st.nodes {
				if err := collectIDs(recs, ids); err != nil {
					return nil, err
				}
			}
			if st.wantRows >= 0 {
				if got := countOf(recs); got != int64(st.wantRows) {
					// Endpoints were checked above and nodes are never
					// deleted: say so rather than write half a call.
					return nil, graph.Internal(fmt.Errorf("neo4j: wrote %d of %d relationships of a statement", got, st.wantRows))
				}
			}
		}
		return nil, nil
	})
	if err != nil {
		return classify(ctx, "apply", err)
	}
	return nil
}

// statement is one query of an Apply transaction.
type statement struct {
	cypher   string
	params   map[string]any
	wantRows int         // relationships it must write; -1 for node and offset statements
	nodes    bool        // a node statement, which returns the ids of its keys
	ends     [][2]string // a relationship statement's endpoint keys, row by row
}

// statements lists the queries of the plan: nodes by label, then
// relationships by type (both in the order of graph.Labels and
// graph.EdgeTypes, rows in key order), then the applied offset.
func (p *writePlan) statements() []statement {
	var out []statement
	for _, l := range graph.Labels {
		us := p.nodes[l]
		for chunk := range slices.Chunk(us, rowsPerStatement) {
			rows := make([]any, len(chunk))
			for i, u := range chunk {
				rows[i] = u.row()
			}
			out = append(out, statement{cypher: upsertNodesCypher(l), params: map[string]any{"rows": rows}, wantRows: -1, nodes: true})
		}
	}
	for _, t := range graph.EdgeTypes {
		us := p.edges[t]
		for chunk := range slices.Chunk(us, rowsPerStatement) {
			rows := make([]any, len(chunk))
			ends := make([][2]string, len(chunk))
			for i, u := range chunk {
				rows[i] = u.row()
				ends[i] = [2]string{u.from, u.to}
			}
			out = append(out, statement{cypher: upsertEdgesCypher(t), params: map[string]any{"rows": rows}, wantRows: len(chunk), ends: ends})
		}
	}
	if p.maxOffset > 0 {
		out = append(out, statement{cypher: setAppliedCypher, params: map[string]any{"id": stateID, "offset": p.maxOffset}, wantRows: -1})
	}
	return out
}

// existingKeys adds to ids those of keys that are nodes in the store.
func existingKeys(ctx context.Context, tx neo4j.ManagedTransaction, keys map[string]bool, ids map[string]int64) error {
	list := make([]any, 0, len(keys))
	for k := range keys {
		list = append(list, k)
	}
	recs, err := run(ctx, tx, existingKeysCypher, map[string]any{"keys": list})
	if err != nil {
		return err
	}
	for _, r := range recs {
		k, okKey := r.Values[0].(string)
		id, okID := r.Values[1].(int64)
		if !okKey || !okID {
			return graph.Internal(fmt.Errorf("neo4j: unexpected existing-key row %v", r.Values))
		}
		ids[k] = id
	}
	return nil
}

// collectIDs adds to ids the [key, id] pairs a node statement returned.
func collectIDs(recs []*neo4j.Record, ids map[string]int64) error {
	if len(recs) != 1 || len(recs[0].Values) != 1 {
		return graph.Internal(fmt.Errorf("neo4j: a node statement returned %d rows, want 1", len(recs)))
	}
	pairs, ok := recs[0].Values[0].([]any)
	if !ok {
		return graph.Internal(fmt.Errorf("neo4j: a node statement returned %T, want a list", recs[0].Values[0]))
	}
	for _, p := range pairs {
		kv, ok := p.([]any)
		if !ok || len(kv) != 2 {
			return graph.Internal(fmt.Errorf("neo4j: a node statement returned the pair %v", p))
		}
		k, okKey := kv[0].(string)
		id, okID := kv[1].(int64)
		if !okKey || !okID {
			return graph.Internal(fmt.Errorf("neo4j: a node statement returned the pair %v", kv))
		}
		ids[k] = id
	}
	return nil
}

// bindEndpoints sets the a and b columns of each relationship row to the
// ids of its endpoints (ends, row by row), or to null when one is unknown
// (it then matches nothing, and the statement's count says so). It runs
// again if the driver retries the transaction, with that attempt's ids.
func bindEndpoints(params map[string]any, ends [][2]string, ids map[string]int64) {
	rows, _ := params["rows"].([]any)
	for i, r := range rows {
		row := r.([]any)
		for j, key := range ends[i] {
			row[j] = nil // columns a and b
			if id, ok := ids[key]; ok {
				row[j] = id
			}
		}
	}
}

// countOf reads the single count a statement returns.
func countOf(recs []*neo4j.Record) int64 {
	if len(recs) != 1 || len(recs[0].Values) != 1 {
		return -1
	}
	n, _ := recs[0].Values[0].(int64)
	return n
}

// AppliedOffset returns the highest log offset Apply has recorded.
func (s *Store) AppliedOffset(ctx context.Context) (int64, error) {
	return read(ctx, s, "read applied offset", func(tx neo4j.ManagedTransaction) (int64, error) {
		recs, err := run(ctx, tx, appliedCypher, map[string]any{"id": stateID})
		if err != nil {
			return 0, err
		}
		if len(recs) == 0 {
			return 0, nil
		}
		n, _ := recs[0].Values[0].(int64)
		return n, nil
	})
}
