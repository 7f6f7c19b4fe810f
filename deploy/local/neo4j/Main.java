import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.configuration.ssl.ClientAuth;
import org.neo4j.configuration.ssl.SslPolicyConfig;
import org.neo4j.configuration.ssl.SslPolicyScope;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Runs an embedded Neo4j community DBMS with its Bolt connector on
 * 127.0.0.1, for Redthread's tests and local runs (deploy/local/neo4j).
 *
 * <p>Usage: {@code Main HOME_DIR PORT [PAGECACHE_MB]}. By default auth and
 * Bolt encryption are off: by default the server only listens on the loopback address.
 * Two environment variables turn them on, to test a secured server:
 * {@code NEO4J_PASSWORD} enables auth and sets the {@code neo4j} user's
 * password (8 characters at least), and {@code NEO4J_TLS_DIR} names a
 * directory holding {@code private.key} (PKCS#8 PEM, unencrypted) and
 * {@code public.crt} (PEM), after which Bolt accepts TLS connections only.
 * {@code NEO4J_LISTEN_ADDRESS} (127.0.0.1 by default) is the address Bolt
 * listens on; the container image ({@code neo4j.sh image}) sets 0.0.0.0,
 * since Docker forwards its published port to the container's interface.
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

        String password = System.getenv().getOrDefault("NEO4J_PASSWORD", "");
        String tlsDir = System.getenv().getOrDefault("NEO4J_TLS_DIR", "");
        String listen = System.getenv().getOrDefault("NEO4J_LISTEN_ADDRESS", "127.0.0.1");
        // server.bolt.connection_keep_alive_for_requests. With ALL (Neo4j's
        // default) the server sends a connection.recv_timeout_seconds hint,
        // and the Go driver then bounds every read with a deadline (a
        // goroutine per read); OFF sends none. See the README.
        String keepAliveName = System.getenv().getOrDefault("NEO4J_BOLT_KEEPALIVE", "ALL");
        BoltConnector.KeepAliveRequestType keepAlive;
        try {
            keepAlive = BoltConnector.KeepAliveRequestType.valueOf(keepAliveName);
        } catch (IllegalArgumentException e) {
            System.err.println("NEO4J_BOLT_KEEPALIVE=" + keepAliveName + ": want ALL, STREAMING or OFF");
            System.exit(2);
            return;
        }

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(listen, port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(GraphDatabaseSettings.auth_enabled, !password.isEmpty());
        if (!tlsDir.isEmpty()) {
            Path dir = Path.of(tlsDir).toAbsolutePath();
            for (String f : new String[] {"private.key", "public.crt"}) {
                if (!Files.isReadable(dir.resolve(f))) {
                    System.err.println("NEO4J_TLS_DIR " + dir + " has no readable " + f);
                    System.exit(2);
                }
            }
            SslPolicyConfig bolt = SslPolicyConfig.forScope(SslPolicyScope.BOLT);
            builder.setConfig(bolt.enabled, true)
                    .setConfig(bolt.base_directory, dir)
                    .setConfig(bolt.private_key, dir.resolve("private.key"))
                    .setConfig(bolt.public_certificate, dir.resolve("public.crt"))
                    .setConfig(bolt.client_auth, ClientAuth.NONE)
                    .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.REQUIRED);
        }
        DatabaseManagementService dbms = builder
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMiB * 1024 * 1024)
                // A test server needs no point-in-time recovery: don't
                // preallocate 256 MiB log files or keep old ones around.
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, 64L * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "keep_none")
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(BoltConnector.connection_keep_alive_type, keepAlive)
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("redthread-neo4j: shutting down");
            dbms.shutdown();
            stopped.countDown();
        }, "redthread-neo4j-shutdown"));

        // Opening the default database waits until it is available, so the
        // ready line means queries will be answered, not only connections.
        if (!password.isEmpty()) {
            setPassword(dbms, password);
        }
        dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).executeTransactionally("RETURN 1");
        System.out.println(READY + port + " (listening on " + listen + ", home " + home + ", page cache " + pageCacheMiB + " MiB, auth "
                + (password.isEmpty() ? "off" : "on") + ", TLS " + (tlsDir.isEmpty() ? "off" : "required")
                + ", logs " + home.resolve("logs") + ")");
        System.out.flush();
        stopped.await();
    }

    /**
     * Sets the neo4j user's password, without the change Neo4j otherwise
     * demands at first login. Embedded code runs with full rights, so it
     * may alter the user; a restart with the same password is not an error.
     */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        try {
            dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        } catch (RuntimeException e) {
            String msg = String.valueOf(e.getMessage());
            if (!msg.contains("cannot be the same")) {
                throw e;
            }
        }
    }
}
