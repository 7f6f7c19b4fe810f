// Package workload generates a deterministic synthetic OpenLineage workload:
// a stream of OpenLineage 2-0-2 RunEvents (JSON bytes) shaped like an
// Airflow deployment feeding ML training, for benchmarks and load tests.
//
// The same Config always yields byte-identical events, in the same order;
// events are produced one DAG run at a time, so a million-node workload
// streams in constant memory.
//
// # Shape
//
// A pool of shared datasets: source topics and tables (kafka://…,
// postgres://…) and lake tables (s3://…). Airflow DAGs (job namespace
// "airflow://scheduler-N", jobs "dag_x" and "dag_x.task_y") read sources
// and outputs of earlier DAGs and each task writes one lake or mart table.
// Every eighth DAG, starting with the first, is a chain of 24 tasks where
// task k reads the output of task k−1 and nothing else, so lineage
// queries have real depth (see SampleDatasetKeys). Models are trained on DAG outputs (job namespace
// "mlflow://…" or "training") and write a model output dataset; two in
// three training runs carry the z1_correlation_id in a custom run facet.
//
// The workload runs in rounds (schedule intervals). In each round every DAG
// runs once, in order, then every model is trained once. A DAG run is: the
// DAG's START, for each task a START and a COMPLETE (about 3% of task runs
// first fail: a START and a FAIL with an errorMessage facet, then a retry
// with a new runId), then the DAG's COMPLETE. Task runs carry nominalTime
// and parent (the DAG run) facets. Datasets carry schema and version facets;
// outputs of COMPLETE events carry columnLineage and outputStatistics. The
// version of a dataset advances once per round, and every reader in a round
// reads the version written earlier in that round.
//
// # Node model
//
// The projected graph is counted as the distinct identifiers the events
// carry (EstimateNodes gives the breakdown, exactly for this generator):
//
//   - Job: one per DAG, one per task, one per model.
//   - Run: per round, one per DAG run, one per task run (plus one per failed
//     attempt) and one per training run.
//   - Dataset: every source that some task reads, every task output, every
//     model output.
//   - DatasetVersion: per round, one per dataset written or read that round
//     (failed training runs write no version); and one per writing run,
//     because START and FAIL events name their outputs without a version
//     facet, which the projection (like Marquez) records as the version
//     "run-<runId>" (see ingest/openlineage.OutputVersion).
//   - Field: one per column of each dataset with a schema facet (5–9 each);
//     model outputs have none.
//   - Correlation: one per training run that carries z1_correlation_id.
//
// Per round a task contributes three nodes (its Run, the DatasetVersion it
// writes and its run-<runId> version) and two events (START, COMPLETE), so
// a workload has about two events for three nodes; the static part (jobs,
// datasets, fields) is about 7 nodes per task. The number of rounds grows with the target
// (√Nodes/8, between 3 and 120) and DAGs are added until the projected count
// reaches Config.Nodes, so the result overshoots the target by at most one
// DAG's share (a few hundred nodes).
package workload
