package mlflow

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// ProvPrefix is the optional prefix of the seed's provenance tags:
// "prov.git_sha" and "git_sha" name the same field.
const ProvPrefix = "prov."

// SeedFields are the run fields the seed's §2 names that a run records as
// tags or params, with or without ProvPrefix. Each becomes a Run property
// of the same name.
var SeedFields = []string{
	// Code & build
	"git_sha", "repo_url", "container_digest", "sbom_ref", "train_image_version",
	// Data
	"dataset_id", "dataset_snapshot_at", "dataset_hash", "feature_groups", "data_time_range",
	// Execution
	"pipeline_id", "job_id", "orchestrator", "seeds",
	// Training
	"train_val_test_split", "hardware", "egress_policy",
	// Artifacts
	"model_artifact_uri",
	// Governance
	"scdr_id", "adr_id",
	// Correlation
	"z1_correlation_id", "broker_lineage_ref", "z9_trace_id",
	// Promotion and reproducibility (seed §5.3, §6, §7)
	"security_decision", "rebuild_of", "cosign_sig", "attestation", "attestation_ref",
}

// fieldAliases are other names a run uses for a seed field.
var fieldAliases = map[string][]string{
	"seeds": {"seed"},
}

// requiredFields are the §2 fields without which a run is incomplete and
// must not be promoted; the optional correlation fields are left out.
var requiredFields = []string{
	"git_sha", "repo_url", "container_digest", "sbom_ref", "train_image_version",
	"dataset_id", "dataset_snapshot_at", "dataset_hash", "feature_groups", "data_time_range",
	"pipeline_id", "job_id", "orchestrator", "seeds",
	"train_val_test_split", "hardware", "egress_policy",
}

// requiredArtifacts are the §2 evidence files, by base name ("dir/" for a
// directory), that a complete run carries somewhere in its artifact tree.
var requiredArtifacts = []string{
	"hygiene_report.json", "dataset_manifest.json", "privacy_report.json", "leakage_checks.json",
	"adv_eval.json", "privacy_eval.json", "robustness_curves/", "output_integrity.json", "security_decision.txt",
	"checksums.json", "model_card.md",
}

// runFacts reads a run's tags and params as the seed names them, and
// notes every disagreement between two sources of one fact.
type runFacts struct {
	tags     map[string]string
	params   map[string]string
	findings []string
}

func newRunFacts(r *Run) *runFacts {
	f := &runFacts{tags: map[string]string{}, params: map[string]string{}}
	for _, t := range r.Data.Tags {
		f.tags[t.Key] = t.Value
	}
	for _, p := range r.Data.Params {
		f.params[p.Key] = p.Value
	}
	return f
}

// field returns the value of a seed field: the prov.-prefixed tag, the
// plain tag, then the param, under its name or an alias. When two of
// those disagree the first wins and the disagreement is a finding.
func (f *runFacts) field(name string) string {
	type source struct{ where, value string }
	var found []source
	for _, n := range append([]string{name}, fieldAliases[name]...) {
		if v, ok := f.tags[ProvPrefix+n]; ok {
			found = append(found, source{"tag " + ProvPrefix + n, v})
		}
		if v, ok := f.tags[n]; ok {
			found = append(found, source{"tag " + n, v})
		}
		if v, ok := f.params[n]; ok {
			found = append(found, source{"param " + n, v})
		}
	}
	if len(found) == 0 {
		return ""
	}
	for _, s := range found[1:] {
		if strings.TrimSpace(s.value) != strings.TrimSpace(found[0].value) {
			f.disagree(name, found[0].where, found[0].value, s.where, s.value)
		}
	}
	return strings.TrimSpace(found[0].value)
}

// disagree records that two sources give different values for one fact.
func (f *runFacts) disagree(fact, whereA, a, whereB, b string) {
	f.findings = append(f.findings, fmt.Sprintf("%s: %s=%q disagrees with %s=%q", fact, whereA, a, whereB, b))
}

// ms converts an MLflow millisecond time to UTC; 0 stays the zero time.
func ms(m Millis) time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m)).UTC()
}

// rfc3339 formats a millisecond time, or returns "" for 0.
func rfc3339(m Millis) string {
	if m == 0 {
		return ""
	}
	return ms(m).Format(time.RFC3339Nano)
}

// normSnapshot returns a dataset snapshot time in RFC 3339 UTC when it
// parses as a time, or the value unchanged.
func normSnapshot(s string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	return s
}

// splitDatasetID turns a dataset id or URI into an OpenLineage namespace
// and name: "s3://bucket/a/b" → ("s3://bucket", "a/b"); a bare id such as
// "risco.clientes" → (BareDatasetNamespace, "risco.clientes").
func splitDatasetID(id string) (namespace, name string) {
	if i := strings.Index(id, "://"); i > 0 {
		rest := id[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return id[:i+3+j], strings.TrimPrefix(rest[j:], "/")
		}
		return id, "/"
	}
	return BareDatasetNamespace, id
}

// BareDatasetNamespace is the namespace of a dataset_id that is not a URI:
// the seed's data layer.
const BareDatasetNamespace = "z3"

// splitFeatureGroup splits "fs_offline.risco_cliente_v1@v1" into name and
// version; a group without a version gets "unversioned".
func splitFeatureGroup(s string) (name, version string) {
	if i := strings.LastIndexByte(s, '@'); i > 0 && i < len(s)-1 {
		return s[:i], s[i+1:]
	}
	return s, "unversioned"
}

// splitImage splits "registry/repo@sha256:hex" (or "repo:tag@sha256:hex",
// or a bare "sha256:hex") into repository and digest hex; ok is false when
// the value holds no sha256 digest.
func splitImage(s string) (repository, digest string, ok bool) {
	repo, d := "", s
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		repo, d = s[:i], s[i+1:]
	}
	d = strings.TrimPrefix(strings.ToLower(d), "sha256:")
	if !isHex64(d) {
		return "", "", false
	}
	if repo == "" {
		repo = "unknown"
	}
	return repo, d, true
}

// isHex64 reports whether s is 64 lowercase or uppercase hex digits.
func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// artifactRole names the part an artifact plays in the seed's §4 layout.
func artifactRole(p string) string {
	base := path.Base(p)
	switch {
	case p == "checksums.json" || base == "checksums.json":
		return "checksums"
	case base == "model_card.md":
		return "model_card"
	case p == "metadata.json":
		return "metadata"
	case strings.HasPrefix(p, "repro/"):
		return "repro"
	case strings.HasPrefix(p, "sbom/"):
		return "sbom"
	case strings.HasSuffix(p, ".sig"):
		return "signature"
	case strings.HasSuffix(p, ".intoto") || strings.HasSuffix(p, ".intoto.jsonl"):
		return "attestation"
	case strings.HasPrefix(p, "reports/hygiene/"):
		return "hygiene_report"
	case strings.HasPrefix(p, "reports/security/"):
		return "security_report"
	case strings.HasPrefix(p, "reports/fairness/"):
		return "fairness_report"
	case strings.HasPrefix(p, "reports/"):
		return "report"
	case strings.HasPrefix(p, "model/"):
		return "model"
	}
	return "file"
}

// missingArtifacts returns the required evidence files absent from files.
func missingArtifacts(files []FileInfo) []string {
	have := map[string]bool{}
	for _, f := range files {
		have[path.Base(f.Path)] = true
		if f.IsDir {
			have[path.Base(f.Path)+"/"] = true
		} else if d := path.Dir(f.Path); d != "." {
			have[path.Base(d)+"/"] = true
		}
	}
	var out []string
	for _, r := range requiredArtifacts {
		if !have[r] {
			out = append(out, r)
		}
	}
	return out
}

// subgroupMetric splits "auc_group__idade_18_25" into ("auc", "idade_18_25").
func subgroupMetric(key string) (metric, group string, ok bool) {
	i := strings.Index(key, "_group__")
	if i <= 0 || i+len("_group__") >= len(key) {
		return "", "", false
	}
	return key[:i], key[i+len("_group__"):], true
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
