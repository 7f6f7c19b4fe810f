package resolvers

import (
	"testing"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/internal/gqlmodel"
	"github.com/redthread/redthread/internal/pubsub"
)

func TestEventMatcher(t *testing.T) {
	ds := graph.DatasetKey("s3://bucket", "raw/orders")
	dsV1 := graph.DatasetVersionKey("s3://bucket", "raw/orders", "v1")
	other := graph.DatasetKey("s3://bucket", "raw/orders_archive")
	job := graph.JobKey("airflow://prod:8080", "dag.task")
	msg := pubsub.Message{Kind: "RunEvent", EventType: "COMPLETE", JobKey: job, Inputs: []string{dsV1}, Outputs: []string{other}}
	str := func(s string) *string { return &s }

	for _, c := range []struct {
		name   string
		filter *gqlmodel.LineageEventFilter
		want   bool
	}{
		{"no filter", nil, true},
		{"empty filter", &gqlmodel.LineageEventFilter{}, true},
		{"kind", &gqlmodel.LineageEventFilter{Kinds: []string{"JobEvent", "RunEvent"}}, true},
		{"other kind", &gqlmodel.LineageEventFilter{Kinds: []string{"DatasetEvent"}}, false},
		{"event type any case", &gqlmodel.LineageEventFilter{EventTypes: []string{"complete"}}, true},
		{"other event type", &gqlmodel.LineageEventFilter{EventTypes: []string{"FAIL"}}, false},
		{"job prefix", &gqlmodel.LineageEventFilter{JobKeyPrefix: str("job:airflow://prod")}, true},
		{"other job prefix", &gqlmodel.LineageEventFilter{JobKeyPrefix: str("job:dbt")}, false},
		{"job namespace", &gqlmodel.LineageEventFilter{JobNamespace: str("airflow://prod:8080")}, true},
		{"namespace is not a prefix of another", &gqlmodel.LineageEventFilter{JobNamespace: str("airflow://prod")}, false},
		{"dataset matches its versions", &gqlmodel.LineageEventFilter{DatasetKey: str(ds)}, true},
		{"exact version", &gqlmodel.LineageEventFilter{DatasetKey: str(dsV1)}, true},
		{"other version", &gqlmodel.LineageEventFilter{DatasetKey: str(graph.DatasetVersionKey("s3://bucket", "raw/orders", "v2"))}, false},
		{"output dataset", &gqlmodel.LineageEventFilter{DatasetKey: str(other)}, true},
		{"all conditions", &gqlmodel.LineageEventFilter{Kinds: []string{"RunEvent"}, EventTypes: []string{"COMPLETE"}, DatasetKey: str(ds)}, true},
		{"one condition fails", &gqlmodel.LineageEventFilter{Kinds: []string{"RunEvent"}, EventTypes: []string{"START"}, DatasetKey: str(ds)}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := newEventMatcher(c.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.match(msg); got != c.want {
				t.Fatalf("match = %v, want %v", got, c.want)
			}
		})
	}

	// A message without a job never matches a job condition.
	m, err := newEventMatcher(&gqlmodel.LineageEventFilter{JobKeyPrefix: str("job:")})
	if err != nil {
		t.Fatal(err)
	}
	if m.match(pubsub.Message{Kind: "DatasetEvent"}) {
		t.Fatal("a message without a job matched a job prefix")
	}
}

func TestEventMatcherRejects(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, k := range []string{"not a key", graph.RunKey("x"), graph.FieldKey("ns", "t", "c")} {
		_, err := newEventMatcher(&gqlmodel.LineageEventFilter{DatasetKey: str(k)})
		if graph.ErrorCode(err) != graph.EINVALID || graph.ErrorField(err) != "filter.datasetKey" {
			t.Errorf("datasetKey %q: error %v, want EINVALID about filter.datasetKey", k, err)
		}
	}
}
