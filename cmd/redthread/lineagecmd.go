package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// lineageQuery is the GraphQL query behind `redthread lineage`.
const lineageQuery = `query Lineage($key: ID!, $direction: Direction!, $depth: Int!, $asOf: Time, $edgeTypes: [EdgeType!]) {
  lineage(key: $key, direction: $direction, depth: $depth, asOf: $asOf, edgeTypes: $edgeTypes) {
    root
    truncated
    nodes { key label name properties firstSeen lastSeen }
    edges { type from to properties }
  }
}`

// lineageResult is the answer to lineageQuery.
type lineageResult struct {
	Lineage struct {
		Root      []string `json:"root"`
		Truncated bool     `json:"truncated"`
		Nodes     []struct {
			Key        string         `json:"key"`
			Label      string         `json:"label"`
			Name       *string        `json:"name"`
			Properties map[string]any `json:"properties"`
			FirstSeen  *string        `json:"firstSeen"`
			LastSeen   *string        `json:"lastSeen"`
		} `json:"nodes"`
		Edges []struct {
			Type       string         `json:"type"`
			From       string         `json:"from"`
			To         string         `json:"to"`
			Properties map[string]any `json:"properties"`
		} `json:"edges"`
	} `json:"lineage"`
}

func runLineage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("lineage", "redthread lineage [flags] KEY", stderr)
	url := fs.String("url", "http://127.0.0.1:5050", "base URL of a running Redthread")
	depth := fs.Int("depth", 3, "hops to follow (clamped to 50)")
	direction := fs.String("direction", "downstream", "downstream (impact), upstream (provenance) or both")
	asOf := fs.String("as-of", "", "answer as of this time (RFC 3339)")
	var edgeTypes stringList
	fs.Var(&edgeTypes, "edge-type", "follow only these edge types (repeatable), e.g. READ_BY,WROTE")
	format := fs.String("format", "json", "json or dot (Graphviz)")
	// Flags may come before or after the key: `redthread lineage KEY --depth 5`.
	operands, err := parseFlagsAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		fmt.Fprintf(stderr, "redthread lineage: want one KEY, got %d operands %q\n", len(operands), operands)
		fs.Usage()
		return errUsage
	}
	key := operands[0]
	if *format != "json" && *format != "dot" {
		return fmt.Errorf("-format %q: want json or dot", *format)
	}
	vars := map[string]any{"key": key, "direction": strings.ToUpper(*direction), "depth": *depth}
	if *asOf != "" {
		vars["asOf"] = *asOf
	}
	if len(edgeTypes) > 0 {
		vars["edgeTypes"] = []string(edgeTypes)
	}
	var res lineageResult
	if err := newAPIClient(*url, "").graphql(ctx, lineageQuery, vars, &res); err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res.Lineage)
	}
	writeDot(stdout, res)
	return nil
}

// dotShapes gives each label a shape so a rendered graph reads at a glance.
var dotShapes = map[string]string{
	"Dataset": "cylinder", "DatasetVersion": "cylinder", "Field": "plaintext", "Job": "component",
	"Run": "box", "ModelVersion": "hexagon", "RegisteredModel": "hexagon", "Deployment": "doubleoctagon",
	"Artifact": "note", "Image": "box3d", "Commit": "cds", "Identity": "ellipse", "Correlation": "diamond",
	"FeatureGroup": "folder",
}

// writeDot renders the lineage as a Graphviz digraph.
func writeDot(w io.Writer, res lineageResult) {
	l := res.Lineage
	roots := map[string]bool{}
	for _, r := range l.Root {
		roots[r] = true
	}
	fmt.Fprintln(w, "digraph lineage {")
	fmt.Fprintln(w, "  rankdir=LR;")
	fmt.Fprintln(w, `  node [fontname="Helvetica", fontsize=10];`)
	fmt.Fprintln(w, `  edge [fontname="Helvetica", fontsize=8];`)
	sort.Slice(l.Nodes, func(i, j int) bool { return l.Nodes[i].Key < l.Nodes[j].Key })
	for _, n := range l.Nodes {
		name := n.Key
		if n.Name != nil && *n.Name != "" {
			name = *n.Name
		}
		shape := dotShapes[n.Label]
		if shape == "" {
			shape = "box"
		}
		extra := ""
		if roots[n.Key] {
			extra = `, style=bold, color="red"`
		}
		fmt.Fprintf(w, "  %s [label=%s, shape=%s, tooltip=%s%s];\n", dotQuote(n.Key), dotQuote(n.Label+"\n"+name), shape, dotQuote(n.Key), extra)
	}
	for _, e := range l.Edges {
		fmt.Fprintf(w, "  %s -> %s [label=%s];\n", dotQuote(e.From), dotQuote(e.To), dotQuote(e.Type))
	}
	if l.Truncated {
		fmt.Fprintln(w, `  truncated [label="(truncated: raise maxNodes or lower depth)", shape=plaintext];`)
	}
	fmt.Fprintln(w, "}")
}

// dotQuote quotes s as a DOT string.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
