package mlflow

import "strings"

// An Observation is what Redthread saw of one MLflow object at one time.
// It is the body of an event-log record whose source is "mlflow/<channel>"
// ("mlflow/sync", "mlflow/poll"), and the graph is projected from it. Its
// JSON carries only what MLflow returned plus what Redthread derived from
// it, never the time of observation, so seeing the same state twice yields
// the same bytes and the log keeps it once.
type Observation struct {
	// Format is always ObservationFormat; it tells an observation from any
	// other JSON.
	Format string `json:"redthread_mlflow"`
	// Kind is one of the Kind* constants.
	Kind string `json:"kind"`
	// TrackingURI is the MLflow server, e.g. "http://127.0.0.1:5000". It
	// names the job namespace and model registry of every key built from
	// the observation.
	TrackingURI string `json:"tracking_uri"`

	// KindRun:
	Experiment *Experiment   `json:"experiment,omitempty"`
	Run        *Run          `json:"run,omitempty"`
	Artifacts  []FileInfo    `json:"artifacts,omitempty"` // the whole tree, walked recursively, sorted by path
	Checksums  []Checksum    `json:"checksums,omitempty"` // sha256 of artifacts, sorted by path
	Models     []LoggedModel `json:"logged_models,omitempty"`

	// KindModelVersion:
	ModelVersion *ModelVersion `json:"model_version,omitempty"`
	// OpenLineageRunID is set on a model version whose run carries the
	// tag openlineage.run_id: the run is keyed by that id, and so is the
	// REGISTERED_AS edge. The syncer fills it in.
	OpenLineageRunID string `json:"openlineage_run_id,omitempty"`
	// KindRegisteredModel:
	RegisteredModel *RegisteredModel `json:"registered_model,omitempty"`

	// Supersedes is set when this observation changes an object already
	// observed. The observer fills it in; a client never sends it.
	Supersedes *Supersedes `json:"supersedes,omitempty"`
}

// ObservationFormat is the value of Observation.Format.
const ObservationFormat = "observation/v1"

// Observation kinds.
const (
	KindRun             = "run"
	KindModelVersion    = "model_version"
	KindRegisteredModel = "registered_model"
)

// Checksum is the sha256 of one artifact, and where it came from.
type Checksum struct {
	Path   string `json:"path"`   // artifact path relative to the run's artifact root
	SHA256 string `json:"sha256"` // lowercase hex
	// From is "checksums.json" when the run's own checksums file gave it,
	// or "download" when Redthread hashed the file itself.
	From string `json:"from"`
}

// Supersedes links an observation to the earlier one of the same object.
type Supersedes struct {
	SHA256 string `json:"sha256"` // sha256 of the earlier observation's log record
	Offset int64  `json:"offset"` // its log offset
	// AfterFinish is true when the earlier observation already showed the
	// run finished: MLflow records are immutable once a run ends (seed
	// principle), so the change is kept as a new observation and flagged,
	// and the values first observed are not overwritten.
	AfterFinish bool     `json:"after_finish,omitempty"`
	Changes     []Change `json:"changes,omitempty"`
}

// Change is one field that differs between two observations of a run.
type Change struct {
	Field  string  `json:"field"` // e.g. "tags.prov.git_sha", "metrics.auc", "artifacts.model/model.onnx"
	Before *string `json:"before"`
	After  *string `json:"after"`
}

// Namespace returns the job namespace and model registry name of an MLflow
// server: "mlflow://" followed by the tracking URI's host, port and path,
// e.g. "mlflow://mlflow.example.com:5000" for
// "https://mlflow.example.com:5000/". Scheme, credentials, query and a
// trailing slash are left out, so http and https URIs of one server meet.
func Namespace(trackingURI string) string {
	s := trackingURI
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		if j := strings.IndexByte(s, '/'); j < 0 || i < j {
			s = s[i+1:]
		}
	}
	s = strings.TrimRight(s, "/")
	return "mlflow://" + strings.ToLower(s)
}
