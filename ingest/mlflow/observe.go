package mlflow

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"path"
	"slices"
	"strings"
)

// Checksum sources (Checksum.From).
const (
	FromChecksumsFile = "checksums.json"
	FromDownload      = "download"
)

// ObserveRun builds the observation of run: the run and its experiment
// (exp may be nil) with every list sorted, the artifact tree, the sha256 of
// artifacts the run's checksums files declare plus each checksums file's
// own, and the logged models the run output. The same MLflow state always
// gives the same observation, byte for byte once marshalled. A checksums
// file that cannot be read as one (bad JSON, over 4 MiB) is skipped, not an
// error; a failed request is an error.
func (c *Client) ObserveRun(ctx context.Context, run Run, exp *Experiment) (Observation, error) {
	run = canonicalRun(run)
	runID := run.Info.ID()
	tree, err := c.WalkArtifacts(ctx, runID)
	if err != nil {
		return Observation{}, err
	}
	sums, err := c.runChecksums(ctx, runID, tree)
	if err != nil {
		return Observation{}, err
	}
	models, err := c.outputModels(ctx, run)
	if err != nil {
		return Observation{}, err
	}
	o := Observation{
		Format:      ObservationFormat,
		Kind:        KindRun,
		TrackingURI: c.uri,
		Run:         &run,
		Artifacts:   tree,
		Checksums:   sums,
		Models:      models,
	}
	if exp != nil {
		e := *exp
		e.Tags = sortedTags(e.Tags)
		o.Experiment = &e
	}
	return o, nil
}

// ObserveModelVersion builds the observation of a model version, tags and
// aliases sorted.
func (c *Client) ObserveModelVersion(mv ModelVersion) Observation {
	mv.Tags = sortedTags(mv.Tags)
	mv.Aliases = slices.Sorted(slices.Values(mv.Aliases))
	return Observation{Format: ObservationFormat, Kind: KindModelVersion, TrackingURI: c.uri, ModelVersion: &mv}
}

// ObserveRegisteredModel builds the observation of a registered model, tags
// and aliases sorted.
func (c *Client) ObserveRegisteredModel(rm RegisteredModel) Observation {
	rm.Tags = sortedTags(rm.Tags)
	rm.Aliases = slices.Clone(rm.Aliases)
	slices.SortFunc(rm.Aliases, func(a, b RegisteredModelAlias) int {
		return cmp.Or(strings.Compare(a.Alias, b.Alias), strings.Compare(a.Version, b.Version))
	})
	return Observation{Format: ObservationFormat, Kind: KindRegisteredModel, TrackingURI: c.uri, RegisteredModel: &rm}
}

// runChecksums downloads every checksums file of tree and merges what they
// declare with the files' own digests. One entry per path: a digest
// Redthread computed beats a declared one, and a declaration from a deeper
// directory (nearer the file) beats one from above.
func (c *Client) runChecksums(ctx context.Context, runID string, tree []FileInfo) ([]Checksum, error) {
	type claim struct {
		Checksum
		depth int
	}
	best := map[string]claim{}
	offer := func(cl claim) {
		old, has := best[cl.Path]
		switch {
		case !has:
		case old.From == FromDownload:
			return
		case cl.From != FromDownload && cl.depth <= old.depth:
			return
		}
		best[cl.Path] = cl
	}
	for _, f := range tree {
		if f.IsDir || path.Base(f.Path) != ChecksumsFile {
			continue
		}
		data, err := c.DownloadArtifact(ctx, runID, f.Path, maxChecksumsBytes)
		var tooLarge *TooLargeError
		if errors.As(err, &tooLarge) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		offer(claim{Checksum{Path: f.Path, SHA256: hex.EncodeToString(sum[:]), From: FromDownload}, 0})
		dir := path.Dir(f.Path)
		if dir == "." {
			dir = ""
		}
		declared, ok := parseChecksums(dir, data)
		if !ok {
			continue
		}
		depth := strings.Count(f.Path, "/")
		for p, s := range declared {
			offer(claim{Checksum{Path: p, SHA256: s, From: FromChecksumsFile}, depth})
		}
	}
	out := make([]Checksum, 0, len(best))
	for _, p := range slices.Sorted(maps.Keys(best)) {
		out = append(out, best[p].Checksum)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// outputModels fetches the distinct logged models run output, sorted by
// model id; one MLflow no longer has is left out.
func (c *Client) outputModels(ctx context.Context, run Run) ([]LoggedModel, error) {
	if run.Outputs == nil {
		return nil, nil
	}
	var ids []string
	for _, m := range run.Outputs.ModelOutputs {
		if m.ModelID != "" {
			ids = append(ids, m.ModelID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out []LoggedModel
	for _, id := range ids {
		m, err := c.GetLoggedModel(ctx, id)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, canonicalLoggedModel(m))
	}
	return out, nil
}
