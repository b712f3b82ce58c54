package org.splinewatch.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.splinewatch.analysis.AnalyzerCatalogue;
import org.splinewatch.cluster.AnalyzerWorker;
import org.splinewatch.cluster.ClusterNode;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.MonitorLink;
import org.splinewatch.cluster.SnapshotPublisher;
import org.splinewatch.metrics.CpuByRole;
import org.splinewatch.regions.Layer;
import org.splinewatch.run.SignalStop;
import org.splinewatch.serve.MonitorServer;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.SnapshotCodec;
import org.splinewatch.snapshot.WeightSnapshot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Analysis throughput of the cluster with 1 and then 2 analyzer nodes, side by side in one invocation: a metrics
 * node, N analyzer nodes and a publishing node on loopback artery TCP in this JVM (so encoding, chunking, CBOR and
 * TCP are all paid), the same fixed snapshots (a random ReLU classifier of the default run's widths, 1,024 probes,
 * two planes) sent as fast as the nodes take them. Prints snapshots analysed per second, the ratio, where the CPU went
 * during each measurement ({@link Measurement}), and the bytes a snapshot and a run description cost on the wire. The
 * launchers give this JVM 640 MiB of heap per analyzer node of the largest measurement (src/main/sh/memory.sh).
 */
@Command(name = "bench-cluster", mixinStandardHelpOptions = true,
    description = "Measure cluster analysis throughput (snapshots/s) with 1, 2, ... up to --max-nodes analyzer nodes"
        + " (default 2), each in this JVM.")
final class BenchClusterCommand implements Callable<Integer> {
  @Option(names = "--snapshots", description = "snapshots per measurement, 1 to 100000 (default ${DEFAULT-VALUE});"
      + " all are made before the measurement and held in memory")
  int snapshots = 12;
  @Option(names = "--hidden", split = ",", description = "hidden widths of the 784-...-10 classifier (default"
      + " 256,256); at most splinewatch.cluster.max-layer-width each, and the snapshots must fit in half the heap")
  int[] hidden = {256, 256};
  @Option(names = "--analyzers", split = ",", defaultValue = "embedding,regions,boundary",
      description = "analyzers (default ${DEFAULT-VALUE})")
  List<String> analyzers = List.of("embedding", "regions", "boundary");
  @Option(names = "--in-flight", description = "snapshots an analyzer node holds at a time, 1 to --snapshots + 2"
      + " (default: the splinewatch.cluster.in-flight-per-analyzer setting)")
  Integer inFlight;
  @Option(names = "--max-nodes", description = "measure with 1, 2, ... up to N analyzer nodes, 1 to " + MAX_NODES
      + " (default ${DEFAULT-VALUE}; --compare-tls uses one); ./monitor gives the JVM 640 MiB of heap per node")
  int maxNodes = 2;
  @Option(names = "--compare-tls", description = "instead: one analyzer node with TLS off and on, alternated"
      + " --rounds times; prints snapshots/s, bytes/s and the TLS/plain ratio")
  boolean compareTls;
  @Option(names = "--rounds", description = "rounds of --compare-tls, 1 to 100 (default ${DEFAULT-VALUE})")
  int rounds = 2;
  @Spec
  CommandSpec spec;

  /** Certificates for --compare-tls (null: plain TCP). */
  private Path tlsDir;

  private static final int INPUT = 784;
  private static final int PROBES = 1024;
  /** Analyzer nodes --max-nodes may ask for: each is an actor system in this JVM with its copy of the probes. */
  static final int MAX_NODES = 16;
  /** The most --snapshots (the heap bounds them further: {@link #tooLarge}). */
  static final int MAX_SNAPSHOTS = 100_000;
  /** The most --rounds of --compare-tls. */
  static final int MAX_ROUNDS = 100;
  /** Where the nodes write the runs' files and --compare-tls its certificates; removed at the end (set by tests). */
  Path files;
  private int measurements;
  /**
   * Held while the nodes of a measurement start or stop (and while anything else is written under {@link #files}):
   * a signal's stop ({@link #stopNodesBeforeRemoval}) takes it, so that no node starts or is half-stopped meanwhile.
   */
  private final ReentrantLock nodesLock = new ReentrantLock();
  /** The nodes of the measurement under way, in the order they started (guarded by nodesLock; tests add some). */
  final List<Node> running = new ArrayList<>();

  /**
   * A node of the measurement ({@code name}: "the metrics node", "analyzer node 1", "the publishing node"), how it
   * stops, and when it writes nothing more under {@link #files}: its actor system has terminated and its last reports
   * are written ({@code stop} may return before, when its own waits run out). {@code publishes}: it sends the
   * snapshots (the trainer's role).
   */
  record Node(String name, AutoCloseable stop, CompletableFuture<?> stopped, boolean publishes) {
  }
  /** A signal ends the JVM: no node starts from now on. */
  private volatile boolean signalled;
  /** The signal that ends the JVM ({@code SIGINT}), for the lines about it; null before. */
  private volatile String signal;
  /** How a signal's stop ends: the directory removed, or left (a node still stopping, a second signal); null before. */
  private final AtomicReference<SignalEnd> signalEnd = new AtomicReference<>();

  private enum SignalEnd { REMOVING, LEFT }
  /** The most a signal's stop of the nodes delays the removal of the directory and the exit. */
  static final Duration SIGNAL_STOP_WAIT = Duration.ofSeconds(15);
  /** The most a measurement's end waits for its trainer node to terminate. */
  private static final Duration TRAINER_STOP_WAIT = Duration.ofSeconds(30);

  @Override
  public Integer call() throws Exception {
    // bad arguments: exit 2 and the --help line, before any node starts
    String outOfRange = OptionRange.first(
        OptionRange.outside("--snapshots", snapshots, 1, MAX_SNAPSHOTS, "the snapshots per measurement, all made"
            + " before it and held in memory"),
        OptionRange.outside("--rounds", rounds, 1, MAX_ROUNDS, "rounds of --compare-tls"),
        OptionRange.outside("--max-nodes", maxNodes, 1, MAX_NODES, "the largest number of analyzer nodes measured,"
            + " each an actor system in this JVM"),
        inFlight == null ? null : OptionRange.outside("--in-flight", inFlight, 1, snapshots + 2L, "the snapshots an"
            + " analyzer node holds at a time, at most the --snapshots + 2 a measurement sends"));
    if (outOfRange != null) {
      throw new ParameterException(spec.commandLine(), outOfRange);
    }
    // an option of the other form was ignored without a word (--rounds 3 measured the nodes once)
    var given = spec.commandLine().getParseResult();
    if (!compareTls && given.hasMatchedOption("--rounds")) {
      throw new ParameterException(spec.commandLine(), "--rounds is for --compare-tls; the scaling measurement (1, 2,"
          + " ... --max-nodes analyzer nodes) runs once: expected --compare-tls with --rounds, or no --rounds");
    }
    if (compareTls && given.hasMatchedOption("--max-nodes")) {
      throw new ParameterException(spec.commandLine(), "--max-nodes is not for --compare-tls, which measures one"
          + " analyzer node; expected one of them");
    }
    String widths = java.util.Arrays.toString(hidden).replaceAll("[\\[\\] ]", "");
    if (hidden.length == 0 || java.util.Arrays.stream(hidden).anyMatch(w -> w < 1)) {
      throw new ParameterException(spec.commandLine(), "--hidden " + widths + " has a width below 1; expected"
          + " positive widths, e.g. 256,256");
    }
    try {
      // an unknown one would be refused by every node: no snapshot analysed
      AnalyzerCatalogue.check(analyzers, "--analyzers " + String.join(",", analyzers));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    String tooLarge = tooLarge(widths, ClusterSettings.fromConfig(base(0, "")), Runtime.getRuntime().maxMemory());
    if (tooLarge != null) {
      throw new ParameterException(spec.commandLine(), tooLarge);
    }
    try (TemporaryDirectory temporary = new TemporaryDirectory("splinewatch-bench-cluster",
        () -> stopNodesAtSignal(SIGNAL_STOP_WAIT, System.err));
        AutoCloseable signals = SignalStop.exitThenHalt(System.err, this::stopping, this::leftAtOnce)) {
      files = temporary.path();
      return bench();
    } catch (Exception | Error e) {
      if (signalled) {
        // the nodes were stopped under the measurement: no error to print, the JVM exits with the signal's code
        // once the shutdown hook has removed the directory
        new CountDownLatch(1).await();
      }
      throw e;
    }
  }

  /** The line of the first signal ({@code SIGINT}): what happens now, and that a second one exits at once. */
  private String stopping(String name) {
    signal = name;
    return name + ": stopping the nodes (at most " + MonitorLink.seconds(SIGNAL_STOP_WAIT) + "), then removing "
        + files + " (again to exit at once, leaving it)";
  }

  /**
   * The line of a second signal ({@code SIGINT}), which halts the JVM at once: what is left behind, and where. The
   * stop under way removes nothing from now on (a halt takes a moment: each thread must reach a safepoint, seconds at
   * idle priority on a loaded machine, and the removal began meanwhile would leave part of what this line names).
   */
  String leftAtOnce(String name) {
    if (signalEnd.compareAndSet(null, SignalEnd.LEFT)) {
      return "second " + name + ": exiting at once without waiting for the nodes to stop; their files are left in "
          + files + " (remove it by hand)";
    }
    boolean removal = signalEnd.get() == SignalEnd.REMOVING;
    if (removal && Files.exists(files)) {
      return "second " + name + ": exiting at once; " + files + " was being removed, what is left of it stays (remove"
          + " it by hand)";
    }
    return "second " + name + ": exiting at once" + (removal ? " (" + files + " is removed)" : "");
  }

  /**
   * At a signal, in the temporary directory's shutdown hook before it removes the directory: stops the nodes of the
   * measurement under way (the publishing node, then the others all at once), each leaving the cluster gracefully as
   * at a measurement's end, and waits until they write nothing more (their actor systems terminated, their last
   * reports written), at most {@code wait}. Returns whether the directory may be removed; where a node had not stopped
   * by then (or one still started), it is left whole with one line on {@code err} naming them and the directory. The
   * removal used to run after the wait whether they had stopped or not, and a file written meanwhile left part of it
   * behind with a warning.
   *
   * <p>A graceful leave here timed out (cluster-exiting, 10 s, with Pekko's warning) though the same leave at a
   * measurement's end does not: Pekko Artery registers a JVM shutdown hook of its own that waits only for
   * CoordinatedShutdown's JVM hook (turned off: run-by-jvm-shutdown-hook), so at the signal it stopped the transport
   * at once, concurrently with this hook, and the leaving nodes no longer heard each other's gossip. The nodes now
   * start without Pekko's JVM hooks ({@link #base}), as {@code monitor serve}'s node and a trainer's do; this hook
   * stops them, and they close their transport as they terminate.
   */
  boolean stopNodesAtSignal(Duration wait, PrintStream err) {
    signalled = true;
    long deadline = System.nanoTime() + wait.toNanos();
    String after = MonitorLink.seconds(wait) + " after " + (signal == null ? "the signal" : signal);
    try {
      // a node being started is waited for (and then stopped with the others)
      if (!nodesLock.tryLock(wait.toMillis(), TimeUnit.MILLISECONDS)) {
        if (signalEnd.compareAndSet(null, SignalEnd.LEFT)) {
          err.println("warning: a node was still starting " + after + ": the nodes' files are left in " + files
              + " (remove it by hand)");
        }
        return false;
      }
      try {
        // the publishing node first: the analyzer nodes that stopped meanwhile each warned of a chunk for a run no
        // longer open there; then the others all at once, each in its own thread, so that one slow stop does not
        // hold up the others' beyond the wait
        List<String> unstopped = new ArrayList<>();
        List<Node> publishing = running.stream().filter(Node::publishes).toList();
        List<Node> others = running.stream().filter(node -> !node.publishes()).toList();
        for (List<Node> wave : List.of(publishing, others)) {
          for (Node node : wave) {
            Thread stop = new Thread(() -> {
              try {
                node.stop().close();
              } catch (Exception e) {
                // the wait below tells whether it stopped
              }
            }, "bench-cluster-stop-node");
            stop.setDaemon(true);
            stop.start();
          }
          for (Node node : wave) {
            try {
              node.stopped().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
              // terminated all the same (a report that failed is not written later)
            } catch (TimeoutException e) {
              unstopped.add(node.name());
            }
          }
        }
        running.clear();
        if (unstopped.isEmpty()) {
          return signalEnd.compareAndSet(null, SignalEnd.REMOVING); // not after a second signal's line
        }
        if (signalEnd.compareAndSet(null, SignalEnd.LEFT)) {
          err.println("warning: " + String.join(" and ", unstopped) + " had not stopped " + after + ": the nodes'"
              + " files are left in " + files + " (remove it by hand)");
        }
        return false;
      } finally {
        nodesLock.unlock();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      signalEnd.compareAndSet(null, SignalEnd.LEFT);
      return false;
    }
  }

  /** Runs {@code step} (a node's start, a file written under {@link #files}) unless a signal ends the JVM. */
  private <T> T unlessSignalled(Callable<T> step) throws Exception {
    nodesLock.lock();
    try {
      if (signalled) {
        throw new IllegalStateException("bench-cluster is stopped by a signal");
      }
      return step.call();
    } finally {
      nodesLock.unlock();
    }
  }

  /** Stops the running nodes, the last started first (the trainer, the analyzer nodes, the metrics node). */
  private void stopNodes() {
    nodesLock.lock();
    try {
      for (int i = running.size() - 1; i >= 0; i--) {
        try {
          running.get(i).stop().close();
        } catch (Exception e) {
          // stopping the others anyway
        }
      }
      running.clear();
    } finally {
      nodesLock.unlock();
    }
  }

  /**
   * Why the network of {@code --hidden} cannot be measured (null: it can): a layer wider than the nodes take, a
   * snapshot larger than they take (they would reject every one and the measurement wait for them), or more
   * snapshots than half the heap holds (the rest is for their encoded copies, the nodes and the analyzers); it used to
   * fail with an OutOfMemoryError and its stack trace.
   */
  String tooLarge(String widths, ClusterSettings cluster, long maxHeap) {
    int widest = java.util.Arrays.stream(hidden).max().orElse(0);
    if (widest > cluster.maxLayerWidth()) {
      return "--hidden " + widths + ": a layer of " + widest + " units is wider than the nodes take ("
          + cluster.maxLayerWidth() + ", splinewatch.cluster.max-layer-width); expected narrower layers";
    }
    long params = 0;
    int in = INPUT;
    for (int w : hidden) {
      params += (long) in * w + w;
      in = w;
    }
    params += in * 10L + 10;
    long bytes = 4 * params; // float32 weights: what a snapshot holds and about what it costs encoded
    if (bytes > cluster.maxSnapshotBytes()) {
      return String.format(Locale.ROOT, "--hidden %s: a snapshot of this network is %d MiB, over the"
          + " %d MiB the nodes take (splinewatch.cluster.max-snapshot-bytes); expected narrower layers", widths,
          bytes >> 20, cluster.maxSnapshotBytes() >> 20);
    }
    int perNode = inFlight != null ? inFlight : cluster.inFlightPerAnalyzer();
    long held = snapshots + 2L + 2L * (compareTls ? 1 : maxNodes) * perNode; // long: an int sum could wrap
    if (held * bytes > maxHeap / 2) {
      return String.format(Locale.ROOT, "--hidden %s with --snapshots %d: %d snapshots of %.1f MiB"
          + " (made in advance, and in flight on the nodes) need %d MiB, over half of this JVM's %d MiB heap;"
          + " expected narrower layers, fewer --snapshots%s or a larger heap (SPLINEWATCH_HEAP)", widths, snapshots,
          held, bytes / 1048576.0, held * bytes >> 20, maxHeap >> 20,
          inFlight == null ? "" : ", a smaller --in-flight");
    }
    return null;
  }

  private int bench() throws Exception {
    RunInfo run = runInfo();
    List<WeightSnapshot> work = new ArrayList<>();
    for (int i = 0; i < snapshots + 2; i++) {
      work.add(snapshot(i));
    }
    int snapshotBytes = SnapshotCodec.encode(work.get(0)).length;
    int runBytes = SnapshotCodec.encode(run).length;
    System.out.printf(Locale.ROOT,
        "bench-cluster: %d snapshot%s of a %d-%s-10 ReLU classifier, analyzers %s, %d in flight per"
        + " node, %d cores%n", snapshots, snapshots == 1 ? "" : "s", INPUT, joinWidths(), String.join(",", analyzers),
        ClusterSettings.fromConfig(base(0, "")).inFlightPerAnalyzer(), Runtime.getRuntime().availableProcessors());
    System.out.printf(Locale.ROOT,
        "wire: %,d bytes a snapshot (%d chunks of %,d bytes), %,d bytes a run description (once per"
        + " analyzer node)%n", snapshotBytes, chunks(snapshotBytes), ClusterSettings.fromConfig(base(0, "")).chunkBytes(),
        runBytes);
    System.out.println("the nodes' files: " + files + " (removed at the end)");
    if (compareTls) {
      return compareTls(run, work, snapshotBytes);
    }
    double first = 0;
    for (int nodes = 1; nodes <= maxNodes; nodes++) {
      Measurement m = measure(nodes, run, work);
      if (nodes == 1) {
        first = m.rate();
      }
      System.out.printf(Locale.ROOT,
          "%d analyzer node%s: %.2f snapshots/s (%.0f ms a snapshot)%s%n  %s%n", nodes, nodes == 1 ? " " : "s",
          m.rate(), 1000 / m.rate(), nodes == 1 ? "" : String.format(Locale.ROOT, "; %.2fx one node",
              m.rate() / first), m.cpuLine());
    }
    return 0;
  }

  /**
   * One measurement: snapshots a second, and where the CPU went meanwhile. The process's cores show whether the
   * analyzer nodes were limited by the CPU they got ({@code n} nodes analyse on {@code n} threads), and the machine's
   * busy share whether other processes took the rest; the analysis CPU per snapshot whether the work itself grew.
   */
  record Measurement(double rate, double seconds, CpuByRole cpu, double machineBusy) {
    String cpuLine() {
      double analysed = rate * seconds;
      return String.format(Locale.ROOT, "CPU meanwhile: this process %.2f cores (analysis %.2f, gc %.2f, jit %.2f,"
          + " other %.2f), %.2f core-s of analysis a snapshot; the machine %s", cpu.total() / seconds,
          cpu.get("analysis") / seconds, cpu.get("gc") / seconds, cpu.get("jit") / seconds,
          (cpu.get("other") + cpu.get("training") + cpu.get("augmentation")) / seconds, cpu.get("analysis") / analysed,
          Double.isNaN(machineBusy) ? "load unknown (no /proc/stat)"
              : String.format(Locale.ROOT, "%.0f %% busy", 100 * machineBusy));
    }
  }

  /** One analyzer node, plain and TLS alternated (so drifting load on a shared machine hits both alike). */
  private int compareTls(RunInfo run, List<WeightSnapshot> work, int snapshotBytes) throws Exception {
    Path certs = files.resolve("certs");
    unlessSignalled(() -> {
      CertsCommand.make(certs, List.of("node"), 2);
      return certs;
    });
    double plain = 0;
    double tls = 0;
    List<Double> ratios = new ArrayList<>();
    try {
      for (int r = 1; r <= rounds; r++) {
        double roundPlain = 0;
        for (boolean on : new boolean[] {false, true}) {
          tlsDir = on ? certs : null;
          double rate = measure(1, run, work).rate();
          System.out.printf(Locale.ROOT,
              "round %d, TLS %-3s: %.2f snapshots/s, %.1f MB/s of snapshots%s%n", r, on ? "on" : "off",
              rate, rate * snapshotBytes / 1e6, on ? String.format(Locale.ROOT,
                  "; TLS/plain this round %.2f", rate / roundPlain)
              : "");
          if (on) {
            tls += rate;
            ratios.add(rate / roundPlain);
          } else {
            plain += rate;
            roundPlain = rate;
          }
        }
      }
    } finally {
      tlsDir = null;
    }
    plain /= rounds;
    tls /= rounds;
    // the paired per-round ratios are less sensitive to load drifting between rounds than the ratio of the means
    List<Double> sorted = ratios.stream().sorted().toList();
    double median = sorted.size() % 2 == 1 ? sorted.get(sorted.size() / 2)
        : (sorted.get(sorted.size() / 2 - 1) + sorted.get(sorted.size() / 2)) / 2;
    System.out.printf(Locale.ROOT,
        "TLS off: %.2f snapshots/s (%.1f MB/s); TLS on: %.2f snapshots/s (%.1f MB/s); TLS/plain ="
        + " %.2f (median of the per-round ratios %.2f)%n", plain, plain * snapshotBytes / 1e6, tls,
        tls * snapshotBytes / 1e6, tls / plain, median);
    return 0;
  }

  private int chunks(int bytes) {
    int c = ClusterSettings.fromConfig(base(0, "")).chunkBytes();
    return (bytes + c - 1) / c;
  }

  private String joinWidths() {
    StringBuilder b = new StringBuilder();
    for (int w : hidden) {
      b.append(b.length() == 0 ? "" : "-").append(w);
    }
    return b.toString();
  }

  private Config base(int port, String seed) {
    Map<String, Object> o = new LinkedHashMap<>();
    if (inFlight != null) {
      o.put("splinewatch.cluster.in-flight-per-analyzer", inFlight);
    }
    o.put("splinewatch.cluster.port", port);
    o.put("splinewatch.cluster.seed", seed);
    o.put("splinewatch.regions.svg", false);
    // no Pekko JVM hooks: at a signal, Artery's stopped the transport under the nodes' graceful leave
    // (stopNodesAtSignal)
    o.put("pekko.jvm-shutdown-hooks", false);
    if (tlsDir != null) {
      o.put("splinewatch.cluster.tls.enabled", true);
      o.put("splinewatch.cluster.tls.key-store", tlsDir.resolve("node.p12").toString());
      o.put("splinewatch.cluster.tls.trust-store", tlsDir.resolve("truststore.p12").toString());
      o.put("splinewatch.cluster.tls.password-file", tlsDir.resolve("password").toString());
    }
    return TrainCommand.load(o, null);
  }

  private Measurement measure(int nodes, RunInfo run, List<WeightSnapshot> work) throws Exception {
    Path out = unlessSignalled(() -> Files.createDirectories(files.resolve("nodes-" + nodes + "-" + ++measurements)));
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    try {
      Config metricsConfig = base(0, "").withValue("splinewatch.cluster.roles",
          ConfigValueFactory.fromIterable(List.of("metrics")));
      MonitorServer metrics = unlessSignalled(() -> started("the metrics node", MonitorServer.start(metricsConfig,
          ClusterSettings.fromConfig(metricsConfig), "127.0.0.1", 0, out, quiet)));
      String seed = ClusterNode.address(metrics.system());
      for (int i = 1; i <= nodes; i++) {
        Config c = base(0, seed).withValue("splinewatch.cluster.roles",
            ConfigValueFactory.fromIterable(List.of("analyzer")));
        String name = "analyzer node " + i;
        unlessSignalled(() -> started(name, MonitorServer.start(c, ClusterSettings.fromConfig(c),
            "127.0.0.1", 0, out, quiet)));
      }
      Config tc = base(0, seed);
      ClusterSettings settings = ClusterSettings.fromConfig(tc);
      ActorSystem<Object> trainer = unlessSignalled(() -> {
        ActorSystem<Object> system = ClusterNode.start(Behaviors.empty(), settings, List.of("trainer"), tc);
        running.add(new Node("the publishing node", () -> {
          system.terminate();
          system.getWhenTerminated().toCompletableFuture().get(TRAINER_STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }, system.getWhenTerminated().toCompletableFuture(), true));
        return system;
      });
      MonitorLink link = MonitorLink.register(trainer, settings, "bench-" + nodes, Map.of("run", "bench-" + nodes,
          "method", "bench", "dataset", "random"), Map.of("bench", true), 10, null, null);
      awaitWorkers(trainer, nodes, settings.joinTimeout());
      ActorRef<SnapshotPublisher.Command> publisher = trainer.systemActorOf(SnapshotPublisher.create(run, analyzers,
          link.metrics(), settings, work.size(), link.publishToken()), "publisher", Props.empty());
      // warm-up: every node receives the run description and compiles its analysis code
      for (int i = 0; i < Math.min(nodes, 2); i++) {
        publisher.tell(new SnapshotPublisher.Publish(work.get(i)));
      }
      drain(trainer, publisher);
      CpuByRole cpu0 = CpuByRole.now();
      long[] machine0 = MachineCpu.ticks();
      long t0 = System.nanoTime();
      for (WeightSnapshot s : work.subList(2, work.size())) {
        publisher.tell(new SnapshotPublisher.Publish(s));
      }
      drain(trainer, publisher);
      double seconds = (System.nanoTime() - t0) / 1e9;
      return new Measurement(snapshots / seconds, seconds, CpuByRole.now().since(cpu0),
          MachineCpu.busyShare(machine0, MachineCpu.ticks()));
    } finally {
      stopNodes();
    }
  }

  /** A node just started, to be stopped at the measurement's end or by a signal (called under nodesLock). */
  private MonitorServer started(String name, MonitorServer node) {
    running.add(new Node(name, node, CompletableFuture.allOf(node.system().getWhenTerminated().toCompletableFuture(),
        node.reportsWritten()), false));
    return node;
  }

  /** Waits up to {@code wait} (splinewatch.cluster.join-timeout: the analyzer nodes join as a trainer does). */
  static void awaitWorkers(ActorSystem<?> system, int n, Duration wait) {
    if (ClusterNode.awaitService(system, AnalyzerWorker.KEY, n, wait).isEmpty()) {
      throw new IllegalStateException(n + " analyzer node(s) did not join the benchmark's cluster within "
          + MonitorLink.seconds(wait) + " (splinewatch.cluster.join-timeout raises it, which a busy machine may"
          + " need)");
    }
  }

  private static void drain(ActorSystem<?> system, ActorRef<SnapshotPublisher.Command> publisher) {
    AskPattern.<SnapshotPublisher.Command, Done>ask(publisher, SnapshotPublisher.Drain::new, Duration.ofMinutes(10),
        system.scheduler()).toCompletableFuture().join();
  }

  /** Random images in [0, 1], labels 0-9, two planes through probes of three different classes. */
  private static RunInfo runInfo() {
    SplittableRandom r = new SplittableRandom(11);
    float[] x = new float[PROBES * INPUT];
    float[] pairs = new float[PROBES * INPUT];
    int[] labels = new int[PROBES];
    for (int i = 0; i < PROBES; i++) {
      labels[i] = i % 10;
      for (int k = 0; k < INPUT; k++) {
        x[i * INPUT + k] = (float) r.nextDouble();
        pairs[i * INPUT + k] = Math.min(1f, Math.max(0f, x[i * INPUT + k] + (float) (0.05 * r.nextGaussian())));
      }
    }
    return new RunInfo("bench", "bench", "random", INPUT, PROBES, x, pairs, labels, 10,
        List.of(new int[] {0, 1, 2}, new int[] {3, 4, 5}));
  }

  /** He-initialised ReLU classifier; seed {@code i}. */
  private WeightSnapshot snapshot(int i) {
    SplittableRandom r = new SplittableRandom(100 + i);
    List<Layer> layers = new ArrayList<>();
    int in = INPUT;
    for (int w : hidden) {
      layers.add(new Layer.Dense(in, w, randn(r, in * w, Math.sqrt(2.0 / in)), randn(r, w, 0.05)));
      layers.add(Layer.Activation.relu());
      in = w;
    }
    layers.add(new Layer.Dense(in, 10, randn(r, in * 10, Math.sqrt(1.0 / in)), new float[10]));
    return new WeightSnapshot("bench", 100L * i, 0, System.currentTimeMillis(), INPUT, layers, hidden.length - 1,
        true, 1, 1e-3, 0);
  }

  private static float[] randn(SplittableRandom r, int n, double std) {
    float[] a = new float[n];
    for (int k = 0; k < n; k++) {
      a[k] = (float) (std * r.nextGaussian());
    }
    return a;
  }
}
