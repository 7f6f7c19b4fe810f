package sqlite

import (
	"encoding/binary"
	"hash/maphash"
)

// A contentSum identifies the content (props patch and facets, as encoded
// for the statements) of one node or edge upsert: 128 bits from two
// independently seeded hashes. The zero sum stands for "not known".
//
// The store remembers, for the rows it has cached, the sum of the content
// it last merged into each. Merging is JSON merge patch (RFC 7396), which
// is idempotent: a row whose last merged content was P is left unchanged
// by merging P again. So an upsert whose content sums to the one its row
// last merged needs only its provenance written, a cheaper statement that
// does not rewrite the JSON. The pipeline's apply windows repeat most of
// their content: every event that names a dataset upserts its fields and
// their lineage edges again, with the same props.
//
// The seeds are random per process, so no input can be chosen to collide
// with another; two given contents share a sum with a chance of 2⁻¹²⁸.
type contentSum [2]uint64

var contentSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// sumContent returns the sum of the props patch and facets texts; never
// the zero sum.
func sumContent(props, facets string) contentSum {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(props)))
	var s contentSum
	for i, seed := range contentSeeds {
		var h maphash.Hash
		h.SetSeed(seed)
		h.Write(n[:])
		h.WriteString(props)
		h.WriteString(facets)
		s[i] = h.Sum64()
	}
	s[0] |= 1
	return s
}
