// Command redthread is the Redthread service and its command-line client:
// it keeps the provenance of ML models (Z1 correlation → Z3 dataset@snapshot
// → Z4 run → Z5 model version → Z6 deployment) as one property graph.
//
//	redthread serve                 start the service (embedded defaults)
//	redthread ingest FILE|DIR|-     send OpenLineage events (JSON or NDJSON) to a server
//	redthread lineage KEY           print the lineage around a node (json or dot)
//	redthread reindex               replay the event log into a graph store
//	redthread bench                 measure ingest and lineage speed
//	redthread version               print the version
//
// Every flag can also be set as REDTHREAD_<FLAG> (upper case, '-' as '_').
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name, usage, summary string
	run                  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "redthread serve [flags]", "start the service", runServe},
		{"ingest", "redthread ingest [flags] FILE|DIR|-", "send OpenLineage events (JSON, JSON arrays or NDJSON) to a server", runIngest},
		{"mlflow", "redthread mlflow sync [flags]", "read an MLflow server (runs, artifacts, model registry) into a running Redthread", runMLflow},
		{"lineage", "redthread lineage [flags] KEY", "print the lineage around a node as JSON or Graphviz dot", runLineage},
		{"reindex", "redthread reindex [flags]", "replay the event log into a graph store (rebuild or catch up; resumable)", runReindex},
		{"bench", "redthread bench [flags]", "measure ingest throughput and lineage latency", runBench},
		{"version", "redthread version", "print the version", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Redthread keeps the provenance of ML models as one property graph.")
	fmt.Fprintln(w, "\nUsage: redthread COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'redthread COMMAND -h' for a command's flags. Every flag can also be set\nas an environment variable REDTHREAD_<FLAG>, e.g. REDTHREAD_LISTEN=127.0.0.1:8080.")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			default:
				fmt.Fprintf(stderr, "redthread %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "redthread: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintf(stdout, "redthread %s\n", version)
	return nil
}
