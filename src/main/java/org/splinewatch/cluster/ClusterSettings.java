package org.splinewatch.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.splinewatch.metrics.BrowsableUrl;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.settings.OptionValues;
import org.splinewatch.settings.OwnerOnlyFiles;

/**
 * {@code splinewatch.cluster}: where this node listens, which cluster it joins, and how snapshots travel.
 *
 * @param seed         HOST:PORT of the node to join; empty when this node starts the cluster
 * @param maxOpenRuns  runs an analyzer or metrics node serves at once; more are refused
 * @param maxPartialBytes bytes of incomplete transfers an analyzer node buffers over all runs
 * @param maxLayerWidth widest layer (units) a received snapshot may have; analyzers allocate per unit and probe
 * @param tls          mutual TLS of the cluster transport
 * @param insecure     allow a non-loopback address without TLS (with a warning)
 * @param answerTimeout how long a trainer waits for the metrics node to answer its registration and each flush
 * @param finishTimeout how long a trainer waits for the metrics node to record its run's end (run_finished, report)
 */
public record ClusterSettings(String host, int port, String seed, List<String> roles, int chunkBytes,
    long maxSnapshotBytes, int inFlightPerAnalyzer, Duration joinTimeout, Duration snapshotTimeout,
    Duration downAfter, Duration heartbeatPause, int maxOpenRuns, long maxPartialBytes, int maxLayerWidth, Tls tls,
    boolean insecure, Duration answerTimeout, Duration finishTimeout) {

  /** reference.conf's {@code answer-timeout} and {@code finish-timeout}. */
  public static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration FINISH_TIMEOUT = Duration.ofSeconds(60);

  public static final List<String> ROLES = List.of("analyzer", "metrics");

  /**
   * TLS 1.3 and 1.2 cipher suites the transport accepts: AEAD suites with forward secrecy only (ECDHE for 1.2).
   */
  public static final List<String> CIPHERS = List.of("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
      "TLS_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");

  /**
   * {@code splinewatch.cluster.tls}: PKCS#12 key store (this node's key and certificate chain), trust store (the
   * cluster's CA) and a file holding the password of both.
   */
  public record Tls(boolean enabled, String keyStore, String trustStore, String passwordFile, String protocol) {
    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
    public static final Tls OFF = new Tls(false, "", "", "");

    /** TLS 1.3. */
    public Tls(boolean enabled, String keyStore, String trustStore, String passwordFile) {
      this(enabled, keyStore, trustStore, passwordFile, "TLSv1.3");
    }

    public Tls {
      if (!PROTOCOLS.contains(protocol)) {
        throw new IllegalArgumentException(OptionValues.named("splinewatch.cluster.tls.protocol", protocol)
            + ": expected one of " + String.join(", ", PROTOCOLS));
      }
      keyStore = keyStore == null ? "" : keyStore;
      trustStore = trustStore == null ? "" : trustStore;
      passwordFile = passwordFile == null ? "" : passwordFile;
    }

    /** The password from {@link #passwordFile()} (first line), or a one-line error naming what is missing. */
    String password() {
      for (String[] f : new String[][] {{"key-store", keyStore}, {"trust-store", trustStore},
          {"password-file", passwordFile}}) {
        if (f[1].isEmpty()) {
          throw new IllegalArgumentException("splinewatch.cluster.tls." + f[0] + " is not set (--tls-" + f[0]
              + " FILE); TLS needs a key store, a trust store and a password file: --tls-dir DIR --tls-name NAME"
              + " for those ./monitor certs DIR makes");
        }
        Path file = Path.of(f[1]);
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
          String why = !Files.exists(file) ? "no such file" : Files.isDirectory(file) ? "a directory"
              : !Files.isRegularFile(file) ? "not a regular file" : "no read permission";
          throw new IllegalArgumentException("splinewatch.cluster.tls." + f[0] + " '" + f[1] + "' is not a readable"
              + " file (" + why + "); expected " + (switch (f[0]) {
                case "key-store" -> "this node's NAME.p12";
                case "trust-store" -> "truststore.p12";
                default -> "the file password";
              }) + " of ./monitor certs DIR (--tls-dir DIR --tls-name NAME)");
        }
      }
      try {
        List<String> lines = Files.readAllLines(Path.of(passwordFile), StandardCharsets.UTF_8);
        if (lines.isEmpty() || lines.get(0).isBlank()) {
          throw new IllegalArgumentException("splinewatch.cluster.tls.password-file '" + passwordFile + "' is empty;"
              + " expected the key store password on its first line");
        }
        return lines.get(0).strip();
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read splinewatch.cluster.tls.password-file '" + passwordFile
            + "': " + e.getMessage(), e);
      }
    }
  }

  /**
   * Opens the PKCS#12 stores with {@code password} now, so that a wrong password or a file that is not such a store
   * (a {@code .crt}) is a one-line error at start instead of a node that runs but that no peer can ever join.
   */
  static void checkStores(Tls tls, String password) {
    checkStore("key-store", tls.keyStore(), tls.passwordFile(), password, true);
    checkStore("trust-store", tls.trustStore(), tls.passwordFile(), password, false);
  }

  private static void checkStore(String what, String file, String passwordFile, String password, boolean needsKey) {
    java.security.KeyStore store;
    try (java.io.InputStream in = Files.newInputStream(Path.of(file))) {
      store = java.security.KeyStore.getInstance("PKCS12");
      store.load(in, password.toCharArray());
    } catch (IOException | java.security.GeneralSecurityException e) {
      String why = e.getCause() instanceof java.security.UnrecoverableKeyException
          || String.valueOf(e.getMessage()).contains("password") ? "the password in '" + passwordFile
          + "' does not open it" : pemLabel(Path.of(file)).map(label -> "it is a PEM file (" + label + "), not a"
          + " PKCS#12 store").orElse("it is not a PKCS#12 store (" + String.valueOf(e.getMessage()).lines()
          .findFirst().orElse("unreadable") + ")");
      throw new IllegalArgumentException("splinewatch.cluster.tls." + what + " '" + file + "' cannot be opened: "
          + why + "; expected a PKCS#12 store and its password (./monitor certs DIR makes them)", e);
    }
    try {
      boolean found = false;
      for (var aliases = store.aliases(); aliases.hasMoreElements() && !found; ) {
        String alias = aliases.nextElement();
        found = needsKey ? store.isKeyEntry(alias) : store.isCertificateEntry(alias);
      }
      if (!found) {
        throw new IllegalArgumentException("splinewatch.cluster.tls." + what + " '" + file + "' holds no "
            + (needsKey ? "private key" : "CA certificate") + "; expected " + (needsKey ? "the node's NAME.p12"
            : "truststore.p12") + " of ./monitor certs DIR");
      }
      // an expired certificate only shows as a refused handshake on the other side, after the join timeout
      for (var aliases = store.aliases(); aliases.hasMoreElements(); ) {
        if (store.getCertificate(aliases.nextElement()) instanceof java.security.cert.X509Certificate c) {
          checkValidity(what, file, c);
        }
      }
    } catch (java.security.KeyStoreException e) {
      throw new IllegalArgumentException("splinewatch.cluster.tls." + what + " '" + file + "': " + e.getMessage(), e);
    }
  }

  /** The first line of a PEM file ({@code -----BEGIN CERTIFICATE-----}, a node's .crt or ca.crt), else empty. */
  private static java.util.Optional<String> pemLabel(Path file) {
    try (java.io.BufferedReader in = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
      String first = in.readLine();
      return first != null && first.startsWith("-----BEGIN ") ? java.util.Optional.of(first.strip())
          : java.util.Optional.empty();
    } catch (IOException e) {
      return java.util.Optional.empty();
    }
  }

  /** A one-line error when {@code c} is not valid now (expired, or not yet valid). */
  static void checkValidity(String what, String file, java.security.cert.X509Certificate c) {
    String subject = c.getSubjectX500Principal().getName();
    String when;
    try {
      c.checkValidity();
      return;
    } catch (java.security.cert.CertificateExpiredException e) {
      when = "expired on " + c.getNotAfter().toInstant();
    } catch (java.security.cert.CertificateNotYetValidException e) {
      when = "is not valid before " + c.getNotBefore().toInstant();
    }
    throw new IllegalArgumentException("splinewatch.cluster.tls." + what + " '" + file + "': the certificate of "
        + subject + " " + when + " (this machine's clock: " + java.time.Instant.now().truncatedTo(
        java.time.temporal.ChronoUnit.SECONDS) + "); expected a current one: ./monitor certs DIR --nodes NAME --force"
        + " makes new node certificates (where the CA itself expired: a new DIR, and new certificates for every node)");
  }

  /** The settings of earlier releases: limits at their defaults, no TLS. */
  public ClusterSettings(String host, int port, String seed, List<String> roles, int chunkBytes,
      long maxSnapshotBytes, int inFlightPerAnalyzer, Duration joinTimeout, Duration snapshotTimeout,
      Duration downAfter, Duration heartbeatPause) {
    this(host, port, seed, roles, chunkBytes, maxSnapshotBytes, inFlightPerAnalyzer, joinTimeout, snapshotTimeout,
        downAfter, heartbeatPause, 64, Math.max(maxSnapshotBytes, 256L << 20), 65536, Tls.OFF, false);
  }

  /** With the default waits for the metrics node's answers ({@link #ANSWER_TIMEOUT}, {@link #FINISH_TIMEOUT}). */
  public ClusterSettings(String host, int port, String seed, List<String> roles, int chunkBytes,
      long maxSnapshotBytes, int inFlightPerAnalyzer, Duration joinTimeout, Duration snapshotTimeout,
      Duration downAfter, Duration heartbeatPause, int maxOpenRuns, long maxPartialBytes, int maxLayerWidth, Tls tls,
      boolean insecure) {
    this(host, port, seed, roles, chunkBytes, maxSnapshotBytes, inFlightPerAnalyzer, joinTimeout, snapshotTimeout,
        downAfter, heartbeatPause, maxOpenRuns, maxPartialBytes, maxLayerWidth, tls, insecure, ANSWER_TIMEOUT,
        FINISH_TIMEOUT);
  }

  public ClusterSettings {
    tls = tls == null ? Tls.OFF : tls;
    if (maxSnapshotBytes < chunkBytes || maxSnapshotBytes > Integer.MAX_VALUE - 64) {
      throw new IllegalArgumentException("splinewatch.cluster.max-snapshot-bytes " + maxSnapshotBytes + ": expected"
          + " chunk-bytes (" + chunkBytes + ") to " + (Integer.MAX_VALUE - 64));
    }
    ConfigBlock.requireAtLeast("splinewatch.cluster.max-open-runs", maxOpenRuns, 1);
    if (maxPartialBytes < maxSnapshotBytes) {
      throw new IllegalArgumentException("splinewatch.cluster.max-partial-bytes " + maxPartialBytes + ": expected at"
          + " least splinewatch.cluster.max-snapshot-bytes (" + maxSnapshotBytes + ")");
    }
    ConfigBlock.requireAtLeast("splinewatch.cluster.max-layer-width", maxLayerWidth, 1);
    requirePositive("answer-timeout", answerTimeout);
    requirePositive("finish-timeout", finishTimeout);
    requirePositive("snapshot-timeout", snapshotTimeout);
    roles = List.copyOf(roles);
    for (String role : roles) {
      if (!ROLES.contains(role)) {
        throw new IllegalArgumentException("unknown role '" + role + "'; expected some of: " + String.join(", ", ROLES));
      }
    }
    if (chunkBytes < 1024 || chunkBytes > 200 * 1024) {
      throw new IllegalArgumentException("splinewatch.cluster.chunk-bytes " + chunkBytes + ": expected 1024-204800"
          + " (below the 256 KiB artery frame)");
    }
    checkPort("splinewatch.cluster.port", port);
    ConfigBlock.requireAtLeast("splinewatch.cluster.in-flight-per-analyzer", inFlightPerAnalyzer, 1);
    if (!seed.isEmpty()) {
      parseAddress(seed);
    }
  }

  /** A cluster port set by {@code key}: 0 (a free one) or 1-65535. */
  public static void checkPort(String key, int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(key + " " + port + ": expected 0 (a free one) or 1-65535");
    }
  }

  private static void requirePositive(String key, Duration wait) {
    ConfigBlock.requirePositive("splinewatch.cluster." + key, wait);
  }

  /** The same settings on another port. */
  public ClusterSettings withPort(int newPort) {
    return new ClusterSettings(host, newPort, seed, roles, chunkBytes, maxSnapshotBytes, inFlightPerAnalyzer,
        joinTimeout, snapshotTimeout, downAfter, heartbeatPause, maxOpenRuns, maxPartialBytes, maxLayerWidth, tls,
        insecure, answerTimeout, finishTimeout);
  }

  /** Chunks a transfer may have: {@code max-snapshot-bytes / chunk-bytes + 1}. */
  public int maxChunks() {
    return (int) (maxSnapshotBytes / chunkBytes + 1);
  }

  /**
   * Refuses a wildcard address (0.0.0.0, ::), and a non-loopback address without TLS unless {@link #insecure()} is
   * set; returns the warning to print when it is (empty otherwise).
   */
  public String checkExposure() {
    if (wildcard(host)) {
      // the bind address is also the node's canonical address, the one its peers are told to connect to and that
      // its inbound messages must be addressed to: 0.0.0.0 is neither reachable nor what peers dial
      throw new IllegalArgumentException("cluster address " + host + " means every interface, which no other node can"
          + " connect to (a node's address is also the one its peers are told); expected this machine's address on"
          + " the network the nodes share, e.g. --host 10.0.0.1 (--cluster-host for a trainer)");
    }
    if (tls.enabled() || loopback(host)) {
      return "";
    }
    if (!insecure) {
      throw new IllegalArgumentException("cluster address " + host + " is not loopback and TLS is off: any peer that"
          + " reaches the port could join; set splinewatch.cluster.tls (./monitor certs DIR makes certificates) or"
          + " pass --insecure to accept that");
    }
    return "warning: cluster transport on " + host + " without TLS (--insecure): anyone who reaches port " + port
        + " can join the cluster, read snapshots and publish metrics";
  }

  /**
   * The checks {@link ClusterNode#start} makes before binding, for a command line to report as bad arguments: an
   * address of this machine ({@link #checkAddress()}), the rule of {@link #checkExposure()} (its warning is printed at start), readable TLS files, and stores that
   * their password opens, with a private key in the key store.
   */
  public void checkTransport() {
    checkAddress();
    checkExposure(); // with --insecure only a wildcard address throws; the warning is printed at start
    if (tls.enabled()) {
      checkStores(tls, tls.password());
      checkOwnerOnly("password-file", tls.passwordFile(), "the password of this node's key");
      checkOwnerOnly("key-store", tls.keyStore(), "this node's private key");
    }
  }

  /** Refuses a TLS file of {@code what} that others than its owner may read or change ({@link OwnerOnlyFiles}). */
  static void checkOwnerOnly(String what, String file, String secret) {
    OwnerOnlyFiles.refuseOpenToOthers("splinewatch.cluster.tls." + what, Path.of(file), secret,
        " as ./monitor certs makes it");
  }

  /**
   * Refuses a host that is no address of this machine (another machine's): the node binds the address it advertises,
   * and binding it failed as "port 0 is in use or cannot be bound", naming the port instead of the host.
   */
  public void checkAddress() {
    BrowsableUrl.notAnAddressHere("cluster address", host, "127.0.0.1 on one machine, else its address on the network"
        + " the nodes share; --host for serve, --cluster-host for a trainer").ifPresent(why -> {
          throw new IllegalArgumentException(why);
        });
  }

  private static boolean wildcard(String host) {
    return address(host).isAnyLocalAddress();
  }

  private static boolean loopback(String host) {
    return address(host).isLoopbackAddress();
  }

  private static InetAddress address(String host) {
    try {
      return InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("cluster host '" + host + "' cannot be resolved", e);
    }
  }

  public static ClusterSettings fromConfig(Config config) {
    Config c = config.getConfig("splinewatch.cluster");
    ConfigBlock b = new ConfigBlock(c, "splinewatch.cluster");
    return new ClusterSettings(c.getString("host"), b.integer("port"), c.getString("seed"),
        c.getStringList("roles"), b.integer("chunk-bytes"), b.bytes("max-snapshot-bytes"),
        b.integer("in-flight-per-analyzer"), b.positiveDuration("join-timeout"),
        b.positiveDuration("snapshot-timeout"), b.positiveDuration("down-after"), b.positiveDuration("heartbeat-pause"),
        b.integer("max-open-runs"), b.bytes("max-partial-bytes"), b.integer("max-layer-width"),
        new Tls(c.getBoolean("tls.enabled"), c.getString("tls.key-store"),
        c.getString("tls.trust-store"), c.getString("tls.password-file"), c.getString("tls.protocol")),
        c.getBoolean("insecure"), b.positiveDuration("answer-timeout"), b.positiveDuration("finish-timeout"));
  }

  /** Splits {@code HOST:PORT}; anything else is an error saying what was expected. */
  public static String[] parseAddress(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1) {
      throw new IllegalArgumentException("'" + hostPort + "' is not HOST:PORT (e.g. 127.0.0.1:25520)");
    }
    String port = hostPort.substring(colon + 1);
    if (!port.matches("\\d{1,5}") || Integer.parseInt(port) > 65535) {
      throw new IllegalArgumentException("'" + hostPort + "' has no valid port; expected HOST:PORT with a port"
          + " between 1 and 65535");
    }
    return new String[] {hostPort.substring(0, colon), port};
  }

  /**
   * The Pekko configuration of a cluster node with these settings and roles on top of {@code base}: artery TCP on
   * {@link #host()}:{@link #port()} and the split-brain resolver (keep-oldest on the metrics role). Joining is done by
   * {@link ClusterNode#start}.
   */
  public Config nodeConfig(Config base, List<String> nodeRoles) {
    StringBuilder roleList = new StringBuilder();
    for (String r : nodeRoles) {
      roleList.append(roleList.length() == 0 ? "" : ",").append('"').append(r).append('"');
    }
    String conf = String.join("\n",
        "pekko.actor.provider = cluster",
        "pekko.remote.artery.transport = " + (tls.enabled() ? "tls-tcp" : "tcp"),
        "pekko.remote.artery.canonical.hostname = \"" + host + "\"",
        "pekko.remote.artery.canonical.port = " + port,
        "pekko.remote.artery.bind.hostname = \"" + host + "\"",
        "pekko.cluster.roles = [" + roleList + "]",
        "pekko.cluster.downing-provider-class = \"org.apache.pekko.cluster.sbr.SplitBrainResolverProvider\"",
        // the metrics node is the hub: in a partition the side with the oldest metrics node stays, and that node
        // never downs itself; busy 2-core machines get a lenient failure detector
        "pekko.cluster.split-brain-resolver.active-strategy = keep-oldest",
        "pekko.cluster.split-brain-resolver.keep-oldest.down-if-alone = off",
        "pekko.cluster.split-brain-resolver.keep-oldest.role = \"metrics\"",
        "pekko.cluster.failure-detector.acceptable-heartbeat-pause = " + heartbeatPause.toMillis() + "ms",
        // a trainer that is downed (cut off from the monitor) keeps training; only its analysis stops
        "pekko.cluster.run-coordinated-shutdown-when-down = " + (nodeRoles.contains("trainer") ? "off" : "on"),
        "pekko.cluster.split-brain-resolver.stable-after = " + downAfter.toMillis() + "ms",
        "pekko.cluster.jmx.enabled = off",
        "pekko.cluster.log-info = off",
        "pekko.coordinated-shutdown.run-by-actor-system-terminate = on");
    if (nodeRoles.contains("trainer")) {
      // a trainer's run terminates its node within the signal's grace; Artery's JVM hook then flushed to the monitor
      // again at System.exit, and one that did not answer (kill -STOP) kept the process 0.6-1.4 s past the grace
      conf += "\npekko.jvm-shutdown-hooks = off";
    }
    Config node = ConfigFactory.parseString(conf);
    if (tls.enabled()) {
      node = tlsConfig().withFallback(node);
    }
    return node.withFallback(base);
  }

  /** Artery's TLS engine: this node's key store, the CA trust store, mutual authentication, TLS 1.3 or 1.2. */
  private Config tlsConfig() {
    String password = tls.password(); // the stores themselves: checkTransport (a command line's check)
    Map<String, Object> ssl = new LinkedHashMap<>();
    ssl.put("key-store", Path.of(tls.keyStore()).toAbsolutePath().toString());
    ssl.put("trust-store", Path.of(tls.trustStore()).toAbsolutePath().toString());
    ssl.put("key-store-password", password);
    ssl.put("key-password", password);
    ssl.put("trust-store-password", password);
    // Artery enables exactly this one protocol version on every connection, so all nodes must agree on it
    ssl.put("protocol", tls.protocol());
    ssl.put("enabled-algorithms", CIPHERS);
    ssl.put("require-mutual-authentication", true);
    ssl.put("hostname-verification", false);
    return ConfigFactory.parseMap(Map.of("pekko.remote.artery.ssl.config-ssl-engine", ssl,
        "pekko.remote.artery.ssl.ssl-engine-provider", TlsEngineProvider.class.getName()));
  }
}
