package org.splinewatch.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;

/**
 * {@code splinewatch.cluster}: where this node listens, which cluster it joins, and how snapshots travel.
 *
 * @param seed HOST:PORT of the node to join; empty when this node starts the cluster
 */
public record ClusterSettings(String host, int port, String seed, List<String> roles, int chunkBytes,
    long maxSnapshotBytes, int inFlightPerAnalyzer, Duration joinTimeout, Duration snapshotTimeout,
    Duration downAfter, Duration heartbeatPause) {

  public static final List<String> ROLES = List.of("analyzer", "metrics");

  public ClusterSettings {
    roles = List.copyOf(roles);
    for (String role : roles) {
      if (!ROLES.contains(role)) {
        throw new IllegalArgumentException("unknown role '" + role + "'; expected some of: " + String.join(", ", ROLES));
      }
    }
    if (chunkBytes < 1024 || chunkBytes > 200 * 1024) {
      throw new IllegalArgumentException("splinewatch.cluster.chunk-bytes must be between 1024 and 204800 (below the"
          + " 256 KiB artery frame), got " + chunkBytes);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("cluster port must be between 0 and 65535, got " + port);
    }
    if (inFlightPerAnalyzer < 1) {
      throw new IllegalArgumentException("splinewatch.cluster.in-flight-per-analyzer must be at least 1, got "
          + inFlightPerAnalyzer);
    }
    if (!seed.isEmpty()) {
      parseAddress(seed);
    }
  }

  /** The same settings on another port. */
  public ClusterSettings withPort(int newPort) {
    return new ClusterSettings(host, newPort, seed, roles, chunkBytes, maxSnapshotBytes, inFlightPerAnalyzer,
        joinTimeout, snapshotTimeout, downAfter, heartbeatPause);
  }

  public static ClusterSettings fromConfig(Config config) {
    Config c = config.getConfig("splinewatch.cluster");
    return new ClusterSettings(c.getString("host"), c.getInt("port"), c.getString("seed"),
        c.getStringList("roles"), c.getInt("chunk-bytes"), c.getLong("max-snapshot-bytes"),
        c.getInt("in-flight-per-analyzer"), c.getDuration("join-timeout"), c.getDuration("snapshot-timeout"),
        c.getDuration("down-after"), c.getDuration("heartbeat-pause"));
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
        "pekko.remote.artery.transport = tcp",
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
    return ConfigFactory.parseString(conf).withFallback(base);
  }
}
