// Package mlflow brings MLflow into the provenance graph: a client of the
// MLflow REST API 2.0, observations of runs, model versions and registered
// models appended to the event log, a poller and one-shot sync, the
// webhook receiver for model-registry events, and the mapping of all of
// them to graph mutations (Z4 runs, Z5 model versions).
package mlflow
