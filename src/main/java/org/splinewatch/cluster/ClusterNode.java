package org.splinewatch.cluster;

import com.typesafe.config.Config;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.JoinSeedNodes;

/**
 * Starts a cluster node: an actor system named {@code splinewatch} on artery TCP (or TLS over TCP with mutual
 * authentication when {@code splinewatch.cluster.tls.enabled}) that joins its seed.
 */
public final class ClusterNode {
  public static final String SYSTEM_NAME = "splinewatch";
  /** How often a seed where nothing listens yet is tried again. */
  private static final Duration SEED_RETRY = Duration.ofMillis(500);

  private ClusterNode() {
  }

  /**
   * Creates the system and joins: itself when {@code settings.seed()} is empty (the first node of a cluster),
   * otherwise the seed. A taken port is an {@link IllegalArgumentException} naming it.
   */
  public static <T> ActorSystem<T> start(Behavior<T> guardian, ClusterSettings settings, List<String> roles,
      Config base) {
    settings.checkAddress();
    String warning = settings.checkExposure();
    if (!warning.isEmpty()) {
      System.err.println(warning);
    }
    if (settings.port() > 0) {
      // fail with one clear line before Pekko logs its own bind failure
      try (ServerSocket probe = new ServerSocket()) {
        probe.setReuseAddress(true);
        probe.bind(new InetSocketAddress(settings.host(), settings.port()));
      } catch (IOException e) {
        throw new IllegalArgumentException("cluster port " + settings.port() + " on " + settings.host()
            + " is in use or cannot be bound (" + e.getMessage() + "); choose another with --port (or"
            + " splinewatch.cluster.port)", e);
      }
    }
    Config nodeConfig = settings.nodeConfig(base, roles); // TLS files are checked here, before anything starts
    if (!settings.seed().isEmpty()) {
      checkSeedListens(settings, roles.contains("trainer"));
    }
    ActorSystem<T> system;
    try {
      system = ActorSystem.create(guardian, SYSTEM_NAME, nodeConfig);
    } catch (Exception e) { // Scala's Await throws the checked TimeoutException undeclared
      throw startFailure(e, settings, nodeConfig);
    }
    Cluster cluster = Cluster.get(system);
    if (settings.seed().isEmpty()) {
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    } else {
      String[] hp = ClusterSettings.parseAddress(settings.seed());
      Address seed = AddressFromURIString.parse("pekko://" + SYSTEM_NAME + "@" + hp[0] + ":" + hp[1]);
      cluster.manager().tell(new JoinSeedNodes(List.of(seed)));
    }
    return system;
  }

  /**
   * Waits, with one line instead of Pekko's join warning every 5 s, while nothing accepts a TCP connection at the
   * seed (a monitor still starting), and fails with one line when that lasts {@code join-timeout} or the host is
   * unknown. A seed that accepts is closed again at once, before any byte is sent. {@code trainer}: the messages name
   * {@code --monitor} (a trainer) or {@code --seed} (a {@code monitor serve} node).
   */
  static void checkSeedListens(ClusterSettings settings, boolean trainer) {
    String[] hp = ClusterSettings.parseAddress(settings.seed());
    String host = hp[0]; // an IPv6 literal may keep its brackets: InetAddress reads [::1]
    String what = trainer ? "the monitor at " : "the cluster seed ";
    long deadline = System.nanoTime() + settings.joinTimeout().toNanos();
    boolean told = false;
    String why;
    while (true) {
      long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress(host, Integer.parseInt(hp[1])), (int) Math.min(Integer.MAX_VALUE, left));
        return;
      } catch (UnknownHostException e) {
        why = "unknown host '" + host + "'";
        break;
      } catch (SocketTimeoutException e) {
        why = "no answer within " + MonitorLink.seconds(settings.joinTimeout());
        break;
      } catch (IOException e) {
        why = "nothing listened there within " + MonitorLink.seconds(settings.joinTimeout()) + " (" + e.getMessage()
            + ")";
      }
      if (System.nanoTime() + SEED_RETRY.toNanos() > deadline) {
        break;
      }
      if (!told) {
        System.err.println("waiting for " + what + settings.seed() + ": nothing listens there yet (up to "
            + MonitorLink.seconds(settings.joinTimeout()) + ", splinewatch.cluster.join-timeout)");
        told = true;
      }
      try {
        Thread.sleep(SEED_RETRY.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        why = "interrupted while waiting";
        break;
      }
    }
    throw new IllegalStateException("cannot reach " + what + settings.seed() + ": " + why + "; expected a running"
        + " ./monitor serve there: check " + (trainer ? "--monitor" : "--seed") + " HOST:PORT (its --host and"
        + " cluster --port, default 25520) and that it is reachable from here");
  }

  /**
   * Asks the receptionist every 200 ms until at least {@code atLeast} instances of {@code key} are registered in the
   * cluster; returns them, or an empty set when {@code timeout} passes first (also while this node's receptionist has
   * not answered) or the thread is interrupted.
   */
  public static <T> Set<ActorRef<T>> awaitService(ActorSystem<?> system, ServiceKey<T> key, int atLeast,
      Duration timeout) {
    return awaitService(system, key, atLeast, timeout, () -> false);
  }

  /**
   * The latest peer certificate this node's TLS refused, in words, or empty: a join it made no way into will not get
   * in later (the same certificate is refused again), and this says why.
   */
  public static java.util.Optional<String> tlsRefusal(ActorSystem<?> system) {
    return TlsEngineProvider.lastRefusal(Adapter.toClassic(system));
  }

  /** Whether this node is not (yet) a member and its TLS refused a peer: its join cannot succeed. */
  public static boolean joinRefused(ActorSystem<?> system) {
    return Cluster.get(system).selfMember().status() != MemberStatus.up() && tlsRefusal(system).isPresent();
  }

  /** {@link #awaitService}, giving up early (empty) once {@code hopeless} says the wait cannot succeed. */
  public static <T> Set<ActorRef<T>> awaitService(ActorSystem<?> system, ServiceKey<T> key, int atLeast,
      Duration timeout, java.util.function.BooleanSupplier hopeless) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline && !hopeless.getAsBoolean()) {
      // this node's receptionist may answer the ask within what is left of the wait: with a fixed 5 s, a machine
      // too busy to schedule it that soon failed a start with an AskTimeoutException that more time would have passed
      Duration left = Duration.ofNanos(Math.max(deadline - System.nanoTime(), 1_000_000));
      Receptionist.Listing listing;
      try {
        listing = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
            r -> Receptionist.find(key, r), left, system.scheduler()).toCompletableFuture().join();
      } catch (CompletionException e) {
        if (e.getCause() instanceof TimeoutException) {
          break; // the wait's time is up: the caller says what it waited for, how long and what raises it
        }
        throw e;
      }
      Set<ActorRef<T>> found = listing.getServiceInstances(key);
      if (found.size() >= atLeast) {
        return found;
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return Set.of();
  }

  /**
   * Waits until this node is a member that is up in the cluster it joined (every 100 ms); false when {@code timeout}
   * passes first (no node answers at the seed, or it does not let this one in), when {@code hopeless} says the join
   * cannot succeed ({@link SeedProbe#hopeless}: this node's TLS refused a peer's certificate, which it would refuse
   * again, or the seed speaks another transport), or when the thread is interrupted.
   */
  public static boolean awaitUp(ActorSystem<?> system, Duration timeout, java.util.function.BooleanSupplier hopeless) {
    Cluster cluster = Cluster.get(system);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (cluster.selfMember().status() != MemberStatus.up()) {
      if (System.nanoTime() >= deadline || hopeless.getAsBoolean()) {
        return false;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  /** {@code host:port} this node is reachable at (its actual port when 0 was asked for). */
  public static String address(ActorSystem<?> system) {
    Address a = Cluster.get(system).selfMember().address();
    return a.getHost().orElse("?") + ":" + a.getPort().orElse(0);
  }

  /** The port this node's cluster transport listens on (0 where its address has none). */
  public static int port(ActorSystem<?> system) {
    return Cluster.get(system).selfMember().address().getPort().orElse(0);
  }

  /**
   * What a failed start of the actor system throws: one line for a taken port and for a transport that did not bind in
   * time (Pekko's own words are "Future timed out after [30000 milliseconds]", naming neither what nor the setting).
   */
  static RuntimeException startFailure(Exception e, ClusterSettings settings, Config nodeConfig) {
    if (bindFailure(e)) {
      return new IllegalArgumentException("cluster port " + settings.port() + " on " + settings.host()
          + " is in use or cannot be bound; choose another with --port (or splinewatch.cluster.port)", e);
    }
    if (bindTimedOut(e)) {
      return new IllegalStateException("the cluster transport did not start listening on " + settings.host() + ":"
          + settings.port() + " within " + MonitorLink.seconds(nodeConfig.getDuration(BIND_TIMEOUT)) + " ("
          + BIND_TIMEOUT + "): the machine is too busy; start it again when the load is lower, or raise that"
          + " setting", e);
    }
    return e instanceof RuntimeException r ? r : new IllegalStateException("the cluster node did not start: " + e, e);
  }

  /** How long Artery waits for its TCP server to start (reference.conf raises Pekko's 3 s to 30 s). */
  static final String BIND_TIMEOUT = "pekko.remote.artery.bind.bind-timeout";

  /** Whether {@code e} is Artery's TCP server not starting within {@link #BIND_TIMEOUT} (Scala's Await timing out). */
  static boolean bindTimedOut(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.util.concurrent.TimeoutException && String.valueOf(t.getMessage()).startsWith(
          "Future timed out")) {
        return true;
      }
    }
    return false;
  }

  private static boolean bindFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage());
      if (t instanceof BindException || m.contains("Failed to bind") || m.contains("Address already in use")) {
        return true;
      }
    }
    return false;
  }
}
