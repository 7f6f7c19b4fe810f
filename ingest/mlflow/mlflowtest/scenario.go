package mlflowtest

import (
	"maps"
	"slices"
	"time"
)

// The scenario's names and values, after the seed document's
// risk-default_v2 example (§2 mandatory fields, §4 naming and artifact
// layout, §5 capture, §7 reproducibility bundle). Tests assert on them.
const (
	ExperimentName = "risk-default-v2"

	RunNameA = "risk-default_v2-20251112-1030-a1b2c3d" // the reference run: complete, PASS
	RunNameB = "risk-default_v2-20251119-0900-a1b2c3d" // a rebuild of A (rebuild_of)
	RunNameC = "risk-default_v2-20251120-1400-ffee001" // FAILED, with disagreeing facts
	RunNameD = "risk-default_v2-20251121-0800-a1b2c3d" // left RUNNING
	RunNameE = "risk-default_v2-20251122-0900-a1b2c3d" // carries an OpenLineage run id

	User = "ana.souza"

	GitSHA            = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	RepoURL           = "https://git.example.com/risk/default-model"
	ContainerDigest   = "registry.example.com/ml/train-risk@sha256:8968d2c027bf3d4fa4b0a54b19f71273a4841132b721e587c1b8876d9667404d"
	SBOMRef           = "sbom/sbom.json"
	TrainImageVersion = "2.4.1"
	Orchestrator      = "airflow"
	PipelineID        = "train_risco_model"
	JobIDA            = "train_risco_model__2025-11-12"
	JobIDB            = "train_risco_model__2025-11-19"
	JobIDC            = "train_risco_model__2025-11-20"
	JobIDD            = "train_risco_model__2025-11-21"
	DatasetID         = "s3://z3-curated/risco/clientes"
	DatasetSnapshotAt = "2025-11-10T00:00:00Z"
	DatasetHash       = "sha256:1f093a8815192982761a1d7f354c835630d98d3c82a2ce63863ae3ef35915842"
	FeatureGroups     = "fs_offline.risco_cliente_v1@v1,fs_offline.bureau_score@v3"
	DataTimeRange     = "2023-01-01/2025-10-31"
	Z1CorrelationID   = "z1-2025-11-10-0042"
	BrokerLineageRef  = "broker://z4-2.2/req/8812"
	Z9TraceID         = "4bf92f3577b34da6a3ce929d0e0e4736"
	EgressPolicy      = "off"
	Hardware          = "cpu=8;ram=32Gi;gpu=0"
	TrainValTestSplit = "70/15/15"

	// Run C's disagreement: prov.git_sha and mlflow.source.git.commit differ.
	GitSHAC       = "ffee001122334455667788990011223344556677"
	SourceCommitC = "0011223344556677889900112233445566778899"

	// Run E's only link to OpenLineage.
	OpenLineageRunID = "3b1f6a52-8c2e-4d7b-9f10-5a6b7c8d9e0f"

	// The dataset input of runs A, B and D (runs/log-inputs). The digest is
	// MLflow's short one, not a content hash.
	DatasetName       = "clientes"
	DatasetDigest     = "3f2a9c1d"
	DatasetSourceType = "s3"
	DatasetSource     = `{"uri": "s3://z3-curated/risco/clientes"}`
	DatasetContext    = "training"

	// The logged model (MLflow 3) run A outputs.
	LoggedModelName = "model"
	LoggedModelType = "onnx"

	ModelName        = "risk-default"
	ModelDescription = "Credit default risk model (Z4 risk-default_v2)."
	// Versions of ModelName, in creation order.
	VersionA      = "1" // from run A
	VersionB      = "2" // from run B
	VersionLegacy = "3" // registered without a run
	LegacySource  = "s3://models-legacy/risk-default/v3"
	AliasChampion = "champion" // → VersionB
	// AliasChallenger → VersionA.
	AliasChallenger = "challenger"

	CosignSigA   = "MEUCIQAcUYYcaEUXHBsIPzXAChumbCan9Zpfd8mXHKukUpTZuQIg8KC9rNObJZJ299bx3ZSHSIfnvD18qoIIKdflBk3x9Rw="
	CosignSigB   = "MEUCIQBrjo9AOlxqymPPec3yICU7ulGki4VjThW1wRBt86zS/gIgx47AnA0ir0zbqasNCA/ESEr0gv1GrD/JOOr6TmyUZFM="
	AttestationA = "rekor.example.com/api/v1/log/entries/d06010848e185c1a9220e7f0fb3c47f982da23de2989b24a5702b6bc7489807a"
	AttestationB = "rekor.example.com/api/v1/log/entries/38005b12ae82ad9d466cc9010940be08ed38a287d8c5af2dece7b3b848516687"
)

// Start and end times of the runs (D has no end: it is still running).
var (
	StartA = time.Date(2025, 11, 12, 10, 30, 0, 0, time.UTC)
	EndA   = time.Date(2025, 11, 12, 11, 42, 0, 0, time.UTC)
	StartB = time.Date(2025, 11, 19, 9, 0, 0, 0, time.UTC)
	EndB   = time.Date(2025, 11, 19, 10, 8, 0, 0, time.UTC)
	StartC = time.Date(2025, 11, 20, 14, 0, 0, 0, time.UTC)
	EndC   = time.Date(2025, 11, 20, 14, 17, 0, 0, time.UTC)
	StartD = time.Date(2025, 11, 21, 8, 0, 0, 0, time.UTC)
	EndD   = time.Date(2025, 11, 21, 9, 5, 0, 0, time.UTC) // what FinishRunD writes
	StartE = time.Date(2025, 11, 22, 9, 0, 0, 0, time.UTC)
	EndE   = time.Date(2025, 11, 22, 9, 25, 0, 0, time.UTC)
)

// codeAndDataTags are the §2 tags runs A, B and D share.
func codeAndDataTags(jobID string) map[string]string {
	return map[string]string{
		"prov.git_sha":             GitSHA,
		"prov.repo_url":            RepoURL,
		"mlflow.source.git.commit": GitSHA,
		"container_digest":         ContainerDigest,
		"sbom_ref":                 SBOMRef,
		"train_image_version":      TrainImageVersion,
		"orchestrator":             Orchestrator,
		"pipeline_id":              PipelineID,
		"job_id":                   jobID,
		"dataset_id":               DatasetID,
		"dataset_snapshot_at":      DatasetSnapshotAt,
		"dataset_hash":             DatasetHash,
		"feature_groups":           FeatureGroups,
		"data_time_range":          DataTimeRange,
		"z1_correlation_id":        Z1CorrelationID,
		"broker_lineage_ref":       BrokerLineageRef,
		"z9_trace_id":              Z9TraceID,
		"egress_policy":            EgressPolicy,
		"hardware":                 Hardware,
		"train_val_test_split":     TrainValTestSplit,
		"mlflow.user":              User,
	}
}

// TagsA are the tags Seed sets on run A (MLflow adds mlflow.runName).
func TagsA() map[string]string {
	t := codeAndDataTags(JobIDA)
	t["security_decision"] = "PASS"
	return t
}

// TagsB are run B's tags: A's code and data, its own job, rebuild_of A.
func TagsB(runA string) map[string]string {
	t := codeAndDataTags(JobIDB)
	t["security_decision"] = "PASS"
	t["rebuild_of"] = runA
	return t
}

// TagsC are run C's tags: the git facts disagree, dataset_hash is missing
// and the security gate failed.
func TagsC() map[string]string {
	t := codeAndDataTags(JobIDC)
	t["prov.git_sha"] = GitSHAC
	t["mlflow.source.git.commit"] = SourceCommitC
	delete(t, "dataset_hash")
	t["security_decision"] = "FAIL"
	return t
}

// TagsD are run D's tags while it runs (no security_decision yet).
func TagsD() map[string]string { return codeAndDataTags(JobIDD) }

// TagsE are run E's tags: little besides the OpenLineage run id.
func TagsE() map[string]string {
	return map[string]string{
		"openlineage.run_id": OpenLineageRunID,
		"orchestrator":       Orchestrator,
		"mlflow.user":        User,
	}
}

// Params are the hyperparameters of runs A, B, C and D (strings, as MLflow
// stores them).
func Params() map[string]string {
	return map[string]string{"learning_rate": "0.05", "max_depth": "6", "n_estimators": "400", "seed": "42"}
}

// MetricsA are run A's metrics, global and per subgroup (fairness).
func MetricsA() map[string]float64 {
	return map[string]float64{
		"auc": 0.871, "f1": 0.64, "ks": 0.52,
		"auc_group__idade_18_25": 0.84, "ks_group__idade_18_25": 0.47,
		"auc_group__regiao_norte": 0.86, "ks_group__regiao_norte": 0.5,
	}
}

// MetricsB are run B's metrics: the rebuild reproduces A's.
func MetricsB() map[string]float64 { return MetricsA() }

// MetricsC are run C's metrics.
func MetricsC() map[string]float64 {
	return map[string]float64{"auc": 0.702, "f1": 0.41, "ks": 0.31}
}

// RegisteredModelTags are the tags of ModelName.
func RegisteredModelTags() map[string]string {
	return map[string]string{"product": "risk", "zone": "z5"}
}

// VersionTags are the tags Seed sets on each version of ModelName.
func VersionTags(version string) map[string]string {
	switch version {
	case VersionA:
		return map[string]string{"security_decision": "PASS", "cosign_sig": CosignSigA, "attestation": AttestationA}
	case VersionB:
		return map[string]string{"security_decision": "PASS", "cosign_sig": CosignSigB, "attestation": AttestationB}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
