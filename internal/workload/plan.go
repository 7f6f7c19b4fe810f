package workload

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// The plan is the static structure of a workload: datasets, DAGs, tasks and
// models, with the parts of their JSON that never change rendered once. It
// is a pure function of the Config (its own PCG stream), so the estimators
// and SampleDatasetKeys need no event generation.

// Structural constants.
const (
	chainLength       = 24  // tasks in a chain DAG: ≥ 20 dataset→task→dataset hops
	chainEvery        = 8   // DAG d is a chain when d%chainEvery == 0
	minTasks          = 4   // tasks in a regular DAG, inclusive range
	maxTasks          = 12  //
	sourceEvery       = 2   // a new source dataset joins the pool every sourceEvery DAGs
	modelEvery        = 4   // a new model every modelEvery DAGs
	taskFailPermille  = 30  // task runs whose first attempt fails
	trainFailPermille = 50  // training runs that fail
	z1Permille        = 667 // training runs that carry z1_correlation_id
	sideInputPercent  = 30  // tasks that read a second, shared dataset
	minFields         = 3   // columns per dataset, inclusive range
	maxFields         = 7   //
)

// PCG stream selectors: the plan and the events draw from separate streams,
// so the plan does not depend on how many random numbers events consume.
const (
	streamPlan   = 0x706c616e // "plan"
	streamEvents = 0x6576656e // "even"
)

// Hash domains for per-(thing, round) decisions, so that the plan can count
// events and nodes exactly without generating them.
const (
	decideTaskFail uint64 = iota + 1
	decideTrainFail
	decideZ1
	decideZ1ID
)

// Producers and schema URLs.
const (
	airflowProducer = "https://github.com/apache/airflow/tree/providers-openlineage/2.3.0"
	mlflowProducer  = "https://github.com/redthread/redthread/tree/main/internal/workload"

	runEventSchemaURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

	facetsBase           = "https://openlineage.io/spec/facets/"
	schemaURLVersion     = facetsBase + "1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
	schemaURLSchema      = facetsBase + "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	schemaURLDatasetType = facetsBase + "1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet"
	schemaURLColumns     = facetsBase + "1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
	schemaURLOutStats    = facetsBase + "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
	schemaURLNominal     = facetsBase + "1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"
	schemaURLParent      = facetsBase + "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
	schemaURLEngine      = facetsBase + "1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet"
	schemaURLError       = facetsBase + "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	schemaURLJobType     = facetsBase + "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	schemaURLSQL         = facetsBase + "1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet"
	schemaURLAirflow     = "https://airflow.apache.org/docs/apache-airflow-providers-openlineage/2.3.0/spec/AirflowRunFacet.json#/$defs/AirflowRunFacet"
	schemaURLAirflowDag  = "https://airflow.apache.org/docs/apache-airflow-providers-openlineage/2.3.0/spec/AirflowDagRunFacet.json#/$defs/AirflowDagRunFacet"
	schemaURLTraining    = "https://github.com/redthread/redthread/spec/facets/1-0-0/TrainingRunFacet.json#/$defs/TrainingRunFacet"
)

// TrainingFacetName is the name of the custom run facet that training runs
// carry. It holds the MLflow run id and experiment, git_sha, repo_url and,
// for two runs in three, z1_correlation_id.
const TrainingFacetName = "redthread_training"

// datasetKind says where a dataset lives, which sets its naming and how its
// version advances.
type datasetKind int

const (
	kindKafka    datasetKind = iota // source topic
	kindPostgres                    // source table
	kindLake                        // s3 table written by a task (Iceberg-like snapshot ids)
	kindMart                        // postgres table written by a task
	kindModel                       // model output of a training run
)

type fieldSpec struct{ name, typ string }

type datasetSpec struct {
	namespace, name string
	kind            datasetKind
	fields          []fieldSpec
	versionBase     uint64
	versionStride   uint64
	used            bool // some event names it

	// head is the dataset's JSON up to its static facets, with the facets
	// object left open: {"namespace":…,"name":…,"facets":{"schema":… (or
	// "datasetType" for a model)
	head []byte
}

// version returns the dataset's version (snapshot id) in round r.
func (d *datasetSpec) version(r int) string {
	return strconv.FormatUint(d.versionBase+uint64(r+1)*d.versionStride, 10)
}

type taskSpec struct {
	id       string // Airflow task_id
	name     string // job name: dag_id.task_id
	upstream int    // index in the DAG of the task whose output is the primary input, or -1
	inputs   []int  // dataset indices; the first is the primary input
	output   int
	job      []byte // the job object
	lineage  []byte // `,"columnLineage":{…}`, appended to the output's facets
	airflow  []byte // static members of the task's airflow run facet: "task":{…}
}

type dagSpec struct {
	index      int
	namespace  string
	name       string
	chain      bool
	owner      string
	schedule   string
	tasks      []taskSpec
	job        []byte // the DAG's job object
	dagInfo    []byte // `"dag":{…}` member of the airflowDagRun facet
	parentJob  []byte // `"job":{"namespace":…,"name":…}` as in parent facets
	operatorOf []string
}

type modelSpec struct {
	index        int
	namespace    string
	name         string
	inputs       []int
	output       int
	experimentID int
	repoURL      string
	gitSHA       string
	job          []byte
}

type plan struct {
	cfg      Config
	rounds   int
	datasets []*datasetSpec
	sources  []int // indices of source datasets, in creation order
	outputs  []int // task outputs of DAGs already planned
	dags     []*dagSpec
	models   []*modelSpec
	nodes    NodeCounts
	events   int
	// roundEvents[r] is the number of events of round r; nominal times
	// derive from it.
	roundEvents []int
	// roundStart[r] is the index of the first event of round r.
	roundStart []int
}

// Vocabulary for names and columns.
var (
	domains   = []string{"payments", "orders", "customers", "marketing", "risk", "logistics", "inventory", "fraud", "support", "billing", "ads", "search"}
	entities  = []string{"transactions", "events", "sessions", "accounts", "invoices", "clicks", "shipments", "refunds", "devices", "merchants", "users", "products"}
	stages    = []string{"stg", "clean", "dedup", "enriched", "joined", "agg_daily", "features", "scored", "snapshot", "mart"}
	verbs     = []string{"extract", "clean", "dedup", "enrich", "join", "aggregate", "score", "validate", "transform", "load", "snapshot", "publish"}
	owners    = []string{"data-eng", "analytics", "ml-platform", "risk-team", "growth"}
	schedules = []string{"@hourly", "@daily", "0 */6 * * *", "30 2 * * *"}
	products  = []string{"risk", "fraud", "churn", "ranking", "pricing", "forecast"}
	modelKind = []string{"default", "scoring", "classifier", "ranker", "regressor"}
	errorMsgs = []string{
		"psycopg2.errors.SerializationFailure: could not serialize access due to concurrent update",
		"org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage 7.0 failed 4 times",
		"airflow.exceptions.AirflowTaskTimeout: Timeout, PID: 48213",
		"botocore.exceptions.ClientError: An error occurred (SlowDown) when calling the PutObject operation",
		"RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB",
	}
	baseFields = []fieldSpec{
		{"id", "BIGINT"}, {"customer_id", "BIGINT"}, {"account_id", "BIGINT"}, {"order_id", "BIGINT"},
		{"merchant_id", "BIGINT"}, {"device_id", "VARCHAR"}, {"session_id", "VARCHAR"}, {"amount", "DECIMAL(18,2)"},
		{"currency", "CHAR(3)"}, {"country", "VARCHAR"}, {"status", "VARCHAR"}, {"event_type", "VARCHAR"},
		{"channel", "VARCHAR"}, {"quantity", "INTEGER"}, {"price", "DECIMAL(18,2)"}, {"email_hash", "VARCHAR"},
		{"ip_address", "VARCHAR"}, {"created_at", "TIMESTAMP"}, {"updated_at", "TIMESTAMP"}, {"event_ts", "TIMESTAMP"},
	}
	derivedFields = []fieldSpec{
		{"amount_7d_sum", "DECIMAL(18,2)"}, {"txn_count_30d", "BIGINT"}, {"risk_score", "DOUBLE"}, {"is_active", "BOOLEAN"},
		{"ds", "DATE"}, {"row_hash", "VARCHAR"}, {"label", "BOOLEAN"}, {"avg_basket", "DOUBLE"},
	}
)

// newPlan builds the plan for cfg: DAGs (and the sources and models that
// grow with them) are added until the projected node count reaches the
// target.
func newPlan(cfg Config) *plan {
	cfg = cfg.withDefaults()
	p := &plan{cfg: cfg, rounds: roundsFor(cfg.Nodes)}
	p.roundEvents = make([]int, p.rounds)
	rng := rand.New(rand.NewPCG(cfg.Seed, streamPlan))
	for d := 0; d == 0 || p.nodes.Total() < cfg.Nodes; d++ {
		if d%sourceEvery == 0 {
			p.addSource(rng)
		}
		p.addDAG(rng, d)
		if d%modelEvery == 0 {
			p.addModel(rng)
		}
	}
	p.roundStart = make([]int, p.rounds+1)
	for r, n := range p.roundEvents {
		p.roundStart[r+1] = p.roundStart[r] + n
		p.events += n
	}
	return p
}

func (p *plan) shape() Shape {
	s := Shape{Target: p.cfg.Nodes, Rounds: p.rounds, DAGs: len(p.dags), Models: len(p.models), Events: p.events, Nodes: p.nodes}
	for _, d := range p.dags {
		if d.chain {
			s.Chains++
		}
		s.Tasks += len(d.tasks)
	}
	for _, i := range p.sources {
		if p.datasets[i].used {
			s.Sources++
		}
	}
	return s
}

// nominalStart is the nominal (schedule) time of round r: the eventTime of
// its first event.
func (p *plan) nominalStart(r int) time.Time {
	return p.cfg.Start.Add(time.Duration(p.roundStart[r]) * p.cfg.Step)
}

// decide is a deterministic per-(kind, a, b) coin with the given odds in
// a thousand.
func (p *plan) decide(kind, a, b uint64, permille uint64) bool {
	return p.hash(kind, a, b)%1000 < permille
}

func (p *plan) hash(kind, a, b uint64) uint64 {
	h := splitmix(p.cfg.Seed ^ 0x9e3779b97f4a7c15)
	h = splitmix(h ^ kind)
	h = splitmix(h ^ a)
	return splitmix(h ^ b)
}

// splitmix is the SplitMix64 finalizer: a cheap, well-mixed 64-bit hash.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// use marks dataset i as named by some event, counting its nodes once.
func (p *plan) use(i int) {
	d := p.datasets[i]
	if d.used {
		return
	}
	d.used = true
	p.nodes.Datasets++
	p.nodes.Fields += len(d.fields)
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// pickFields returns n distinct fields of from, in a random order.
func pickFields(rng *rand.Rand, from []fieldSpec, n int) []fieldSpec {
	idx := rng.Perm(len(from))
	n = min(n, len(from))
	out := make([]fieldSpec, 0, n)
	for _, i := range idx[:n] {
		out = append(out, from[i])
	}
	return out
}

func (p *plan) newDataset(rng *rand.Rand, kind datasetKind, namespace, name string, fields []fieldSpec) int {
	d := &datasetSpec{namespace: namespace, name: name, kind: kind, fields: fields}
	switch kind {
	case kindLake: // Iceberg-like 16-digit snapshot ids
		d.versionBase = 1_000_000_000_000_000 + rng.Uint64N(8_000_000_000_000_000)
		d.versionStride = 1_000 + rng.Uint64N(99_000)
	case kindKafka: // end offsets
		d.versionBase = rng.Uint64N(1_000_000_000)
		d.versionStride = 50_000 + rng.Uint64N(500_000)
	case kindPostgres, kindMart: // transaction ids
		d.versionBase = 100_000 + rng.Uint64N(10_000_000)
		d.versionStride = 100 + rng.Uint64N(10_000)
	case kindModel: // registry version numbers 1, 2, …
		d.versionStride = 1
	}
	d.head = renderDatasetHead(d)
	p.datasets = append(p.datasets, d)
	return len(p.datasets) - 1
}

func (p *plan) addSource(rng *rand.Rand) {
	n := len(p.sources)
	dom, ent := pick(rng, domains), pick(rng, entities)
	fields := pickFields(rng, baseFields, minFields+rng.IntN(maxFields-minFields+1))
	var i int
	if n%2 == 0 {
		ns := fmt.Sprintf("kafka://broker-%d.kafka.internal:9092", n%3+1)
		i = p.newDataset(rng, kindKafka, ns, fmt.Sprintf("%s.%s.v%d", dom, ent, n+1), fields)
	} else {
		ns := fmt.Sprintf("postgres://pg-%d.db.internal:5432", n%4+1)
		i = p.newDataset(rng, kindPostgres, ns, fmt.Sprintf("%sdb.public.%s_%d", dom, ent, n+1), fields)
	}
	p.sources = append(p.sources, i)
}

// pickSource prefers the newest source half of the time, so every source
// gets read.
func (p *plan) pickSource(rng *rand.Rand) int {
	if rng.IntN(2) == 0 {
		return p.sources[len(p.sources)-1]
	}
	return pick(rng, p.sources)
}

func (p *plan) addDAG(rng *rand.Rand, d int) {
	dag := &dagSpec{
		index:     d,
		namespace: fmt.Sprintf("airflow://scheduler-%d", d%3+1),
		chain:     d%chainEvery == 0,
		owner:     pick(rng, owners),
		schedule:  pick(rng, schedules),
	}
	dom := pick(rng, domains)
	nTasks := minTasks + rng.IntN(maxTasks-minTasks+1)
	if dag.chain {
		nTasks = chainLength
		dag.name = fmt.Sprintf("dag_%s_pipeline_%d", dom, d)
	} else {
		dag.name = fmt.Sprintf("dag_%s_%s_%d", dom, pick(rng, []string{"daily", "hourly", "sync", "etl", "refresh"}), d)
	}
	dag.job = renderJob(dag.namespace, dag.name, "DAG", "", "")
	dag.parentJob = renderParentJob(dag.namespace, dag.name)

	firstOutput := len(p.datasets)
	for k := range nTasks {
		var inputs []int
		switch {
		case k == 0:
			inputs = append(inputs, p.pickSource(rng))
		case dag.chain || rng.IntN(2) == 0:
			inputs = append(inputs, firstOutput+k-1)
		default:
			inputs = append(inputs, firstOutput+rng.IntN(k))
		}
		// Chain tasks read nothing else, so that no shortcut reaches into
		// the chain and a breadth-first query from its head goes one level
		// deeper per task.
		if !dag.chain && rng.IntN(100) < sideInputPercent {
			var side int
			if len(p.outputs) > 0 && rng.IntN(2) == 0 {
				side = pick(rng, p.outputs)
			} else {
				side = p.pickSource(rng)
			}
			if side != inputs[0] {
				inputs = append(inputs, side)
			}
		}
		ent := pick(rng, entities)
		stage := stages[min(k*len(stages)/nTasks, len(stages)-1)]
		fields := outputFields(rng, p.datasets[inputs[0]].fields)
		var out int
		if k == nTasks-1 && !dag.chain && rng.IntN(2) == 0 {
			out = p.newDataset(rng, kindMart, "postgres://analytics.db.internal:5432",
				fmt.Sprintf("analytics.%s.%s_%s_%d_%d", dom, stage, ent, d, k), fields)
		} else {
			zone := []string{"bronze", "silver", "gold"}[min(3*k/nTasks, 2)]
			out = p.newDataset(rng, kindLake, "s3://lake-"+zone,
				fmt.Sprintf("warehouse/%s/%s_%s_%d_%d", dom, stage, ent, d, k), fields)
		}
		task := taskSpec{
			id:       fmt.Sprintf("%s_%s_%d", pick(rng, verbs), ent, k),
			upstream: -1,
			inputs:   inputs,
			output:   out,
		}
		if inputs[0] >= firstOutput {
			task.upstream = inputs[0] - firstOutput
		}
		task.name = dag.name + "." + task.id
		operator := "SQLExecuteQueryOperator"
		if p.datasets[out].kind == kindLake {
			operator = "SparkSqlOperator"
		}
		dag.operatorOf = append(dag.operatorOf, operator)
		task.job = renderJob(dag.namespace, task.name, "TASK", p.sqlFor(task), dialectOf(p.datasets[out].kind))
		task.lineage = p.renderColumnLineage(rng, task)
		task.airflow = renderAirflowTask(task.id, operator)
		dag.tasks = append(dag.tasks, task)
	}
	dag.dagInfo = renderDagInfo(dag)
	p.dags = append(p.dags, dag)

	// Count what this DAG adds. Every dataset it names is used.
	p.nodes.Jobs += 1 + nTasks
	for _, t := range dag.tasks {
		for _, in := range t.inputs {
			if !p.datasets[in].used {
				p.use(in)
				p.nodes.DatasetVersions += p.rounds // one version per round
			}
		}
		p.use(t.output)
		p.nodes.DatasetVersions += p.rounds
	}
	for r := range p.rounds {
		fails := 0
		for k := range dag.tasks {
			if p.decide(decideTaskFail, uint64(d)<<8|uint64(k), uint64(r), taskFailPermille) {
				fails++
			}
		}
		p.nodes.Runs += 1 + nTasks + fails
		// START (and FAIL) outputs carry no version facet: the projection
		// records one "run-<runId>" version per writing run.
		p.nodes.DatasetVersions += nTasks + fails
		p.roundEvents[r] += 2 + 2*nTasks + 2*fails
	}
	for _, t := range dag.tasks {
		p.outputs = append(p.outputs, t.output)
	}
}

// outputFields derives an output schema from the primary input's: most
// columns carried over, one or two computed.
func outputFields(rng *rand.Rand, in []fieldSpec) []fieldSpec {
	n := minFields + rng.IntN(maxFields-minFields+1)
	derived := 1 + rng.IntN(2)
	out := pickFields(rng, in, n-derived)
	for _, f := range pickFields(rng, derivedFields, derived) {
		if !hasField(out, f.name) {
			out = append(out, f)
		}
	}
	return out
}

func hasField(fs []fieldSpec, name string) bool {
	for _, f := range fs {
		if f.name == name {
			return true
		}
	}
	return false
}

func (p *plan) addModel(rng *rand.Rand) {
	m := len(p.models)
	spec := &modelSpec{
		index:        m,
		namespace:    "mlflow://mlflow.ml.internal",
		experimentID: 100 + m,
		repoURL:      fmt.Sprintf("https://git.internal/ml/%s-models.git", pick(rng, products)),
	}
	if m%4 == 3 {
		spec.namespace = "training"
	}
	var sha [20]byte
	for i := range sha {
		sha[i] = byte(rng.UintN(256))
	}
	spec.gitSHA = fmt.Sprintf("%x", sha)
	product := pick(rng, products)
	spec.name = fmt.Sprintf("%s-%s_v%d", product, pick(rng, modelKind), m+1)
	// The newest chain's tail, so that chain lineage reaches a model, and
	// one or two other outputs.
	for i := len(p.dags) - 1; i >= 0; i-- {
		if p.dags[i].chain {
			spec.inputs = append(spec.inputs, p.dags[i].tasks[len(p.dags[i].tasks)-1].output)
			break
		}
	}
	for range 1 + rng.IntN(2) {
		in := pick(rng, p.outputs)
		if !containsInt(spec.inputs, in) {
			spec.inputs = append(spec.inputs, in)
		}
	}
	spec.output = p.newDataset(rng, kindModel, "s3://ml-models", "models/"+product+"/"+spec.name, nil)
	spec.job = renderJob(spec.namespace, spec.name, "TRAINING", "", "")
	p.models = append(p.models, spec)

	p.nodes.Jobs++
	p.use(spec.output)
	for r := range p.rounds {
		p.nodes.Runs++
		p.nodes.DatasetVersions++ // the START output's run-<runId> version
		p.roundEvents[r] += 2
		if !p.decide(decideTrainFail, uint64(m), uint64(r), trainFailPermille) {
			p.nodes.DatasetVersions++
		}
		if p.decide(decideZ1, uint64(m), uint64(r), z1Permille) {
			p.nodes.Correlations++
		}
	}
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func dialectOf(k datasetKind) string {
	if k == kindLake {
		return "spark"
	}
	return "postgres"
}

// tableName is how SQL names a dataset.
func tableName(d *datasetSpec) string {
	if d.kind == kindLake {
		return strings.ReplaceAll(d.name, "/", ".")
	}
	return d.name
}

func (p *plan) sqlFor(t taskSpec) string {
	out := p.datasets[t.output]
	in := p.datasets[t.inputs[0]]
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(tableName(out))
	b.WriteString(" SELECT ")
	for i, f := range out.fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.name)
	}
	b.WriteString(" FROM ")
	b.WriteString(tableName(in))
	if len(t.inputs) > 1 {
		b.WriteString(" JOIN ")
		b.WriteString(tableName(p.datasets[t.inputs[1]]))
		b.WriteString(" USING (id)")
	}
	b.WriteString(" WHERE ds = '{{ ds }}'")
	return b.String()
}

// renderDatasetHead renders the static part of a dataset object.
func renderDatasetHead(d *datasetSpec) []byte {
	b := make([]byte, 0, 128+64*len(d.fields))
	b = append(b, '{')
	b = appendStringField(b, "namespace", d.namespace, true)
	b = appendStringField(b, "name", d.name, false)
	b = append(b, `,"facets":{`...)
	if len(d.fields) > 0 {
		b = facetHead(b, "schema", airflowProducer, schemaURLSchema, true)
		b = append(b, `,"fields":[`...)
		for i, f := range d.fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendStringField(b, "name", f.name, true)
			b = appendStringField(b, "type", f.typ, false)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	} else {
		// A model has no columns; its first facet says what it is.
		b = facetHead(b, "datasetType", mlflowProducer, schemaURLDatasetType, true)
		b = appendStringField(b, "datasetType", "MODEL", false)
		b = appendStringField(b, "subType", "mlflow", false)
		b = append(b, '}')
	}
	return b
}

// renderJob renders a job object with its jobType facet and, for SQL
// tasks, its sql facet.
func renderJob(namespace, name, jobType, sql, dialect string) []byte {
	b := make([]byte, 0, 384+len(sql))
	b = append(b, '{')
	b = appendStringField(b, "namespace", namespace, true)
	b = appendStringField(b, "name", name, false)
	b = append(b, `,"facets":{`...)
	producer, integration := airflowProducer, "AIRFLOW"
	if jobType == "TRAINING" {
		producer, integration = mlflowProducer, "MLFLOW"
	}
	b = facetHead(b, "jobType", producer, schemaURLJobType, true)
	b = appendStringField(b, "processingType", "BATCH", false)
	b = appendStringField(b, "integration", integration, false)
	b = appendStringField(b, "jobType", jobType, false)
	b = append(b, '}')
	if sql != "" {
		b = facetHead(b, "sql", producer, schemaURLSQL, false)
		b = appendStringField(b, "query", sql, false)
		b = appendStringField(b, "dialect", dialect, false)
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

func renderParentJob(namespace, name string) []byte {
	b := appendKey(nil, "job", true)
	b = append(b, '{')
	b = appendStringField(b, "namespace", namespace, true)
	b = appendStringField(b, "name", name, false)
	return append(b, '}')
}

// renderColumnLineage maps every output column to the input column(s) it
// comes from: a column of the same name is an identity; a computed one
// aggregates or transforms one or two input columns. The filter and the
// join key are dataset-wide (INDIRECT) dependencies.
func (p *plan) renderColumnLineage(rng *rand.Rand, t taskSpec) []byte {
	out := p.datasets[t.output]
	b := make([]byte, 0, 256+192*len(out.fields))
	b = facetHead(b, "columnLineage", airflowProducer, schemaURLColumns, false)
	b = append(b, `,"fields":{`...)
	for i, f := range out.fields {
		b = appendKey(b, f.name, i == 0)
		b = append(b, `{"inputFields":[`...)
		src, ok := p.findField(t.inputs, f.name)
		if ok {
			b = appendInputField(b, p.datasets[src], f.name, "DIRECT", "IDENTITY", false)
		} else {
			subtype := "TRANSFORMATION"
			if strings.Contains(f.name, "_7d_") || strings.Contains(f.name, "_30d") || strings.HasPrefix(f.name, "avg_") {
				subtype = "AGGREGATION"
			}
			for j := range 1 + rng.IntN(2) {
				in := p.datasets[t.inputs[rng.IntN(len(t.inputs))]]
				if j > 0 {
					b = append(b, ',')
				}
				b = appendInputField(b, in, pick(rng, in.fields).name, "DIRECT", subtype, f.name == "row_hash")
			}
		}
		b = append(b, "]}"...)
	}
	b = append(b, `},"dataset":[`...)
	primary := p.datasets[t.inputs[0]]
	b = appendInputField(b, primary, primary.fields[rng.IntN(len(primary.fields))].name, "INDIRECT", "FILTER", false)
	if len(t.inputs) > 1 {
		b = append(b, ',')
		side := p.datasets[t.inputs[1]]
		b = appendInputField(b, side, side.fields[0].name, "INDIRECT", "JOIN", false)
	}
	return append(b, "]}"...)
}

func (p *plan) findField(inputs []int, name string) (int, bool) {
	for _, i := range inputs {
		if hasField(p.datasets[i].fields, name) {
			return i, true
		}
	}
	return 0, false
}

func appendInputField(b []byte, d *datasetSpec, field, typ, subtype string, masking bool) []byte {
	b = append(b, '{')
	b = appendStringField(b, "namespace", d.namespace, true)
	b = appendStringField(b, "name", d.name, false)
	b = appendStringField(b, "field", field, false)
	b = append(b, `,"transformations":[{`...)
	b = appendStringField(b, "type", typ, true)
	b = appendStringField(b, "subtype", subtype, false)
	if masking {
		b = appendBoolField(b, "masking", true, false)
	}
	return append(b, "}]}"...)
}

func renderAirflowTask(taskID, operator string) []byte {
	b := appendKey(nil, "task", true)
	b = append(b, '{')
	b = appendStringField(b, "task_id", taskID, true)
	b = appendStringField(b, "operator_class", operator, false)
	b = appendIntField(b, "retries", 2, false)
	return append(b, '}')
}

func renderDagInfo(dag *dagSpec) []byte {
	b := appendKey(nil, "dag", true)
	b = append(b, '{')
	b = appendStringField(b, "dag_id", dag.name, true)
	b = appendStringField(b, "owner", dag.owner, false)
	b = appendStringField(b, "schedule_interval", dag.schedule, false)
	b = appendStringField(b, "fileloc", "/opt/airflow/dags/"+dag.name+".py", false)
	b = append(b, `,"tags":["synthetic"]`...)
	b = append(b, `,"tasks":[`...)
	for i, t := range dag.tasks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendStringField(b, "task_id", t.id, true)
		b = appendStringField(b, "operator_class", dag.operatorOf[i], false)
		if t.upstream >= 0 {
			b = append(b, `,"upstream_task_ids":[`...)
			b = appendString(b, dag.tasks[t.upstream].id)
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
