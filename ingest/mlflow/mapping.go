package mlflow

import (
	"encoding/json"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"

	"github.com/redthread/redthread/graph"
)

// OpenLineageRunTag is the run tag that links an MLflow run to the
// OpenLineage run of the same execution: the Run is keyed by that id.
const OpenLineageRunTag = "openlineage.run_id"

// Model-version tags the seed's §6 names; each also becomes a property.
var versionTags = []string{"security_decision", "cosign_sig", "attestation", "attestation_ref"}

// maxArtifactFacet bounds the artifact listing kept on a Run.
const maxArtifactFacet = 2000

// RunKeyOf returns the graph key of an MLflow run: its id in dashed UUID
// form, or the OpenLineage run id its openlineage.run_id tag names.
func RunKeyOf(r *Run) string {
	for _, t := range r.Data.Tags {
		if t.Key == OpenLineageRunTag && strings.TrimSpace(t.Value) != "" {
			return graph.RunKey(strings.TrimSpace(t.Value))
		}
	}
	return graph.RunKey(r.Info.ID())
}

// ContentSHA256 returns the hash of what an observation says about MLflow,
// leaving out Supersedes: two observations of the same state have the same
// content hash even if one of them was linked to an earlier observation.
func ContentSHA256(o *Observation) string {
	c := *o
	c.Supersedes = nil
	b, err := json.Marshal(&c)
	if err != nil { // only non-finite floats could fail, and Float handles them
		return ""
	}
	return graph.BodySHA256(b)
}

// MapObservation returns the graph mutations of one observation, with
// offsets left zero. recordSHA is the sha256 of the log record it came
// from; it is kept on the node so that a later observation can find it.
func MapObservation(o *Observation, recordSHA string) ([]graph.Mutation, error) {
	if o.TrackingURI == "" {
		return nil, graph.FieldErrorf(graph.EINVALID, "tracking_uri", "required")
	}
	switch o.Kind {
	case KindRun:
		if o.Run == nil {
			return nil, graph.FieldErrorf(graph.EINVALID, "run", "required for kind %q", o.Kind)
		}
		if o.Run.Info.ID() == "" {
			return nil, graph.FieldErrorf(graph.EINVALID, "run.info.run_id", "required")
		}
		return mapRun(o, recordSHA), nil
	case KindModelVersion:
		mv := o.ModelVersion
		if mv == nil {
			return nil, graph.FieldErrorf(graph.EINVALID, "model_version", "required for kind %q", o.Kind)
		}
		if mv.Name == "" {
			return nil, graph.FieldErrorf(graph.EINVALID, "model_version.name", "required")
		}
		if mv.Version == "" {
			return nil, graph.FieldErrorf(graph.EINVALID, "model_version.version", "required")
		}
		return mapModelVersion(o, recordSHA), nil
	case KindRegisteredModel:
		rm := o.RegisteredModel
		if rm == nil {
			return nil, graph.FieldErrorf(graph.EINVALID, "registered_model", "required for kind %q", o.Kind)
		}
		if rm.Name == "" {
			return nil, graph.FieldErrorf(graph.EINVALID, "registered_model.name", "required")
		}
		return mapRegisteredModel(o, recordSHA), nil
	}
	return nil, graph.FieldErrorf(graph.EINVALID, "kind", "unknown observation kind %q (want %s, %s or %s)",
		o.Kind, KindRun, KindModelVersion, KindRegisteredModel)
}

// mapRun maps a run observation (see the mapping table in the README).
func mapRun(o *Observation, recordSHA string) []graph.Mutation {
	r := o.Run
	ns := Namespace(o.TrackingURI)
	runKey := RunKeyOf(r)
	prov := graph.Provenance{FirstSeen: ms(r.Info.StartTime), LastSeen: ms(r.Info.EndTime)}
	if prov.LastSeen.IsZero() {
		prov.LastSeen = prov.FirstSeen
	}
	b := newBuilder(prov)

	book := graph.Props{
		"source":                "mlflow",
		"mlflow_run_id":         graph.NormalizeRunID(r.Info.ID()),
		"mlflow_content_sha256": ContentSHA256(o),
		"mlflow_record_sha256":  recordSHA,
		"mlflow_finished":       r.Info.Finished(),
	}
	if s := o.Supersedes; s != nil && s.AfterFinish {
		// Immutability: a finished run's record changed in MLflow. Keep
		// what was first observed, flag the run, and keep the change.
		book["changed_after_finish"] = true
		change, _ := json.Marshal(s)
		b.node(runKey, graph.LabelRun, book, graph.Facets{
			fmt.Sprintf("mlflow_change_after_offset_%d", s.Offset): change,
		})
		return b.mutations()
	}

	facts := newRunFacts(r)
	p := graph.Props{
		"run_name":             r.Info.RunName,
		"status":               r.Info.Status,
		"started_at":           rfc3339(r.Info.StartTime),
		"ended_at":             rfc3339(r.Info.EndTime),
		"lifecycle_stage":      r.Info.LifecycleStage,
		"artifact_uri":         r.Info.ArtifactURI,
		"mlflow_experiment_id": r.Info.ExperimentID,
	}
	for k, v := range p {
		if v == "" {
			delete(p, k)
		}
	}
	for k, v := range book {
		p[k] = v
	}
	user := facts.tags["mlflow.user"]
	if user == "" {
		user = r.Info.UserID
	}
	set(p, "user", user)

	// Params, metrics and the seed's fields.
	for _, prm := range r.Data.Params {
		p["param."+prm.Key] = prm.Value
	}
	byGroup := map[string]map[string]any{}
	for _, m := range r.Data.Metrics {
		v := float64(m.Value)
		var pv any = v
		if math.IsNaN(v) || math.IsInf(v, 0) {
			pv = Float(v).String()
		}
		p["metric."+m.Key] = pv
		if metric, group, ok := subgroupMetric(m.Key); ok {
			if byGroup[metric] == nil {
				byGroup[metric] = map[string]any{}
			}
			byGroup[metric][group] = pv
		}
	}
	fields := map[string]string{}
	for _, name := range SeedFields {
		if v := facts.field(name); v != "" {
			fields[name] = v
			p[name] = v
		}
	}
	// A tag deleted since the last observation (the observer says which)
	// removes the field it gave, unless another source still gives it.
	for _, t := range removed(o, "tags.") {
		name := strings.TrimPrefix(t, ProvPrefix)
		if _, still := fields[name]; !still && isSeedField(name) {
			p[name] = nil
		}
	}
	facets := graph.Facets{}
	if len(byGroup) > 0 {
		groups, _ := json.Marshal(byGroup)
		facets["mlflow_metrics_by_group"] = groups
	}

	// Job: the experiment.
	expName := r.Info.ExperimentID
	jp := graph.Props{"source": "mlflow", "mlflow_experiment_id": r.Info.ExperimentID}
	if e := o.Experiment; e != nil {
		if e.Name != "" {
			expName = e.Name
		}
		set(jp, "artifact_location", e.ArtifactLocation)
		set(jp, "lifecycle_stage", e.LifecycleStage)
		for _, t := range e.Tags {
			jp["tag."+t.Key] = t.Value
		}
	}
	jobKey := graph.JobKey(ns, expName)
	b.node(runKey, graph.LabelRun, nil, nil) // the run first, so it leads the batch
	b.node(jobKey, graph.LabelJob, jp, nil)
	b.edge(graph.EdgeRunOf, runKey, jobKey, nil)

	// Code: Commit from git_sha and mlflow.source.git.commit.
	repo := fields["repo_url"]
	if repo == "" {
		repo = facts.tags["mlflow.source.git.repoURL"]
	}
	if repo == "" {
		repo = "unknown"
	}
	commitFrom := map[string]string{}
	if sha := fields["git_sha"]; sha != "" {
		commitFrom[strings.ToLower(sha)] = "git_sha"
	}
	if sha := strings.TrimSpace(facts.tags["mlflow.source.git.commit"]); sha != "" {
		if prev, ok := commitFrom[strings.ToLower(sha)]; ok {
			commitFrom[strings.ToLower(sha)] = prev + ",mlflow.source.git.commit"
		} else {
			if g := fields["git_sha"]; g != "" {
				facts.disagree("git_sha", "git_sha", g, "tag mlflow.source.git.commit", sha)
			}
			commitFrom[strings.ToLower(sha)] = "mlflow.source.git.commit"
		}
	}
	for _, sha := range sortedKeys(commitFrom) {
		ck := graph.CommitKey(repo, sha)
		b.node(ck, graph.LabelCommit, graph.Props{"repo_url": repo, "sha": sha}, nil)
		b.edge(graph.EdgeBuiltFrom, runKey, ck, graph.Props{"claimed_by": commitFrom[sha]})
	}

	// Environment: Image from container_digest and mlflow.docker.image.id.
	if d := fields["container_digest"]; d != "" {
		if repoName, hex, ok := splitImage(d); ok {
			ik := graph.ImageKey(repoName, hex)
			b.node(ik, graph.LabelImage, graph.Props{"repository": repoName, "digest": "sha256:" + strings.ToLower(hex)}, nil)
			b.edge(graph.EdgeRanIn, runKey, ik, graph.Props{"claimed_by": "container_digest"})
		} else {
			facts.findings = append(facts.findings, fmt.Sprintf("container_digest: %q holds no sha256 digest", d))
		}
	}
	if id := facts.tags["mlflow.docker.image.id"]; id != "" {
		name := facts.tags["mlflow.docker.image.name"]
		if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
			name = name[:i] // drop a tag, keep the repository
		}
		if repoName, hex, ok := splitImage(id); ok {
			if name != "" && repoName == "unknown" {
				repoName = name
			}
			ik := graph.ImageKey(repoName, hex)
			b.node(ik, graph.LabelImage, graph.Props{"repository": repoName, "digest": "sha256:" + strings.ToLower(hex)}, nil)
			b.edge(graph.EdgeRanIn, runKey, ik, graph.Props{"claimed_by": "mlflow.docker.image.id"})
		}
	}

	// Identity: who ran it.
	if user != "" {
		idk := graph.IdentityKey(ns, user)
		b.node(idk, graph.LabelIdentity, graph.Props{"issuer": ns, "subject": user}, nil)
		b.edge(graph.EdgeTriggeredBy, runKey, idk, nil)
	}

	// Data: dataset_id at dataset_snapshot_at, and MLflow dataset inputs.
	var snapshotKey, snapshotDataset string
	if id := fields["dataset_id"]; id != "" {
		dns, dname := splitDatasetID(id)
		dk := graph.DatasetKey(dns, dname)
		b.node(dk, graph.LabelDataset, graph.Props{"namespace": dns, "name": dname}, nil)
		snapshotDataset = dk
		version := ""
		if s := fields["dataset_snapshot_at"]; s != "" {
			version = normSnapshot(s)
		} else if h := fields["dataset_hash"]; h != "" {
			version = h
		}
		from := dk
		if version != "" {
			vk := graph.DatasetVersionKey(dns, dname, version)
			vp := graph.Props{"namespace": dns, "name": dname, "version": version}
			set(vp, "snapshot_at", fields["dataset_snapshot_at"])
			set(vp, "dataset_hash", fields["dataset_hash"])
			set(vp, "data_time_range", fields["data_time_range"])
			b.node(vk, graph.LabelDatasetVersion, vp, nil)
			b.edge(graph.EdgeVersionOf, vk, dk, nil)
			snapshotKey, from = vk, vk
		}
		b.edge(graph.EdgeReadBy, from, runKey, graph.Props{"claimed_by": "dataset_id"})
	}
	if in := r.Inputs; in != nil {
		for _, di := range in.DatasetInputs {
			dns, dname := splitDatasetID(datasetURI(di.Dataset))
			dk := graph.DatasetKey(dns, dname)
			b.node(dk, graph.LabelDataset, graph.Props{"namespace": dns, "name": dname, "mlflow_name": di.Dataset.Name}, nil)
			ep := graph.Props{"claimed_by": "mlflow_input"}
			set(ep, "mlflow_digest", di.Dataset.Digest)
			set(ep, "mlflow_source_type", di.Dataset.SourceType)
			for _, t := range di.Tags {
				if t.Key == "mlflow.data.context" {
					set(ep, "context", t.Value)
				}
			}
			from := dk
			if dk == snapshotDataset && snapshotKey != "" {
				from = snapshotKey
			}
			b.edge(graph.EdgeReadBy, from, runKey, ep)
		}
	}
	if id := fields["z1_correlation_id"]; id != "" && snapshotKey != "" {
		ck := graph.CorrelationKey(id)
		b.node(ck, graph.LabelCorrelation, graph.Props{"id": id}, nil)
		b.edge(graph.EdgeIngestedAs, ck, snapshotKey, nil)
	}
	if fg := fields["feature_groups"]; fg != "" {
		for _, g := range strings.Split(fg, ",") {
			g = strings.TrimSpace(g)
			if g == "" {
				continue
			}
			name, version := splitFeatureGroup(g)
			fk := graph.FeatureGroupKey(name, version)
			b.node(fk, graph.LabelFeatureGroup, graph.Props{"name": name, "version": version}, nil)
			b.edge(graph.EdgeUsedFeatures, runKey, fk, nil)
		}
	}
	if rb := fields["rebuild_of"]; rb != "" {
		rk := graph.RunKey(rb)
		if rk != runKey {
			b.node(rk, graph.LabelRun, nil, nil)
			b.edge(graph.EdgeRebuildOf, runKey, rk, nil)
		}
	}

	// Artifacts.
	mapArtifacts(b, o, runKey, p, facets, &facts.findings)

	// Logged models (MLflow 3).
	if len(o.Models) > 0 {
		ids := make([]string, 0, len(o.Models))
		for _, m := range o.Models {
			ids = append(ids, m.Info.ModelID)
		}
		p["logged_model_ids"] = ids
		models, _ := json.Marshal(o.Models)
		facets["mlflow_logged_models"] = models
	}

	// Completeness (seed §2) and findings.
	var missing []string
	for _, f := range requiredFields {
		if fields[f] == "" {
			missing = append(missing, f)
		}
	}
	if len(r.Data.Params) == 0 {
		missing = append(missing, "hyperparams")
	}
	hasGlobal, hasGroup := false, false
	for _, m := range r.Data.Metrics {
		if _, _, ok := subgroupMetric(m.Key); ok {
			hasGroup = true
		} else {
			hasGlobal = true
		}
	}
	if !hasGlobal {
		missing = append(missing, "metrics")
	}
	if !hasGroup {
		missing = append(missing, "metrics_by_subgroup")
	}
	missing = append(missing, missingArtifacts(o.Artifacts)...)
	if fields["model_artifact_uri"] == "" && !hasModelFiles(o) {
		missing = append(missing, "model_artifact_uri")
	}
	if !hasRole(o, "signature") {
		missing = append(missing, "cosign_signature")
	}
	if !hasRole(o, "attestation") && fields["attestation"] == "" && fields["attestation_ref"] == "" {
		missing = append(missing, "attestation")
	}
	p["complete"] = len(missing) == 0
	if len(missing) > 0 {
		p["missing_fields"] = missing
	} else {
		p["missing_fields"] = nil
	}
	p["repro_bundle"] = hasArtifact(o, "repro/manifest.json")
	if len(facts.findings) > 0 {
		sort.Strings(facts.findings)
		p["findings"] = facts.findings
	} else {
		p["findings"] = nil
	}
	b.node(runKey, graph.LabelRun, p, facets)
	return b.mutations()
}

// removed returns the names, after prefix, of the fields the observer saw
// disappear since the previous observation ("tags.x" → "x").
func removed(o *Observation, prefix string) []string {
	if o.Supersedes == nil {
		return nil
	}
	var out []string
	for _, c := range o.Supersedes.Changes {
		if c.After == nil && strings.HasPrefix(c.Field, prefix) {
			out = append(out, strings.TrimPrefix(c.Field, prefix))
		}
	}
	return out
}

func isSeedField(name string) bool {
	for _, f := range SeedFields {
		if f == name {
			return true
		}
	}
	return false
}

// datasetURI returns where an MLflow dataset lives: the uri, url or path
// its source document names, else its name.
func datasetURI(d Dataset) string {
	if d.Source != "" {
		var src map[string]any
		if json.Unmarshal([]byte(d.Source), &src) == nil {
			for _, k := range []string{"uri", "url", "path", "location", "table_name"} {
				if s, ok := src[k].(string); ok && s != "" {
					return s
				}
			}
		}
	}
	if d.Name != "" {
		return d.Name
	}
	return "unnamed"
}

// mapArtifacts adds the run's artifacts with a known sha256 as Artifact
// nodes (PRODUCED by the run; signatures SIGNS and attestations ATTESTS
// the model files), and lists the whole tree in a facet.
func mapArtifacts(b *builder, o *Observation, runKey string, p graph.Props, facets graph.Facets, findings *[]string) {
	if len(o.Artifacts) == 0 && len(o.Checksums) == 0 {
		return
	}
	sums := map[string]string{}
	for _, c := range o.Checksums {
		if isHex64(c.SHA256) {
			sums[c.Path] = strings.ToLower(c.SHA256)
		}
	}
	size := map[string]int64{}
	type listed struct {
		Path   string `json:"path"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256,omitempty"`
		Role   string `json:"role"`
	}
	var tree []listed
	var unsummed []string
	for _, f := range o.Artifacts {
		if f.IsDir {
			continue
		}
		size[f.Path] = f.FileSize
		role := artifactRole(f.Path)
		if len(tree) < maxArtifactFacet {
			tree = append(tree, listed{f.Path, f.FileSize, sums[f.Path], role})
		}
		if sums[f.Path] == "" && role != "file" && role != "report" {
			unsummed = append(unsummed, f.Path)
		}
	}
	var models, sigs, atts []string
	for _, pth := range sortedKeys(sums) {
		sha := sums[pth]
		ak := graph.ArtifactKey(sha)
		role := artifactRole(pth)
		np := graph.Props{"sha256": sha, "name": path.Base(pth), "role": role}
		if s, ok := size[pth]; ok {
			np["size"] = s
		}
		b.node(ak, graph.LabelArtifact, np, nil)
		b.edge(graph.EdgeProduced, runKey, ak, graph.Props{"path": pth, "role": role})
		switch role {
		case "model":
			models = append(models, ak)
		case "signature":
			sigs = append(sigs, ak)
		case "attestation":
			atts = append(atts, ak)
		}
	}
	for _, s := range sigs {
		for _, m := range models {
			b.edge(graph.EdgeSigns, s, m, nil)
		}
	}
	for _, a := range atts {
		for _, m := range models {
			b.edge(graph.EdgeAttests, a, m, nil)
		}
	}
	if len(unsummed) > 0 {
		sort.Strings(unsummed)
		if len(unsummed) > 20 {
			unsummed = append(unsummed[:20], fmt.Sprintf("… %d more", len(unsummed)-20))
		}
		*findings = append(*findings, "artifacts without a sha256 in checksums.json: "+strings.Join(unsummed, ", "))
	}
	p["artifact_count"] = int64(len(size))
	if raw, err := json.Marshal(tree); err == nil && len(tree) > 0 {
		facets["mlflow_artifacts"] = raw
	}
}

func hasArtifact(o *Observation, p string) bool {
	for _, f := range o.Artifacts {
		if f.Path == p && !f.IsDir {
			return true
		}
	}
	return false
}

func hasRole(o *Observation, role string) bool {
	for _, f := range o.Artifacts {
		if !f.IsDir && artifactRole(f.Path) == role {
			return true
		}
	}
	return false
}

func hasModelFiles(o *Observation) bool {
	return hasRole(o, "model") || len(o.Models) > 0
}

// versionProps are the properties of a model version from its tags.
func versionTagProps(p graph.Props, tags map[string]string) {
	for k, v := range tags {
		p["tag."+k] = v
	}
	for _, k := range versionTags {
		if v, ok := tags[k]; ok {
			p[k] = v
		} else if v, ok := tags[ProvPrefix+k]; ok {
			p[k] = v
		}
	}
}

// mapModelVersion maps a model version: ModelVersion VERSION_OF its
// RegisteredModel, REGISTERED_AS from its run when it has one.
func mapModelVersion(o *Observation, recordSHA string) []graph.Mutation {
	mv := o.ModelVersion
	reg := Namespace(o.TrackingURI)
	created := ms(mv.CreationTimestamp)
	updated := ms(mv.LastUpdatedTimestamp)
	if updated.IsZero() {
		updated = created
	}
	b := newBuilder(graph.Provenance{FirstSeen: created, LastSeen: updated})
	rmKey := graph.RegisteredModelKey(reg, mv.Name)
	mvKey := graph.ModelVersionKey(reg, mv.Name, mv.Version)
	p := graph.Props{
		"source":   "mlflow",
		"registry": reg,
		"name":     mv.Name,
		"version":  mv.Version,
		"aliases":  append([]string{}, mv.Aliases...),

		"mlflow_content_sha256": ContentSHA256(o),
		"mlflow_record_sha256":  recordSHA,
	}
	set(p, "status", mv.Status)
	set(p, "stage", mv.CurrentStage)
	set(p, "model_source", mv.Source)
	set(p, "user", mv.UserID)
	set(p, "description", mv.Description)
	set(p, "created_at", rfc3339(mv.CreationTimestamp))
	set(p, "updated_at", rfc3339(mv.LastUpdatedTimestamp))
	set(p, "model_id", mv.ModelID)
	tags := map[string]string{}
	for _, t := range mv.Tags {
		tags[t.Key] = t.Value
	}
	versionTagProps(p, tags)
	for _, t := range removed(o, "tags.") {
		if _, still := tags[t]; !still {
			p["tag."+t] = nil
		}
	}
	for _, k := range versionTags {
		if _, ok := p[k]; !ok {
			p[k] = nil
		}
	}
	var runKey string
	if mv.RunID != "" {
		p["run_id"] = graph.NormalizeRunID(mv.RunID)
		p["registered_without_run"] = false
		runKey = graph.RunKey(mv.RunID)
		if o.OpenLineageRunID != "" {
			runKey = graph.RunKey(o.OpenLineageRunID)
		}
		p["findings"] = nil
	} else {
		p["registered_without_run"] = true
		p["findings"] = []string{"registered without a run: the version has no training provenance"}
	}
	b.node(mvKey, graph.LabelModelVersion, p, nil)
	b.node(rmKey, graph.LabelRegisteredModel, graph.Props{"source": "mlflow", "registry": reg, "name": mv.Name}, nil)
	b.edge(graph.EdgeVersionOf, mvKey, rmKey, nil)
	if runKey != "" {
		b.node(runKey, graph.LabelRun, nil, nil)
		b.edge(graph.EdgeRegisteredAs, runKey, mvKey, nil)
	}
	return b.mutations()
}

// mapRegisteredModel maps a registered model. Its aliases become
// properties alias.<name> = version: the place to read where an alias
// points (a version's own aliases list is only as fresh as its last
// observation).
func mapRegisteredModel(o *Observation, recordSHA string) []graph.Mutation {
	rm := o.RegisteredModel
	reg := Namespace(o.TrackingURI)
	created := ms(rm.CreationTimestamp)
	updated := ms(rm.LastUpdatedTimestamp)
	if updated.IsZero() {
		updated = created
	}
	b := newBuilder(graph.Provenance{FirstSeen: created, LastSeen: updated})
	p := graph.Props{"source": "mlflow", "registry": reg, "name": rm.Name,
		"mlflow_content_sha256": ContentSHA256(o), "mlflow_record_sha256": recordSHA}
	set(p, "description", rm.Description)
	set(p, "user", rm.UserID)
	set(p, "created_at", rfc3339(rm.CreationTimestamp))
	for _, t := range rm.Tags {
		p["tag."+t.Key] = t.Value
	}
	for _, a := range rm.Aliases {
		p["alias."+a.Alias] = a.Version
	}
	for _, a := range removed(o, "aliases.") {
		if _, still := p["alias."+a]; !still {
			p["alias."+a] = nil
		}
	}
	for _, t := range removed(o, "tags.") {
		if _, still := p["tag."+t]; !still {
			p["tag."+t] = nil
		}
	}
	b.node(graph.RegisteredModelKey(reg, rm.Name), graph.LabelRegisteredModel, p, nil)
	return b.mutations()
}

// String formats a metric value as MLflow's JSON does.
func (f Float) String() string {
	b, _ := f.MarshalJSON()
	return strings.Trim(string(b), `"`)
}
