package server

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadAll checks that readAll returns exactly what io.ReadAll would,
// whether the declared size is right, short, long or absent, and that a
// right one fills a buffer of that size without growing it.
func TestReadAll(t *testing.T) {
	body := strings.Repeat(`{"eventType":"START"},`, 500)
	for _, tc := range []struct {
		name  string
		size  int64
		limit int64
	}{
		{"declared", int64(len(body)), 1 << 20},
		{"undeclared", -1, 1 << 20},
		{"declared short", 10, 1 << 20},
		{"declared long", int64(len(body)) * 2, 1 << 20},
		{"declared empty", 0, 1 << 20},
		{"declared over the limit", int64(len(body)), 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte per Read, the worst a reader may do.
			got, err := readAll(iotest.OneByteReader(strings.NewReader(body)), tc.size, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != body {
				t.Fatalf("read %d bytes, want the %d of the body", len(got), len(body))
			}
			if tc.name == "declared" && cap(got) != len(body)+1 {
				t.Errorf("cap = %d; want the declared size plus one, %d", cap(got), len(body)+1)
			}
		})
	}
}

// TestReadAllError passes a reader's error on with what was read before it.
func TestReadAllError(t *testing.T) {
	boom := errors.New("connection reset")
	for _, size := range []int64{-1, 2, 3, 10} {
		r := io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom))
		got, err := readAll(r, size, 100)
		if !errors.Is(err, boom) {
			t.Errorf("size %d: err = %v, want %v", size, err, boom)
		}
		if !bytes.Equal(got, []byte("abc")) {
			t.Errorf("size %d: read %q before the error, want %q", size, got, "abc")
		}
	}
}
