package openlineage

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/redthread/redthread/graph"
)

// SpecURLPrefix is where the OpenLineage JSON Schemas live; NewValidator
// maps it onto a local directory, so validation never touches the network.
const SpecURLPrefix = "https://openlineage.io/spec/"

// Validator checks events strictly against the OpenLineage JSON Schemas
// (strict mode). It is safe for concurrent use.
//
// Validate checks the event against the definition of its kind
// (RunEvent, DatasetEvent or JobEvent, decided from its structure as Decode
// does) and then against the whole core schema, formats included
// (date-time, uri, uuid). Then every facet whose _schemaURL starts with
// SpecURLPrefix and names a facet schema of the directory is checked against
// it: by the "#/$defs/<Name>" fragment when there is one, else by the file
// name ("…/facets/1-0-1/SymlinksDatasetFacet.json"). The facet's version in
// the URL is not matched: the directory's version is used, since facet
// schemas evolve by adding optional fields. Facets with other schema URLs
// (custom facets) are only checked as base facets by the core schema.
type Validator struct {
	root   *jsonschema.Schema
	events map[Kind]*jsonschema.Schema
	facets map[string]*jsonschema.Schema // by $defs name, e.g. "ParentRunFacet"
	files  map[string]string             // facet file name without ".json" → its facet's $defs name
}

// NewValidator loads OpenLineage.json and facets/*.json from specDir (a
// copy of the spec's schema directory) and compiles them.
func NewValidator(specDir string) (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseLoader(offlineLoader{dir: specDir})

	coreID, _, err := addSchemaFile(c, filepath.Join(specDir, "OpenLineage.json"))
	if err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(specDir, "facets", "*.json"))
	if err != nil {
		return nil, fmt.Errorf("openlineage: list facet schemas: %w", err)
	}
	slices.Sort(paths)
	v := &Validator{
		events: make(map[Kind]*jsonschema.Schema),
		facets: make(map[string]*jsonschema.Schema),
		files:  make(map[string]string),
	}
	type def struct{ id, name string }
	var defs []def
	for _, p := range paths {
		id, doc, err := addSchemaFile(c, p)
		if err != nil {
			return nil, err
		}
		base := strings.TrimSuffix(filepath.Base(p), ".json")
		m, _ := doc.(map[string]any)
		ds, _ := m["$defs"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(ds)) {
			defs = append(defs, def{id, name})
			if name == base {
				v.files[base] = name
			}
		}
	}

	if v.root, err = c.Compile(coreID); err != nil {
		return nil, fmt.Errorf("openlineage: compile %s: %w", coreID, err)
	}
	for _, k := range []Kind{KindRunEvent, KindDatasetEvent, KindJobEvent} {
		if v.events[k], err = c.Compile(coreID + "#/$defs/" + string(k)); err != nil {
			return nil, fmt.Errorf("openlineage: compile %s: %w", k, err)
		}
	}
	for _, d := range defs {
		if _, dup := v.facets[d.name]; dup {
			continue // first file (by name) wins
		}
		s, err := c.Compile(d.id + "#/$defs/" + d.name)
		if err != nil {
			return nil, fmt.Errorf("openlineage: compile %s#/$defs/%s: %w", d.id, d.name, err)
		}
		v.facets[d.name] = s
	}
	return v, nil
}

// addSchemaFile registers one schema file under its $id.
func addSchemaFile(c *jsonschema.Compiler, p string) (id string, doc any, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", nil, fmt.Errorf("openlineage: spec schema: %w", err)
	}
	defer f.Close()
	doc, err = jsonschema.UnmarshalJSON(f)
	if err != nil {
		return "", nil, fmt.Errorf("openlineage: spec schema %s: %w", p, err)
	}
	m, _ := doc.(map[string]any)
	id, _ = m["$id"].(string)
	if !strings.HasPrefix(id, SpecURLPrefix) {
		return "", nil, fmt.Errorf("openlineage: spec schema %s: $id %q is not under %s", p, id, SpecURLPrefix)
	}
	if err := c.AddResource(id, doc); err != nil {
		return "", nil, fmt.Errorf("openlineage: spec schema %s: %w", p, err)
	}
	return id, doc, nil
}

// offlineLoader serves schema URLs under SpecURLPrefix from the spec
// directory, ignoring the version part of the URL (a reference to another
// version of the core or of a facet finds the one we have), and refuses
// every other URL.
type offlineLoader struct{ dir string }

// Load implements jsonschema.URLLoader.
func (l offlineLoader) Load(u string) (any, error) {
	rest, ok := strings.CutPrefix(u, SpecURLPrefix)
	if !ok {
		return nil, fmt.Errorf("openlineage: schema %s is not under %s and the validator does not use the network", u, SpecURLPrefix)
	}
	file := filepath.Join(l.dir, "OpenLineage.json")
	if strings.HasPrefix(rest, "facets/") {
		file = filepath.Join(l.dir, "facets", path.Base(rest))
	} else if path.Base(rest) != "OpenLineage.json" {
		return nil, fmt.Errorf("openlineage: no local copy of schema %s", u)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("openlineage: no local copy of schema %s: %w", u, err)
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}

var printer = message.NewPrinter(language.English)

// Validate checks one event body strictly. A violation is a *graph.Error
// of code graph.EINVALID whose Field is the JSON path of the failing value
// (for a missing property, the path it should have) and whose Message says
// why and which schema says so.
func (v *Validator) Validate(body []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return notJSON(body)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return graph.FieldErrorf(graph.EINVALID, "", "want a JSON object")
	}
	has := func(k string) bool { return obj[k] != nil }
	var k Kind
	switch {
	case has("run"):
		k = KindRunEvent
	case has("dataset") && has("job"):
		k = KindDatasetEvent
		if s, _ := obj["schemaURL"].(string); kindFromSchemaURL(s) == KindJobEvent {
			k = KindJobEvent
		}
	case has("dataset"):
		k = KindDatasetEvent
	case has("job"):
		k = KindJobEvent
	default:
		return graph.FieldErrorf(graph.EINVALID, "job", "missing: a RunEvent has run and job, a JobEvent job, a DatasetEvent dataset")
	}
	if err := v.events[k].Validate(doc); err != nil {
		return schemaError(doc, "", err)
	}
	if err := v.root.Validate(doc); err != nil {
		return graph.FieldErrorf(graph.EINVALID, "", "strict mode: the event is not exactly one of RunEvent, DatasetEvent, JobEvent (as a %s it also has %s)", k, extraMembers(obj, k))
	}
	return v.validateFacets(obj)
}

// extraMembers names the top-level members a kind does not allow.
func extraMembers(obj map[string]any, k Kind) string {
	var extra []string
	for _, m := range []string{"run", "job", "dataset"} {
		if obj[m] == nil {
			continue
		}
		switch {
		case k == KindDatasetEvent && m != "dataset", k == KindJobEvent && m == "dataset":
			extra = append(extra, m)
		}
	}
	if len(extra) == 0 {
		return "members of another kind"
	}
	return strings.Join(extra, " and ")
}

// validateFacets checks each facet that names a known facet schema, in a
// fixed order: run, job, dataset, inputs, outputs; facets by name.
func (v *Validator) validateFacets(obj map[string]any) error {
	type group struct {
		path   string
		facets any
	}
	var groups []group
	member := func(o any, k string) any {
		m, _ := o.(map[string]any)
		return m[k]
	}
	groups = append(groups,
		group{"run.facets", member(obj["run"], "facets")},
		group{"job.facets", member(obj["job"], "facets")},
		group{"dataset.facets", member(obj["dataset"], "facets")})
	for _, arr := range []string{"inputs", "outputs"} {
		items, _ := obj[arr].([]any)
		for i, it := range items {
			p := fmt.Sprintf("%s[%d]", arr, i)
			groups = append(groups, group{p + ".facets", member(it, "facets")})
			own := "inputFacets"
			if arr == "outputs" {
				own = "outputFacets"
			}
			groups = append(groups, group{p + "." + own, member(it, own)})
		}
	}
	for _, g := range groups {
		fs, _ := g.facets.(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(fs)) {
			facet, _ := fs[name].(map[string]any)
			u, _ := facet["_schemaURL"].(string)
			s := v.facetSchema(u)
			if s == nil {
				continue
			}
			if err := s.Validate(facet); err != nil {
				return schemaError(facet, joinPath(g.path, name), err)
			}
		}
	}
	return nil
}

// facetSchema finds the facet schema a _schemaURL names, or nil.
func (v *Validator) facetSchema(u string) *jsonschema.Schema {
	if !strings.HasPrefix(u, SpecURLPrefix) {
		return nil
	}
	base, frag, _ := strings.Cut(u, "#")
	if name, ok := strings.CutPrefix(frag, "/$defs/"); ok {
		if s := v.facets[name]; s != nil {
			return s
		}
	}
	if name, ok := v.files[strings.TrimSuffix(path.Base(base), ".json")]; ok {
		return v.facets[name]
	}
	return nil
}

// schemaError turns a validation error into a *graph.Error about its most
// specific failure: the deepest instance location among the leaves of the
// error tree (the first of the deepest, in the validator's order).
func schemaError(doc any, prefix string, err error) error {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return graph.FieldErrorf(graph.EINVALID, prefix, "strict mode: %v", err)
	}
	leaf := deepestLeaf(ve)
	field := instancePath(doc, prefix, leaf.InstanceLocation)
	if r, ok := leaf.ErrorKind.(*kind.Required); ok && len(r.Missing) == 1 {
		field = joinPath(field, r.Missing[0])
	}
	msg := leaf.ErrorKind.LocalizedString(printer)
	if e, ok := leaf.ErrorKind.(*kind.Enum); ok {
		msg += fmt.Sprintf(", got %q", fmt.Sprint(e.Got))
	}
	where := strings.TrimPrefix(leaf.SchemaURL, SpecURLPrefix)
	return graph.FieldErrorf(graph.EINVALID, field, "%s (strict mode, schema %s)", msg, where)
}

func deepestLeaf(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	best := e
	var walk func(*jsonschema.ValidationError)
	walk = func(x *jsonschema.ValidationError) {
		if len(x.Causes) == 0 {
			if best == e || len(x.InstanceLocation) > len(best.InstanceLocation) {
				best = x
			}
			return
		}
		for _, c := range x.Causes {
			walk(c)
		}
	}
	walk(e)
	return best
}

// instancePath renders a JSON pointer into doc as a path like
// "inputs[2].facets.schema".
func instancePath(doc any, prefix string, loc []string) string {
	p, cur := prefix, doc
	for _, seg := range loc {
		switch c := cur.(type) {
		case []any:
			p += "[" + seg + "]"
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(c) {
				cur = c[i]
			} else {
				cur = nil
			}
		case map[string]any:
			p = joinPath(p, seg)
			cur = c[seg]
		default:
			p = joinPath(p, seg)
			cur = nil
		}
	}
	return p
}
