package mlflow

import (
	"sort"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest"
	"github.com/redthread/redthread/internal/pubsub"
)

// decodeWebhookRecord maps a webhook delivery record: model-version and
// registered-model events change the registry nodes as the next poll
// would, without waiting for it.
func decodeWebhookRecord(body []byte) (ingest.Event, error) {
	rec, ev, err := DecodeWebhook(body)
	if err != nil {
		return ingest.Event{}, err
	}
	muts := MapWebhook(rec, ev)
	notice := pubsub.Message{Kind: RecordWebhook, EventType: ev.Name(), EventTime: timeOrZero(ev.Timestamp), Producer: Producer}
	for _, m := range muts {
		if m.Kind == graph.UpsertNode && m.Node.Label == graph.LabelModelVersion {
			notice.Outputs = append(notice.Outputs, m.Node.Key)
		}
		if m.Kind == graph.UpsertEdge && m.Edge.Type == graph.EdgeRegisteredAs {
			notice.RunKey = m.Edge.From
		}
	}
	return ingest.Event{Kind: RecordWebhook, Producer: Producer, EventTime: notice.EventTime,
		Mutations: muts, Notice: notice}, nil
}

// MapWebhook returns the mutations of one webhook delivery. Events that
// carry nothing for the graph (prompts, unknown events) map to none; they
// stay in the log.
func MapWebhook(rec WebhookRecord, ev WebhookEvent) []graph.Mutation {
	reg := Namespace(rec.TrackingURI)
	at := timeOrZero(ev.Timestamp)
	b := newBuilder(graph.Provenance{FirstSeen: at, LastSeen: at})
	model := func(name string, p graph.Props) string {
		k := graph.RegisteredModelKey(reg, name)
		props := graph.Props{"source": "mlflow", "registry": reg, "name": name}
		for key, v := range p {
			props[key] = v
		}
		b.node(k, graph.LabelRegisteredModel, props, nil)
		return k
	}
	version := func(name, v string, p graph.Props) string {
		k := graph.ModelVersionKey(reg, name, v)
		props := graph.Props{"source": "mlflow", "registry": reg, "name": name, "version": v}
		for key, val := range p {
			props[key] = val
		}
		b.node(k, graph.LabelModelVersion, props, nil)
		b.edge(graph.EdgeVersionOf, k, model(name, nil), nil)
		return k
	}
	tagProps := func(key string, value any) graph.Props {
		p := graph.Props{"tag." + key: value}
		for _, t := range versionTags {
			if key == t || key == ProvPrefix+t {
				p[t] = value
			}
		}
		return p
	}

	switch {
	case ev.ModelVersionCreated != nil:
		c := ev.ModelVersionCreated
		p := graph.Props{}
		set(p, "model_source", c.Source)
		set(p, "description", c.Description)
		keys := make([]string, 0, len(c.Tags))
		for k := range c.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for pk, pv := range tagProps(k, c.Tags[k]) {
				p[pk] = pv
			}
		}
		if c.RunID != "" {
			p["run_id"] = graph.NormalizeRunID(c.RunID)
			p["registered_without_run"] = false
		} else {
			p["registered_without_run"] = true
			p["findings"] = []string{"registered without a run: the version has no training provenance"}
		}
		mv := version(c.Name, c.Version, p)
		if c.RunID != "" {
			rk := graph.RunKey(c.RunID)
			b.node(rk, graph.LabelRun, nil, nil)
			b.edge(graph.EdgeRegisteredAs, rk, mv, nil)
		}
	case ev.TagSet != nil:
		version(ev.TagSet.Name, ev.TagSet.Version, tagProps(ev.TagSet.Key, ev.TagSet.Value))
	case ev.TagDeleted != nil:
		version(ev.TagDeleted.Name, ev.TagDeleted.Version, tagProps(ev.TagDeleted.Key, nil))
	case ev.AliasCreated != nil:
		a := ev.AliasCreated
		model(a.Name, graph.Props{"alias." + a.Alias: a.Version})
	case ev.AliasDeleted != nil:
		model(ev.AliasDeleted.Name, graph.Props{"alias." + ev.AliasDeleted.Alias: nil})
	case ev.RegisteredModelCreated != nil:
		c := ev.RegisteredModelCreated
		p := graph.Props{}
		set(p, "description", c.Description)
		for k, v := range c.Tags {
			p["tag."+k] = v
		}
		model(c.Name, p)
	}
	return b.mutations()
}
