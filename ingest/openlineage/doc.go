// Package openlineage reads OpenLineage events (spec 2-0-2: RunEvent,
// DatasetEvent, JobEvent) as Marquez does and projects them onto the
// provenance graph. MAPPING.md beside this file is the reference for the
// rules summarised here.
//
// # Decoding
//
// Decode is lenient: what real producers get wrong but is still readable is
// accepted and recorded in Event.Warnings, each warning starting with the
// JSON path it is about (a missing eventType, producer or schemaURL; an
// eventType in another case; an eventTime without zone, read as UTC, or
// with more than nine fraction digits, truncated; a runId that is not a
// UUID; facets that are null or not of their spec shape, kept raw but not
// mapped). What cannot be projected is rejected with a *graph.Error of code
// graph.EINVALID whose Field is a JSON path such as "run.runId" or
// "inputs[2].namespace". The kind of event comes from its structure, not
// from schemaURL. Every facet, known or custom, is kept verbatim (the Raw
// maps); the facets the mapping reads are also decoded into typed fields.
//
// DecodeBatch splits the body of the spec's batch endpoint into events.
//
// NewValidator and Validator.Validate add an optional strict mode that
// checks events, and the facets whose _schemaURL names a spec facet, against
// the OpenLineage JSON Schemas in a local directory.
//
// # Mapping
//
// Map turns an event into graph mutations, purely and deterministically:
// node upserts sorted by key, then edge upserts sorted by (From, Type, To),
// every one stamped with the event time and the log offset.
//
//   - Job (job:<ns>:<name>): namespace, name, job_type, processing_type,
//     integration (jobType), sql_query, sql_dialect (sql), owners
//     (ownership), description (documentation), source_* (sourceCodeLocation);
//     all job facets raw.
//   - Run (run:<runId>) -RUN_OF-> Job, with run facets raw (upserted by
//     name, so they accumulate over the run's events) and the run state:
//     last_event_type on every event with an eventType; started_at on
//     START; terminal_state and ended_at only on COMPLETE, FAIL or ABORT,
//     so a late RUNNING never un-finishes a run; nominal_start_time,
//     nominal_end_time (nominalTime); error_message, error_language
//     (errorMessage); z1_correlation_id; root_run (parent facet's root).
//   - parent facet: a stub Run for the parent (key and label only) and
//     Run -CHILD_OF-> parent, parent -RUN_OF-> its Job; the root run and
//     job likewise, with root -RUN_OF-> root job.
//   - sourceCodeLocation with a version and repoUrl (or a url, trimmed of
//     /blob/<version>/…): Commit (git:<repo>@<version>) and
//     Run -BUILT_FROM-> Commit (Job -BUILT_FROM-> Commit for a JobEvent).
//   - Dataset (dataset:<ns>:<name>): namespace, name, dataset_type,
//     dataset_subtype, storage_layer, file_format, datasource_name,
//     datasource_uri, owners, description, lifecycle_state; dataset facets
//     raw. DatasetVersion (dataset:<ns>:<name>@<version>) -VERSION_OF->
//     Dataset when there is a version, with the dataset facets as of it.
//   - Inputs: with a version facet, DatasetVersion -READ_BY-> Run; without
//     one, Dataset -READ_BY-> Run (which version was read is unknown). Edge
//     props row_count, size_bytes, file_count (inputStatistics); edge
//     facets the inputFacets raw (dataQualityMetrics included).
//   - Outputs: Run -WROTE-> DatasetVersion, the version being the version
//     facet's or else "run-<runId>" (a new version per writing run, as
//     Marquez does); props from outputStatistics, facets the outputFacets.
//   - schema: Field (field:<ns>:<name>#<path>, nested fields by dotted
//     path) with name, type, description, ordinal_position, and
//     Dataset -HAS_FIELD-> Field.
//   - columnLineage: Field -DERIVES-> Field from each input field to its
//     output field, fields and input datasets created on demand, with the
//     transformations as parallel lists transformation_types,
//     transformation_subtypes, transformation_descriptions,
//     transformation_masking; dataset-level input fields derive every
//     output field the facet names.
//   - symlinks: alias Dataset -SYMLINK_OF-> Dataset.
//   - lifecycleStateChange: lifecycle_state; RENAME with a
//     previousIdentifier adds old Dataset -RENAMED_TO-> Dataset.
//   - Z1 correlation (a run facet's top-level z1_correlation_id, or a tag of
//     that key in the tags facet): Correlation (correlation:<id>)
//     -INGESTED_AS-> each output DatasetVersion.
//   - DatasetEvent: its dataset as above, without run. JobEvent: the job,
//     its commit and its datasets as nodes; the datasets it declares are
//     the job's declared_inputs and declared_outputs (lists of dataset
//     keys), not READ_BY/WROTE edges, which record what runs did.
//
// MaxFieldDepth, MaxDatasetLineageEdges and MaxTransformationsPerEdge keep
// the projection of a hostile event proportionate to its size.
package openlineage
