package sqlite

import (
	"fmt"

	"github.com/klauspost/compress/s2"
)

// bodyEncoding says how the log stored a record's body. The column is
// event_log.encoding; rows written before it existed read as bodyRaw.
type bodyEncoding int

const (
	// bodyRaw is the body as received.
	bodyRaw bodyEncoding = 0
	// bodyS2 is the body as one S2 block (github.com/klauspost/compress/s2),
	// which holds its own decoded length.
	bodyS2 bodyEncoding = 1
)

// Bodies shorter than minCompressBody, or that would keep more than
// maxCompressedEighths/8 of their size, are stored raw: the block header
// and a decode on every read are not worth a few bytes.
const (
	minCompressBody      = 256
	maxCompressedEighths = 7
)

// maxBodyLen bounds the decoded length a stored block may claim, so that a
// damaged row cannot make a read allocate without limit. Larger bodies are
// stored raw, so that every body the log takes reads back. It is far above
// any body the server accepts by default (--max-body-bytes, 16 MiB). A
// variable only so that tests can lower it.
var maxBodyLen = 1 << 30

// encodeBody returns what the log stores for body and how it is encoded.
// A compressed body is written into *scratch, grown as needed and reused
// by the caller for the next body once this one is written.
func encodeBody(body []byte, scratch *[]byte) ([]byte, bodyEncoding) {
	if len(body) < minCompressBody || len(body) > maxBodyLen {
		return body, bodyRaw
	}
	n := s2.MaxEncodedLen(len(body))
	if n < 0 {
		return body, bodyRaw // too large for one block
	}
	if cap(*scratch) < n {
		*scratch = make([]byte, n)
	}
	c := s2.Encode((*scratch)[:n], body)
	if len(c) > len(body)/8*maxCompressedEighths {
		return body, bodyRaw
	}
	return c, bodyS2
}

// decodeBody returns the body a row stores as stored with encoding enc.
// It fails, rather than guess, on an encoding this build does not know
// (a newer build wrote the row) and on a block that does not decode.
func decodeBody(stored []byte, enc bodyEncoding) ([]byte, error) {
	switch enc {
	case bodyRaw:
		return stored, nil
	case bodyS2:
		n, err := s2.DecodedLen(stored)
		if err != nil {
			return nil, fmt.Errorf("s2 body: %w", err)
		}
		if n > maxBodyLen {
			return nil, fmt.Errorf("s2 body claims %d bytes, over the %d a body may have", n, maxBodyLen)
		}
		body, err := s2.Decode(make([]byte, n), stored)
		if err != nil {
			return nil, fmt.Errorf("s2 body: %w", err)
		}
		return body, nil
	default:
		return nil, fmt.Errorf("unknown body encoding %d (written by a newer build?)", enc)
	}
}
