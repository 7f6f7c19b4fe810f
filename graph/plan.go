package graph

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/redthread/redthread/internal/jsonscan"
)

// CheckStoreKey rejects keys no store can hold the same way: empty ones,
// and ones that are not valid UTF-8 or hold a NUL (SQLite's text functions
// and Neo4j's strings would each treat those differently). Its error is
// EINVALID on field.
func CheckStoreKey(field, key string) error {
	switch {
	case key == "":
		return FieldErrorf(EINVALID, field, "empty key")
	case !utf8.ValidString(key):
		return FieldErrorf(EINVALID, field, "key %q is not valid UTF-8", key)
	case strings.IndexByte(key, 0) >= 0:
		return FieldErrorf(EINVALID, field, "key %q holds a NUL byte", key)
	}
	return nil
}

// An Overlay is the successive upserts of one node or edge merged into
// one, as a store coalesces them within an Apply call: props overwrite key
// by key in order (a nil value removes the key), facets replace by name,
// and provenance keeps the minimum of first seen and first offset and the
// maximum of last seen and last offset. These rules compose, so one
// upsert of the overlay leaves the graph as the sequence would.
type Overlay struct {
	Patch  Props             // normalized; nil values remove keys
	Facets map[string]string // facet name → verbatim JSON text
	Prov   Provenance

	patchOwned bool // Patch is the overlay's own copy, not a caller's map
}

// Add validates a later upsert's props and facets and overlays them. An
// invalid one is EINVALID with a field relative to the element: "props.x",
// "facets" (a name that is not UTF-8) or "facets.<name>". Add may keep
// props, but never modifies it: props already in canonical form (as the
// mappers write them) are used in place and copied only once a later
// upsert overlays them. A facet whose text is the one already merged under
// its name (a dataset's schema, repeated by every event that names the
// dataset) was validated then and is not parsed again; props whose values
// the patch already holds are skipped the same way.
func (o *Overlay) Add(props Props, facets Facets, prov Provenance) error {
	if len(props) > 0 && !o.holds(props) {
		patch, owned, err := NormalizePropsShared(props)
		if err != nil {
			return err
		}
		switch {
		case o.Patch == nil:
			o.Patch, o.patchOwned = patch, owned
		case !o.patchOwned:
			merged := make(Props, len(o.Patch)+len(patch))
			maps.Copy(merged, o.Patch)
			maps.Copy(merged, patch)
			o.Patch, o.patchOwned = merged, true
		default:
			maps.Copy(o.Patch, patch)
		}
	}
	for name, raw := range facets {
		if old, ok := o.Facets[name]; ok && old == string(raw) {
			continue
		}
		if !utf8.ValidString(name) {
			return FieldErrorf(EINVALID, "facets", "facet name %q is not valid UTF-8", name)
		}
		if !jsonscan.Valid(raw) || !utf8.Valid(raw) {
			return FieldErrorf(EINVALID, "facets."+name, "not valid UTF-8 JSON")
		}
		if o.Facets == nil {
			o.Facets = make(map[string]string, len(facets))
		}
		o.Facets[name] = string(raw)
	}
	o.Prov.Merge(prov)
	return nil
}

// holds reports whether every one of props is already in the patch with the
// same canonical value, so that overlaying them would change nothing: the
// fields of a dataset's schema, upserted again by every event that names
// it, mostly are. Values of other types (and nulls) take the general path.
func (o *Overlay) holds(props Props) bool {
	if len(props) > len(o.Patch) {
		return false
	}
	for k, v := range props {
		old, ok := o.Patch[k]
		if !ok {
			return false
		}
		switch x := v.(type) {
		case string:
			if y, isString := old.(string); !isString || x != y {
				return false
			}
		case int64:
			if y, isInt := old.(int64); !isInt || x != y {
				return false
			}
		case bool:
			if y, isBool := old.(bool); !isBool || x != y {
				return false
			}
		case []string:
			if y, isList := old.([]string); !isList || !slices.Equal(x, y) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// MutationRef locates a mutation in the arguments of Store.Apply (batch and
// mutation index), or one node or edge of a group upsert there, so that a
// store names the field at fault in an EINVALID error.
type MutationRef struct {
	Batch, Mutation int
	item            int // 1 + the index in the group's nodes or edges; 0 outside a group
}

// Entry locates the ith node or edge of the group upsert at r.
func (r MutationRef) Entry(i int) MutationRef {
	r.item = i + 1
	return r
}

// Field names a field of the mutation, as "batches[0].mutations[3].node.key";
// rest starts with ".node", ".edge" or another member of Mutation. Within a
// group, rest's ".node" or ".edge" becomes the entry's place, as in
// "batches[0].mutations[3].group.nodes[2].props". It formats only when
// called, which stores do only for an error.
func (r MutationRef) Field(rest string) string {
	if r.item > 0 {
		for _, kind := range [2]string{".node", ".edge"} {
			if tail, ok := strings.CutPrefix(rest, kind); ok {
				return fmt.Sprintf("batches[%d].mutations[%d].group%ss[%d]%s", r.Batch, r.Mutation, kind, r.item-1, tail)
			}
		}
	}
	return fmt.Sprintf("batches[%d].mutations[%d]%s", r.Batch, r.Mutation, rest)
}
