package mlflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// The types below follow the JSON shapes of MLflow's REST API 2.0
// (service.proto, model_registry.proto) as MLflow 3 serves them. Unknown
// fields are ignored; numbers that protobuf's JSON mapping may write as
// strings (int64, NaN, Infinity) are read either way.

// Millis is a time in milliseconds since the Unix epoch. It decodes from a
// JSON number or a JSON string holding one; 0 means unknown.
type Millis int64

// UnmarshalJSON accepts 123, "123" and null.
func (m *Millis) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
		if s == "" {
			*m = 0
			return nil
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxMillis {
			return fmt.Errorf("not a millisecond timestamp: %s", b)
		}
		n = int64(f)
	}
	if n > maxMillis || n < -maxMillis {
		return fmt.Errorf("millisecond timestamp out of range: %s", b)
	}
	*m = Millis(n)
	return nil
}

// maxMillis bounds timestamps to about ±292 million years, far inside
// int64 and time.Time, so no arithmetic on them overflows.
const maxMillis = 1 << 53

// Float is a metric value. It decodes from a JSON number or from the
// strings "NaN", "Infinity" and "-Infinity" that protobuf's JSON mapping
// writes for non-finite doubles.
type Float float64

// UnmarshalJSON accepts numbers, numeric strings and the non-finite names.
func (f *Float) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	switch s {
	case "NaN", "nan":
		*f = Float(math.NaN())
		return nil
	case "Infinity", "inf", "+Infinity":
		*f = Float(math.Inf(1))
		return nil
	case "-Infinity", "-inf":
		*f = Float(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = Float(v)
	return nil
}

// MarshalJSON writes finite values as numbers and the others as the
// protobuf names, so an observation always re-encodes as valid JSON.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// Tag is a key/value pair (experiment, run, model and version tags; run
// params share the shape).
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Experiment is an MLflow experiment.
type Experiment struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location,omitempty"`
	LifecycleStage   string `json:"lifecycle_stage,omitempty"`
	CreationTime     Millis `json:"creation_time,omitempty"`
	LastUpdateTime   Millis `json:"last_update_time,omitempty"`
	Tags             []Tag  `json:"tags,omitempty"`
}

// RunInfo is a run's metadata.
type RunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid,omitempty"` // deprecated alias of run_id
	RunName        string `json:"run_name,omitempty"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id,omitempty"`
	Status         string `json:"status,omitempty"` // RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
	StartTime      Millis `json:"start_time,omitempty"`
	EndTime        Millis `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri,omitempty"`
	LifecycleStage string `json:"lifecycle_stage,omitempty"`
}

// ID returns run_id, or the deprecated run_uuid when run_id is empty.
func (i RunInfo) ID() string {
	if i.RunID != "" {
		return i.RunID
	}
	return i.RunUUID
}

// Finished reports whether the run reached a terminal status.
func (i RunInfo) Finished() bool {
	switch i.Status {
	case "FINISHED", "FAILED", "KILLED":
		return true
	}
	return false
}

// Metric is the latest value of a run metric.
type Metric struct {
	Key       string `json:"key"`
	Value     Float  `json:"value"`
	Timestamp Millis `json:"timestamp,omitempty"`
	Step      int64  `json:"step,omitempty"`
}

// RunData holds a run's metrics, params and tags.
type RunData struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Tag    `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// Dataset is an MLflow dataset as logged with a run input. Source is a JSON
// document in a string (e.g. {"uri": "s3://…"}), as MLflow stores it.
type Dataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest,omitempty"`
	SourceType string `json:"source_type,omitempty"`
	Source     string `json:"source,omitempty"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// DatasetInput is one dataset a run read, with its input tags (such as
// mlflow.data.context = training).
type DatasetInput struct {
	Tags    []Tag   `json:"tags,omitempty"`
	Dataset Dataset `json:"dataset"`
}

// ModelRef names an MLflow 3 logged model used or produced by a run.
type ModelRef struct {
	ModelID string `json:"model_id"`
	Step    int64  `json:"step,omitempty"`
}

// RunInputs are a run's dataset and model inputs.
type RunInputs struct {
	DatasetInputs []DatasetInput `json:"dataset_inputs,omitempty"`
	ModelInputs   []ModelRef     `json:"model_inputs,omitempty"`
}

// RunOutputs are a run's outputs (MLflow 3 logged models).
type RunOutputs struct {
	ModelOutputs []ModelRef `json:"model_outputs,omitempty"`
}

// Run is an MLflow run.
type Run struct {
	Info    RunInfo     `json:"info"`
	Data    RunData     `json:"data"`
	Inputs  *RunInputs  `json:"inputs,omitempty"`
	Outputs *RunOutputs `json:"outputs,omitempty"`
}

// FileInfo is one entry of a run's artifact tree.
type FileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir,omitempty"`
	FileSize int64  `json:"file_size,omitempty"`
}

// RegisteredModelAlias points an alias of a registered model at a version.
type RegisteredModelAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// RegisteredModel is a model in the MLflow model registry.
type RegisteredModel struct {
	Name                 string                 `json:"name"`
	CreationTimestamp    Millis                 `json:"creation_timestamp,omitempty"`
	LastUpdatedTimestamp Millis                 `json:"last_updated_timestamp,omitempty"`
	UserID               string                 `json:"user_id,omitempty"`
	Description          string                 `json:"description,omitempty"`
	Tags                 []Tag                  `json:"tags,omitempty"`
	Aliases              []RegisteredModelAlias `json:"aliases,omitempty"`
}

// ModelVersion is one version of a registered model.
type ModelVersion struct {
	Name                 string   `json:"name"`
	Version              string   `json:"version"`
	CreationTimestamp    Millis   `json:"creation_timestamp,omitempty"`
	LastUpdatedTimestamp Millis   `json:"last_updated_timestamp,omitempty"`
	UserID               string   `json:"user_id,omitempty"`
	CurrentStage         string   `json:"current_stage,omitempty"`
	Description          string   `json:"description,omitempty"`
	Source               string   `json:"source,omitempty"`
	RunID                string   `json:"run_id,omitempty"`
	RunLink              string   `json:"run_link,omitempty"`
	Status               string   `json:"status,omitempty"`
	StatusMessage        string   `json:"status_message,omitempty"`
	Tags                 []Tag    `json:"tags,omitempty"`
	Aliases              []string `json:"aliases,omitempty"`
	ModelID              string   `json:"model_id,omitempty"` // MLflow 3: the logged model it registers
}

// LoggedModelInfo is the metadata of an MLflow 3 logged model.
type LoggedModelInfo struct {
	ModelID                string `json:"model_id"`
	ExperimentID           string `json:"experiment_id,omitempty"`
	Name                   string `json:"name,omitempty"`
	CreationTimestampMs    Millis `json:"creation_timestamp_ms,omitempty"`
	LastUpdatedTimestampMs Millis `json:"last_updated_timestamp_ms,omitempty"`
	ArtifactURI            string `json:"artifact_uri,omitempty"`
	Status                 string `json:"status,omitempty"`
	CreatorID              string `json:"creator_id,omitempty"`
	ModelType              string `json:"model_type,omitempty"`
	SourceRunID            string `json:"source_run_id,omitempty"`
	Tags                   []Tag  `json:"tags,omitempty"`
	Params                 []Tag  `json:"params,omitempty"`
}

// LoggedModel is an MLflow 3 logged model.
type LoggedModel struct {
	Info LoggedModelInfo `json:"info"`
	Data *struct {
		Params  []Tag    `json:"params,omitempty"`
		Metrics []Metric `json:"metrics,omitempty"`
	} `json:"data,omitempty"`
}
