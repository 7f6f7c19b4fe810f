package sqlite

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"
)

// runEventBody is a RunEvent-shaped body of about n bytes: repetitive
// JSON, as real events are.
func runEventBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"eventType":"COMPLETE","eventTime":"2026-11-27T02:00:00Z","inputs":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"namespace":"s3://lake","name":"raw/orders_%d","facets":{"schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"amount_ção","type":"DECIMAL(12,2)"}]}}}`, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestEncodeBody(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want bodyEncoding
	}{
		{"nil", nil, bodyRaw},
		{"empty", []byte{}, bodyRaw},
		{"short JSON stays raw", []byte(`{"eventType":"START"}`), bodyRaw},
		{"just under the threshold", bytes.Repeat([]byte("a"), minCompressBody-1), bodyRaw},
		{"at the threshold and compressible", bytes.Repeat([]byte("a"), minCompressBody), bodyS2},
		{"typical event", runEventBody(4500), bodyS2},
		{"large event", runEventBody(300_000), bodyS2},
		{"random bytes do not shrink", randomBytes(4096), bodyRaw},
	}
	var scratch []byte
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stored, enc := encodeBody(tc.body, &scratch)
			if enc != tc.want {
				t.Fatalf("encoding = %d, want %d", enc, tc.want)
			}
			if enc == bodyS2 && len(stored) > len(tc.body)/8*maxCompressedEighths {
				t.Errorf("stored %d bytes of %d: compressed bodies must save at least an eighth", len(stored), len(tc.body))
			}
			if enc == bodyRaw && !bytes.Equal(stored, tc.body) {
				t.Errorf("raw body stored as %q", stored)
			}
			got, err := decodeBody(bytes.Clone(stored), enc)
			if err != nil {
				t.Fatalf("decodeBody: %v", err)
			}
			if !bytes.Equal(got, tc.body) {
				t.Errorf("round trip changed the body: %d bytes back for %d", len(got), len(tc.body))
			}
		})
	}
}

// TestEncodeBodyAboveLimitStaysRaw checks that a body longer than a
// stored block may claim is stored raw, so that it reads back.
func TestEncodeBodyAboveLimitStaysRaw(t *testing.T) {
	defer func(old int) { maxBodyLen = old }(maxBodyLen)
	maxBodyLen = 1000
	var scratch []byte
	for _, n := range []int{1000, 1001, 5000} {
		body := runEventBody(n)[:n]
		stored, enc := encodeBody(body, &scratch)
		want := bodyS2
		if n > maxBodyLen {
			want = bodyRaw
		}
		if enc != want {
			t.Errorf("%d-byte body with a %d-byte limit: encoding %d, want %d", n, maxBodyLen, enc, want)
		}
		if got, err := decodeBody(stored, enc); err != nil || !bytes.Equal(got, body) {
			t.Errorf("%d-byte body does not read back: %d bytes, %v", n, len(got), err)
		}
	}
}

func TestEncodeBodyReusesScratch(t *testing.T) {
	var scratch []byte
	first, _ := encodeBody(runEventBody(8000), &scratch)
	firstCopy := bytes.Clone(first)
	second, enc := encodeBody(runEventBody(4000), &scratch)
	if enc != bodyS2 {
		t.Fatalf("encoding = %d, want S2", enc)
	}
	if &first[0] != &second[0] {
		t.Errorf("the second body did not reuse the scratch buffer")
	}
	if got, err := decodeBody(second, enc); err != nil || !bytes.Equal(got, runEventBody(4000)) {
		t.Errorf("second body decodes to %d bytes, %v", len(got), err)
	}
	if got, err := decodeBody(firstCopy, bodyS2); err != nil || !bytes.Equal(got, runEventBody(8000)) {
		t.Errorf("first body (copied before reuse) decodes to %d bytes, %v", len(got), err)
	}
}

func TestDecodeBodyRefusesDamage(t *testing.T) {
	good := s2.Encode(nil, runEventBody(2000))
	// A block whose length header (a uvarint) claims 4 GiB - 1.
	huge := append([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, s2.Encode(nil, []byte("x"))[1:]...)
	tests := []struct {
		name   string
		stored []byte
		enc    bodyEncoding
		want   string
	}{
		{"unknown encoding", good, 7, "unknown body encoding 7"},
		{"truncated block", good[:len(good)/2], bodyS2, "s2 body"},
		{"empty block", []byte{}, bodyS2, "s2 body"},
		{"length beyond any body", huge, bodyS2, "over the"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeBody(tc.stored, tc.enc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decodeBody = %d bytes, %v; want an error containing %q", len(got), err, tc.want)
			}
		})
	}
}

// FuzzBodyRoundTrip checks that whatever the log stores reads back as the
// body it was given.
func FuzzBodyRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte(`{"eventType":"START"}`))
	f.Add(runEventBody(1000))
	f.Add(randomBytes(300))
	f.Fuzz(func(t *testing.T, body []byte) {
		var scratch []byte
		stored, enc := encodeBody(body, &scratch)
		got, err := decodeBody(bytes.Clone(stored), enc)
		if err != nil {
			t.Fatalf("decodeBody of what encodeBody stored: %v", err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("round trip gave %d bytes for %d", len(got), len(body))
		}
	})
}

// FuzzDecodeBody feeds damaged rows to the decoder: an error, never a
// panic or an allocation the stored length does not bound.
func FuzzDecodeBody(f *testing.F) {
	f.Add(s2.Encode(nil, runEventBody(600)), 1)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0}, 1)
	f.Add([]byte("raw"), 0)
	f.Add([]byte("x"), 2)
	f.Fuzz(func(t *testing.T, stored []byte, enc int) {
		got, err := decodeBody(stored, bodyEncoding(enc))
		if err != nil {
			return
		}
		switch bodyEncoding(enc) {
		case bodyRaw:
			if !bytes.Equal(got, stored) {
				t.Fatalf("raw body changed")
			}
		case bodyS2:
			if n, err := s2.DecodedLen(stored); err != nil || n != len(got) || n > maxBodyLen {
				t.Fatalf("decoded %d bytes from a block whose header says %d (%v)", len(got), n, err)
			}
		default:
			t.Fatalf("encoding %d decoded without error", enc)
		}
	})
}
