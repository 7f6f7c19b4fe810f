package workload

import (
	"math"
	"time"
)

// Config selects a workload. The same Config always yields the same events.
type Config struct {
	// Seed selects the random choices (DAG shapes, names, run ids, sizes).
	Seed uint64
	// Nodes is the target size of the projected graph, in nodes: typically
	// 1_000 to 1_000_000. Zero means DefaultNodes. See the package comment
	// for the node model; the result overshoots by at most one DAG's share.
	Nodes int
	// Start is the eventTime of the first event. Zero means DefaultStart.
	Start time.Time
	// Step is the eventTime distance between consecutive events. Zero (or
	// negative) means one second.
	Step time.Duration
}

// Defaults applied by New and the estimators to zero Config fields.
const (
	DefaultNodes = 10_000
	DefaultStep  = time.Second
)

// DefaultStart is the eventTime of the first event when Config.Start is zero.
var DefaultStart = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.Nodes <= 0 {
		c.Nodes = DefaultNodes
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	c.Start = c.Start.UTC().Truncate(time.Millisecond)
	if c.Step <= 0 {
		c.Step = DefaultStep
	}
	return c
}

// NodeCounts is the projected graph size of a workload, by node label.
type NodeCounts struct {
	Jobs            int `json:"jobs"`
	Runs            int `json:"runs"`
	Datasets        int `json:"datasets"`
	DatasetVersions int `json:"dataset_versions"`
	Fields          int `json:"fields"`
	Correlations    int `json:"correlations"`
}

// Total is the number of nodes.
func (c NodeCounts) Total() int {
	return c.Jobs + c.Runs + c.Datasets + c.DatasetVersions + c.Fields + c.Correlations
}

// Shape is the structure derived from a Config.
type Shape struct {
	Target  int        `json:"target"`  // Config.Nodes after defaults
	Rounds  int        `json:"rounds"`  // schedule intervals; every DAG runs once per round
	DAGs    int        `json:"dags"`    // Airflow DAGs, chains included
	Chains  int        `json:"chains"`  // DAGs that are 24-task chains
	Tasks   int        `json:"tasks"`   // tasks over all DAGs
	Sources int        `json:"sources"` // source datasets read by some task
	Models  int        `json:"models"`  // models trained once per round
	Events  int        `json:"events"`  // events the generator emits
	Nodes   NodeCounts `json:"nodes"`   // projected graph size
}

// EstimateShape returns the structure of the workload cfg selects. It
// builds the (small) plan but generates no event.
func EstimateShape(cfg Config) Shape { return newPlan(cfg).shape() }

// EstimateEvents returns the number of events the generator emits for cfg.
// It is exact: Next returns exactly this many events.
func EstimateEvents(cfg Config) int { return newPlan(cfg).events }

// EstimateNodes returns the projected graph size for cfg, by label. It
// counts the distinct identifiers that the events carry (see the package
// comment); a projection that makes other nodes (edges are not counted)
// will differ accordingly.
func EstimateNodes(cfg Config) NodeCounts { return newPlan(cfg).nodes }

// roundsFor chooses the number of rounds for a target node count: enough
// history for versions to matter, few enough that the graph is wide.
func roundsFor(nodes int) int {
	r := int(math.Sqrt(float64(nodes)) / 8)
	return min(max(r, 3), 120)
}
