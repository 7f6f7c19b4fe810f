// Package graph is Redthread's domain: the labels and edge types of the
// provenance graph, the deterministic keys that identify its nodes, the
// mutations that the ingest pipeline produces, the Store interface every
// graph backend implements, the append-only EventLog that is the system of
// record, and coded domain errors.
//
// It imports only the standard library, so that every adapter (SQLite,
// Neo4j) and every consumer (ingest, resolvers) speaks the same types
// without depending on each other.
package graph
