package mlflowtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
)

// ChecksumsPath is where the scenario's runs keep the sha256 of their
// other artifacts, as {"files": {"<path>": "<hex>"}}.
const ChecksumsPath = "checksums.json"

// Paths of run A's artifacts besides checksums.json (seed §4 layout).
const (
	PathModel           = "model/model.onnx"
	PathMLmodel         = "model/MLmodel"
	PathHygieneReport   = "reports/hygiene/hygiene_report.json"
	PathDatasetManifest = "reports/hygiene/dataset_manifest.json"
	PathAdvEval         = "reports/security/adv_eval.json"
	PathSecDecision     = "reports/security/security_decision.txt"
	PathSBOM            = "sbom/sbom.json"
	PathModelSig        = "signatures/model.sig"
	PathContainerAtt    = "signatures/container.intoto"
	PathModelCard       = "model_card.md"
	PathMetadata        = "metadata.json"
	PathReproManifest   = "repro/manifest.json"
	PathReproRun        = "repro/run.sh"
)

// modelBytes stands in for the ONNX weights of runs A and B (a rebuild
// that reproduces them bit for bit).
var modelBytes = []byte("\x08\x08\x12\x08skl2onnx\x1a\x061.17.0\"\x07ai.onnx(\x012\x00:\x1c\n\x0crisk-default\x12\x0cgbdt-v2-a1b2" +
	"redthread test weights: not a real model\n")

// ArtifactsA returns the files Seed uploads to run A, by path, including
// checksums.json. The contents do not depend on run ids, so their digests
// are fixed.
func ArtifactsA() map[string][]byte {
	files := map[string][]byte{
		PathModel: modelBytes,
		PathMLmodel: []byte(`artifact_path: model
flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_version: 1.17.0
    providers:
    - CPUExecutionProvider
mlflow_version: 3.17.2
model_size_bytes: ` + strconv.Itoa(len(modelBytes)) + `
utc_time_created: '2025-11-12 11:38:02.114000'
`),
		PathHygieneReport: jsonDoc(map[string]any{
			"dataset_id": DatasetID, "snapshot_at": DatasetSnapshotAt,
			"checks": []map[string]any{
				{"name": "pii_columns_removed", "status": "PASS"},
				{"name": "leakage_target_in_features", "status": "PASS"},
				{"name": "null_ratio_max", "status": "PASS", "value": 0.012},
			},
			"decision": "PASS",
		}),
		PathDatasetManifest: jsonDoc(map[string]any{
			"dataset_id": DatasetID, "snapshot_at": DatasetSnapshotAt, "hash": DatasetHash,
			"feature_groups": strings.Split(FeatureGroups, ","), "time_range": DataTimeRange,
			"rows": 1843120,
		}),
		PathAdvEval: jsonDoc(map[string]any{
			"suite": "z4-2.5-adversarial", "attacks": []map[string]any{
				{"name": "feature_perturbation_l_inf_0.05", "auc_drop": 0.012},
				{"name": "label_flip_1pct", "auc_drop": 0.004},
			},
			"decision": "PASS",
		}),
		PathSecDecision: []byte("PASS\n"),
		PathSBOM: jsonDoc(map[string]any{
			"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
			"metadata": map[string]any{"component": map[string]any{"type": "container", "name": "train-risk", "version": TrainImageVersion}},
			"components": []map[string]any{
				{"type": "library", "name": "scikit-learn", "version": "1.5.2", "purl": "pkg:pypi/scikit-learn@1.5.2"},
				{"type": "library", "name": "lightgbm", "version": "4.5.0", "purl": "pkg:pypi/lightgbm@4.5.0"},
				{"type": "library", "name": "skl2onnx", "version": "1.17.0", "purl": "pkg:pypi/skl2onnx@1.17.0"},
			},
		}),
		PathModelSig: []byte(CosignSigA + "\n"),
		PathContainerAtt: jsonDoc(map[string]any{
			"_type":         "https://in-toto.io/Statement/v1",
			"predicateType": "https://slsa.dev/provenance/v1",
			"subject": []map[string]any{{"name": "registry.example.com/ml/train-risk",
				"digest": map[string]string{"sha256": strings.TrimPrefix(ContainerDigest, "registry.example.com/ml/train-risk@sha256:")}}},
			"predicate": map[string]any{"buildDefinition": map[string]any{
				"buildType":          "https://example.com/ci/build@v1",
				"externalParameters": map[string]string{"repository": RepoURL, "ref": GitSHA},
			}},
		}),
		PathModelCard: []byte("# risk-default v2\n\n" +
			"Purpose: estimate the probability of default of retail credit clients.\n\n" +
			"Data: " + DatasetID + " at " + DatasetSnapshotAt + " (" + DataTimeRange + ").\n\n" +
			"Risks: subgroup gaps (idade_18_25 KS 0.47 vs 0.52 overall); monitored in Z9.\n\n" +
			"Safeguards: security_decision=PASS required for promotion; signed artifacts.\n"),
		PathMetadata: jsonDoc(map[string]any{
			"run_name": RunNameA, "git_sha": GitSHA, "container_digest": ContainerDigest,
			"dataset": DatasetID + "@" + DatasetSnapshotAt, "metrics": map[string]float64{"auc": 0.871, "ks": 0.52},
			"security_decision": "PASS",
		}),
		PathReproManifest: reproManifest(),
		PathReproRun: []byte("#!/bin/sh\nset -eu\n" +
			"# Rebuild: same image by digest, same snapshot, same params and seed.\n" +
			"docker run --rm --network none " + ContainerDigest + " \\\n" +
			"  train --dataset '" + DatasetID + "@" + DatasetSnapshotAt + "' \\\n" +
			"  --params learning_rate=0.05,max_depth=6,n_estimators=400 --seed 42 \\\n" +
			"  --tag rebuild_of=\"$1\"\n"),
	}
	files[ChecksumsPath] = checksumsJSON(files)
	return files
}

// ArtifactsB returns run B's files: A's bundle rebuilt, with identical
// weights and its own metadata and reports.
func ArtifactsB() map[string][]byte {
	files := ArtifactsA()
	delete(files, ChecksumsPath)
	files[PathMetadata] = jsonDoc(map[string]any{
		"run_name": RunNameB, "git_sha": GitSHA, "container_digest": ContainerDigest,
		"dataset": DatasetID + "@" + DatasetSnapshotAt, "metrics": map[string]float64{"auc": 0.871, "ks": 0.52},
		"security_decision": "PASS", "rebuild": true,
	})
	files[PathModelSig] = []byte(CosignSigB + "\n")
	files[ChecksumsPath] = checksumsJSON(files)
	return files
}

// ArtifactsC returns run C's files: other weights, a failed security
// report and no checksums.json.
func ArtifactsC() map[string][]byte {
	return map[string][]byte{
		PathModel:       []byte("redthread test weights of run C: not a real model\n"),
		PathAdvEval:     jsonDoc(map[string]any{"suite": "z4-2.5-adversarial", "attacks": []map[string]any{{"name": "label_flip_1pct", "auc_drop": 0.091}}, "decision": "FAIL"}),
		PathSecDecision: []byte("FAIL\n"),
	}
}

// ArtifactsD returns what running run D has uploaded so far.
func ArtifactsD() map[string][]byte {
	return map[string][]byte{PathHygieneReport: ArtifactsA()[PathHygieneReport]}
}

func reproManifest() []byte {
	return jsonDoc(map[string]any{
		"git_sha": GitSHA, "container_digest": ContainerDigest,
		"dataset_id":     DatasetID + "@" + DatasetSnapshotAt,
		"feature_groups": strings.Split(FeatureGroups, ","),
		"hyperparams":    map[string]string{"learning_rate": "0.05", "max_depth": "6", "n_estimators": "400"},
		"seed":           42, "sbom_ref": SBOMRef, "attestation_ref": AttestationA,
	})
}

// checksumsJSON lists the sha256 of every file as {"files": {path: hex}}.
func checksumsJSON(files map[string][]byte) []byte {
	sums := map[string]string{}
	for p, b := range files {
		sums[p] = SHA256(b)
	}
	return jsonDoc(map[string]any{"files": sums})
}

// Digests returns the sha256 hex of each file, by path.
func Digests(files map[string][]byte) map[string]string {
	out := make(map[string]string, len(files))
	for p, b := range files {
		out[p] = SHA256(b)
	}
	return out
}

// SHA256 is the lowercase hex sha256 of b.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// jsonDoc encodes v indented, keys sorted, with a final newline.
func jsonDoc(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // only literal values above
	}
	return append(b, '\n')
}
