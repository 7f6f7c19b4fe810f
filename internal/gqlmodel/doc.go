// Package gqlmodel holds the Go types of the GraphQL schema
// (schema.graphqls at the repository root).
//
// models_gen.go is written by gqlgen; the other files are written by hand:
// the Time and JSON scalars, and Node, Edge and LineageEvent, thin wrappers
// over graph.Node, graph.Edge and pubsub.Message whose methods compute each
// GraphQL field. The hand-written files import only the domain (graph,
// pubsub) and gqlgen's runtime, never generated code, so gqlgen can load
// this package before models_gen.go exists.
package gqlmodel
