// Package neo4jtest provides the real Neo4j a test binary runs against
// when REDTHREAD_NEO4J_URI names none and a Docker engine answers: a
// container started with testcontainers-go's Neo4j module, stopped when
// the binary's tests are done.
//
// Which Neo4j the tests use, in order:
//
//  1. REDTHREAD_NEO4J_URI, when set: that server (make test sets it after
//     starting deploy/local/neo4j where no Docker engine answers).
//  2. REDTHREAD_NEO4J_DOCKER=1, or unset with a Docker engine answering: a
//     container of REDTHREAD_NEO4J_IMAGE (DefaultImage), whose URI Setup
//     puts in REDTHREAD_NEO4J_URI for the rest of the process.
//  3. Otherwise none: the tests fail in CI and skip elsewhere, saying how
//     to get one.
//
// An engine without a registry (these build machines) cannot pull the
// official image; deploy/local/neo4j/neo4j.sh image builds one of the same
// Neo4j from Maven Central's jars, and REDTHREAD_NEO4J_IMAGE names it.
// Such engines rarely have testcontainers' reaper image either: set
// TESTCONTAINERS_RYUK_DISABLED=true there. Setup stops its container
// itself; the reaper only matters when a test binary is killed.
package neo4jtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcneo4j "github.com/testcontainers/testcontainers-go/modules/neo4j"
	"github.com/testcontainers/testcontainers-go/wait"
)

// The environment variables that choose the tests' Neo4j.
const (
	EnvURI    = "REDTHREAD_NEO4J_URI"
	EnvDocker = "REDTHREAD_NEO4J_DOCKER"
	EnvImage  = "REDTHREAD_NEO4J_IMAGE"
)

// DefaultImage is the official image of the Neo4j line Redthread supports.
const DefaultImage = "neo4j:5.26-community"

// readyLog matches the line the official image logs once Bolt listens, or
// the one deploy/local/neo4j's Main prints once the database answers.
const readyLog = `Bolt enabled on|redthread-neo4j: ready on`

// startTimeout bounds a container's start: an image pull, the JVM and the
// database's first start on a busy 2-core machine.
const startTimeout = 5 * time.Minute

// Container is a Neo4j running in Docker for the tests.
type Container struct {
	URI string // bolt://host:port, as the tests reach it (a direct connection, no routing)
	ctr *tcneo4j.Neo4jContainer
}

// EngineAnswers reports whether a Docker engine answers within a few
// seconds, as testcontainers finds it (DOCKER_HOST, the default socket,
// ~/.testcontainers.properties).
func EngineAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return false
	}
	return p.Health(ctx) == nil // Health closes the provider
}

// engineAnswers is EngineAnswers; tests replace it.
var engineAnswers = EngineAnswers

// Start runs a Neo4j container of image with auth off and waits until Bolt
// answers a query.
func Start(ctx context.Context, image string) (*Container, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	ctr, err := tcneo4j.Run(ctx, image,
		tcneo4j.WithoutAuthentication(),
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		// The module also waits for the HTTP connector, which the image
		// neo4j.sh builds does not run; Bolt is all Redthread uses.
		testcontainers.WithWaitStrategyAndDeadline(startTimeout, wait.ForLog(readyLog).AsRegexp()),
	)
	if err != nil {
		if ctr != nil {
			_ = testcontainers.TerminateContainer(ctr)
		}
		return nil, fmt.Errorf("neo4jtest: start %s: %w", image, err)
	}
	uri, err := boltURI(ctx, ctr)
	if err != nil {
		_ = testcontainers.TerminateContainer(ctr)
		return nil, fmt.Errorf("neo4jtest: %s: %w", image, err)
	}
	c := &Container{URI: uri, ctr: ctr}
	if err := waitBolt(ctx, uri); err != nil {
		c.Stop()
		return nil, fmt.Errorf("neo4jtest: %s at %s: %w", image, uri, err)
	}
	return c, nil
}

// boltURI is the URI the container's Bolt port is reached at from here.
// testcontainers takes the engine's host, which for a test running inside
// a container itself is the default gateway; when an engine on this very
// host publishes the port, only the loopback address reaches it, so that
// is tried too. The first address that accepts a connection wins.
func boltURI(ctx context.Context, ctr *tcneo4j.Neo4jContainer) (string, error) {
	host, err := ctr.Host(ctx)
	if err != nil {
		return "", err
	}
	port, err := ctr.MappedPort(ctx, "7687/tcp")
	if err != nil {
		return "", err
	}
	var tried []error
	for _, h := range []string{host, "127.0.0.1"} {
		addr := net.JoinHostPort(h, port.Port())
		conn, err := (&net.Dialer{Timeout: 3 * time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			return "bolt://" + addr, nil
		}
		tried = append(tried, err)
	}
	return "", fmt.Errorf("the published Bolt port answers at no address: %w", errors.Join(tried...))
}

// waitBolt retries a query until the server answers it: Bolt may listen
// before the default database is available.
func waitBolt(ctx context.Context, uri string) error {
	drv, err := neo4j.NewDriverWithContext(uri, neo4j.NoAuth())
	if err != nil {
		return err
	}
	defer drv.Close(context.WithoutCancel(ctx))
	for {
		_, err := neo4j.ExecuteQuery(ctx, drv, "RETURN 1", nil, neo4j.EagerResultTransformer)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer to a query: %w", errors.Join(err, ctx.Err()))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Stop removes the container and its data.
func (c *Container) Stop() error {
	return testcontainers.TerminateContainer(c.ctr)
}

// Setup is for a TestMain: when the environment (see the package comment)
// asks for a container, it starts one, sets REDTHREAD_NEO4J_URI to it and
// returns the function that stops it; otherwise it starts nothing and
// returns a no-op. It writes what it does to log.
func Setup(log io.Writer) (stop func(), err error) {
	noop := func() {}
	if os.Getenv(EnvURI) != "" {
		return noop, nil
	}
	ctx := context.Background()
	switch os.Getenv(EnvDocker) {
	case "1":
	case "":
		if !engineAnswers(ctx) {
			return noop, nil
		}
	default:
		return noop, nil
	}
	image := os.Getenv(EnvImage)
	if image == "" {
		image = DefaultImage
	}
	fmt.Fprintf(log, "neo4jtest: starting %s with testcontainers-go (%s unset)\n", image, EnvURI)
	began := time.Now()
	c, err := Start(ctx, image)
	if err != nil {
		return noop, fmt.Errorf("%w (set %s to use another Neo4j, %s to another image, or %s=0 to use none)",
			err, EnvURI, EnvImage, EnvDocker)
	}
	fmt.Fprintf(log, "neo4jtest: %s ready at %s after %s\n", image, c.URI, time.Since(began).Round(100*time.Millisecond))
	if err := os.Setenv(EnvURI, c.URI); err != nil {
		c.Stop()
		return noop, err
	}
	return func() {
		os.Unsetenv(EnvURI)
		if err := c.Stop(); err != nil {
			fmt.Fprintf(log, "neo4jtest: stop %s: %v\n", image, err)
		}
	}, nil
}
