package openlineage

import (
	"bytes"
	"encoding/json"
	"testing"
)

// benchBodies are a typical Spark START event (compacted as producers send
// it, about 4 KB) and the large column-lineage fixture (about 240 KB).
func benchBodies(b *testing.B) map[string][]byte {
	b.Helper()
	var typical bytes.Buffer
	if err := json.Compact(&typical, readFixture(b, "spark_start.json")); err != nil {
		b.Fatal(err)
	}
	return map[string][]byte{
		"typical": typical.Bytes(),
		"large":   readFixture(b, "spark_column_lineage_big.json"),
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"typical", "large"} {
		body := benchBodies(b)[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMap(b *testing.B) {
	for _, name := range []string{"typical", "large"} {
		body := benchBodies(b)[name]
		ev, err := Decode(body)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var n int
			for b.Loop() {
				n = len(Map(ev, 1))
			}
			b.ReportMetric(float64(n), "mutations")
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	v := testValidator(b)
	for _, name := range []string{"typical", "large"} {
		body := benchBodies(b)[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Validate(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
