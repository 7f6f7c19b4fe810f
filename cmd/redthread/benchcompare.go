package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redthread/redthread/internal/bench"
)

// sideBySide renders the reports of one `redthread bench` run over several
// stores as one Markdown table, a column per store, so that the stores are
// compared on the same workload, build and machine state. A cell is "—"
// where a store's report lacks the figure (a scenario not run, a process
// whose CPU was not sampled).
func sideBySide(reports []benchReport) string {
	var b strings.Builder
	b.WriteString("### Side by side\n\n|  |")
	for _, r := range reports {
		fmt.Fprintf(&b, " %s |", strings.ReplaceAll(r.Graph, "|", `\|`))
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---:|", len(reports)))
	b.WriteString("\n")
	row := func(label string, cell func(r benchReport) string) {
		cells := make([]string, len(reports))
		found := false
		for i, r := range reports {
			if cells[i] = cell(r); cells[i] == "" {
				cells[i] = "—"
			} else {
				found = true
			}
		}
		if found {
			fmt.Fprintf(&b, "| %s | %s |\n", label, strings.Join(cells, " | "))
		}
	}

	ingestRows := func(name string, pick func(r benchReport) (*bench.IngestResult, *drain)) {
		row(name+": events/s acknowledged", func(r benchReport) string {
			if res, _ := pick(r); res != nil {
				return fmt.Sprintf("%.0f", res.EventsPerSec)
			}
			return ""
		})
		row(name+": events/s applied end to end", func(r benchReport) string {
			if _, d := pick(r); d != nil {
				return fmt.Sprintf("%.0f", d.AppliedPerSec)
			}
			return ""
		})
		row(name+": steady state, events/s applied / acknowledged", func(r benchReport) string {
			if _, d := pick(r); d != nil && d.Projection != nil && d.Projection.SteadyCommits > 0 {
				return fmt.Sprintf("%.0f / %.0f", d.Projection.SteadyAppliedPerSec, d.Projection.SteadyAckedPerSec)
			}
			return ""
		})
		row(name+": most events the graph trailed the log by", func(r benchReport) string {
			if _, d := pick(r); d != nil && d.Projection != nil {
				return fmt.Sprintf("%d", d.Projection.PeakLag)
			}
			return ""
		})
		row(name+": request p50 / p99", func(r benchReport) string {
			if res, _ := pick(r); res != nil {
				return fmt.Sprintf("%s / %s", msNum(res.Latency.P50), fmtMillis(res.Latency.P99))
			}
			return ""
		})
		row(name+": Redthread CPU per event while acknowledging", func(r benchReport) string {
			if res, _ := pick(r); res != nil && res.CPU != nil {
				return fmt.Sprintf("%.0f µs (%.2f cores)", res.CPU.MicrosPerEvent, res.CPU.Cores)
			}
			return ""
		})
		row(name+": graph store server CPU per event while acknowledging", func(r benchReport) string {
			if res, _ := pick(r); res != nil && res.StoreCPU != nil {
				return fmt.Sprintf("%.0f µs (%.2f cores)", res.StoreCPU.MicrosPerEvent, res.StoreCPU.Cores)
			}
			return ""
		})
		row(name+": CPU per event until the graph caught up: Redthread", func(r benchReport) string {
			if _, d := pick(r); d != nil && d.ServerMicrosPerEvent > 0 {
				return fmt.Sprintf("%.0f µs", d.ServerMicrosPerEvent)
			}
			return ""
		})
		row(name+": CPU per event until the graph caught up: graph store server", func(r benchReport) string {
			if _, d := pick(r); d != nil && d.StoreMicrosPerEvent > 0 {
				return fmt.Sprintf("%.0f µs", d.StoreMicrosPerEvent)
			}
			return ""
		})
		row(name+": Redthread peak resident memory", func(r benchReport) string {
			if res, _ := pick(r); res != nil && res.RSS != nil {
				return fmt.Sprintf("%.0f MiB", float64(res.RSS.PeakKB)/1024)
			}
			return ""
		})
	}
	single := "ingest, one event per request"
	batch := "ingest, batches"
	for _, r := range reports {
		if r.Batch != nil {
			batch = fmt.Sprintf("ingest, batches of %d", r.Batch.BatchSize)
			break
		}
	}
	ingestRows(single, func(r benchReport) (*bench.IngestResult, *drain) { return r.Single, r.SingleApplied })
	ingestRows(batch, func(r benchReport) (*bench.IngestResult, *drain) { return r.Batch, r.BatchApplied })

	lineageRows := func(name string, pick func(r benchReport) *bench.LineageResult) {
		var depths []int
		for _, r := range reports {
			if l := pick(r); l != nil {
				for _, d := range l.Depths {
					if !slices.Contains(depths, d.Depth) {
						depths = append(depths, d.Depth)
					}
				}
			}
		}
		slices.Sort(depths)
		for _, depth := range depths {
			at := func(r benchReport) *bench.DepthResult {
				if l := pick(r); l != nil {
					for i := range l.Depths {
						if l.Depths[i].Depth == depth {
							return &l.Depths[i]
						}
					}
				}
				return nil
			}
			row(fmt.Sprintf("%s, depth %d: p50 / p99", name, depth), func(r benchReport) string {
				d := at(r)
				if d == nil {
					return ""
				}
				s := fmt.Sprintf("%s / %s", msNum(d.Latency.P50), fmtMillis(d.Latency.P99))
				var errs int64
				for _, n := range d.Errors {
					errs += n
				}
				if errs > 0 {
					s += fmt.Sprintf(" (%d errors)", errs)
				}
				return s
			})
			row(fmt.Sprintf("%s, depth %d: mean nodes / edges", name, depth), func(r benchReport) string {
				if d := at(r); d != nil {
					return fmt.Sprintf("%.1f / %.1f", d.MeanNodes, d.MeanEdges)
				}
				return ""
			})
		}
	}
	lineageRows("impact (downstream)", func(r benchReport) *bench.LineageResult { return r.Lineage })
	lineageRows("provenance (upstream)", func(r benchReport) *bench.LineageResult { return r.Provenance })
	b.WriteString("\nEach store got a fresh server and the same workloads; equal mean nodes and edges mean the stores returned subgraphs of the same size.\n")
	if m := reports[0].Machine; m != nil {
		fmt.Fprintf(&b, "Machine: %s.\n", m)
	}
	return b.String()
}

// msNum formats a latency as milliseconds without the unit.
func msNum(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// fmtMillis formats a latency as milliseconds with the unit.
func fmtMillis(d time.Duration) string { return msNum(d) + " ms" }
