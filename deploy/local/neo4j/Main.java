import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Runs an embedded Neo4j community DBMS with its Bolt connector on
 * 127.0.0.1, for Redthread's tests and local runs (deploy/local/neo4j).
 *
 * <p>Usage: {@code Main HOME_DIR PORT [PAGECACHE_MB]}. Auth and Bolt
 * encryption are off: the server only listens on the loopback address.
 * Memory is kept small (the page cache defaults to 128 MiB, transaction logs
 * are neither preallocated nor kept), because it shares a 2-core machine with
 * the rest of the build. It prints one ready line, then blocks until it is
 * sent SIGTERM or SIGINT, when it shuts the DBMS down cleanly.
 */
public final class Main {
    /** The line neo4j.sh waits for; keep the two in step. */
    static final String READY = "redthread-neo4j: ready on bolt://127.0.0.1:";

    public static void main(String[] args) throws InterruptedException {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: Main HOME_DIR PORT [PAGECACHE_MB]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        long pageCacheMiB = args.length == 3 ? Long.parseLong(args[2]) : 128;

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMiB * 1024 * 1024)
                // A test server needs no point-in-time recovery: don't
                // preallocate 256 MiB log files or keep old ones around.
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, 64L * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "keep_none")
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("redthread-neo4j: shutting down");
            dbms.shutdown();
            stopped.countDown();
        }, "redthread-neo4j-shutdown"));

        // Opening the default database waits until it is available, so the
        // ready line means queries will be answered, not only connections.
        dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).executeTransactionally("RETURN 1");
        System.out.println(READY + port + " (home " + home + ", page cache " + pageCacheMiB + " MiB, logs "
                + home.resolve("logs") + ")");
        System.out.flush();
        stopped.await();
    }
}
