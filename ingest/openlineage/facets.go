package openlineage

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"

	"github.com/redthread/redthread/graph"
)

// warnFunc records one leniency warning; nil discards it.
type warnFunc func(field, format string, args ...any)

func (w warnFunc) warn(field, format string, args ...any) {
	if w != nil {
		w(field, format, args...)
	}
}

// cleanFacets drops facets whose value is JSON null (they carry nothing and
// would read as a facet that exists); every other facet is kept as is.
func cleanFacets(raw graph.Facets, path string, warn warnFunc) graph.Facets {
	if len(raw) == 0 {
		return nil
	}
	var nulls []string
	for name, v := range raw {
		if isNull(v) {
			nulls = append(nulls, name)
		}
	}
	slices.Sort(nulls)
	for _, name := range nulls {
		warn.warn(joinPath(path, name), "null facet ignored")
		delete(raw, name)
	}
	if len(raw) == 0 {
		return nil
	}
	return raw
}

func isNull(b json.RawMessage) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case 'n':
			return true
		}
		return false
	}
	return true // empty: treat as absent
}

// decodeFacet decodes the facet called name into a T. A facet that is not
// of the expected shape is kept raw only, with a warning: facets are the
// producer's extension point, and losing the event over one is worse.
func decodeFacet[T any](raw graph.Facets, name, path string, warn warnFunc) *T {
	b, ok := raw[name]
	if !ok {
		return nil
	}
	v := new(T)
	if scanFacet(b, v) == nil {
		return v
	}
	v = new(T)
	if err := json.Unmarshal(b, v); err != nil {
		warn.warn(joinPath(path, name), "not a valid %s facet (%s); kept raw, not mapped", name, describeJSONError(err))
		return nil
	}
	return v
}

// The schema and column lineage facets, repeated by every event that
// names a dataset, are decoded once per text and shared: the decoded
// facets of an Event are never to be modified. Texts up to
// maxCachedFacetBytes are cached, in two generations of at most
// facetCacheBytes each (estimated as twice the text).
const (
	maxCachedFacetBytes = 64 << 10
	facetCacheBytes     = 16 << 20
)

var (
	schemaFacets  = newTextCache[*SchemaDatasetFacet](facetCacheBytes)
	lineageFacets = newTextCache[*ColumnLineageDatasetFacet](facetCacheBytes)
)

// decodeFacetCached is decodeFacet through cache. A facet that does not
// decode is not cached, so that each event that sends it is warned.
func decodeFacetCached[T any](cache *textCache[*T], raw graph.Facets, name, path string, warn warnFunc) *T {
	b, ok := raw[name]
	if !ok || len(b) > maxCachedFacetBytes {
		return decodeFacet[T](raw, name, path, warn)
	}
	if v, ok := cache.get(b); ok {
		return v
	}
	v := decodeFacet[T](raw, name, path, warn)
	if v != nil {
		cache.put(b, v, 2*len(b))
	}
	return v
}

func decodeRunFacets(raw graph.Facets, path string, warn warnFunc) RunFacets {
	raw = cleanFacets(raw, path, warn)
	f := RunFacets{Raw: raw}
	if raw == nil {
		return f
	}
	f.Parent = decodeFacet[ParentRunFacet](raw, "parent", path, warn)
	f.NominalTime = decodeFacet[NominalTimeRunFacet](raw, "nominalTime", path, warn)
	f.ErrorMessage = decodeFacet[ErrorMessageRunFacet](raw, "errorMessage", path, warn)
	f.Tags = decodeFacet[TagsFacet](raw, "tags", path, warn)
	if p := f.Parent; p != nil {
		pp := joinPath(path, "parent")
		if p.Run.RunID == "" || p.Job.Namespace == "" || p.Job.Name == "" {
			warn.warn(pp, "needs run.runId, job.namespace and job.name; parent not linked")
			f.Parent = nil
		} else if r := p.Root; r != nil && (r.Run.RunID == "" || r.Job.Namespace == "" || r.Job.Name == "") {
			warn.warn(pp+".root", "needs run.runId, job.namespace and job.name; root not linked")
			p.Root = nil
		}
	}
	return f
}

func decodeJobFacets(raw graph.Facets, path string, warn warnFunc) JobFacets {
	raw = cleanFacets(raw, path, warn)
	f := JobFacets{Raw: raw}
	if raw == nil {
		return f
	}
	f.JobType = decodeFacet[JobTypeJobFacet](raw, "jobType", path, warn)
	f.SourceCodeLocation = decodeFacet[SourceCodeLocationJobFacet](raw, "sourceCodeLocation", path, warn)
	f.SQL = decodeFacet[SQLJobFacet](raw, "sql", path, warn)
	f.Ownership = decodeFacet[OwnershipFacet](raw, "ownership", path, warn)
	f.Documentation = decodeFacet[DocumentationFacet](raw, "documentation", path, warn)
	return f
}

func decodeDatasetFacets(raw graph.Facets, path string, warn warnFunc) DatasetFacets {
	raw = cleanFacets(raw, path, warn)
	f := DatasetFacets{Raw: raw}
	if raw == nil {
		return f
	}
	f.Schema = decodeFacetCached(schemaFacets, raw, "schema", path, warn)
	f.DataSource = decodeFacet[DatasourceDatasetFacet](raw, "dataSource", path, warn)
	f.ColumnLineage = decodeFacetCached(lineageFacets, raw, "columnLineage", path, warn)
	f.Version = decodeFacet[DatasetVersionDatasetFacet](raw, "version", path, warn)
	f.Symlinks = decodeFacet[SymlinksDatasetFacet](raw, "symlinks", path, warn)
	f.LifecycleStateChange = decodeFacet[LifecycleStateChangeDatasetFacet](raw, "lifecycleStateChange", path, warn)
	f.DatasetType = decodeFacet[DatasetTypeDatasetFacet](raw, "datasetType", path, warn)
	f.Storage = decodeFacet[StorageDatasetFacet](raw, "storage", path, warn)
	f.Ownership = decodeFacet[OwnershipFacet](raw, "ownership", path, warn)
	f.Documentation = decodeFacet[DocumentationFacet](raw, "documentation", path, warn)
	f.DataQualityMetrics = decodeFacet[DataQualityMetricsFacet](raw, "dataQualityMetrics", path, warn)

	if v := f.Version; v != nil && v.DatasetVersion == "" {
		warn.warn(joinPath(path, "version")+".datasetVersion", "missing; version facet ignored")
		f.Version = nil
	}
	if s := f.Symlinks; s != nil {
		for i, id := range s.Identifiers {
			if id.Namespace == "" || id.Name == "" {
				warn.warn(fmt.Sprintf("%s.identifiers[%d]", joinPath(path, "symlinks"), i), "needs namespace and name; symlink ignored")
			}
		}
	}
	if l := f.LifecycleStateChange; l != nil && l.LifecycleStateChange == "RENAME" {
		if p := l.PreviousIdentifier; p == nil || p.Namespace == "" || p.Name == "" {
			warn.warn(joinPath(path, "lifecycleStateChange")+".previousIdentifier", "RENAME without namespace and name of the previous dataset; rename not linked")
		}
	}
	if s := f.Schema; s != nil && fieldDepth(s.Fields) > MaxFieldDepth {
		warn.warn(joinPath(path, "schema")+".fields", "nested deeper than %d levels; the deeper fields are not mapped", MaxFieldDepth)
	}
	if c := f.ColumnLineage; c != nil {
		cp := joinPath(path, "columnLineage")
		if n := datasetLineageEdges(c); n > MaxDatasetLineageEdges {
			warn.warn(cp+".dataset", "dataset-level lineage would make %d edges, more than %d; not mapped", n, MaxDatasetLineageEdges)
		}
		for _, out := range slices.Sorted(maps.Keys(c.Fields)) {
			if out == "" {
				warn.warn(cp+".fields", "empty output field name; its lineage ignored")
				continue
			}
			for i, in := range c.Fields[out].InputFields {
				if in.Namespace == "" || in.Name == "" || in.Field == "" {
					warn.warn(fmt.Sprintf("%s.inputFields[%d]", joinPath(cp+".fields", out), i), "needs namespace, name and field; ignored")
				}
			}
		}
		for i, in := range c.Dataset {
			if in.Namespace == "" || in.Name == "" || in.Field == "" {
				warn.warn(fmt.Sprintf("%s.dataset[%d]", cp, i), "needs namespace, name and field; ignored")
			}
		}
	}
	return f
}

func decodeInputFacets(raw graph.Facets, path string, warn warnFunc) InputDatasetFacets {
	raw = cleanFacets(raw, path, warn)
	f := InputDatasetFacets{Raw: raw}
	if raw == nil {
		return f
	}
	f.InputStatistics = decodeFacet[StatisticsFacet](raw, "inputStatistics", path, warn)
	f.DataQualityMetrics = decodeFacet[DataQualityMetricsFacet](raw, "dataQualityMetrics", path, warn)
	return f
}

func decodeOutputFacets(raw graph.Facets, path string, warn warnFunc) OutputDatasetFacets {
	raw = cleanFacets(raw, path, warn)
	f := OutputDatasetFacets{Raw: raw}
	if raw == nil {
		return f
	}
	f.OutputStatistics = decodeFacet[StatisticsFacet](raw, "outputStatistics", path, warn)
	return f
}

// joinPath appends an object member to a JSON path: ".key" for a plain
// key, `["key"]` for one with dots, spaces or other punctuation.
func joinPath(parent, key string) string {
	plain := key != ""
	for i := 0; i < len(key) && plain; i++ {
		c := key[i]
		plain = c == '_' || c == '-' || c == '$' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	if !plain {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// describeJSONError says briefly why encoding/json refused a value.
func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		msg := "want " + jsonKind(te.Type) + ", got " + te.Value
		if te.Field != "" {
			msg = te.Field + ": " + msg
		}
		return msg
	}
	return err.Error()
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.String()
}

// fieldDepth is how deep fields nest (1 for a flat schema).
func fieldDepth(fields []SchemaField) int {
	deepest := 0
	for _, f := range fields {
		deepest = max(deepest, 1+fieldDepth(f.Fields))
	}
	return deepest
}
