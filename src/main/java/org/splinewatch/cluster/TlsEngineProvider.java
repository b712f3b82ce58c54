package org.splinewatch.cluster;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.remote.artery.tcp.ConfigSSLEngineProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Artery's TLS engine from {@code pekko.remote.artery.ssl.config-ssl-engine} (what {@link ClusterSettings} writes),
 * with the trust check made visible: a peer certificate that does not chain to the cluster CA is logged (once per
 * subject) and counted per actor system ({@link #refused}), which the metrics node exports as
 * {@code splinewatch_cluster_tls_refused_total}. The decision itself is the JDK's.
 */
public final class TlsEngineProvider extends ConfigSSLEngineProvider {
  private static final Logger LOG = LoggerFactory.getLogger(TlsEngineProvider.class);
  private static final Map<Object, AtomicLong> REFUSED = new WeakHashMap<>();
  /** Per actor system, the latest refusal in words, for a join that failed (guarded by {@link #REFUSED}). */
  private static final Map<Object, String> LAST = new WeakHashMap<>();
  private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();

  private final AtomicLong refusedHere;
  private final ActorSystem system;

  public TlsEngineProvider(ActorSystem system) {
    super(system);
    this.system = system;
    synchronized (REFUSED) {
      refusedHere = REFUSED.computeIfAbsent(system, s -> new AtomicLong());
    }
  }

  /** Peer certificates refused by the TLS engine of {@code system} (classic or typed system's classic form). */
  public static long refused(ActorSystem system) {
    synchronized (REFUSED) {
      AtomicLong n = REFUSED.get(system);
      return n == null ? 0 : n.get();
    }
  }

  /**
   * The latest peer certificate the TLS engine of {@code system} refused, in words ("refused the server certificate
   * of CN=monitor: …"), or empty: what a join that timed out most likely failed on.
   */
  public static java.util.Optional<String> lastRefusal(ActorSystem system) {
    synchronized (REFUSED) {
      return java.util.Optional.ofNullable(LAST.get(system));
    }
  }

  @Override
  public TrustManager[] trustManagers() {
    TrustManager[] all = super.trustManagers();
    for (int i = 0; i < all.length; i++) {
      if (all[i] instanceof X509ExtendedTrustManager x) {
        all[i] = new Counting(x);
      }
    }
    return all;
  }

  private void refused(X509Certificate[] chain, String side, CertificateException e) {
    refusedHere.incrementAndGet();
    String subject = chain == null || chain.length == 0 ? "(no certificate)"
        : chain[0].getSubjectX500Principal().getName();
    synchronized (REFUSED) {
      LAST.put(system, "this node's TLS refused the " + side + " certificate of " + subject + ": "
          + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
    }
    if (LOGGED.size() < 1000 && LOGGED.add(side + subject)) {
      LOG.warn("TLS: refused the {} certificate of {}: {} (counted in splinewatch_cluster_tls_refused_total)", side,
          subject, e.getMessage());
    }
  }

  /** One trust check of the JDK's trust manager. */
  private interface Check {
    void run() throws CertificateException;
  }

  /** Delegates every check; a failure is counted before it is rethrown. */
  private final class Counting extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager d;

    Counting(X509ExtendedTrustManager d) {
      this.d = d;
    }

    private void guard(X509Certificate[] chain, String side, Check check) throws CertificateException {
      try {
        check.run();
      } catch (CertificateException e) {
        refused(chain, side, e);
        throw e;
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String auth, Socket s) throws CertificateException {
      guard(chain, "client", () -> d.checkClientTrusted(chain, auth, s));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String auth, Socket s) throws CertificateException {
      guard(chain, "server", () -> d.checkServerTrusted(chain, auth, s));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String auth, SSLEngine e) throws CertificateException {
      guard(chain, "client", () -> d.checkClientTrusted(chain, auth, e));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String auth, SSLEngine e) throws CertificateException {
      guard(chain, "server", () -> d.checkServerTrusted(chain, auth, e));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String auth) throws CertificateException {
      guard(chain, "client", () -> d.checkClientTrusted(chain, auth));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String auth) throws CertificateException {
      guard(chain, "server", () -> d.checkServerTrusted(chain, auth));
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return d.getAcceptedIssuers();
    }
  }
}
