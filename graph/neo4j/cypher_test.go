package neo4j

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/redthread/redthread/graph"
)

// These tests need no server: they pin down the Cypher the store sends and
// the Go side of its merge rules.

func TestIdent(t *testing.T) {
	for _, ok := range []string{"Node", "DatasetVersion", "READ_BY", "X1"} {
		if got := ident(ok); got != ok {
			t.Errorf("ident(%q) = %q", ok, got)
		}
	}
	for _, bad := range []string{"", "1A", "Data set", "A`B", "x)-[:Y", "READ_BY|WROTE", "Étiquette", "a\nb"} {
		t.Run(bad, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("ident(%q) did not panic", bad)
				}
			}()
			ident(bad)
		})
	}
}

// TestClosedSetsAreIdentifiers checks that every label and edge type of
// the model can be written into Cypher, so no query builder panics.
func TestClosedSetsAreIdentifiers(t *testing.T) {
	for _, l := range graph.Labels {
		if !identPattern.MatchString(string(l)) || l == nodeLabel || l == stateLabel {
			t.Errorf("label %q cannot be used", l)
		}
		upsertNodesCypher(l)
	}
	for _, et := range graph.EdgeTypes {
		if !identPattern.MatchString(string(et)) {
			t.Errorf("edge type %q cannot be used", et)
		}
		upsertEdgesCypher(et)
	}
}

func TestSchemaStatements(t *testing.T) {
	stmts := schemaStatements()
	if len(stmts) != len(graph.Labels)+2 {
		t.Errorf("%d schema statements, want one per label, the Node label and the state node", len(stmts))
	}
	for name, stmt := range stmts {
		if !strings.HasPrefix(stmt, "CREATE CONSTRAINT "+name+" IF NOT EXISTS FOR (") || !strings.HasSuffix(stmt, "IS UNIQUE") {
			t.Errorf("%s: %s", name, stmt)
		}
	}
	for _, want := range []string{
		"CREATE CONSTRAINT redthread_node_key IF NOT EXISTS FOR (n:Node) REQUIRE n.key IS UNIQUE",
		"CREATE CONSTRAINT redthread_datasetversion_key IF NOT EXISTS FOR (n:DatasetVersion) REQUIRE n.key IS UNIQUE",
		"CREATE CONSTRAINT redthread_state_id IF NOT EXISTS FOR (s:RedthreadState) REQUIRE s.id IS UNIQUE",
	} {
		found := false
		for _, stmt := range stmts {
			found = found || stmt == want
		}
		if !found {
			t.Errorf("missing %q", want)
		}
	}
}

func TestUpsertCypher(t *testing.T) {
	n := upsertNodesCypher(graph.LabelRun)
	for _, want := range []string{
		"UNWIND $rows AS row",
		"MERGE (n:Node {key: row[0]})", // never on the label: an existing node keeps its own
		"ON CREATE SET n:Run",
		"SET n += row[1]",
		"n.key_fold = row[2]",
		"n.name_fold = CASE WHEN row[3] THEN row[4] ELSE n.name_fold END",
		"n.first_seen = coalesce(CASE WHEN row[5] < n.first_seen THEN row[5] ELSE n.first_seen END, row[5])",
		"n.last_offset = coalesce(CASE WHEN row[8] > n.last_offset THEN row[8] ELSE n.last_offset END, row[8])",
		"RETURN collect([row[0], id(n)]) AS ids",
	} {
		if !strings.Contains(n, want) {
			t.Errorf("node upsert lacks %q:\n%s", want, n)
		}
	}
	e := upsertEdgesCypher(graph.EdgeReadBy)
	for _, want := range []string{
		"MATCH (a) WHERE id(a) = row[0]", // ids the same transaction's node statements returned
		"MATCH (b) WHERE id(b) = row[1]",
		"MERGE (a)-[r:READ_BY]->(b)",
		"SET r += row[2]",
		"r.first_offset = coalesce(CASE WHEN row[5] < r.first_offset THEN row[5] ELSE r.first_offset END, row[5])",
		"r.last_seen = coalesce(CASE WHEN row[4] > r.last_seen THEN row[4] ELSE r.last_seen END, row[4])",
		"RETURN count(r) AS n",
	} {
		if !strings.Contains(e, want) {
			t.Errorf("edge upsert lacks %q:\n%s", want, e)
		}
	}
}

func TestStepCypher(t *testing.T) {
	for _, tc := range []struct {
		dir      graph.Direction
		types    []graph.EdgeType
		pattern  string
		from, to string
	}{
		{graph.Downstream, nil, "MATCH (a)-[r]->(b)", "a.key", "b.key"},
		{graph.Upstream, nil, "MATCH (a)<-[r]-(b)", "b.key", "a.key"},
		{graph.Both, nil, "MATCH (a)-[r]-(b)", "startNode(r).key", "endNode(r).key"},
		{graph.Downstream, []graph.EdgeType{graph.EdgeReadBy}, "MATCH (a)-[r:READ_BY]->(b)", "a.key", "b.key"},
		{graph.Both, []graph.EdgeType{graph.EdgeRunOf, graph.EdgeWrote}, "MATCH (a)-[r:RUN_OF|WROTE]-(b)", "startNode(r).key", "endNode(r).key"},
	} {
		t.Run(fmt.Sprintf("%s %v", tc.dir, tc.types), func(t *testing.T) {
			q := stepCypher(tc.dir, tc.types, false)
			for _, want := range []string{
				"UNWIND $keys AS k",
				"MATCH (a:Node {key: k})",
				tc.pattern,
				"($asOf IS NULL OR r.first_seen IS NULL OR r.first_seen <= $asOf)",
				"collect({from: " + tc.from + ", type: type(r), to: " + tc.to + ", props: properties(r)}) AS rels",
				"WITH b, ", // one row per far node, never per path
			} {
				if !strings.Contains(q, want) {
					t.Errorf("lacks %q:\n%s", want, q)
				}
			}
			if strings.Contains(q, "*") {
				t.Errorf("a variable-length pattern enumerates paths:\n%s", q)
			}
			// A skeleton step reads the same pattern but only the key and
			// provenance of each node and relationship.
			sk := stepCypher(tc.dir, tc.types, true)
			for _, want := range []string{
				tc.pattern,
				"props: r{.first_seen, .last_seen, .first_offset, .last_offset}}) AS rels",
				"RETURN labels(b) AS labels, b{.key, .first_seen, .last_seen, .first_offset, .last_offset} AS props, rels",
			} {
				if !strings.Contains(sk, want) {
					t.Errorf("skeleton step lacks %q:\n%s", want, sk)
				}
			}
			if strings.Contains(sk, "properties(") {
				t.Errorf("skeleton step reads whole property maps:\n%s", sk)
			}
		})
	}
}

func TestSearchCypher(t *testing.T) {
	for _, tc := range []struct {
		name      string
		labels    []graph.Label
		prefix    prefixKind
		text      bool
		match     string
		where     string
		notWanted string
	}{
		{"everything", nil, noPrefix, false, "MATCH (n:Node)", "WHERE n.key > $after\n", "$prefix"},
		{"one label walks its own index", []graph.Label{graph.LabelJob}, noPrefix, false, "MATCH (n:Job)", "WHERE n.key > $after\n", "n:Node"},
		{"two labels", []graph.Label{graph.LabelJob, graph.LabelRun}, noPrefix, false, "MATCH (n:Node)", "WHERE n.key > $after AND (n:Job OR n:Run)\n", ""},
		{"prefix as a range", nil, prefixRange, false, "MATCH (n:Node)", "WHERE n.key > $after AND n.key >= $prefix AND n.key < $upper\n", "$text"},
		{"prefix without an upper bound", nil, prefixStartsWith, false, "MATCH (n:Node)", "WHERE n.key > $after AND n.key STARTS WITH $prefix\n", "$upper"},
		{"text", nil, noPrefix, true, "MATCH (n:Node)",
			"WHERE n.key > $after AND (coalesce(n.key_fold, n.key) CONTAINS $text OR n.name_fold CONTAINS $text)\n", "$prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := searchCypher(tc.labels, tc.prefix, tc.text)
			want := tc.match + "\n" + tc.where + "RETURN labels(n) AS labels, properties(n) AS props\nORDER BY n.key\nLIMIT $limit"
			if d := cmp.Diff(want, q); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if tc.notWanted != "" && strings.Contains(q, tc.notWanted) {
				t.Errorf("holds %q", tc.notWanted)
			}
		})
	}
}

func TestPrefixUpperBound(t *testing.T) {
	for _, tc := range []struct {
		prefix, want string
		ok           bool
	}{
		{"dataset:", "dataset;", true},
		{"a", "b", true},
		{"ключ", "ключа"[:len("клю")] + "ш", true},
		{"x\uD7FF", "x\uE000", true},
		{"x\U0010FFFF", "y", true},
		{"\U0010FFFF\U0010FFFF", "", false},
		{"", "", false},
	} {
		got, ok := prefixUpperBound(tc.prefix)
		if got != tc.want || ok != tc.ok {
			t.Errorf("prefixUpperBound(%q) = %q, %v; want %q, %v", tc.prefix, got, ok, tc.want, tc.ok)
		}
		if !ok {
			continue
		}
		if !utf8.ValidString(got) || got <= tc.prefix || strings.HasPrefix(got, tc.prefix) {
			t.Errorf("prefixUpperBound(%q) = %q is not a valid bound above every key with the prefix", tc.prefix, got)
		}
		for _, k := range []string{tc.prefix, tc.prefix + "\x00", tc.prefix + "\U0010FFFF\U0010FFFF"} {
			if k >= got {
				t.Errorf("%q has the prefix but is not below %q", k, got)
			}
		}
	}
}

func TestCountsCypher(t *testing.T) {
	q := countsCypher()
	parts := strings.Split(q, "\nUNION ALL\n")
	if len(parts) != len(graph.Labels)+len(graph.EdgeTypes) {
		t.Fatalf("%d parts, want one per label and edge type", len(parts))
	}
	if want := "MATCH (n:Correlation) RETURN 'node' AS kind, 'Correlation' AS name, count(n) AS n"; parts[0] != want {
		t.Errorf("first part %q, want %q", parts[0], want)
	}
	if want := "MATCH ()-[r:HAS_FIELD]->() RETURN 'edge' AS kind, 'HAS_FIELD' AS name, count(r) AS n"; parts[len(parts)-1] != want {
		t.Errorf("last part %q, want %q", parts[len(parts)-1], want)
	}
}

var (
	keyA = graph.DatasetKey("s3://lake", "a")
	keyB = graph.DatasetKey("s3://lake", "b")
	keyR = graph.RunKey("11111111-1111-4111-8111-111111111111")
	t0   = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
)

func nodeAt(key string, label graph.Label, h int, p graph.Props) graph.Mutation {
	ts := t0.Add(time.Duration(h) * time.Hour)
	return graph.NodeMutation(graph.Node{Key: key, Label: label, Props: p, Provenance: graph.Provenance{FirstSeen: ts, LastSeen: ts}})
}

func edgeAt(from string, typ graph.EdgeType, to string, h int) graph.Mutation {
	ts := t0.Add(time.Duration(h) * time.Hour)
	return graph.EdgeMutation(graph.Edge{From: from, Type: typ, To: to, Provenance: graph.Provenance{FirstSeen: ts, LastSeen: ts}})
}

// TestPlanMerges checks that one call's mutations of a node become one
// row with the merged patch and provenance, as sequential upserts would
// leave the node.
func TestPlanMerges(t *testing.T) {
	p, err := planWrite([]graph.Batch{
		{Offset: 7, Mutations: []graph.Mutation{
			nodeAt(keyA, graph.LabelDataset, 5, graph.Props{"a": 1, "b": "x", "name": "Alpha"}),
			nodeAt(keyA, graph.LabelJob, 2, graph.Props{"b": nil, "c": []int{1, 2}}), // another label: the first wins
		}},
		{Offset: 9, Mutations: []graph.Mutation{
			graph.NodeMutation(graph.Node{Key: keyA, Label: graph.LabelDataset, Facets: graph.Facets{"schema": []byte(`{"f":1}`)}}),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.count != 1 || len(p.nodes[graph.LabelDataset]) != 1 || len(p.nodes[graph.LabelJob]) != 0 {
		t.Fatalf("plan = %+v, want one Dataset upsert", p.nodes)
	}
	got := named(nodeColumns, p.nodes[graph.LabelDataset][0].row())
	want := map[string]any{
		"key":     keyA,
		"keyFold": nil,
		"set": map[string]any{
			"prop.a": int64(1), "prop.b": nil, "prop.c": []any{int64(1), int64(2)}, "prop.name": "Alpha",
			"facet.schema": `{"f":1}`,
		},
		"nameSet": true, "nameFold": "alpha",
		"fs": t0.Add(2 * time.Hour).UnixNano(), "ls": t0.Add(5 * time.Hour).UnixNano(),
		"fo": int64(7), "lo": int64(9),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
	if p.maxOffset != 9 {
		t.Errorf("maxOffset = %d, want 9", p.maxOffset)
	}
}

func TestPlanRowFolds(t *testing.T) {
	k := graph.CorrelationKey("ÀB")
	p, err := planWrite([]graph.Batch{{Offset: 1, Mutations: []graph.Mutation{
		graph.NodeMutation(graph.Node{Key: k, Label: graph.LabelCorrelation, Props: graph.Props{"name": 3}}),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	row := named(nodeColumns, p.nodes[graph.LabelCorrelation][0].row())
	if row["keyFold"] != "correlation:àb" {
		t.Errorf("keyFold = %v", row["keyFold"])
	}
	// A name that is not a string is not searched: the folded name goes.
	if row["nameSet"] != true || row["nameFold"] != nil {
		t.Errorf("nameSet, nameFold = %v, %v; want true, nil", row["nameSet"], row["nameFold"])
	}
	if row["fs"] != nil || row["ls"] != nil {
		t.Errorf("unknown times must be null, got %v %v", row["fs"], row["ls"])
	}
}

// TestPlanEndpoints checks which endpoints the plan has checked against the
// store: those the call does not upsert before the edge's first mutation.
func TestPlanEndpoints(t *testing.T) {
	p, err := planWrite([]graph.Batch{
		{Offset: 1, Mutations: []graph.Mutation{
			nodeAt(keyA, graph.LabelDataset, 0, nil),
			edgeAt(keyA, graph.EdgeSymlinkOf, keyB, 0), // keyB comes later: must exist already
			nodeAt(keyB, graph.LabelDataset, 0, nil),
			edgeAt(keyB, graph.EdgeSymlinkOf, keyA, 0), // both upserted before it
			edgeAt(keyR, graph.EdgeWrote, keyA, 0),     // keyR never upserted
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]bool{keyB: true, keyR: true}, p.mustExist); d != "" {
		t.Errorf("mustExist (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		exists map[string]bool
		field  string
		names  string
	}{
		{nil, "batches[0].mutations[1].edge.to", keyB},
		{map[string]bool{keyB: true}, "batches[0].mutations[4].edge.from", keyR},
		{map[string]bool{keyB: true, keyR: true}, "", ""},
	} {
		err := p.missingEndpoint(tc.exists)
		if tc.field == "" {
			if err != nil {
				t.Errorf("exists %v: %v", tc.exists, err)
			}
			continue
		}
		if graph.ErrorCode(err) != graph.EINVALID || graph.ErrorField(err) != tc.field || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("exists %v: %v (field %q), want EINVALID on %s naming %q", tc.exists, err, graph.ErrorField(err), tc.field, tc.names)
		}
	}
}

func TestPlanInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		m     graph.Mutation
		field string
	}{
		{"empty key", nodeAt("", graph.LabelDataset, 0, nil), "batches[0].mutations[0].node.key"},
		{"NUL in key", nodeAt("dataset:a\x00b", graph.LabelDataset, 0, nil), "batches[0].mutations[0].node.key"},
		{"bad UTF-8 key", nodeAt("dataset:\xff", graph.LabelDataset, 0, nil), "batches[0].mutations[0].node.key"},
		{"label", nodeAt(keyA, "Table", 0, nil), "batches[0].mutations[0].node.label"},
		{"edge type", edgeAt(keyA, "FEEDS", keyB, 0), "batches[0].mutations[0].edge.type"},
		{"edge from", edgeAt("", graph.EdgeReadBy, keyB, 0), "batches[0].mutations[0].edge.from"},
		{"prop", nodeAt(keyA, graph.LabelDataset, 0, graph.Props{"m": map[string]any{}}), "batches[0].mutations[0].node.props.m"},
		{"facet", graph.NodeMutation(graph.Node{Key: keyA, Label: graph.LabelDataset, Facets: graph.Facets{"f": []byte(`{`)}}), "batches[0].mutations[0].node.facets.f"},
		{"kind", graph.Mutation{Kind: 9}, "batches[0].mutations[0].kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := planWrite([]graph.Batch{{Offset: 1, Mutations: []graph.Mutation{tc.m}}})
			if graph.ErrorCode(err) != graph.EINVALID || graph.ErrorField(err) != tc.field {
				t.Errorf("%v (field %q), want EINVALID on %s", err, graph.ErrorField(err), tc.field)
			}
		})
	}
	if _, err := planWrite([]graph.Batch{{Offset: -1}}); graph.ErrorCode(err) != graph.EINVALID {
		t.Errorf("negative offset: %v", err)
	}
}

// TestStatements checks the order of an Apply transaction's statements,
// their chunking, and that user text never reaches Cypher.
func TestStatements(t *testing.T) {
	evil := graph.DatasetKey("ns", "x'}) DETACH DELETE n //")
	muts := []graph.Mutation{
		nodeAt(keyR, graph.LabelRun, 0, graph.Props{"`; MATCH (m) DELETE m": "v"}),
		nodeAt(evil, graph.LabelDataset, 0, nil),
	}
	for i := range rowsPerStatement + 1 {
		muts = append(muts, nodeAt(graph.DatasetKey("ns", fmt.Sprintf("t%05d", i)), graph.LabelDataset, 0, nil))
	}
	muts = append(muts, edgeAt(keyR, graph.EdgeWrote, evil, 0), edgeAt(evil, graph.EdgeReadBy, keyR, 0))
	p, err := planWrite([]graph.Batch{{Offset: 3, Mutations: muts}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range p.statements() {
		if strings.Contains(st.cypher, "DETACH") || strings.Contains(st.cypher, "MATCH (m)") {
			t.Errorf("user text in Cypher:\n%s", st.cypher)
		}
		rows, _ := st.params["rows"].([]any)
		got = append(got, fmt.Sprintf("%s rows=%d want=%d", strings.SplitN(st.cypher, "\n", 3)[1], len(rows), st.wantRows))
	}
	want := []string{
		"MERGE (n:Node {key: row[0]}) rows=2000 want=-1", // Dataset, first chunk
		"MERGE (n:Node {key: row[0]}) rows=2 want=-1",    // Dataset, the rest
		"MERGE (n:Node {key: row[0]}) rows=1 want=-1",    // Run
		"MATCH (a) WHERE id(a) = row[0] rows=1 want=1",   // READ_BY
		"MATCH (a) WHERE id(a) = row[0] rows=1 want=1",   // WROTE
		"SET s.applied_offset = CASE WHEN s.applied_offset IS NULL OR s.applied_offset < $offset THEN $offset ELSE s.applied_offset END rows=0 want=-1",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("statements (-want +got):\n%s", d)
	}
	sts := p.statements()
	first := sts[0].params["rows"].([]any)
	for i := 1; i < len(first); i++ {
		if first[i-1].([]any)[0].(string) >= first[i].([]any)[0].(string) {
			t.Fatalf("rows not in key order at %d", i)
		}
	}
	if !strings.Contains(sts[3].cypher, ":READ_BY]") || !strings.Contains(sts[4].cypher, ":WROTE]") {
		t.Errorf("relationship statements out of graph.EdgeTypes order")
	}
}

func TestNanos(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want any
	}{
		{time.Time{}, nil},
		{time.Unix(0, 5), int64(5)},
		{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), int64(math.MinInt64)},
		{time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC), int64(math.MaxInt64)},
	} {
		if got := nanos(tc.in); got != tc.want {
			t.Errorf("nanos(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !timeOf(int64(5)).Equal(time.Unix(0, 5)) || !timeOf(nil).IsZero() {
		t.Error("timeOf is not the inverse of nanos")
	}
}

func TestDecodeNode(t *testing.T) {
	ts := t0.UnixNano()
	n, err := decodeNode([]any{"Node", "Dataset"}, map[string]any{
		"key": keyA, "key_fold": "x", "name_fold": "y",
		"prop.name": "A", "prop.n": int64(3), "prop.l": []any{1.0, 2.5}, "prop.": true,
		"facet.schema": `{"a": null}`,
		"first_seen":   ts, "last_seen": ts, "first_offset": int64(2), "last_offset": int64(4),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := graph.Node{Key: keyA, Label: graph.LabelDataset,
		Props:      graph.Props{"name": "A", "n": int64(3), "l": []any{1.0, 2.5}, "": true},
		Facets:     graph.Facets{"schema": []byte(`{"a": null}`)},
		Provenance: graph.Provenance{FirstSeen: t0, LastSeen: t0, FirstOffset: 2, LastOffset: 4}}
	if d := cmp.Diff(want, n); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, bad := range []struct {
		labels, props any
	}{
		{[]any{"Node"}, map[string]any{"key": keyA}},                          // no model label
		{[]any{"Node", "Dataset"}, map[string]any{}},                          // no key
		{[]any{"Node", "Dataset"}, map[string]any{"key": keyA, "facet.f": 1}}, // a facet that is not text
		{[]any{"Node", "Dataset"}, "props"},
	} {
		if _, err := decodeNode(bad.labels, bad.props); err == nil {
			t.Errorf("decodeNode(%v, %v) succeeded", bad.labels, bad.props)
		}
	}
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want string
	}{
		{"domain error passes", ctx, graph.Errorf(graph.EINVALID, "bad"), graph.EINVALID},
		{"connectivity", ctx, &neo4j.ConnectivityError{Inner: errors.New("refused")}, graph.EUNAVAILABLE},
		{"retries exhausted", ctx, &neo4j.TransactionExecutionLimit{Cause: "timeout"}, graph.EUNAVAILABLE},
		{"network", ctx, &net.OpError{Op: "dial", Err: errors.New("refused")}, graph.EUNAVAILABLE},
		{"transient", ctx, &neo4j.Neo4jError{Code: "Neo.TransientError.General.DatabaseUnavailable"}, graph.EUNAVAILABLE},
		{"credentials", ctx, &neo4j.Neo4jError{Code: "Neo.ClientError.Security.Unauthorized"}, graph.EUNAVAILABLE},
		{"no such database", ctx, &neo4j.Neo4jError{Code: "Neo.ClientError.Database.DatabaseNotFound"}, graph.EUNAVAILABLE},
		{"cancelled", cancelled, errors.New("whatever"), graph.EUNAVAILABLE},
		{"deadline", ctx, fmt.Errorf("x: %w", context.DeadlineExceeded), graph.EUNAVAILABLE},
		{"syntax error is a bug", ctx, &neo4j.Neo4jError{Code: "Neo.ClientError.Statement.SyntaxError"}, graph.EINTERNAL},
		{"anything else", ctx, errors.New("boom"), graph.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := classify(tc.ctx, "test", tc.err)
			if got := graph.ErrorCode(err); got != tc.want {
				t.Errorf("classify(%v) = %v (%s), want %s", tc.err, err, got, tc.want)
			}
			if tc.want == graph.EUNAVAILABLE && !errors.Is(err, tc.err) {
				t.Errorf("the cause is lost: %v", err)
			}
		})
	}
}

// TestMisconfigured: the errors that Open reports at once instead of
// waiting for Neo4j are the refused credentials; a server that is down, a
// plain connection error or a Cypher error are not among them. (The
// certificate case needs a TLS server: TestNeo4jAuthAndTLS in
// cmd/redthread covers it on a real Neo4j.)
func TestMisconfigured(t *testing.T) {
	ctx := context.Background()
	bolt, _ := url.Parse("bolt://127.0.0.1:1")
	for _, tc := range []struct {
		name string
		err  error
		user string
		want string
	}{
		{"wrong password", &neo4j.Neo4jError{Code: "Neo.ClientError.Security.Unauthorized"}, "rt", `refused the password of user "rt"`},
		{"no user", &neo4j.Neo4jError{Code: "Neo.ClientError.Security.Unauthorized"}, "", "no user is configured"},
		{"locked out", &neo4j.Neo4jError{Code: "Neo.ClientError.Security.AuthenticationRateLimit"}, "rt", "too often in a row"},
		{"wrapped", classify(ctx, "list constraints", &neo4j.Neo4jError{Code: "Neo.ClientError.Security.Unauthorized"}), "rt", "refused the password"},
		{"down", &neo4j.ConnectivityError{Inner: errors.New("connection refused")}, "rt", ""},
		{"transient", &neo4j.Neo4jError{Code: "Neo.TransientError.General.DatabaseUnavailable"}, "rt", ""},
		{"forbidden is not about credentials", &neo4j.Neo4jError{Code: "Neo.ClientError.Security.Forbidden"}, "rt", ""},
		{"other", errors.New("boom"), "rt", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := misconfigured(ctx, tc.err, bolt, Config{Username: tc.user})
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("misconfigured(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
	eof := unavailableReason(&neo4j.ConnectivityError{Inner: io.EOF})
	if !strings.Contains(eof, "requires TLS") {
		t.Errorf("a connection closed before answering: %q, want a hint about TLS", eof)
	}
}

// TestBindEndpoints: relationship rows get their endpoints' ids, and an
// endpoint without one gets null, never a stale or zero id.
func TestBindEndpoints(t *testing.T) {
	if edgeColumns[0] != "a" || edgeColumns[1] != "b" {
		t.Fatalf("bindEndpoints writes columns 0 and 1, but the edge columns are %v", edgeColumns)
	}
	rows := []any{
		[]any{int64(99), int64(98), map[string]any{}},
		[]any{nil, nil, map[string]any{}},
	}
	bindEndpoints(map[string]any{"rows": rows}, [][2]string{{"a", "b"}, {"b", "c"}}, map[string]int64{"a": 0, "b": 7})
	want := []any{
		[]any{int64(0), int64(7), map[string]any{}},
		[]any{int64(7), nil, map[string]any{}},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
}

// TestRowColumns: rows have one value per column, and statements read
// them by position.
func TestRowColumns(t *testing.T) {
	p, err := planWrite([]graph.Batch{{Offset: 1, Mutations: []graph.Mutation{
		graph.NodeMutation(graph.Node{Key: graph.JobKey("ns", "j"), Label: graph.LabelJob}),
		graph.NodeMutation(graph.Node{Key: graph.RunKey("11111111-2222-4333-8444-555555555555"), Label: graph.LabelRun}),
		graph.EdgeMutation(graph.Edge{From: graph.RunKey("11111111-2222-4333-8444-555555555555"), Type: graph.EdgeRunOf, To: graph.JobKey("ns", "j")}),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.nodes[graph.LabelJob][0].row()); n != len(nodeColumns) {
		t.Errorf("a node row has %d values for %d columns", n, len(nodeColumns))
	}
	if n := len(p.edges[graph.EdgeRunOf][0].row()); n != len(edgeColumns) {
		t.Errorf("an edge row has %d values for %d columns", n, len(edgeColumns))
	}
	// TestUpsertCypher checks which column each expression reads.
	if all := upsertNodesCypher(graph.LabelJob) + upsertEdgesCypher(graph.EdgeRunOf); strings.Contains(all, "row.") {
		t.Errorf("a statement reads a row field by name:\n%s", all)
	}
}

// named is a row as a map from its column names, for comparisons.
func named(columns []string, row []any) map[string]any {
	m := make(map[string]any, len(columns))
	for i, c := range columns {
		m[c] = row[i]
	}
	return m
}

// TestCollectIDs reads the [key, id] pairs of a node statement and
// refuses any other shape.
func TestCollectIDs(t *testing.T) {
	ids := map[string]int64{"x": 1}
	rec := func(v any) []*neo4j.Record { return []*neo4j.Record{{Values: []any{v}, Keys: []string{"ids"}}} }
	if err := collectIDs(rec([]any{[]any{"a", int64(5)}, []any{"b", int64(6)}}), ids); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int64{"x": 1, "a": 5, "b": 6}, ids); d != "" {
		t.Errorf("ids (-want +got):\n%s", d)
	}
	for _, bad := range [][]*neo4j.Record{nil, rec("no"), rec([]any{"a"}), rec([]any{[]any{"a"}}), rec([]any{[]any{int64(1), int64(2)}})} {
		if err := collectIDs(bad, map[string]int64{}); graph.ErrorCode(err) != graph.EINTERNAL {
			t.Errorf("collectIDs(%v) = %v, want EINTERNAL", bad, err)
		}
	}
}

// TestApplyStatementsSkipReplanning checks that every statement of an
// Apply keeps its first plan (see writeOptions), and that the option is
// only a prefix: the rest of the statement is unchanged Cypher.
func TestApplyStatementsSkipReplanning(t *testing.T) {
	stmts := map[string]string{
		"existingKeys": existingKeysCypher,
		"setApplied":   setAppliedCypher,
	}
	for _, l := range graph.Labels {
		stmts["nodes "+string(l)] = upsertNodesCypher(l)
	}
	for _, e := range graph.EdgeTypes {
		stmts["edges "+string(e)] = upsertEdgesCypher(e)
	}
	for name, q := range stmts {
		rest, ok := strings.CutPrefix(q, "CYPHER replan=skip ")
		if !ok {
			t.Errorf("%s does not start with CYPHER replan=skip:\n%s", name, q)
			continue
		}
		if !strings.HasPrefix(rest, "UNWIND ") && !strings.HasPrefix(rest, "MERGE ") {
			t.Errorf("%s: after the options, want UNWIND or MERGE:\n%s", name, q)
		}
	}
}
