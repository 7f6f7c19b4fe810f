package workload

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redthread/redthread/graph"
)

// Generator streams the events of one workload. It holds the plan and the
// events of at most one DAG run, so memory does not grow with the workload.
// A Generator is not safe for concurrent use.
type Generator struct {
	p   *plan
	rng *rand.Rand

	round int // current round
	unit  int // next unit of the round: DAG runs first, then training runs
	seq   int // index of the next event; its eventTime is Start + seq·Step

	buf   []byte   // events of the current unit, back to back
	ends  []int    // end offset of each event in buf
	queue [][]byte // events of the current unit, ready to hand out
	qpos  int
}

// New returns a generator for cfg, positioned at the first event.
func New(cfg Config) *Generator {
	p := newPlan(cfg)
	return &Generator{p: p, rng: rand.New(rand.NewPCG(p.cfg.Seed, streamEvents))}
}

// Shape returns the structure of the workload.
func (g *Generator) Shape() Shape { return g.p.shape() }

// Next returns the next event as one JSON object (no trailing newline), or
// false when the workload is exhausted. The caller owns the returned slice.
func (g *Generator) Next() ([]byte, bool) {
	for g.qpos == len(g.queue) {
		if !g.fill() {
			return nil, false
		}
	}
	e := g.queue[g.qpos]
	g.queue[g.qpos] = nil
	g.qpos++
	return e, true
}

// fill renders the events of the next unit (one DAG run or one training
// run) into a fresh buffer.
func (g *Generator) fill() bool {
	p := g.p
	if g.round >= p.rounds {
		return false
	}
	// A fresh buffer per unit, so that events already handed out stay
	// valid; sized for the unit's events at a typical 5 KB.
	g.ends = g.ends[:0]
	if g.unit < len(p.dags) {
		dag := p.dags[g.unit]
		g.buf = make([]byte, 0, (4+2*len(dag.tasks))*5<<10)
		g.dagRun(dag)
	} else {
		g.buf = make([]byte, 0, 2*5<<10)
		g.training(p.models[g.unit-len(p.dags)])
	}
	g.unit++
	if g.unit == len(p.dags)+len(p.models) {
		g.unit = 0
		g.round++
	}
	g.queue, g.qpos = g.queue[:0], 0
	start := 0
	for _, end := range g.ends {
		g.queue = append(g.queue, g.buf[start:end:end])
		start = end
	}
	return true
}

// now is the eventTime of the next event.
func (g *Generator) now() time.Time {
	return g.p.cfg.Start.Add(time.Duration(g.seq) * g.p.cfg.Step)
}

// newRunID returns a UUIDv7 (as OpenLineage recommends for runIds) for a
// run starting at t, with its random bits from the event stream.
func (g *Generator) newRunID(t time.Time) uuid {
	var u uuid
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint64(u[8:], g.rng.Uint64())
	binary.BigEndian.PutUint64(u[0:], ms<<16|g.rng.Uint64()&0xFFFF)
	u[6] = 0x70 | u[6]&0x0F
	u[8] = 0x80 | u[8]&0x3F
	return u
}

// begin starts an event: eventTime, producer, schemaURL, eventType.
func (g *Generator) begin(eventType, producer string) {
	b := append(g.buf, `{"eventTime":`...)
	b = appendTime(b, g.now())
	b = appendStringField(b, "producer", producer, false)
	b = appendStringField(b, "schemaURL", runEventSchemaURL, false)
	b = appendStringField(b, "eventType", eventType, false)
	g.buf = b
}

// end closes the event and records it.
func (g *Generator) end() {
	g.buf = append(g.buf, '}')
	g.ends = append(g.ends, len(g.buf))
	g.seq++
}

// airflowRunName is Airflow's run_id of a scheduled DAG run.
func airflowRunName(nominal time.Time) string {
	return "scheduled__" + nominal.Format("2006-01-02T15:04:05+00:00")
}

// roundTimes returns the nominal start and end of round r.
func (g *Generator) roundTimes(r int) (time.Time, time.Time) {
	return g.p.nominalStart(r), g.p.nominalStart(r + 1)
}

func (g *Generator) dagRun(dag *dagSpec) {
	r := g.round
	dagRunID := g.newRunID(g.now())
	g.dagEvent(dag, dagRunID, "START")
	for k := range dag.tasks {
		t := &dag.tasks[k]
		try := 1
		if g.p.decide(decideTaskFail, uint64(dag.index)<<8|uint64(k), uint64(r), taskFailPermille) {
			id := g.newRunID(g.now())
			g.taskEvent(dag, t, id, dagRunID, "START", try)
			g.taskEvent(dag, t, id, dagRunID, "FAIL", try)
			try++
		}
		id := g.newRunID(g.now())
		g.taskEvent(dag, t, id, dagRunID, "START", try)
		g.taskEvent(dag, t, id, dagRunID, "COMPLETE", try)
	}
	g.dagEvent(dag, dagRunID, "COMPLETE")
}

const engineFacetJSON = `,"processing_engine":{"_producer":"` + airflowProducer + `","_schemaURL":"` + schemaURLEngine +
	`","version":"2.10.5","name":"Airflow","openlineageAdapterVersion":"2.3.0"}`

func (g *Generator) nominalFacet(b []byte, start, end time.Time, producer string) []byte {
	b = facetHead(b, "nominalTime", producer, schemaURLNominal, true)
	b = appendTimeField(b, "nominalStartTime", start, false)
	b = appendTimeField(b, "nominalEndTime", end, false)
	return append(b, '}')
}

// appendDagRun appends the "dagRun" member of Airflow's facets; the DAG's
// own events carry the data interval, its tasks' events only the run_id.
func appendDagRun(b []byte, start, end time.Time, interval bool) []byte {
	b = appendKey(b, "dagRun", false)
	b = append(b, '{')
	b = appendStringField(b, "run_id", airflowRunName(start), true)
	b = appendStringField(b, "run_type", "scheduled", false)
	if interval {
		b = appendTimeField(b, "data_interval_start", start, false)
		b = appendTimeField(b, "data_interval_end", end, false)
	}
	return append(b, '}')
}

func (g *Generator) dagEvent(dag *dagSpec, runID uuid, eventType string) {
	start, end := g.roundTimes(g.round)
	g.begin(eventType, airflowProducer)
	b := append(g.buf, `,"run":{"runId":"`...)
	b = runID.appendTo(b)
	b = append(b, `","facets":{`...)
	b = g.nominalFacet(b, start, end, airflowProducer)
	b = append(b, engineFacetJSON...)
	b = facetHead(b, "airflowDagRun", airflowProducer, schemaURLAirflowDag, false)
	b = append(b, ',')
	b = append(b, dag.dagInfo...)
	b = appendDagRun(b, start, end, true)
	b = append(b, `}}},"job":`...)
	b = append(b, dag.job...)
	b = append(b, `,"inputs":[],"outputs":[]`...)
	g.buf = b
	g.end()
}

func (g *Generator) taskEvent(dag *dagSpec, t *taskSpec, runID, dagRunID uuid, eventType string, try int) {
	p, r := g.p, g.round
	start, end := g.roundTimes(r)
	g.begin(eventType, airflowProducer)
	b := append(g.buf, `,"run":{"runId":"`...)
	b = runID.appendTo(b)
	b = append(b, `","facets":{`...)
	b = g.nominalFacet(b, start, end, airflowProducer)

	b = facetHead(b, "parent", airflowProducer, schemaURLParent, false)
	b = append(b, `,"run":{"runId":"`...)
	b = dagRunID.appendTo(b)
	b = append(b, `"},`...)
	b = append(b, dag.parentJob...)
	b = append(b, `,"root":{"run":{"runId":"`...)
	b = dagRunID.appendTo(b)
	b = append(b, `"},`...)
	b = append(b, dag.parentJob...)
	b = append(b, "}}"...)

	if eventType == "START" { // later events of the run need not repeat it
		b = append(b, engineFacetJSON...)
	}

	b = facetHead(b, "airflow", airflowProducer, schemaURLAirflow, false)
	b = append(b, ',')
	b = append(b, t.airflow...)
	b = appendDagRun(b, start, end, false)
	b = append(b, `,"taskInstance":{"try_number":`...)
	b = strconv.AppendInt(b, int64(try), 10)
	b = append(b, `,"map_index":-1}}`...)

	if eventType == "FAIL" {
		b = g.errorFacet(b, "python", airflowProducer)
	}
	b = append(b, `}},"job":`...)
	b = append(b, t.job...)

	b = append(b, `,"inputs":[`...)
	for i, in := range t.inputs {
		if i > 0 {
			b = append(b, ',')
		}
		d := p.datasets[in]
		b = append(b, d.head...)
		b = appendVersionFacet(b, d.version(r), airflowProducer)
		b = append(b, "}}"...)
	}
	b = append(b, `],"outputs":[`...)
	out := p.datasets[t.output]
	b = append(b, out.head...)
	if eventType == "COMPLETE" {
		b = appendVersionFacet(b, out.version(r), airflowProducer)
		b = append(b, t.lineage...)
		b = append(b, '}')
		rows := 1_000 + g.rng.Int64N(5_000_000)
		b = append(b, `,"outputFacets":{`...)
		b = facetHead(b, "outputStatistics", airflowProducer, schemaURLOutStats, true)
		b = appendIntField(b, "rowCount", rows, false)
		b = appendIntField(b, "size", rows*(80+g.rng.Int64N(400)), false)
		if out.kind == kindLake {
			b = appendIntField(b, "fileCount", 1+rows/250_000, false)
		}
		b = append(b, "}}"...)
	} else {
		b = append(b, '}')
	}
	b = append(b, "}]"...)
	g.buf = b
	g.end()
}

func appendVersionFacet(b []byte, version, producer string) []byte {
	b = facetHead(b, "version", producer, schemaURLVersion, false)
	b = appendStringField(b, "datasetVersion", version, false)
	return append(b, '}')
}

func (g *Generator) errorFacet(b []byte, language, producer string) []byte {
	b = facetHead(b, "errorMessage", producer, schemaURLError, false)
	b = appendStringField(b, "message", pick(g.rng, errorMsgs), false)
	b = appendStringField(b, "programmingLanguage", language, false)
	return append(b, '}')
}

// correlationID returns the z1_correlation_id of model m's training run in
// round r, if that run carries one.
func (p *plan) correlationID(m, r int) (string, bool) {
	if !p.decide(decideZ1, uint64(m), uint64(r), z1Permille) {
		return "", false
	}
	return fmt.Sprintf("z1-%s-%016x", p.nominalStart(r).Format("20060102"), p.hash(decideZ1ID, uint64(m), uint64(r))), true
}

func (g *Generator) training(m *modelSpec) {
	p, r := g.p, g.round
	start, end := g.roundTimes(r)
	runID := g.newRunID(g.now())
	failed := p.decide(decideTrainFail, uint64(m.index), uint64(r), trainFailPermille)
	for _, eventType := range [2]string{"START", "COMPLETE"} {
		if eventType == "COMPLETE" && failed {
			eventType = "FAIL"
		}
		g.begin(eventType, mlflowProducer)
		b := append(g.buf, `,"run":{"runId":"`...)
		b = runID.appendTo(b)
		b = append(b, `","facets":{`...)
		b = g.nominalFacet(b, start, end, mlflowProducer)
		b = facetHead(b, TrainingFacetName, mlflowProducer, schemaURLTraining, false)
		b = appendStringField(b, "mlflow_run_id", runID.hex32(), false)
		b = appendStringField(b, "experiment_id", strconv.Itoa(m.experimentID), false)
		b = appendStringField(b, "run_name", m.name+"-"+start.Format("20060102-1504")+"-"+m.gitSHA[:7], false)
		b = appendStringField(b, "git_sha", m.gitSHA, false)
		b = appendStringField(b, "repo_url", m.repoURL, false)
		b = appendStringField(b, "orchestrator", "airflow", false)
		if id, ok := p.correlationID(m.index, r); ok {
			b = appendStringField(b, "z1_correlation_id", id, false)
		}
		b = append(b, '}')
		if eventType == "FAIL" {
			b = g.errorFacet(b, "python", mlflowProducer)
		}
		b = append(b, `}},"job":`...)
		b = append(b, m.job...)
		b = append(b, `,"inputs":[`...)
		for i, in := range m.inputs {
			if i > 0 {
				b = append(b, ',')
			}
			d := p.datasets[in]
			b = append(b, d.head...)
			b = appendVersionFacet(b, d.version(r), mlflowProducer)
			b = append(b, "}}"...)
		}
		b = append(b, `],"outputs":[`...)
		out := p.datasets[m.output]
		b = append(b, out.head...)
		if eventType == "COMPLETE" {
			b = appendVersionFacet(b, out.version(r), mlflowProducer)
		}
		b = append(b, "}}]"...)
		g.buf = b
		g.end()
	}
}

// Start is a dataset snapshot with deep downstream lineage: the snapshot of
// a source that the first task of a chain DAG reads in some round.
type Start struct {
	Dataset string // graph.DatasetKey of the source
	Version string // graph.DatasetVersionKey of the snapshot
	Round   int    // the round that reads it
	// Hops is the number of dataset→task→dataset hops downstream of the
	// snapshot along the chain (a model training run reads the chain's
	// last output, one hop further, in most workloads).
	Hops int
}

// SampleStarts returns up to n distinct lineage start points, spread over
// chains and rounds; fewer when the workload has fewer. The answer depends
// only on the Config.
func (g *Generator) SampleStarts(n int) []Start {
	return g.sampleChains(n, func(tasks []taskSpec) *datasetSpec { return g.p.datasets[tasks[0].inputs[0]] })
}

// sampleChains returns up to n distinct snapshots of the dataset pick
// chooses on each chain, spread over chains and rounds.
func (g *Generator) sampleChains(n int, pick func(tasks []taskSpec) *datasetSpec) []Start {
	p := g.p
	var chains []*dagSpec
	for _, d := range p.dags {
		if d.chain {
			chains = append(chains, d)
		}
	}
	seen := make(map[string]bool)
	var out []Start
	for i := 0; len(out) < n && i < len(chains)*p.rounds; i++ {
		c := i % len(chains)
		r := (i/len(chains) + c) % p.rounds
		ds := pick(chains[c].tasks)
		s := Start{
			Dataset: graph.DatasetKey(ds.namespace, ds.name),
			Version: graph.DatasetVersionKey(ds.namespace, ds.name, ds.version(r)),
			Round:   r,
			Hops:    len(chains[c].tasks),
		}
		if seen[s.Version] {
			continue
		}
		seen[s.Version] = true
		out = append(out, s)
	}
	return out
}

// SampleEnds returns up to n distinct provenance start points: the
// snapshot the last task of a chain wrote in some round, with the chain's
// hops of upstream lineage behind it. Like SampleStarts it depends only on
// the Config; Dataset, Version and Hops describe the end snapshot.
func (g *Generator) SampleEnds(n int) []Start {
	return g.sampleChains(n, func(tasks []taskSpec) *datasetSpec { return g.p.datasets[tasks[len(tasks)-1].output] })
}

// SampleEndKeys returns the Version keys of SampleEnds(n).
func (g *Generator) SampleEndKeys(n int) []string { return versions(g.SampleEnds(n)) }

// SampleDatasetKeys returns up to n graph.DatasetVersionKey strings of
// snapshots with at least 24 hops of downstream lineage (see SampleStarts).
func (g *Generator) SampleDatasetKeys(n int) []string { return versions(g.SampleStarts(n)) }

// versions returns the Version keys of starts.
func versions(starts []Start) []string {
	keys := make([]string, len(starts))
	for i, s := range starts {
		keys[i] = s.Version
	}
	return keys
}

// WriteNDJSON writes every event of the workload cfg selects to w, one per
// line, and returns how many it wrote.
func WriteNDJSON(w io.Writer, cfg Config) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	g := New(cfg)
	n := 0
	for {
		e, ok := g.Next()
		if !ok {
			break
		}
		if _, err := bw.Write(e); err != nil {
			return n, err
		}
		if err := bw.WriteByte('\n'); err != nil {
			return n, err
		}
		n++
	}
	return n, bw.Flush()
}
