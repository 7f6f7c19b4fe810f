package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// The fields of Node and Edge that a skeleton traversal fills
// (graph.Traversal.Skeleton): everything but names, properties and facets.
var (
	skeletonNodeFields = map[string]bool{
		"__typename": true, "key": true, "label": true,
		"firstSeen": true, "lastSeen": true, "firstOffset": true, "lastOffset": true,
	}
	skeletonEdgeFields = map[string]bool{
		"__typename": true, "id": true, "type": true, "from": true, "to": true,
		"firstSeen": true, "lastSeen": true, "firstOffset": true, "lastOffset": true,
	}
)

// selectsSkeleton reports whether the Lineage field being resolved asks
// for nothing of its nodes and edges that a skeleton traversal leaves out,
// fragments included. Impact queries that list what a change reaches (keys,
// labels, edge ends) then skip reading and decoding every node's and
// edge's properties and facets, most of a traversal's bytes. Anything it
// cannot tell answers false: the full traversal is always correct.
func selectsSkeleton(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !graphql.HasOperationContext(ctx) {
		return false
	}
	op := graphql.GetOperationContext(ctx)
	for _, f := range graphql.CollectFields(op, fc.Field.Selections, []string{"Lineage"}) {
		var allowed map[string]bool
		var typ string
		switch f.Name {
		case "nodes":
			allowed, typ = skeletonNodeFields, "Node"
		case "edges":
			allowed, typ = skeletonEdgeFields, "Edge"
		default:
			continue
		}
		for _, sub := range graphql.CollectFields(op, f.Selections, []string{typ}) {
			if !allowed[sub.Name] {
				return false
			}
		}
	}
	return true
}
