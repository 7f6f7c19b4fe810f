package openlineage

import (
	"encoding/json"

	"github.com/redthread/redthread/graph"
)

// Kind is the kind of an OpenLineage event. Decode decides it from the
// event's structure, not from its schemaURL.
type Kind string

// The three event kinds of spec 2-0-2. Their string values are the
// graph.Record.Kind the ingest pipeline logs.
const (
	KindRunEvent     Kind = "RunEvent"
	KindDatasetEvent Kind = "DatasetEvent"
	KindJobEvent     Kind = "JobEvent"
)

// EventType is a RunEvent's transition of the run state.
type EventType string

// The eventType values of spec 2-0-2.
const (
	EventStart    EventType = "START"
	EventRunning  EventType = "RUNNING"
	EventComplete EventType = "COMPLETE"
	EventAbort    EventType = "ABORT"
	EventFail     EventType = "FAIL"
	EventOther    EventType = "OTHER"
)

// Terminal reports whether t ends a run (COMPLETE, FAIL or ABORT).
func (t EventType) Terminal() bool {
	return t == EventComplete || t == EventFail || t == EventAbort
}

// BaseEvent holds the fields every event kind has.
type BaseEvent struct {
	EventTime string `json:"eventTime"`
	Producer  string `json:"producer"`
	SchemaURL string `json:"schemaURL"`
}

// RunEvent reports a transition in the life of a run of a job.
type RunEvent struct {
	BaseEvent
	EventType EventType       `json:"eventType,omitempty"`
	Run       Run             `json:"run"`
	Job       Job             `json:"job"`
	Inputs    []InputDataset  `json:"inputs,omitempty"`
	Outputs   []OutputDataset `json:"outputs,omitempty"`
}

// DatasetEvent carries static metadata about one dataset, outside any run.
type DatasetEvent struct {
	BaseEvent
	Dataset Dataset `json:"dataset"`
}

// JobEvent carries static (design-time) metadata about a job, outside any run.
type JobEvent struct {
	BaseEvent
	Job     Job             `json:"job"`
	Inputs  []InputDataset  `json:"inputs,omitempty"`
	Outputs []OutputDataset `json:"outputs,omitempty"`
}

// Run identifies one execution of a job.
type Run struct {
	RunID  string    `json:"runId"`
	Facets RunFacets `json:"facets,omitzero"`
}

// Job identifies a job by namespace and name.
type Job struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Facets    JobFacets `json:"facets,omitzero"`
}

// Dataset identifies a dataset by namespace and name (OpenLineage naming).
type Dataset struct {
	Namespace string        `json:"namespace"`
	Name      string        `json:"name"`
	Facets    DatasetFacets `json:"facets,omitzero"`
}

// InputDataset is a dataset a run (or job) reads.
type InputDataset struct {
	Dataset
	InputFacets InputDatasetFacets `json:"inputFacets,omitzero"`
}

// OutputDataset is a dataset a run (or job) writes.
type OutputDataset struct {
	Dataset
	OutputFacets OutputDatasetFacets `json:"outputFacets,omitzero"`
}

// Facet containers. Each keeps every facet of the event verbatim in Raw, by
// facet name, known and custom alike, so nothing is lost; the facets
// Redthread maps are also decoded into the typed fields. A typed field is
// nil when the facet is absent or did not decode (Decode then records a
// warning). They marshal as Raw. The decoded schema and column lineage
// facets are shared by every event that sends the same text: read them,
// never modify them.

// RunFacets are the facets of a run.
type RunFacets struct {
	Parent       *ParentRunFacet       `json:"-"`
	NominalTime  *NominalTimeRunFacet  `json:"-"`
	ErrorMessage *ErrorMessageRunFacet `json:"-"`
	Tags         *TagsFacet            `json:"-"`
	Raw          graph.Facets          `json:"-"`
}

// JobFacets are the facets of a job.
type JobFacets struct {
	JobType            *JobTypeJobFacet            `json:"-"`
	SourceCodeLocation *SourceCodeLocationJobFacet `json:"-"`
	SQL                *SQLJobFacet                `json:"-"`
	Ownership          *OwnershipFacet             `json:"-"`
	Documentation      *DocumentationFacet         `json:"-"`
	Raw                graph.Facets                `json:"-"`
}

// DatasetFacets are the facets of a dataset.
type DatasetFacets struct {
	Schema               *SchemaDatasetFacet               `json:"-"`
	DataSource           *DatasourceDatasetFacet           `json:"-"`
	ColumnLineage        *ColumnLineageDatasetFacet        `json:"-"`
	Version              *DatasetVersionDatasetFacet       `json:"-"`
	Symlinks             *SymlinksDatasetFacet             `json:"-"`
	LifecycleStateChange *LifecycleStateChangeDatasetFacet `json:"-"`
	DatasetType          *DatasetTypeDatasetFacet          `json:"-"`
	Storage              *StorageDatasetFacet              `json:"-"`
	Ownership            *OwnershipFacet                   `json:"-"`
	Documentation        *DocumentationFacet               `json:"-"`
	DataQualityMetrics   *DataQualityMetricsFacet          `json:"-"`
	Raw                  graph.Facets                      `json:"-"`
}

// InputDatasetFacets are the facets of a dataset as a run read it.
type InputDatasetFacets struct {
	InputStatistics    *StatisticsFacet         `json:"-"`
	DataQualityMetrics *DataQualityMetricsFacet `json:"-"`
	Raw                graph.Facets             `json:"-"`
}

// OutputDatasetFacets are the facets of a dataset as a run wrote it.
type OutputDatasetFacets struct {
	OutputStatistics *StatisticsFacet `json:"-"`
	Raw              graph.Facets     `json:"-"`
}

// MarshalJSON writes the facets verbatim.
func (f RunFacets) MarshalJSON() ([]byte, error) { return marshalRaw(f.Raw) }

// MarshalJSON writes the facets verbatim.
func (f JobFacets) MarshalJSON() ([]byte, error) { return marshalRaw(f.Raw) }

// MarshalJSON writes the facets verbatim.
func (f DatasetFacets) MarshalJSON() ([]byte, error) { return marshalRaw(f.Raw) }

// MarshalJSON writes the facets verbatim.
func (f InputDatasetFacets) MarshalJSON() ([]byte, error) { return marshalRaw(f.Raw) }

// MarshalJSON writes the facets verbatim.
func (f OutputDatasetFacets) MarshalJSON() ([]byte, error) { return marshalRaw(f.Raw) }

// UnmarshalJSON keeps every facet raw and decodes the known ones; a known
// facet that does not decode is left nil (Decode reports it as a warning).
func (f *RunFacets) UnmarshalJSON(b []byte) error {
	raw, err := unmarshalRaw(b)
	if err != nil {
		return err
	}
	*f = decodeRunFacets(raw, "facets", nil)
	return nil
}

// UnmarshalJSON keeps every facet raw and decodes the known ones.
func (f *JobFacets) UnmarshalJSON(b []byte) error {
	raw, err := unmarshalRaw(b)
	if err != nil {
		return err
	}
	*f = decodeJobFacets(raw, "facets", nil)
	return nil
}

// UnmarshalJSON keeps every facet raw and decodes the known ones.
func (f *DatasetFacets) UnmarshalJSON(b []byte) error {
	raw, err := unmarshalRaw(b)
	if err != nil {
		return err
	}
	*f = decodeDatasetFacets(raw, "facets", nil)
	return nil
}

// UnmarshalJSON keeps every facet raw and decodes the known ones.
func (f *InputDatasetFacets) UnmarshalJSON(b []byte) error {
	raw, err := unmarshalRaw(b)
	if err != nil {
		return err
	}
	*f = decodeInputFacets(raw, "inputFacets", nil)
	return nil
}

// UnmarshalJSON keeps every facet raw and decodes the known ones.
func (f *OutputDatasetFacets) UnmarshalJSON(b []byte) error {
	raw, err := unmarshalRaw(b)
	if err != nil {
		return err
	}
	*f = decodeOutputFacets(raw, "outputFacets", nil)
	return nil
}

func marshalRaw(raw graph.Facets) ([]byte, error) {
	if raw == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(raw)
}

func unmarshalRaw(b []byte) (graph.Facets, error) {
	var raw graph.Facets
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// BaseFacet holds the fields every facet has.
type BaseFacet struct {
	Producer  string `json:"_producer,omitempty"`
	SchemaURL string `json:"_schemaURL,omitempty"`
	// Deleted asks a consumer to delete the facet (job and dataset facets).
	Deleted bool `json:"_deleted,omitempty"`
}

// ParentRunFacet names the run (and job) that spawned this run, for example
// the DAG run that scheduled a task, and optionally the root of the tree.
type ParentRunFacet struct {
	BaseFacet
	Run  ParentRun   `json:"run"`
	Job  ParentJob   `json:"job"`
	Root *ParentRoot `json:"root,omitempty"`
}

// ParentRun identifies a parent (or root) run.
type ParentRun struct {
	RunID string `json:"runId"`
}

// ParentJob identifies a parent (or root) job.
type ParentJob struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// ParentRoot identifies the root run and job of a run tree.
type ParentRoot struct {
	Run ParentRun `json:"run"`
	Job ParentJob `json:"job"`
}

// NominalTimeRunFacet is the scheduled time window of a run.
type NominalTimeRunFacet struct {
	BaseFacet
	NominalStartTime string `json:"nominalStartTime"`
	NominalEndTime   string `json:"nominalEndTime,omitempty"`
}

// ErrorMessageRunFacet is the error a failed run reported.
type ErrorMessageRunFacet struct {
	BaseFacet
	Message             string `json:"message"`
	ProgrammingLanguage string `json:"programmingLanguage"`
	StackTrace          string `json:"stackTrace,omitempty"`
}

// TagsFacet is a list of key/value tags (run, job and dataset tags facets).
type TagsFacet struct {
	BaseFacet
	Tags []Tag `json:"tags"`
}

// Tag is one entry of a tags facet.
type Tag struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source,omitempty"`
	Field  string `json:"field,omitempty"`
}

// JobTypeJobFacet says what kind of job this is.
type JobTypeJobFacet struct {
	BaseFacet
	ProcessingType string `json:"processingType"`
	Integration    string `json:"integration"`
	JobType        string `json:"jobType,omitempty"`
}

// SourceCodeLocationJobFacet says where the job's code lives and which
// version of it ran.
type SourceCodeLocationJobFacet struct {
	BaseFacet
	Type              string `json:"type"`
	URL               string `json:"url"`
	RepoURL           string `json:"repoUrl,omitempty"`
	Path              string `json:"path,omitempty"`
	Version           string `json:"version,omitempty"`
	Tag               string `json:"tag,omitempty"`
	Branch            string `json:"branch,omitempty"`
	PullRequestNumber string `json:"pullRequestNumber,omitempty"`
}

// SQLJobFacet is the SQL a job runs.
type SQLJobFacet struct {
	BaseFacet
	Query   string `json:"query"`
	Dialect string `json:"dialect,omitempty"`
}

// OwnershipFacet lists the owners of a job or dataset.
type OwnershipFacet struct {
	BaseFacet
	Owners []Owner `json:"owners"`
}

// Owner is one owner, named preferably as a URN ("team:data").
type Owner struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// DocumentationFacet describes a job or dataset.
type DocumentationFacet struct {
	BaseFacet
	Description string `json:"description"`
	ContentType string `json:"contentType,omitempty"`
}

// SchemaDatasetFacet is the schema of a dataset.
type SchemaDatasetFacet struct {
	BaseFacet
	Fields []SchemaField `json:"fields"`
}

// SchemaField is one field of a schema; struct fields nest.
type SchemaField struct {
	Name            string        `json:"name"`
	Type            string        `json:"type,omitempty"`
	Description     string        `json:"description,omitempty"`
	OrdinalPosition *int64        `json:"ordinal_position,omitempty"`
	Fields          []SchemaField `json:"fields,omitempty"`
}

// DatasourceDatasetFacet names the data source a dataset lives in.
type DatasourceDatasetFacet struct {
	BaseFacet
	Name string `json:"name,omitempty"`
	URI  string `json:"uri,omitempty"`
}

// ColumnLineageDatasetFacet maps each output field to the input fields it
// is computed from; Dataset lists input fields that affect the whole
// dataset (filters, joins, grouping).
type ColumnLineageDatasetFacet struct {
	BaseFacet
	Fields  map[string]ColumnLineageField `json:"fields"`
	Dataset []InputField                  `json:"dataset,omitempty"`
}

// ColumnLineageField is the lineage of one output field.
type ColumnLineageField struct {
	InputFields []InputField `json:"inputFields"`
	// Deprecated in the spec in favour of per-input transformations.
	TransformationDescription string `json:"transformationDescription,omitempty"`
	// Deprecated in the spec in favour of per-input transformations.
	TransformationType string `json:"transformationType,omitempty"`
}

// InputField is one input field an output field depends on.
type InputField struct {
	Namespace       string           `json:"namespace"`
	Name            string           `json:"name"`
	Field           string           `json:"field"`
	Transformations []Transformation `json:"transformations,omitempty"`
}

// Transformation says how an input field becomes (part of) an output field.
type Transformation struct {
	Type        string `json:"type"`
	Subtype     string `json:"subtype,omitempty"`
	Description string `json:"description,omitempty"`
	Masking     bool   `json:"masking,omitempty"`
}

// DatasetVersionDatasetFacet is the version (snapshot) of a dataset.
type DatasetVersionDatasetFacet struct {
	BaseFacet
	DatasetVersion string `json:"datasetVersion"`
}

// SymlinksDatasetFacet lists other names of the same dataset (for example
// the metastore table over a storage path).
type SymlinksDatasetFacet struct {
	BaseFacet
	Identifiers []SymlinkIdentifier `json:"identifiers"`
}

// SymlinkIdentifier is one other name of a dataset.
type SymlinkIdentifier struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Type      string `json:"type"`
}

// LifecycleStateChangeDatasetFacet reports a change to the dataset itself
// (CREATE, ALTER, DROP, OVERWRITE, RENAME, TRUNCATE).
type LifecycleStateChangeDatasetFacet struct {
	BaseFacet
	LifecycleStateChange string              `json:"lifecycleStateChange"`
	PreviousIdentifier   *PreviousIdentifier `json:"previousIdentifier,omitempty"`
}

// PreviousIdentifier is the name a renamed dataset had.
type PreviousIdentifier struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// DatasetTypeDatasetFacet says what kind of dataset this is (TABLE, VIEW,
// FILE, TOPIC, …).
type DatasetTypeDatasetFacet struct {
	BaseFacet
	DatasetType string `json:"datasetType"`
	SubType     string `json:"subType,omitempty"`
}

// StorageDatasetFacet says how a dataset is stored.
type StorageDatasetFacet struct {
	BaseFacet
	StorageLayer string `json:"storageLayer"`
	FileFormat   string `json:"fileFormat,omitempty"`
}

// StatisticsFacet is the inputStatistics or outputStatistics facet: how
// much a run read or wrote.
type StatisticsFacet struct {
	BaseFacet
	RowCount  *int64 `json:"rowCount,omitempty"`
	Size      *int64 `json:"size,omitempty"`
	FileCount *int64 `json:"fileCount,omitempty"`
}

// DataQualityMetricsFacet holds data-quality metrics of a dataset (as a
// dataset facet or as an input facet).
type DataQualityMetricsFacet struct {
	BaseFacet
	RowCount      *int64                  `json:"rowCount,omitempty"`
	Bytes         *int64                  `json:"bytes,omitempty"`
	FileCount     *int64                  `json:"fileCount,omitempty"`
	LastUpdated   string                  `json:"lastUpdated,omitempty"`
	ColumnMetrics map[string]ColumnMetric `json:"columnMetrics"`
}

// ColumnMetric holds the metrics of one column.
type ColumnMetric struct {
	NullCount     *int64             `json:"nullCount,omitempty"`
	DistinctCount *int64             `json:"distinctCount,omitempty"`
	Sum           *float64           `json:"sum,omitempty"`
	Count         *float64           `json:"count,omitempty"`
	Min           *float64           `json:"min,omitempty"`
	Max           *float64           `json:"max,omitempty"`
	Quantiles     map[string]float64 `json:"quantiles,omitempty"`
}
