package mlflow

import (
	"cmp"
	"slices"
	"strings"
)

// MLflow returns tags, params, metrics and inputs in whatever order its
// store yields them. The functions below copy a record with every list in
// a fixed order, so two observations of one state marshal to equal bytes.
// They never modify their argument.

// sortedTags returns a sorted copy of tags (by key, then value); nil stays
// nil.
func sortedTags(tags []Tag) []Tag {
	if tags == nil {
		return nil
	}
	out := slices.Clone(tags)
	slices.SortFunc(out, func(a, b Tag) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.Value, b.Value))
	})
	return out
}

// sortedMetrics returns a copy of metrics sorted by key, step, timestamp
// and value.
func sortedMetrics(ms []Metric) []Metric {
	if ms == nil {
		return nil
	}
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b Metric) int {
		return cmp.Or(
			strings.Compare(a.Key, b.Key),
			cmp.Compare(a.Step, b.Step),
			cmp.Compare(a.Timestamp, b.Timestamp),
			cmp.Compare(float64(a.Value), float64(b.Value)),
		)
	})
	return out
}

// sortedModelRefs returns a copy of refs sorted by model id and step.
func sortedModelRefs(refs []ModelRef) []ModelRef {
	if refs == nil {
		return nil
	}
	out := slices.Clone(refs)
	slices.SortFunc(out, func(a, b ModelRef) int {
		return cmp.Or(strings.Compare(a.ModelID, b.ModelID), cmp.Compare(a.Step, b.Step))
	})
	return out
}

// canonicalRun returns a copy of r with tags, params and metrics sorted by
// key, dataset inputs by name, digest and source (each input's tags
// sorted), and model inputs and outputs by model id.
func canonicalRun(r Run) Run {
	r.Data.Tags = sortedTags(r.Data.Tags)
	r.Data.Params = sortedTags(r.Data.Params)
	r.Data.Metrics = sortedMetrics(r.Data.Metrics)
	if r.Inputs != nil {
		in := *r.Inputs
		if in.DatasetInputs != nil {
			in.DatasetInputs = slices.Clone(in.DatasetInputs)
			for i := range in.DatasetInputs {
				in.DatasetInputs[i].Tags = sortedTags(in.DatasetInputs[i].Tags)
			}
			slices.SortFunc(in.DatasetInputs, func(a, b DatasetInput) int {
				return cmp.Or(
					strings.Compare(a.Dataset.Name, b.Dataset.Name),
					strings.Compare(a.Dataset.Digest, b.Dataset.Digest),
					strings.Compare(a.Dataset.SourceType, b.Dataset.SourceType),
					strings.Compare(a.Dataset.Source, b.Dataset.Source),
					strings.Compare(contextTag(a.Tags), contextTag(b.Tags)),
				)
			})
		}
		in.ModelInputs = sortedModelRefs(in.ModelInputs)
		r.Inputs = &in
	}
	if r.Outputs != nil {
		out := *r.Outputs
		out.ModelOutputs = sortedModelRefs(out.ModelOutputs)
		r.Outputs = &out
	}
	return r
}

// contextTag is an input's mlflow.data.context tag (training, evaluation…),
// which tells apart two inputs of one dataset.
func contextTag(tags []Tag) string {
	for _, t := range tags {
		if t.Key == "mlflow.data.context" {
			return t.Value
		}
	}
	return ""
}

// canonicalLoggedModel returns a copy of m with tags, params and metrics
// sorted.
func canonicalLoggedModel(m LoggedModel) LoggedModel {
	m.Info.Tags = sortedTags(m.Info.Tags)
	m.Info.Params = sortedTags(m.Info.Params)
	if m.Data != nil {
		d := *m.Data
		d.Params = sortedTags(d.Params)
		d.Metrics = sortedMetrics(d.Metrics)
		m.Data = &d
	}
	return m
}
