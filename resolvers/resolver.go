// Package resolvers implements the GraphQL schema (schema.graphqls) as thin
// resolvers over graph.Store and the pubsub hub.
//
// Resolvers check and convert arguments, call the store, and wrap its
// answers in gqlmodel types; they never name a concrete store. Every error
// they return is a *graph.Error, so the handler can present its code: an
// error without a code becomes graph.EINTERNAL, logged and shown as
// "internal error".
package resolvers

import (
	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/internal/pubsub"
)

// Resolver is the root resolver. Its zero value is not usable: Store is
// required; Hub may be nil, and then subscriptions answer UNAVAILABLE.
type Resolver struct {
	// Store answers every query.
	Store graph.Store
	// Hub feeds the lineageEvents subscription.
	Hub *pubsub.Hub
}
