package workload

import "testing"

// BenchmarkGenerate measures generation alone, so that an ingest benchmark
// can check the generator is never its bottleneck. One op is one event.
func BenchmarkGenerate(b *testing.B) {
	cfg := Config{Seed: 1, Nodes: 100_000}
	g := New(cfg)
	var events, bytes int64
	b.ReportAllocs()
	for b.Loop() {
		e, ok := g.Next()
		if !ok {
			g = New(cfg)
			e, _ = g.Next()
		}
		events++
		bytes += int64(len(e))
	}
	if events > 0 {
		b.SetBytes(bytes / events)
		s := b.Elapsed().Seconds()
		b.ReportMetric(float64(events)/s, "events/s")
	}
}
