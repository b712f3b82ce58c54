package org.splinewatch.cluster;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splinewatch.snapshot.MetricFamily;

/**
 * Counts messages a cluster role refused ({@code splinewatch_cluster_rejected_total{reason}}) and logs each reason
 * once per peer (a bounded memory of what was logged, so a flood of bad messages cannot grow it). Thread-safe: the
 * metrics and analyzer roles of one node share it.
 */
public final class Rejections {
  private static final Logger LOG = LoggerFactory.getLogger(Rejections.class);
  private static final int REMEMBERED = 4096;

  private final MeterRegistry registry;
  private final Set<String> logged = Collections.newSetFromMap(new LinkedHashMap<>(64, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > REMEMBERED;
    }
  });

  public Rejections(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Counts into a private registry (a node without {@code /metrics}); still logs. */
  public static Rejections unexported() {
    return new Rejections(new SimpleMeterRegistry());
  }

  /**
   * One refused message. {@code reason} is a short fixed token (a label value), {@code peer} the node it came from
   * as far as the message tells ("unknown" otherwise), {@code detail} what was wrong.
   */
  public void reject(String role, String reason, String peer, String detail) {
    Counter.builder(MetricFamily.CLUSTER_REJECTED_TOTAL.meterName()).description(MetricFamily.CLUSTER_REJECTED_TOTAL
        .help()).tags("role", role, "reason", reason).register(registry).increment();
    boolean first;
    synchronized (logged) {
      first = logged.add(role + '|' + reason + '|' + peer);
    }
    if (first) {
      LOG.warn("{} role rejected a message from {} ({}): {} (further ones of this kind from this peer are only"
          + " counted in splinewatch_cluster_rejected_total)", role, peer, reason, clip(detail, 300));
    }
  }

  /** How many messages were refused, over all reasons. */
  public double total() {
    return registry.find(MetricFamily.CLUSTER_REJECTED_TOTAL.meterName()).counters().stream().mapToDouble(c -> c.count()).sum();
  }

  /** {@code s} shortened to {@code max} characters for a log line, control characters replaced. */
  static String clip(String s, int max) {
    if (s == null) {
      return "null";
    }
    String t = s.length() > max ? s.substring(0, max) + "…" : s;
    return t.replaceAll("\\p{Cntrl}", "?");
  }
}
