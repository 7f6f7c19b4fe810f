package openlineage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redthread/redthread/graph"
)

// Event is one decoded OpenLineage event. Exactly one of RunEvent,
// DatasetEvent and JobEvent is set, as Kind says. Warnings lists what
// Decode accepted although the spec does not allow it, each entry starting
// with the JSON path of the field it is about.
type Event struct {
	RunEvent     *RunEvent
	DatasetEvent *DatasetEvent
	JobEvent     *JobEvent
	Warnings     []string

	kind          Kind
	time          time.Time
	correlationID string
}

// wire types: the shape Decode reads in one pass. Facets stay raw here and
// are decoded afterwards, so that a facet of the wrong shape is a warning
// naming its path rather than an error.
type wireEvent struct {
	EventTime string        `json:"eventTime"`
	Producer  string        `json:"producer"`
	SchemaURL string        `json:"schemaURL"`
	EventType string        `json:"eventType"`
	Run       *wireRun      `json:"run"`
	Job       *wireJob      `json:"job"`
	Dataset   *wireDataset  `json:"dataset"`
	Inputs    []wireDataset `json:"inputs"`
	Outputs   []wireDataset `json:"outputs"`
}

type wireRun struct {
	RunID  string       `json:"runId"`
	Facets graph.Facets `json:"facets"`
}

type wireJob struct {
	Namespace string       `json:"namespace"`
	Name      string       `json:"name"`
	Facets    graph.Facets `json:"facets"`
}

type wireDataset struct {
	Namespace    string       `json:"namespace"`
	Name         string       `json:"name"`
	Facets       graph.Facets `json:"facets"`
	InputFacets  graph.Facets `json:"inputFacets"`
	OutputFacets graph.Facets `json:"outputFacets"`
}

// MaxWarnings is how many warnings Decode lists; a last entry counts the
// ones left out.
const MaxWarnings = 100

// Decode decodes one OpenLineage event leniently, as Marquez does: it
// accepts, with a warning in Event.Warnings, a missing eventType, producer
// or schemaURL, an eventType in the wrong case, an eventTime without a time
// zone (read as UTC) or with more than nine fraction digits (truncated to
// nanoseconds), a runId that is not a UUID, and facets that are null or not
// of their spec shape (kept raw, not mapped). The kind of event is decided
// from its structure (run → RunEvent, else dataset → DatasetEvent, else job
// → JobEvent); schemaURL is only a hint.
//
// It rejects, with a *graph.Error of code graph.EINVALID whose Field is the
// JSON path of the culprit: a body that is not a JSON object, a known field
// of the wrong JSON type, a missing or unparsable eventTime, an eventType
// outside START RUNNING COMPLETE ABORT FAIL OTHER (in any case), a RunEvent
// without run.runId or job, a job or dataset without namespace or name, and
// an object with none of run, job and dataset.
func Decode(body []byte) (*Event, error) { return decode(body, true) }

// DecodeOwned is Decode for a body the caller hands over: the event keeps
// sub-slices of body (its facets, raw) rather than of a copy, so body must
// never be modified afterwards. The ingest pipeline, which keeps every body
// it accepts for the log anyway, decodes this way and saves the copy.
func DecodeOwned(body []byte) (*Event, error) { return decode(body, false) }

func decode(body []byte, copyBody bool) (*Event, error) {
	first := firstByte(body)
	switch {
	case first == 0:
		return nil, graph.FieldErrorf(graph.EINVALID, "", "empty body: want a JSON object")
	case first != '{':
		if !json.Valid(body) {
			return nil, notJSON(body)
		}
		return nil, graph.FieldErrorf(graph.EINVALID, "", "want a JSON object, got %s", jsonValueKind(first))
	}
	// The fast path reads the body in one pass, facets as sub-slices of it
	// or, unless the caller handed it over, of one copy of it. Whatever it
	// does not take on, errors included, encoding/json decodes from
	// scratch, as it always did.
	var w wireEvent
	wire := body
	if copyBody {
		wire = bytes.Clone(body)
	}
	if scanWire(wire, &w) != nil {
		w = wireEvent{}
		if err := json.Unmarshal(body, &w); err != nil {
			return nil, wireError(body, err)
		}
	}

	ev := &Event{}
	dropped := 0
	warn := warnFunc(func(field, format string, args ...any) {
		if len(ev.Warnings) < MaxWarnings {
			ev.Warnings = append(ev.Warnings, field+": "+fmt.Sprintf(format, args...))
		} else {
			dropped++
		}
	})
	defer func() {
		if dropped > 0 {
			ev.Warnings = append(ev.Warnings, fmt.Sprintf("(event): %d more warnings not listed", dropped))
		}
	}()

	// The kind comes from the structure; schemaURL is only a hint.
	hint := kindFromSchemaURL(w.SchemaURL)
	switch {
	case w.Run != nil:
		ev.kind = KindRunEvent
		if w.Dataset != nil {
			warn("dataset", "ignored on a RunEvent")
		}
	case w.Dataset != nil && w.Job != nil:
		ev.kind = KindDatasetEvent
		if hint == KindJobEvent {
			ev.kind = KindJobEvent
			warn("dataset", "a JobEvent (as schemaURL says) has no dataset; ignored")
		} else {
			warn("job", "a DatasetEvent has no job; ignored")
		}
	case w.Dataset != nil:
		ev.kind = KindDatasetEvent
	case w.Job != nil:
		ev.kind = KindJobEvent
	default:
		return nil, graph.FieldErrorf(graph.EINVALID, "job", "missing: a RunEvent has run and job, a JobEvent job, a DatasetEvent dataset")
	}

	// eventTime is required: every node and edge is stamped with it.
	if w.EventTime == "" {
		return nil, graph.FieldErrorf(graph.EINVALID, "eventTime", "required field is missing")
	}
	t, err := parseTime(w.EventTime, "eventTime", warn)
	if err != nil {
		return nil, err
	}
	ev.time = t

	var et EventType
	if w.EventType != "" {
		norm := strings.ToUpper(strings.TrimSpace(w.EventType))
		switch EventType(norm) {
		case EventStart, EventRunning, EventComplete, EventAbort, EventFail, EventOther:
		default:
			return nil, graph.FieldErrorf(graph.EINVALID, "eventType", "unknown value %q: want one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER", w.EventType)
		}
		et = EventType(norm)
	}

	// Required identities, checked before any facet is looked at.
	if ev.kind == KindRunEvent {
		if w.Run.RunID == "" {
			return nil, graph.FieldErrorf(graph.EINVALID, "run.runId", "required field is missing")
		}
		if w.Job == nil {
			return nil, graph.FieldErrorf(graph.EINVALID, "job", "required field is missing: a RunEvent names its job")
		}
	}
	if ev.kind != KindDatasetEvent {
		if w.Job.Namespace == "" {
			return nil, graph.FieldErrorf(graph.EINVALID, "job.namespace", "required field is missing")
		}
		if w.Job.Name == "" {
			return nil, graph.FieldErrorf(graph.EINVALID, "job.name", "required field is missing")
		}
		for i := range w.Inputs {
			if err := checkDatasetID(&w.Inputs[i], fmt.Sprintf("inputs[%d]", i)); err != nil {
				return nil, err
			}
		}
		for i := range w.Outputs {
			if err := checkDatasetID(&w.Outputs[i], fmt.Sprintf("outputs[%d]", i)); err != nil {
				return nil, err
			}
		}
	} else if err := checkDatasetID(w.Dataset, "dataset"); err != nil {
		return nil, err
	}

	// Accepted from here on; what follows only records warnings.
	if w.Producer == "" {
		warn("producer", "missing")
	}
	if w.SchemaURL == "" {
		warn("schemaURL", "missing")
	} else if hint != "" && hint != ev.kind {
		warn("schemaURL", "names %s but the event's structure is a %s; decoded as %s", hint, ev.kind, ev.kind)
	}
	if w.EventType == "" {
		if ev.kind == KindRunEvent {
			warn("eventType", "missing; the run's state is left as it was")
		}
	} else if ev.kind != KindRunEvent {
		warn("eventType", "ignored on a %s", ev.kind)
	} else if string(et) != w.EventType {
		warn("eventType", "%q read as %s", w.EventType, et)
	}

	base := BaseEvent{EventTime: w.EventTime, Producer: w.Producer, SchemaURL: w.SchemaURL}
	switch ev.kind {
	case KindRunEvent:
		if !isUUID(graph.NormalizeRunID(w.Run.RunID)) {
			warn("run.runId", "%q is not a UUID; kept as is", w.Run.RunID)
		}
		re := &RunEvent{
			BaseEvent: base,
			EventType: et,
			Run:       Run{RunID: w.Run.RunID, Facets: decodeRunFacets(w.Run.Facets, "run.facets", warn)},
			Job:       decodeJob(w.Job, warn),
			Inputs:    decodeInputs(w.Inputs, warn),
			Outputs:   decodeOutputs(w.Outputs, warn),
		}
		ev.RunEvent = re
		ev.correlationID = findCorrelationID(re.Run.Facets, warn)
	case KindJobEvent:
		ev.JobEvent = &JobEvent{
			BaseEvent: base,
			Job:       decodeJob(w.Job, warn),
			Inputs:    decodeInputs(w.Inputs, warn),
			Outputs:   decodeOutputs(w.Outputs, warn),
		}
	case KindDatasetEvent:
		if len(w.Inputs)+len(w.Outputs) > 0 {
			warn("inputs", "inputs and outputs are ignored on a DatasetEvent")
		}
		ev.DatasetEvent = &DatasetEvent{
			BaseEvent: base,
			Dataset: Dataset{
				Namespace: w.Dataset.Namespace,
				Name:      w.Dataset.Name,
				Facets:    decodeDatasetFacets(w.Dataset.Facets, "dataset.facets", warn),
			},
		}
	}
	return ev, nil
}

func checkDatasetID(d *wireDataset, path string) error {
	if d.Namespace == "" {
		return graph.FieldErrorf(graph.EINVALID, path+".namespace", "required field is missing")
	}
	if d.Name == "" {
		return graph.FieldErrorf(graph.EINVALID, path+".name", "required field is missing")
	}
	return nil
}

func decodeJob(j *wireJob, warn warnFunc) Job {
	return Job{Namespace: j.Namespace, Name: j.Name, Facets: decodeJobFacets(j.Facets, "job.facets", warn)}
}

func decodeInputs(ws []wireDataset, warn warnFunc) []InputDataset {
	if len(ws) == 0 {
		return nil
	}
	out := make([]InputDataset, len(ws))
	for i, w := range ws {
		p := fmt.Sprintf("inputs[%d]", i)
		out[i] = InputDataset{
			Dataset:     Dataset{Namespace: w.Namespace, Name: w.Name, Facets: decodeDatasetFacets(w.Facets, p+".facets", warn)},
			InputFacets: decodeInputFacets(w.InputFacets, p+".inputFacets", warn),
		}
		if len(w.OutputFacets) > 0 {
			warn(p+".outputFacets", "ignored on an input")
		}
	}
	return out
}

func decodeOutputs(ws []wireDataset, warn warnFunc) []OutputDataset {
	if len(ws) == 0 {
		return nil
	}
	out := make([]OutputDataset, len(ws))
	for i, w := range ws {
		p := fmt.Sprintf("outputs[%d]", i)
		out[i] = OutputDataset{
			Dataset:      Dataset{Namespace: w.Namespace, Name: w.Name, Facets: decodeDatasetFacets(w.Facets, p+".facets", warn)},
			OutputFacets: decodeOutputFacets(w.OutputFacets, p+".outputFacets", warn),
		}
		if len(w.InputFacets) > 0 {
			warn(p+".inputFacets", "ignored on an output")
		}
	}
	return out
}

// Correlation facets, in the order they are looked at: a custom run facet
// with one of these names, then any other run facet (by name), then the
// spec's tags run facet.
var correlationFacetNames = []string{"z1_correlation_id", "z1_correlation", "z1", "correlation"}

const correlationField = "z1_correlation_id"

// findCorrelationID returns the Z1 correlation id a run carries: the string
// field z1_correlation_id at the top of a run facet, or the value of a tag
// with that key in the tags run facet. The first found wins; a different
// one elsewhere is a warning.
func findCorrelationID(f RunFacets, warn warnFunc) string {
	if len(f.Raw) == 0 {
		return ""
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range f.Raw {
			if n != "tags" && !slices.Contains(correlationFacetNames, n) && !yield(n) {
				return
			}
		}
	})
	var ordered []string
	for _, n := range correlationFacetNames {
		if _, ok := f.Raw[n]; ok {
			ordered = append(ordered, n)
		}
	}
	ordered = append(ordered, names...)

	id, from := "", ""
	take := func(v, path string) {
		switch {
		case v == "":
		case id == "":
			id, from = v, path
		case v != id:
			warn(path, "correlation id %q differs from %q in %s; ignored", v, id, from)
		}
	}
	for _, n := range ordered {
		b := f.Raw[n]
		if !bytes.Contains(b, []byte(correlationField)) {
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		var s string
		if raw, ok := m[correlationField]; ok && json.Unmarshal(raw, &s) == nil {
			take(strings.TrimSpace(s), joinPath(joinPath("run.facets", n), correlationField))
		}
	}
	if f.Tags != nil {
		for i, tag := range f.Tags.Tags {
			if tag.Key == correlationField {
				take(strings.TrimSpace(tag.Value), fmt.Sprintf("run.facets.tags.tags[%d]", i))
			}
		}
	}
	return id
}

// wireError turns an encoding/json error into a *graph.Error naming the
// field, with array indexes for inputs and outputs.
func wireError(body []byte, err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return notJSON(body)
	}
	field := te.Field
	for _, arr := range []string{"inputs", "outputs"} {
		// "inputs.namespace": a field of some item; "inputs" with an
		// object type: an item that is not an object.
		if strings.HasPrefix(field, arr+".") || field == arr && jsonKind(te.Type) == "object" {
			field = locateItem(body, arr, field)
			break
		}
	}
	return graph.FieldErrorf(graph.EINVALID, field, "want %s, got %s", jsonKind(te.Type), te.Value)
}

// locateItem finds which item of the array arr holds a type error that
// encoding/json reported without its index, by decoding the items one by one.
func locateItem(body []byte, arr, fallback string) string {
	var items map[string]json.RawMessage
	if json.Unmarshal(body, &items) != nil {
		return fallback
	}
	var list []json.RawMessage
	if json.Unmarshal(items[arr], &list) != nil {
		return fallback
	}
	for i, it := range list {
		var d wireDataset
		err := json.Unmarshal(it, &d)
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			p := fmt.Sprintf("%s[%d]", arr, i)
			if te.Field != "" {
				p += "." + te.Field
			}
			return p
		}
	}
	return fallback
}

func notJSON(body []byte) error {
	var v any
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return graph.FieldErrorf(graph.EINVALID, "", "not valid JSON at byte %d: %s", se.Offset, se.Error())
	}
	if err != nil {
		return graph.FieldErrorf(graph.EINVALID, "", "not valid JSON: %s", err.Error())
	}
	return graph.FieldErrorf(graph.EINVALID, "", "not valid JSON")
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

func jsonValueKind(first byte) string {
	switch {
	case first == '[':
		return "an array"
	case first == '"':
		return "a string"
	case first == 't' || first == 'f':
		return "a boolean"
	case first == 'n':
		return "null"
	default:
		return "a number"
	}
}

// kindFromSchemaURL reads the kind a schemaURL fragment names, such as
// "…/OpenLineage.json#/$defs/RunEvent"; "" when it names none.
func kindFromSchemaURL(u string) Kind {
	_, frag, ok := strings.Cut(u, "#")
	if !ok {
		return ""
	}
	switch k := Kind(frag[strings.LastIndexByte(frag, '/')+1:]); k {
	case KindRunEvent, KindDatasetEvent, KindJobEvent:
		return k
	}
	return ""
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// parseTime reads an ISO-8601 date-time leniently: 'T', 't' or ' ' between
// date and time; any number of fraction digits (more than nine are
// truncated, with a warning); a zone of Z, ±hh:mm, ±hhmm or ±hh, or none
// (UTC assumed, with a warning). The result is in UTC.
func parseTime(s, field string, warn warnFunc) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, graph.FieldErrorf(graph.EINVALID, field, "cannot parse %q as an ISO-8601 date-time such as 2006-01-02T15:04:05.000Z", s)
	}
	v := strings.TrimSpace(s)
	if len(v) < 19 {
		return bad()
	}
	switch v[10] {
	case 'T', 't', ' ':
	default:
		return bad()
	}
	var b strings.Builder
	b.Grow(40)
	b.WriteString(v[:10])
	b.WriteByte('T')
	b.WriteString(v[11:19])
	rest := v[19:]
	if rest != "" && (rest[0] == '.' || rest[0] == ',') {
		j := 1
		for j < len(rest) && '0' <= rest[j] && rest[j] <= '9' {
			j++
		}
		digits := rest[1:j]
		if digits == "" {
			return bad()
		}
		if len(digits) > 9 {
			warn.warn(field, "more than 9 fraction digits; truncated to nanoseconds")
			digits = digits[:9]
		}
		b.WriteByte('.')
		b.WriteString(digits)
		rest = rest[j:]
	}
	switch {
	case rest == "":
		warn.warn(field, "no time zone; UTC assumed")
		b.WriteByte('Z')
	case rest == "Z" || rest == "z":
		b.WriteByte('Z')
	case rest[0] == '+' || rest[0] == '-':
		z := rest[1:]
		switch {
		case len(z) == 5 && z[2] == ':':
		case len(z) == 4:
			z = z[:2] + ":" + z[2:]
		case len(z) == 2:
			z += ":00"
		default:
			return bad()
		}
		b.WriteByte(rest[0])
		b.WriteString(z)
	default:
		return bad()
	}
	t, err := time.Parse(time.RFC3339Nano, b.String())
	if err != nil {
		return bad()
	}
	return t.UTC(), nil
}
