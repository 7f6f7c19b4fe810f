package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Report gathers the results of one `redthread bench` invocation; it
// marshals to JSON as is.
type Report struct {
	Ingest  *IngestResult  `json:"ingest,omitempty"`
	Lineage *LineageResult `json:"lineage,omitempty"`
}

// Markdown renders every result that is present.
func (r Report) Markdown() string {
	var parts []string
	if r.Ingest != nil {
		parts = append(parts, r.Ingest.Markdown())
	}
	if r.Lineage != nil {
		parts = append(parts, r.Lineage.Markdown())
	}
	return strings.Join(parts, "\n")
}

// Markdown renders the result as a heading, a one-row table and notes.
func (r IngestResult) Markdown() string {
	var b strings.Builder
	mode := string(r.Mode)
	if r.Mode == ModeBatch {
		mode = fmt.Sprintf("batch of %d", r.BatchSize)
	}
	if r.Gzip {
		mode += ", gzip"
	}
	fmt.Fprintf(&b, "### Ingest: %s, %d clients → %s\n\n", mode, r.Clients, r.Target)
	b.WriteString("| events | accepted | rejected | requests | elapsed | events/s | MB/s | p50 | p90 | p99 | max |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	mbps := 0.0
	if r.Elapsed > 0 {
		mbps = float64(r.Bytes) / 1e6 / r.Elapsed.Seconds()
	}
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %.1f s | %.0f | %.1f | %s | %s | %s | %s |\n\n",
		r.Events, r.Accepted, r.Rejected, r.Requests, r.Elapsed.Seconds(), r.EventsPerSec, mbps,
		fmtMS(r.Latency.P50), fmtMS(r.Latency.P90), fmtMS(r.Latency.P99), fmtMS(r.Latency.Max))
	fmt.Fprintf(&b, "Workload: seed %d, target %d nodes (projected %d), %d events in the workload; stopped: %s.\n",
		r.Seed, r.Workload.Target, r.Workload.Nodes.Total(), r.Workload.Events, r.Stopped)
	if r.Partial > 0 {
		fmt.Fprintf(&b, "Partially accepted batches (207): %d.\n", r.Partial)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "Failed requests: %s.\n", fmtCounts(r.Errors))
	}
	if r.RSS != nil {
		b.WriteString(r.RSS.line())
	}
	if r.CPU != nil {
		b.WriteString(r.CPU.line("Server"))
	}
	if r.StoreCPU != nil {
		b.WriteString(r.StoreCPU.line("Graph store"))
	}
	return b.String()
}

// Markdown renders the result as a heading and one table row per depth.
func (r LineageResult) Markdown() string {
	var b strings.Builder
	kind := "downstream: impact"
	if r.Direction == Upstream {
		kind = "upstream: provenance"
	}
	fmt.Fprintf(&b, "### Lineage (%s) over %d start keys → %s\n\n", kind, len(r.Keys), r.Target)
	b.WriteString("| depth | queries | errors | p50 | p90 | p99 | max | mean nodes | mean edges | max nodes | truncated |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, d := range r.Depths {
		var errs int64
		for _, n := range d.Errors {
			errs += n
		}
		fmt.Fprintf(&b, "| %d | %d | %d | %s | %s | %s | %s | %.1f | %.1f | %d | %d |\n",
			d.Depth, d.Queries, errs, fmtMS(d.Latency.P50), fmtMS(d.Latency.P90), fmtMS(d.Latency.P99), fmtMS(d.Latency.Max),
			d.MeanNodes, d.MeanEdges, d.MaxNodes, d.Truncated)
	}
	fmt.Fprintf(&b, "\nElapsed %.1f s; stopped: %s.\n", r.Elapsed.Seconds(), r.Stopped)
	for _, d := range r.Depths {
		if len(d.Errors) > 0 {
			fmt.Fprintf(&b, "Errors at depth %d: %s.\n", d.Depth, fmtCounts(d.Errors))
		}
	}
	if r.RSS != nil {
		b.WriteString(r.RSS.line())
	}
	return b.String()
}

func (r *RSS) line() string {
	return fmt.Sprintf("RSS of pid %d: peak %s, final %s (VmHWM %s, %d samples).\n",
		r.PID, fmtKB(r.PeakKB), fmtKB(r.FinalKB), fmtKB(r.HWMKB), r.Samples)
}

// fmtMS formats a latency in milliseconds.
func fmtMS(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func fmtKB(kb int64) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }

// fmtCounts renders counts as "500 ×3, transport ×1", in key order.
func fmtCounts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
