package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/redthread/redthread/graph/sqlite"
	"github.com/redthread/redthread/ingest"
)

// runReindex replays the event log into a graph store: into an empty one
// to rebuild it (a new Neo4j, a fresh SQLite file), or into one that is
// behind, from where it stopped. The store's applied offset is the resume
// point, so an interrupted reindex picks up where it left off.
func runReindex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var g graphFlags
	fs := newFlagSet("reindex", "redthread reindex [flags]", stderr)
	dataDir := fs.String("data-dir", "./redthread-data", "data dir whose event log (events.db) is replayed")
	g.register(fs)
	chunk := fs.Int("chunk", 2000, "log records applied per store transaction")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *chunk < 1 {
		fs.Usage()
		return errUsage
	}
	logger, err := newLogger("warn", "text", stderr)
	if err != nil {
		return err
	}
	log, err := sqlite.OpenLog(filepath.Join(*dataDir, eventLogFile))
	if err != nil {
		return fmt.Errorf("opening the event log: %w", err)
	}
	defer log.Close()
	store, err := g.open(ctx, *dataDir, logger, false)
	if err != nil {
		return fmt.Errorf("opening graph %s: %w", g.describe(), err)
	}
	defer store.Close()

	stats, err := log.Stats(ctx)
	if err != nil {
		return err
	}
	applied, err := store.AppliedOffset(ctx)
	if err != nil {
		return fmt.Errorf("reading the graph's applied offset: %w", err)
	}
	if applied >= stats.Head {
		fmt.Fprintf(stdout, "graph %s is up to date with the log (offset %d)\n", g.describe(), applied)
		return nil
	}
	if applied > 0 {
		fmt.Fprintf(stderr, "resuming: graph %s has applied offsets up to %d of %d\n", g.describe(), applied, stats.Head)
	}
	var bar *progressbar.ProgressBar
	if !*quiet {
		bar = progressbar.NewOptions64(stats.Head-applied,
			progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("reindexing"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("records"),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
	}
	decoders := formats(nil)
	start, from := time.Now(), applied
	for applied < stats.Head {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted at offset %d (run reindex again to resume): %w", applied, err)
		}
		batches, last, err := ingest.ReadBatches(ctx, log, decoders, applied, *chunk)
		if err != nil {
			return err
		}
		if last == applied {
			break
		}
		if err := store.Apply(ctx, batches...); err != nil {
			return fmt.Errorf("applying offsets %d–%d (run reindex again to resume): %w", applied+1, last, err)
		}
		if bar != nil {
			_ = bar.Add64(last - applied)
		}
		applied = last
	}
	if bar != nil {
		_ = bar.Finish()
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "reindexed %d records into %s in %s (%.0f records/s)\n",
		applied-from, g.describe(), took.Round(time.Millisecond), float64(applied-from)/took.Seconds())
	return nil
}
