package org.splinewatch.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Tells early why a node's join cannot succeed: its TLS refused a peer's certificate, or the seed speaks another
 * transport than this node (TLS against plain TCP, either way round), which otherwise shows only as Pekko's join
 * retries until {@code join-timeout}. While the seed has not answered the join for {@link #PROBE_AFTER}, it is
 * probed once: a TLS client hello (the JDK's, no certificate) on a connection of its own, and the first bytes of the
 * answer. A TLS node answers with a TLS record (its server hello, or an alert); a plain-TCP node closes the
 * connection on bytes that are not its framing. A seed that answers neither way (nothing within the probe's time)
 * tells nothing, and the join is waited for as before.
 */
public final class SeedProbe {
  /** How long a join may go unanswered before the seed is probed; a seed that speaks the same answers in well under. */
  static final Duration PROBE_AFTER = Duration.ofSeconds(2);
  /** The longest the probe's connection and read may take. */
  private static final Duration PROBE_TIME = Duration.ofSeconds(2);

  /** What the seed answered a TLS client hello with. */
  enum Answer {
    /** a TLS record: the seed speaks TLS */
    TLS,
    /** the connection closed without one: the seed does not speak TLS */
    PLAIN,
    /** an HTTP response: an HTTP server (the monitor's metrics port, say), not a cluster node */
    HTTP,
    /** nothing to go by (no answer in time, no connection, something else) */
    UNKNOWN
  }

  private final ActorSystem<?> system;
  private final ClusterSettings settings;
  private final boolean trainer;
  private final long started = System.nanoTime();
  private Optional<String> mismatch = Optional.empty();
  private boolean probed;

  /**
   * For the join of {@code system} to {@code settings.seed()}, from now; {@code trainer}: the line names the monitor
   * and this trainer, otherwise the cluster seed and this node.
   */
  public SeedProbe(ActorSystem<?> system, ClusterSettings settings, boolean trainer) {
    this.system = system;
    this.settings = settings;
    this.trainer = trainer;
  }

  /** Whether the join cannot succeed: this node's TLS refused a peer, or {@link #mismatch} found a reason. */
  public boolean hopeless() {
    return ClusterNode.joinRefused(system) || mismatch().isPresent();
  }

  /**
   * A one-line error when the seed speaks TLS and this node does not, or the other way round; empty otherwise, and
   * until the join has gone unanswered for {@link #PROBE_AFTER} (the seed is probed once, then).
   */
  public Optional<String> mismatch() {
    if (probed || settings.seed().isEmpty() || System.nanoTime() - started < PROBE_AFTER.toNanos() || welcomed()) {
      return mismatch;
    }
    probed = true;
    String[] hp = ClusterSettings.parseAddress(settings.seed());
    Answer answer = probe(hp[0], Integer.parseInt(hp[1]), PROBE_TIME);
    String seed = trainer ? "the monitor" : "the seed";
    String self = trainer ? "this trainer" : "this node";
    String target = "cannot join " + (trainer ? "the monitor at " : "the cluster seed ") + settings.seed();
    String where = target + ": TLS mismatch: ";
    if (answer == Answer.HTTP) {
      mismatch = Optional.of(target + ": an HTTP server answers there, not a cluster node (the monitor's --metrics-port?); expected the"
          + " monitor's cluster port, as in its `trainers join with:` line (--port, default 25520)");
    } else if (answer == Answer.TLS && !settings.tls().enabled()) {
      mismatch = Optional.of(where + seed + " speaks TLS, " + self + " plain TCP; expected " + seed + "'s TLS"
          + " settings here too: --tls-dir DIR --tls-name NAME with a certificate of its CA (or"
          + " splinewatch.cluster.tls)");
    } else if (answer == Answer.PLAIN && settings.tls().enabled()) {
      mismatch = Optional.of(where + self + " speaks TLS, " + seed + " plain TCP (it closed the connection on a"
          + " TLS handshake); expected the same TLS settings on both: --tls-dir and --tls-name on " + seed
          + " too, or on neither");
    }
    return mismatch;
  }

  /** Whether the seed has let this node in (or at least answered its join): then the transports agree. */
  private boolean welcomed() {
    var self = Cluster.get(system).selfMember();
    return java.util.stream.StreamSupport.stream(Cluster.get(system).state().getMembers().spliterator(), false)
        .anyMatch(m -> m.uniqueAddress().equals(self.uniqueAddress()));
  }

  /**
   * Sends a TLS client hello to {@code host:port} on a connection of its own and reads the first two bytes of the
   * answer (within {@code time} to connect, and again to answer).
   */
  static Answer probe(String host, int port, Duration time) {
    byte[] hello;
    try {
      SSLEngine engine = SSLContext.getDefault().createSSLEngine(host, port);
      engine.setUseClientMode(true);
      ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
      engine.beginHandshake();
      engine.wrap(ByteBuffer.allocate(0), out);
      out.flip();
      hello = new byte[out.remaining()];
      out.get(hello);
    } catch (GeneralSecurityException | SSLException e) {
      return Answer.UNKNOWN;
    }
    int millis = (int) time.toMillis();
    try (Socket socket = new Socket()) {
      try {
        socket.connect(new InetSocketAddress(host, port), millis);
        socket.setSoTimeout(millis);
        socket.getOutputStream().write(hello);
        socket.getOutputStream().flush();
      } catch (IOException e) {
        return Answer.UNKNOWN; // no connection (any more): nothing to tell the transports by
      }
      InputStream in = socket.getInputStream();
      try {
        int first = in.read();
        if (first < 0) {
          return Answer.PLAIN;
        }
        if (first == 'H') { // "HTTP/1.1 400 Bad Request": an HTTP server read the hello as a request
          byte[] rest = in.readNBytes(4);
          return new String(rest, java.nio.charset.StandardCharsets.US_ASCII).equals("TTP/") ? Answer.HTTP
              : Answer.UNKNOWN;
        }
        // a TLS record: handshake (22) or alert (21), then the major version 3
        return (first == 22 || first == 21) && in.read() == 3 ? Answer.TLS : Answer.UNKNOWN;
      } catch (SocketTimeoutException e) {
        return Answer.UNKNOWN;
      } catch (IOException e) {
        return Answer.PLAIN; // reset: closed on the hello without reading it all
      }
    } catch (IOException e) {
      return Answer.UNKNOWN;
    }
  }
}
