package openlineage

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/redthread/redthread/graph"
)

// This file holds a small JSON reader for the fast path of Decode. It reads
// the shapes the package knows in one pass over the bytes, validating the
// syntax as it goes, and gives up (errSlow) on anything whose meaning under
// encoding/json takes more than the common case to reproduce: a syntax or
// type error, a key that matches a field only case-insensitively, a
// repeated field, a key with escapes, a number that does not fit its Go
// type, deep nesting. The caller then decodes the same bytes with
// encoding/json, as before, so an input that leaves the fast path decodes
// exactly as it always did, errors and warnings included. An input that
// stays on it gets the values encoding/json would have given.

// errSlow sends the caller back to encoding/json.
var errSlow = errors.New("openlineage: outside the fast path")

// maxScanDepth bounds the nesting the fast path follows; deeper input is
// left to encoding/json (whose own limit is far higher).
const maxScanDepth = 200

type scanner struct {
	data  []byte
	pos   int
	depth int
}

// peek skips white space and returns the next byte, 0 at the end.
func (s *scanner) peek() byte {
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; c {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return c
		}
	}
	return 0
}

// end reports whether only white space is left.
func (s *scanner) end() bool { return s.peek() == 0 && s.pos == len(s.data) }

// str scans the string at s.pos and returns it with its quotes; esc says
// it has escapes, high that it has bytes of 0x80 and above.
func (s *scanner) str() (lit []byte, esc, high bool, err error) {
	if s.peek() != '"' {
		return nil, false, false, errSlow
	}
	d := s.data
	start := s.pos
	for i := start + 1; i < len(d); {
		for i < len(d) && plainASCII[d[i]] {
			i++
		}
		if i >= len(d) {
			break
		}
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return d[start : i+1], esc, high, nil
		case c == '\\':
			esc = true
			if i+1 >= len(d) {
				return nil, false, false, errSlow
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) {
					return nil, false, false, errSlow
				}
				for _, h := range d[i+2 : i+6] {
					if !isHexDigit(h) {
						return nil, false, false, errSlow
					}
				}
				i += 6
			default:
				return nil, false, false, errSlow
			}
		case c < 0x20:
			return nil, false, false, errSlow
		default:
			if c >= utf8.RuneSelf {
				high = true
			}
			i++
		}
	}
	return nil, false, false, errSlow
}

// plainASCII marks the bytes a string literal holds as they are and str
// only has to step over: printable ASCII other than the quote and the
// backslash.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// text converts a string literal from str as encoding/json does.
func text(lit []byte, esc, high bool) (string, error) {
	inner := lit[1 : len(lit)-1]
	if !esc && (!high || utf8.Valid(inner)) {
		return string(inner), nil
	}
	var v string // escapes or invalid UTF-8: let encoding/json say
	if json.Unmarshal(lit, &v) != nil {
		return "", errSlow
	}
	return v, nil
}

// number scans a number and returns its text.
func (s *scanner) number() ([]byte, error) {
	s.peek()
	d, i := s.data, s.pos
	start := i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	default:
		return nil, errSlow
	}
	if i < len(d) && d[i] == '.' {
		i++
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == j {
			return nil, errSlow
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == j {
			return nil, errSlow
		}
	}
	s.pos = i
	return d[start:i], nil
}

// literal scans true, false or null.
func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return errSlow
	}
	s.pos += len(word)
	return nil
}

// null consumes a null and reports whether there was one.
func (s *scanner) null() (bool, error) {
	if s.peek() != 'n' {
		return false, nil
	}
	return true, s.literal("null")
}

// skip scans (and so validates) any value.
func (s *scanner) skip() error {
	switch s.peek() {
	case '{':
		return s.object(func(_ []byte, _, _ bool) error { return s.skip() })
	case '[':
		_, err := s.array(s.skip)
		return err
	case '"':
		_, _, _, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	_, err := s.number()
	return err
}

// raw scans any value and returns its bytes.
func (s *scanner) raw() ([]byte, error) {
	s.peek()
	start := s.pos
	if err := s.skip(); err != nil {
		return nil, err
	}
	return s.data[start:s.pos], nil
}

// object scans an object, calling member for each member with its key
// literal (quotes included) and s.pos at its value, which member consumes.
func (s *scanner) object(member func(key []byte, esc, high bool) error) error {
	if s.peek() != '{' {
		return errSlow
	}
	if s.depth++; s.depth > maxScanDepth {
		return errSlow
	}
	s.pos++
	if s.peek() == '}' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		key, esc, high, err := s.str()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return errSlow
		}
		s.pos++
		if err := member(key, esc, high); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.depth--
			return nil
		default:
			return errSlow
		}
	}
}

// array scans an array, calling elem with s.pos at each element, which
// elem consumes; it returns how many elements there were.
func (s *scanner) array(elem func() error) (int, error) {
	if s.peek() != '[' {
		return 0, errSlow
	}
	if s.depth++; s.depth > maxScanDepth {
		return 0, errSlow
	}
	s.pos++
	if s.peek() == ']' {
		s.pos++
		s.depth--
		return 0, nil
	}
	for n := 1; ; n++ {
		if err := elem(); err != nil {
			return 0, err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.depth--
			return n, nil
		default:
			return 0, errSlow
		}
	}
}

// fields scans an object into a struct whose JSON field names are names:
// field(i) decodes the value of names[i]. Unknown members are skipped.
// It gives up on a repeated field and on a key that encoding/json could
// match to a field other than by exact name (case folding, escapes).
func (s *scanner) fields(names []string, field func(i int) error) error {
	var seen uint64
	return s.object(func(key []byte, esc, high bool) error {
		k := key[1 : len(key)-1]
		if esc || high {
			return errSlow
		}
		for i, n := range names {
			if string(k) == n {
				if seen&(1<<i) != 0 {
					return errSlow
				}
				seen |= 1 << i
				return field(i)
			}
		}
		for _, n := range names {
			if len(n) == len(k) && strings.EqualFold(string(k), n) {
				return errSlow
			}
		}
		return s.skip()
	})
}

// stringInto decodes a string into *p; null leaves it as it is.
func (s *scanner) stringInto(p *string) error {
	if s.peek() == 'n' {
		return s.literal("null")
	}
	lit, esc, high, err := s.str()
	if err != nil {
		return err
	}
	*p, err = text(lit, esc, high)
	return err
}

// boolInto decodes a boolean into *p; null leaves it as it is.
func (s *scanner) boolInto(p *bool) error {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case 't':
		*p = true
		return s.literal("true")
	case 'f':
		*p = false
		return s.literal("false")
	}
	return errSlow
}

// int64Into decodes an integer into *p; null sets it to nil.
func (s *scanner) int64Into(p **int64) error {
	if null, err := s.null(); null || err != nil {
		*p = nil
		return err
	}
	num, err := s.number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		return errSlow
	}
	*p = &n
	return nil
}

// facetsInto decodes an object of raw values (graph.Facets); null sets
// it to nil.
func (s *scanner) facetsInto(p *graph.Facets) error {
	if null, err := s.null(); null || err != nil {
		*p = nil
		return err
	}
	m := make(graph.Facets)
	err := s.object(func(key []byte, esc, high bool) error {
		name, err := text(key, esc, high)
		if err != nil {
			return err
		}
		v, err := s.raw()
		m[name] = v
		return err
	})
	*p = m
	return err
}
