package org.splinewatch.trainer;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;
import org.splinewatch.metrics.MemorySettings;
import org.splinewatch.regions.Partition;

/**
 * The network of a run's settings on images of {@code rows × cols}, sized before it is built, so that one that cannot
 * be built or trained is a bad argument (exit code 2, nothing written) instead of a run that fails at its start
 * ({@code cannot create the trainer: Allocation failed}) with its run directory written. Refused, each with one line
 * naming the option, its value and what is allowed:
 *
 * <ul>
 *   <li>more {@code --cnn-channels} stages than the images' side can be halved by their 2×2 pooling (28: 4 stages);
 *   <li>a weight array (one layer's weights) or a batch larger than a Java array holds: snapshots copy each into one;
 *   <li>a network whose training's native memory, with the heap at its maximum (the JVM commits it), is more than
 *       the run's resident-memory limit: the native memory as measured in 2-step runs, a little below it (bytes a
 *       parameter per method, the JVM's and its libraries' base, 12 bytes a layer output of every image and view
 *       (22 for the CNN encoder), SimCLR's {@code 2n × 2n} matrices and VICReg's eighteen {@code d × d};
 *       docs/memory.md);
 *   <li>a snapshot whose copied weights (and the batch's pixels) do not fit the Java heap beside the trainer's own
 *       (its data set and buffers), nor, where an analyzer that builds its network from them runs in this JVM (all
 *       but the health analyzer, one at a time), with that network (8 bytes a weight), the next snapshot's copy, the
 *       embedding analyzer's arrays of its probes' and their pairs' representations (five, 8 bytes a value), the
 *       linear probe's fit representations, its first fit's copies and two {@code d × d} matrices, the region
 *       analyzer's workspace (a quarter of the heap), kept snapshot, second network and pattern-array copy, the
 *       boundary analyzer's patterns and the snapshots the hub may hold for the analyzers ({@link #queuedSnapshots}),
 *       each large array in whole G1 regions ({@link #held}): {@code --hidden 30000} passed and its analyzers ran the
 *       640 MiB heap out of memory at the first snapshot; until the trainer's heap, the next snapshot, the analyzers'
 *       work arrays and the region workspace were counted, {@code --hidden 16000} (every analyzer) passed and four
 *       analyzers ran out of heap at step 0; until the rest was, 2500 passed and the probe ran out of heap at step 0,
 *       and {@code --analyzers regions,boundary,health} passed 16000 and the region analysis ran out of heap.
 * </ul>
 *
 * <p>The native counts are below what the trainers were measured to take, so a network refused for its native memory
 * could not have trained in the 2-step runs measured; one just under the bound can still be stopped by the resident
 * limit later. The heap is counted at what the analyzers may hold at once (full queues, an overflowed plane), more
 * than a short run takes: such a run of a network refused for its heap may still finish.
 * The option named is the one whose reference.conf default would shrink the need the most; what is allowed is its
 * largest value that fits with the other settings as given.
 */
public final class NetworkFootprint {
  /** The most elements of a Java array (some JVMs reserve a few header words). */
  static final long MAX_ARRAY = Integer.MAX_VALUE - 8;
  private static final long FLOAT = 4;

  /** One limit: its bytes, where it is set (named in a refusal), and what gives more room. */
  public record Limit(long bytes, String source, String raise) {
  }

  /**
   * The memory a run may use: {@code resident} bytes in all (heap and native) and the Java heap's maximum, each with
   * where it is set.
   */
  public record Limits(Limit resident, Limit heap, long regionBytes) {
    /** No memory bound: only a Java array's. */
    static final Limits UNBOUNDED = new Limits(new Limit(Long.MAX_VALUE, "none", "none"),
        new Limit(Long.MAX_VALUE, "none", "none"), 0);

    /** With the launchers' G1 regions ({@value #LAUNCHERS_REGION} bytes, src/main/sh/launch.sh). */
    public Limits(Limit resident, Limit heap) {
      this(resident, heap, LAUNCHERS_REGION);
    }

    /**
     * This JVM's: the lower of the run's resident limit ({@code splinewatch.memory.max-resident}, else the launchers'
     * heap + off-heap budget) and this machine's or container's memory and swap (not checked for the CUDA build,
     * whose arrays are on the GPU); the heap's maximum, from {@code -Xmx} as the launchers or JAVA_OPTS set it.
     */
    public static Limits of(MemorySettings memory) {
      Map<String, String> env = System.getenv();
      List<String> jvm = ManagementFactory.getRuntimeMXBean().getInputArguments();
      long heap = Runtime.getRuntime().maxMemory();
      if (Backend.cudaBuild()) { // the arrays live on the GPU: this process's resident memory does not bound them
        return new Limits(new Limit(Long.MAX_VALUE, "not checked for the CUDA build", "a larger GPU"),
            heapLimit(heap, env, jvm), g1Region());
      }
      Limits l = of(memory, System.getProperty(MemorySettings.JAVACPP_MAX_PHYSICAL), env, jvm, heap, physical());
      return new Limits(l.resident(), l.heap(), g1Region());
    }

    /**
     * This JVM's G1 region size (0 with another collector, whose large arrays are not rounded up): an array of half a
     * region or more is humongous and takes whole regions of its own.
     */
    public static long g1Region() {
      try {
        var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
        if (!"true".equals(bean.getVMOption("UseG1GC").getValue())) {
          return 0;
        }
        return Long.parseLong(bean.getVMOption("G1HeapRegionSize").getValue());
      } catch (RuntimeException e) {
        return LAUNCHERS_REGION;
      }
    }

    /**
     * The limits from what the JVM was started with: {@code javacpp} the launchers' resident limit property (or null),
     * {@code env} the environment (SPLINEWATCH_HEAP, SPLINEWATCH_OFF_HEAP, JAVA_OPTS), {@code jvm} the JVM's
     * arguments, {@code heap} its heap's maximum and {@code physical} the machine's or container's memory. Where two
     * resident limits apply, the lower one does.
     */
    static Limits of(MemorySettings memory, String javacpp, Map<String, String> env, List<String> jvm, long heap,
        Limit physical) {
      Limit resident = physical;
      if (memory.maxResident() > 0 && memory.maxResident() <= physical.bytes()) {
        resident = configured(memory.maxResident(), javacpp, env);
      }
      return new Limits(resident, heapLimit(heap, env, jvm));
    }

    /** Where the run's own resident limit is set: the launchers' budget, a -D in JAVA_OPTS, or the config key. */
    private static Limit configured(long bytes, String javacpp, Map<String, String> env) {
      boolean fromProperty = false;
      if (javacpp != null && !javacpp.isBlank()) {
        try {
          fromProperty = MemorySettings.parseSize(javacpp, MemorySettings.JAVACPP_MAX_PHYSICAL) == bytes;
        } catch (IllegalArgumentException e) {
          // not a size: not where the limit comes from
        }
      }
      if (!fromProperty) {
        return new Limit(bytes, "splinewatch.memory.max-resident", "splinewatch.memory.max-resident");
      }
      List<String> opts = javaOpts(env);
      if (opts.stream().anyMatch(o -> o.startsWith("-D" + MemorySettings.JAVACPP_MAX_PHYSICAL + "="))) {
        String d = "-D" + MemorySettings.JAVACPP_MAX_PHYSICAL;
        return new Limit(bytes, d + " in JAVA_OPTS", d + " in JAVA_OPTS");
      }
      String heap = set(env, "SPLINEWATCH_HEAP") ? "SPLINEWATCH_HEAP=" + env.get("SPLINEWATCH_HEAP").strip()
          : opts.stream().anyMatch(o -> o.startsWith("-Xmx")) ? "-Xmx in JAVA_OPTS" : "the default heap";
      String off = set(env, "SPLINEWATCH_OFF_HEAP") ? "SPLINEWATCH_OFF_HEAP=" + env.get("SPLINEWATCH_OFF_HEAP").strip()
          : "the default off-heap";
      return new Limit(bytes, "the launchers' heap + off-heap: " + heap + " + " + off, "SPLINEWATCH_OFF_HEAP");
    }

    /** The heap's maximum {@code heap} and where it is set, from the environment and the JVM's arguments. */
    static Limit heapOf(Map<String, String> env, List<String> jvm, long heap) {
      return heapLimit(heap, env, jvm);
    }

    /** The heap's maximum and where it is set: the JVM's last -Xmx (JAVA_OPTS come after the launchers'). */
    private static Limit heapLimit(long heap, Map<String, String> env, List<String> jvm) {
      String xmx = null;
      for (String a : jvm) {
        if (a.startsWith("-Xmx")) {
          xmx = a;
        }
      }
      if (xmx == null) {
        return new Limit(heap, "the JVM's default maximum heap", "-Xmx in JAVA_OPTS");
      }
      if (javaOpts(env).contains(xmx)) {
        return new Limit(heap, xmx + " in JAVA_OPTS", "-Xmx in JAVA_OPTS");
      }
      return new Limit(heap, xmx + (set(env, "SPLINEWATCH_HEAP") ? " from SPLINEWATCH_HEAP="
          + env.get("SPLINEWATCH_HEAP").strip() : ", the launchers' default"), "SPLINEWATCH_HEAP");
    }

    private static List<String> javaOpts(Map<String, String> env) {
      String opts = env.get("JAVA_OPTS");
      return opts == null || opts.isBlank() ? List.of() : List.of(opts.strip().split("\\s+"));
    }

    private static boolean set(Map<String, String> env, String name) {
      return env.get(name) != null && !env.get(name).isBlank();
    }

    /**
     * This machine's memory and swap, or inside a container with a memory limit (cgroup v1 or v2, as the launchers'
     * src/main/sh/memory.sh reads it) the container's, which the JVM then reports.
     */
    private static Limit physical() {
      long total = Long.MAX_VALUE;
      if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
        total = os.getTotalMemorySize() + Math.max(0, os.getTotalSwapSpaceSize());
      }
      return containerLimited() ? new Limit(total, "this container's memory limit (cgroup) and swap",
          "a larger container memory limit") : new Limit(total, "this machine's memory and swap",
          "a machine with more memory");
    }

    /** Whether a cgroup memory limit below the machine's memory applies to this process. */
    private static boolean containerLimited() {
      try {
        java.nio.file.Path v2 = java.nio.file.Path.of("/sys/fs/cgroup/memory.max");
        java.nio.file.Path v1 = java.nio.file.Path.of("/sys/fs/cgroup/memory/memory.limit_in_bytes");
        java.nio.file.Path file = java.nio.file.Files.isReadable(v2) ? v2 : v1;
        if (!java.nio.file.Files.isReadable(file)) {
          return false;
        }
        String limit = java.nio.file.Files.readString(file).strip();
        if (!limit.matches("\\d{1,18}")) { // v2 writes "max" for none
          return false;
        }
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/meminfo"))) {
          if (line.startsWith("MemTotal:")) {
            long kib = Long.parseLong(line.replaceAll("\\D", ""));
            return Long.parseLong(limit) < kib * 1024;
          }
        }
        return false;
      } catch (java.io.IOException | RuntimeException e) {
        return false;
      }
    }
  }

  /** The architecture options (the ones a cap applies to) and the rest of what sizes the network. */
  private record Arch(String method, boolean cnn, int rows, int cols, long[] channels, long[] hidden, long projection,
      long predictorHidden, boolean predictor, long batch, long probes, boolean analyzerCopy, long workspace,
      long probeFit, long heldOut, Held held) {
    boolean supervised() {
      return method.equals("supervised");
    }

    /** These settings with {@code option} at most {@code cap} (each entry, for a list). */
    Arch capped(String option, long cap) {
      return with(option, v -> Math.min(v, cap), null);
    }

    /** These settings with {@code option} at its reference.conf default. */
    Arch reset(String option, Config reference) {
      return with(option, null, reference);
    }

    private Arch with(String option, java.util.function.LongUnaryOperator f, Config ref) {
      long[] ch = channels;
      long[] hid = hidden;
      long proj = projection;
      long pred = predictorHidden;
      long b = batch;
      switch (option) {
        case "--cnn-channels" -> ch = f != null ? Arrays.stream(ch).map(f).toArray() : longs(ref, "run.cnn-channels");
        case "--hidden" -> hid = f != null ? Arrays.stream(hid).map(f).toArray() : longs(ref, "run.hidden");
        case "--projection-dim" -> proj = f != null ? f.applyAsLong(proj) : ref.getLong("run.projection-dim");
        case PREDICTOR_HIDDEN -> pred = f != null ? f.applyAsLong(pred) : ref.getLong("ssl.predictor-hidden");
        case "--batch-size" -> b = f != null ? f.applyAsLong(b) : ref.getLong("run.batch-size");
        default -> throw new IllegalArgumentException("not an architecture option: " + option);
      }
      return new Arch(method, cnn, rows, cols, ch, hid, proj, pred, predictor, b, probes, analyzerCopy, workspace,
          probeFit, heldOut, held);
    }

    private static long[] longs(Config ref, String key) {
      return ref.getLongList(key).stream().mapToLong(Long::longValue).toArray();
    }

    /** The options that size this network, as a user gives them. */
    List<String> options() {
      List<String> o = new ArrayList<>(List.of("--hidden", "--batch-size"));
      if (cnn) {
        o.add("--cnn-channels");
      }
      if (!supervised()) {
        o.add("--projection-dim");
      }
      if (predictor) {
        o.add(PREDICTOR_HIDDEN);
      }
      return o;
    }

    String describe(String option) {
      return switch (option) {
        case "--cnn-channels" -> list(channels);
        case "--hidden" -> list(hidden);
        case "--projection-dim" -> String.valueOf(projection);
        case PREDICTOR_HIDDEN -> String.valueOf(predictorHidden);
        case "--batch-size" -> String.valueOf(batch);
        default -> throw new IllegalArgumentException("not an architecture option: " + option);
      };
    }

    long largest(String option) {
      return switch (option) {
        case "--cnn-channels" -> Arrays.stream(channels).max().orElse(1);
        case "--hidden" -> Arrays.stream(hidden).max().orElse(1);
        case "--projection-dim" -> projection;
        case PREDICTOR_HIDDEN -> predictorHidden;
        case "--batch-size" -> batch;
        default -> throw new IllegalArgumentException("not an architecture option: " + option);
      };
    }

    private static String list(long[] values) {
      return Arrays.toString(values);
    }
  }

  static final String PREDICTOR_HIDDEN = "splinewatch.ssl.predictor-hidden";

  /** The launchers' G1 region size (-XX:G1HeapRegionSize=32m, src/main/sh/launch.sh). */
  static final long LAUNCHERS_REGION = 32L << 20;

  /**
   * What else the heap holds where analyzers run in this JVM: the G1 region size the large arrays are rounded up to
   * (0: none), the heap's maximum, the snapshots the hub may hold ({@link #queuedSnapshots}; 0: no analyzer here), and
   * for the boundary analyzer its planes' grid points and data probes (0 planes and 0 probes: it does not run here).
   */
  record Held(long region, long heapMax, long queued, int boundaryPlanes, long boundaryGrid, long boundaryData) {
    static final Held NONE = new Held(0, 0, 0, 0, 0, 0);
  }

  /**
   * The sizes of one network, in elements and bytes (lower bounds): its trainable parameters, the elements of the
   * snapshot's native copy buffers (every convolution and dense layer's weights and biases, not SimSiam's batch
   * normalisation, whose values a snapshot reads straight into the heap).
   */
  record Sizes(long parameters, long snapshotBuffers, long nativeBytes, long heapBytes, long largestArray,
      String largestArrayWhat, String extra, long reprWidth) {
    /** The resident memory the run needs at the least: the native arrays and the heap a snapshot's analysis holds. */
    long residentBytes() {
      return add(nativeBytes, heapBytes);
    }
  }

  /**
   * The analyzers that build an 8-byte copy of a snapshot's network ({@code PiecewiseLinearNet}) on the heap: all but
   * the training-health analyzer. The trainer's JVM runs them one at a time (splinewatch-analysis-dispatcher).
   */
  static final java.util.Set<String> COPYING_ANALYZERS = java.util.Set.of("embedding", "regions", "boundary",
      "geometry", "probe", "local-complexity");

  /**
   * The trainer's own heap beside a snapshot: its data set (MNIST's 70,000 images as bytes), the augmentation's view
   * buffers, the probes and the run's actors; a little below the 103-114 MiB measured live in 2-step
   * {@code --no-monitoring} runs, which did not grow with the width (supervised 256 and 40000, simclr 256; 136 MiB
   * at simclr 16000 with a snapshot's copy; docs/memory.md).
   */
  static final long TRAINER_HEAP = 96L << 20;

  /**
   * The embedding analyzer's arrays of probes × representation width: its probes' and their pairs' representations
   * and its metrics' normalised rows of both and transposed copy of one, all held during its metrics.
   */
  static final int EMBEDDING_ARRAYS = 5;

  /** Of those, the ones its metrics keep between snapshots: the normalised rows of both views, one transposed. */
  static final int EMBEDDING_KEPT = 3;

  /** The region engine's bytes a face besides its pattern words (measured about 1.2 KB a region, docs/memory.md). */
  static final long REGION_FACE_BYTES = 1200;

  /**
   * Native bytes a layer output of each image and view: 12 (measured 13-19 for the MLPs); 22 for the CNN encoder,
   * measured 25-26 in 2-step SimCLR runs and 20-26 in supervised (DL4J) ones (batches of 256 and 64, docs/memory.md;
   * both counted 12, about half).
   */
  static long outputBytes(String method, boolean cnn) {
    return cnn ? 22 : 3 * FLOAT;
  }

  /** VICReg's float {@code d × d} matrices in native memory (measured about 20; it counted 3). */
  static final int VICREG_MATRICES = 18;

  /*
   * The linear probe analyzer, where it runs here, keeps the representations of its fit images (fit x d, its buffer
   * between epochs, ProbeAnalyzer) and allocates two d x d matrices for its ridge regression (XᵀX and the Cholesky
   * solver's copy: LinearProbe.fitOverwriting peaked at 2.06 d x d beside its input, 1,000 x 2,500) and the held-out
   * probes' representations (probes x d): 3,000 and 3,500 wide ran the 640 MiB heap out of memory at its first
   * snapshot beside the other analyzers' arrays and the region workspace (docs/memory.md).
   */

  /**
   * The region analyzer's workspace where it runs in this JVM: it keeps what its largest plane so far needed, up to
   * its budget, between snapshots ({@code RegionAnalyzer.workspaceBudget}: a quarter of the heap, at most 1 GiB), and
   * a wide network's plane reaches the budget at its first snapshot.
   */
  static long regionWorkspace(long heapMax) {
    return Math.min(1L << 30, heapMax / 4);
  }

  /**
   * The JVM's own native memory and its libraries' (libnd4j, OpenBLAS; SameDiff's for the self-supervised methods),
   * about a quarter below the least measured with the default network (docs/memory.md: 134 and 241-253 MiB).
   */
  static long nativeBase(String method) {
    return method.equals("supervised") ? 96L << 20 : 192L << 20;
  }

  /**
   * Native bytes per trainable parameter, about a sixth below the least measured in 2-step runs (docs/memory.md): the
   * weights, gradients, Adam's two moments and the snapshot's copy buffers (20 bytes), and what DL4J's or SameDiff's
   * training step allocates besides (its gradient and update arrays, SameDiff's array cache); BYOL's target network too.
   */
  static long nativeBytesPerParameter(String method) {
    return switch (method) {
      case "supervised" -> 22; // measured 28
      case "simsiam" -> 60; // 71-72
      case "byol" -> 76; // 88-89
      default -> 40; // simclr 48-69, vicreg 48-64
    };
  }

  private NetworkFootprint() {
  }

  /**
   * Refuses the network of {@code s} on images of {@code rows × cols} when it cannot be built or trained within
   * {@code limits}: an {@link IllegalArgumentException} with one line (the CLI's exit code 2). No analyzer runs in
   * this JVM.
   */
  static void check(RunSettings s, int rows, int cols, Limits limits) {
    check(s, rows, cols, limits, 0, false, false, 0, 0, 0, 0);
  }

  /**
   * The analyzers of a run in this JVM ({@code here}, by name), the priority analyzers and their buffer
   * ({@code splinewatch.analysis.priority}, {@code splinewatch.hub.priority-buffer-size}) and the boundary analyzer's
   * grid side and data probes ({@code splinewatch.regions.grid}, {@code data-probes}).
   */
  public record Analysis(List<String> here, List<String> priority, int priorityBuffer, int grid, int dataProbes) {
    /** {@code here} with reference.conf's priority (the embedding analyzer, 16 snapshots) and boundary probes. */
    public static Analysis of(List<String> here) {
      return new Analysis(here, List.of("embedding"), 16, 64, 1024);
    }
  }

  /**
   * The snapshots the hub may hold at once where {@code analyzers} run here, each keeping {@code keep} un-analysed
   * ones (hub.SnapshotHub): they are the same objects in every analyzer's stream, so the longest buffer's and one in
   * analysis for each analyzer (each buffer holds a run of the newest snapshots; the one in analysis may be older;
   * the one just offered, still at a stream's entrance, is the snapshot being taken, counted apart). This assumes each
   * stream took every snapshot (one offered while the one before is still at that stream's entrance, a snapshot
   * interval of starvation, is dropped there and leaves its buffer an older run) and that an analyzer holds the one
   * it analyses (after splinewatch.analysis.timeout it may hold that one and the next, not counted; AnalyzerActor
   * skips any whose sender gave up before it began, so they do not pile up). 0 without analyzers.
   */
  static long queuedSnapshots(int analyzers, int keep) {
    return analyzers == 0 ? 0 : (long) keep + analyzers;
  }

  /**
   * As above, with the analyzers in this JVM on the same heap: {@code analyzerCopy} when one that builds an 8-byte copy
   * of each snapshot's network runs here, and the embedding analyzer passing {@code analysedProbes} probes (and as
   * many pairs) through it (0: it does not run here), {@code regionsHere} when the region analyzer runs here, its
   * workspace a quarter of the heap, and {@code probeFit} the images the linear probe analyzer fits on here (0: it
   * does not run here).
   */
  static void check(RunSettings s, int rows, int cols, Limits limits, long analysedProbes, boolean analyzerCopy,
      boolean regionsHere, long probeFit, long queued, long boundaryGrid, long boundaryData) {
    Held held = new Held(limits.regionBytes(), limits.heap().bytes(), queued, boundaryGrid > 0 ? s.planes() : 0,
        boundaryGrid * boundaryGrid, boundaryGrid > 0 ? boundaryData : 0);
    Arch a = arch(s, rows, cols, analysedProbes, analyzerCopy,
        regionsHere ? regionWorkspace(limits.heap().bytes()) : 0, probeFit, probeFit > 0 ? s.probeSize() : 0, held);
    if (a.cnn()) {
      checkStages(a);
    }
    Sizes z = sizes(a);
    String problem = problem(a, z, limits);
    if (problem == null) {
      return;
    }
    Bound bound = z.largestArray() > MAX_ARRAY ? Bound.ARRAY : memoryBound(z, limits);
    String more = bound.raise(limits);
    Config reference = ConfigFactory.defaultReference().getConfig("splinewatch");
    String culprit = null;
    long most = 0;
    for (String option : a.options()) {
      long saved = bound.need.applyAsLong(z) - bound.need.applyAsLong(sizes(a.reset(option, reference)));
      if (saved > most) {
        most = saved;
        culprit = option;
      }
    }
    if (culprit == null) { // every option at its default: only more memory helps
      throw new IllegalArgumentException("the network of " + String.join(", ", a.options().stream()
          .map(o -> o + " " + a.describe(o)).toList()) + ": " + problem + (bound == Bound.ARRAY
          ? "; expected smaller images" : "; expected more memory for this run (" + more + ", docs/memory.md)"));
    }
    long allowed = largestThatFits(a, culprit, limits);
    boolean list = culprit.equals("--hidden") || culprit.equals("--cnn-channels");
    String what = list ? culprit + " entries" : culprit;
    // beyond a Java array, the largest value that fits may be one this run's memory allows, not the array: then more
    // memory is what allows a larger one, up to the array's bound
    long arrayAllowed = bound == Bound.ARRAY ? largestThatFits(a, culprit, Limits.UNBOUNDED) : allowed;
    Bound binding = bound;
    if (bound == Bound.ARRAY && allowed < arrayAllowed || bound != Bound.ARRAY && allowed > 0) {
      // what a value just above the largest that fits is over: the memory to add for a larger one
      binding = memoryBound(sizes(a.capped(culprit, allowed + 1)), limits);
    }
    String room = binding == Bound.ARRAY ? "smaller images" : "more memory (" + binding.raise(limits)
        + ", docs/memory.md)";
    String expected;
    if (bound != Bound.ARRAY) {
      expected = allowed > 0 ? what + " of at most " + allowed + " (larger ones cannot fit with the other settings as"
          + " given), or " + room : room + ": even " + what + " of 1 " + (list ? "do" : "does") + " not fit with the"
          + " other settings as given";
    } else if (binding == Bound.ARRAY) { // more memory would not help
      expected = allowed > 0 ? what + " of at most " + allowed + " (larger ones do not fit a Java array with the other"
          + " settings as given)" : room + ": even " + what + " of 1 " + (list ? "do" : "does") + " not fit a Java array"
          + " with the other settings as given";
    } else if (allowed > 0) {
      expected = what + " of at most " + allowed + ", the most " + binding.limit(limits) + " holds with the other"
          + " settings as given, or " + room + " for up to " + arrayAllowed + ", the most a Java array holds";
    } else {
      expected = room + ": even " + what + " of 1 needs more than " + binding.limit(limits);
    }
    boolean analyzersHere = analysedProbes > 0 || analyzerCopy || regionsHere || probeFit > 0;
    Arch alone = arch(s, rows, cols, 0, false, 0, 0, 0, new Held(limits.regionBytes(), limits.heap().bytes(), 0, 0,
        0, 0));
    if (analyzersHere && problem(alone, sizes(alone), limits) == null) {
      // the analyzers' heap is what does not fit: a wide network still trains with fewer of them in this JVM
      expected += ", or fewer analyzers in this run (--analyzers; without any it fits)";
    }
    throw new IllegalArgumentException(culprit + " " + a.describe(culprit) + ": " + problem + "; expected " + expected);
  }

  /** What a network can be too large for, and the measure of it. */
  private enum Bound {
    ARRAY(Sizes::largestArray),
    NATIVE(Sizes::residentBytes),
    HEAP(Sizes::heapBytes);

    final ToLongFunction<Sizes> need;

    Bound(ToLongFunction<Sizes> need) {
      this.need = need;
    }

    /** What gives more room under this memory bound ({@code SPLINEWATCH_OFF_HEAP}, ...): where its limit is raised. */
    String raise(Limits limits) {
      return this == NATIVE ? limits.resident().raise() : limits.heap().raise();
    }

    /** The memory this bound is, in words: "this run's memory limit of 1.6 GiB (...)", "the Java heap's ...". */
    String limit(Limits limits) {
      return switch (this) {
        case ARRAY -> "a Java array";
        case NATIVE -> "this run's memory limit of " + bytes(limits.resident().bytes()) + " ("
            + limits.resident().source() + ")";
        case HEAP -> "the Java heap's maximum of " + bytes(limits.heap().bytes()) + " (" + limits.heap().source() + ")";
      };
    }
  }

  /** The stages' 2×2 poolings halve the side each (odd sides round down); a side of 1 cannot be pooled again. */
  private static void checkStages(Arch a) {
    if (!a.supervised() && a.rows() != a.cols()) {
      throw new IllegalArgumentException("--encoder cnn: the " + a.method() + " CNN encoder needs square images;"
          + " the data set's are " + a.rows() + "x" + a.cols() + "; expected --encoder mlp for these images");
    }
    int stages = 0;
    StringBuilder sides = new StringBuilder().append(Math.min(a.rows(), a.cols()));
    for (int side = Math.min(a.rows(), a.cols()); side >= 2; side /= 2) {
      stages++;
      sides.append(", ").append(side / 2);
    }
    if (a.channels().length > stages) {
      throw new IllegalArgumentException("--cnn-channels " + Arrays.toString(a.channels()) + ": "
          + a.channels().length + " convolution stages, but " + a.rows() + "x" + a.cols() + " images allow at most "
          + stages + " (each stage's 2x2 average pooling halves the side: " + sides + "); expected at most " + stages
          + " channel counts");
    }
  }

  /**
   * The resident memory a network needs: its native memory and the heap, counted at its maximum where that is below
   * the resident limit (the JVM commits its heap up to the maximum while a large network trains: committed was the
   * maximum in all but one of the measured runs of 10000 units and more, docs/memory.md), else at what a snapshot
   * needs.
   */
  private static long resident(Sizes z, Limits limits) {
    long heap = limits.heap().bytes() < limits.resident().bytes() ? Math.max(z.heapBytes(), limits.heap().bytes())
        : z.heapBytes();
    return add(z.nativeBytes(), heap);
  }

  /**
   * The memory a network that does not fit is over: the heap's maximum or the resident limit; over both, the one it
   * exceeds by the larger factor (more off-heap memory cannot make room in the heap, nor a larger heap for VICReg's
   * matrices).
   */
  private static Bound memoryBound(Sizes z, Limits limits) {
    boolean heap = z.heapBytes() > limits.heap().bytes();
    boolean resident = resident(z, limits) > limits.resident().bytes();
    if (heap && resident) {
      return (double) z.heapBytes() / limits.heap().bytes() >= (double) resident(z, limits)
          / limits.resident().bytes() ? Bound.HEAP : Bound.NATIVE;
    }
    return heap ? Bound.HEAP : Bound.NATIVE;
  }

  /** What does not fit, in words; null when the network fits (the heap checked before the resident limit). */
  private static String problem(Arch a, Sizes z, Limits limits) {
    if (z.largestArray() > MAX_ARRAY) {
      return z.largestArrayWhat() + ", more than a Java array holds (" + MAX_ARRAY + ")";
    }
    if (z.heapBytes() <= limits.heap().bytes() && resident(z, limits) <= limits.resident().bytes()) {
      return null;
    }
    if (memoryBound(z, limits) == Bound.HEAP) {
      String analysis = a.probes() > 0 ? " and the embedding analyzer widens them to 8-byte values and passes"
          + " its " + a.probes() + " probes and their " + a.probes() + " pairs through them (" + EMBEDDING_ARRAYS
          + " arrays of " + z.reprWidth() + " representation values each, with its metrics' work arrays)"
          : a.analyzerCopy() ? " and an analyzer widens them to 8-byte values" : "";
      if (a.probeFit() > 0) {
        analysis += " and the linear probe analyzer holds its " + a.probeFit() + " fit images' representations and"
            + " two " + z.reprWidth() + "x" + z.reprWidth() + " matrices of its regression (8-byte values, the fit"
            + " images' kept between epochs)";
      }
      String waiting = a.held().queued() > 0 ? " while the hub holds up to " + a.held().queued() + " more snapshots"
          + " for the analyzers (splinewatch.hub.buffer-size, priority-buffer-size)" : a.analyzerCopy()
          || a.probes() > 0 ? " while the next snapshot is taken" : "";
      String regions = a.held().region() > 0 ? " (arrays of half a G1 region or more in whole regions of "
          + bytes(a.held().region()) + ")" : "";
      return "a snapshot copies the network's weights into the Java heap" + analysis + waiting + regions
          + ", which needs at least "
          + bytes(z.heapBytes()) + " with the batch's pixels" + (a.workspace() > 0 ? ", the trainer's own "
          + bytes(TRAINER_HEAP) + " and the region analyzer's workspace of " + bytes(a.workspace()) + " (a quarter of"
          + " the heap)" : " and the trainer's own " + bytes(TRAINER_HEAP)) + ", more than its maximum of "
          + bytes(limits.heap().bytes()) + " (" + limits.heap().source() + ")";
    }
    long heap = resident(z, limits) - z.nativeBytes();
    return "training its " + z.parameters() + " parameters on batches of " + a.batch() + " needs at least "
        + bytes(z.nativeBytes()) + " of native memory (" + nativeBytesPerParameter(a.method()) + " bytes a"
        + " parameter for " + a.method() + ": weights, gradients, Adam's two moments and the trainer's own arrays;"
        + " the batch's layer outputs" + z.extra() + ", " + bytes(nativeBase(a.method())) + " for the JVM and its"
        + " libraries)"
        + " and " + bytes(heap) + " of heap (" + (heap > z.heapBytes() ? "its maximum, which the JVM commits; the"
        + " trainer" + (a.analyzerCopy() ? ", a snapshot and its analysis" : " and a snapshot") + " need "
        + bytes(z.heapBytes()) : "for the trainer" + (a.analyzerCopy() ? ", a snapshot and its analysis"
        : " and a snapshot")) + "), " + bytes(resident(z, limits))
        + " in all, more than this run's memory limit of "
        + bytes(limits.resident().bytes()) + " (" + limits.resident().source() + ")";
  }

  /** The largest value of {@code option} (each entry at most it) with which the network fits; 0 if not even 1. */
  private static long largestThatFits(Arch a, String option, Limits limits) {
    long lo = 0;
    long hi = a.largest(option);
    while (lo < hi) {
      long mid = lo + (hi - lo + 1) / 2;
      Arch c = a.capped(option, mid);
      if (problem(c, sizes(c), limits) == null) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  /** Counts from below: see the class comment. Saturates instead of overflowing. */
  private static Sizes sizes(Arch a) {
    long params = 0; // trainable
    long copied = 0; // the snapshot's copies (encoder and projector, and a supervised network's head)
    long outputs = (long) a.rows() * a.cols(); // per image and view: the input and every layer's output
    long largest = 0;
    String largestWhat = "";
    List<Long> weightArrays = new ArrayList<>(); // one array each in a snapshot and in an analyzer's network
    long hiddenUnits = 0; // the ReLU neurons of the encoder: the bits of a region's activation pattern
    long in;
    if (a.cnn()) {
      long c = 1;
      long h = a.rows();
      long w = a.cols();
      for (int i = 0; i < a.channels().length; i++) {
        long ch = a.channels()[i];
        long weights = mul(9, mul(c, ch));
        params = add(params, add(weights, ch));
        weightArrays.add(weights);
        hiddenUnits = add(hiddenUnits, mul(ch, h * w));
        outputs = add(outputs, add(mul(ch, h * w), mul(ch, (h / 2) * (w / 2)))); // conv + ReLU, pooling
        if (weights > largest) {
          largest = weights;
          largestWhat = "convolution stage " + (i + 1) + " (3x3, " + c + " to " + ch + " channels) has " + weights
              + " weights, which snapshots copy into one array";
        }
        c = ch;
        h /= 2;
        w /= 2;
      }
      in = mul(c, h * w);
    } else {
      in = (long) a.rows() * a.cols();
    }
    List<long[]> dense = new ArrayList<>(); // in, out, and whose layer it is (0 hidden, 1 head)
    for (long width : a.hidden()) {
      dense.add(new long[] {in, width, 0});
      in = width;
    }
    dense.add(new long[] {in, a.supervised() ? 10 : a.projection(), 1});
    int layer = 0;
    for (long[] d : dense) {
      long weights = mul(d[0], d[1]);
      params = add(params, add(weights, d[1]));
      weightArrays.add(weights);
      hiddenUnits = add(hiddenUnits, d[2] == 0 ? d[1] : 0);
      outputs = add(outputs, d[1]);
      layer++;
      if (weights > largest) {
        largest = weights;
        largestWhat = (d[2] == 0 ? "dense layer " + layer : a.supervised() ? "the output layer" : "the projector")
            + " (" + d[0] + " x " + d[1] + ") has " + weights + " weights, which snapshots copy into one array";
      }
    }
    copied = params;
    long views = a.supervised() ? 1 : 2;
    long nativeBytes = 0;
    long heapBytes = 0;
    String extra = "";
    if (a.method().equals("simsiam")) {
      // the projector output's batch normalisation: gamma and beta are trained; a snapshot reads them, and the batch's
      // mean and variance, into Java arrays (no native copy buffer)
      params = add(params, mul(2, a.projection()));
      heapBytes = add(heapBytes, mul(4 * FLOAT, a.projection()));
    }
    if (a.predictor()) {
      long weights = mul(2, mul(a.projection(), a.predictorHidden()));
      params = add(params, add(weights, add(a.projection(), a.predictorHidden())));
      outputs = add(outputs, add(a.projection(), a.predictorHidden()));
    }
    if (a.method().equals("byol")) { // the target network, a copy of encoder and projector: in the bytes a parameter
      extra += ", the target network";
    }
    if (a.method().equals("simclr")) { // NT-Xent's masks, similarity matrix and their gradients: 14-16 of 2n x 2n
      long n2 = mul(2, a.batch());
      nativeBytes = add(nativeBytes, mul(14 * FLOAT, mul(n2, n2)));
      extra += ", NT-Xent's " + n2 + "x" + n2 + " matrices";
    }
    if (a.method().equals("vicreg")) {
      // the covariances of both views, their masks, squares and gradients: measured about 20 float d x d matrices
      // above the 128-dimensional run (--projection-dim 4096, 2 steps, docs/memory.md); counted a little below
      nativeBytes = add(nativeBytes, mul(VICREG_MATRICES * FLOAT, mul(a.projection(), a.projection())));
      extra += ", VICReg's " + VICREG_MATRICES + " " + a.projection() + "x" + a.projection() + " matrices";
    }
    long pixels = mul(a.batch(), (long) a.rows() * a.cols());
    if (pixels > largest) {
      largest = pixels;
      largestWhat = "a batch of " + a.batch() + " images of " + a.rows() + "x" + a.cols() + " has " + pixels
          + " pixels, which the trainer draws into one array";
    }
    nativeBytes = add(nativeBytes, add(nativeBase(a.method()), mul(nativeBytesPerParameter(a.method()), params)));
    // every layer output of every image and view, with its pre-activation and gradient (measured 13-19 bytes; the
    // self-supervised CNN encoder's about 25, its convolutions' work arrays besides)
    nativeBytes = add(nativeBytes, mul(outputBytes(a.method(), a.cnn()), mul(views, mul(a.batch(), outputs))));
    Held held = a.held();
    long region = held.region();
    long weightsAll = weightArrays.stream().mapToLong(Long::longValue).reduce(0, NetworkFootprint::add);
    long snapshot = mul(FLOAT, copied - weightsAll); // one snapshot's copy: biases, and each layer's weights
    long network = mul(2 * FLOAT, copied - weightsAll); // an analyzer's network of the same, 8 bytes a value
    for (long w : weightArrays) {
      snapshot = add(snapshot, held(mul(FLOAT, w), region));
      network = add(network, held(mul(2 * FLOAT, w), region));
    }
    boolean analyses = a.analyzerCopy() || a.probes() > 0;
    // the snapshot being taken, and those the hub holds for the analyzers (at least the one being analysed); the
    // region analyzer keeps the last one whose plane overflowed, to write it when the run ends
    long snapshots = 1 + Math.max(held.queued(), analyses ? 1 : 0) + (a.workspace() > 0 ? 1 : 0);
    heapBytes = add(heapBytes, add(mul(snapshots, snapshot), held(mul(FLOAT, pixels), region)));
    heapBytes = add(heapBytes, add(TRAINER_HEAP, a.workspace())); // beside the trainer's own and the region workspace
    long repr = dense.get(dense.size() - 1)[0]; // what the head receives
    if (analyses) {
      // while the hub holds the snapshots, an analyzer builds its network from one, every weight widened to a double
      // (PiecewiseLinearNet); one at a time, but the region analyzer builds a second to write an overflowed plane's
      heapBytes = add(heapBytes, mul(a.workspace() > 0 ? 2 : 1, network));
    }
    if (held.queued() > 0) {
      // the batch statistics' copy of the encoder's output (8-byte values), and the next batch's while it works
      heapBytes = add(heapBytes, mul(2, held(mul(2 * FLOAT, mul(a.batch(), repr)), region)));
    }
    if (a.workspace() > 0) {
      // the region engine's pattern array (one word a 64 neurons a face; about 1.2 KB a face besides) grows by copying:
      // the old one, at most a sixteenth of the heap, beside the new one in the budget, each in whole regions
      long words = (hiddenUnits + 63) / 64;
      long patterns = Math.min(held.heapMax() / Partition.MAX_ARRAY_HEAP_FRACTION,
          (long) ((double) a.workspace() * 8 * words / (REGION_FACE_BYTES + 8 * words)));
      heapBytes = add(heapBytes, add(held(patterns, region), held(patterns, region) - patterns));
    }
    if (held.boundaryPlanes() > 0 || held.boundaryData() > 0) {
      // the boundary analyzer's activation patterns at its grid points and data probes: the last ones kept, the
      // current ones computed beside them (one word a 64 neurons a point)
      long words = (hiddenUnits + 63) / 64;
      long patterns = add(mul(held.boundaryPlanes(), held(mul(8 * words, held.boundaryGrid()), region)),
          held(mul(8 * words, held.boundaryData()), region));
      heapBytes = add(heapBytes, mul(2, patterns));
    }
    // the analyzers run one at a time: what the embedding and probe analyzers keep between snapshots, and the larger
    // of what each allocates for its analysis (8 bytes a value, each array in whole regions where it is humongous)
    long probesArray = held(mul(2 * FLOAT, mul(a.probes(), repr)), region);
    long kept = add(mul(EMBEDDING_KEPT, probesArray), held(mul(2 * FLOAT, mul(a.probeFit(), repr)), region));
    long embedding = mul(EMBEDDING_ARRAYS - EMBEDDING_KEPT, probesArray);
    long probe = 0;
    if (a.probeFit() > 0) {
      // the first fit chooses λ (LinearProbe.chooseLambda): the last 20 % of the fit rows copied out and each λ's fit
      // on a copy of the other 80 %, beside XᵀX and the Cholesky solver's block copy of it (both d × d); later fits
      // only the two d × d, then the held-out probes' representations
      long fit8 = Math.round(0.8 * a.probeFit());
      long square = mul(2, held(mul(2 * FLOAT, mul(repr, repr)), region));
      long first = add(square, add(held(mul(2 * FLOAT, mul(fit8, repr)), region),
          held(mul(2 * FLOAT, mul(a.probeFit() - fit8, repr)), region)));
      probe = Math.max(first, add(square, held(mul(2 * FLOAT, mul(a.heldOut(), repr)), region)));
    }
    heapBytes = add(heapBytes, add(kept, Math.max(embedding, probe)));
    return new Sizes(params, copied, nativeBytes, heapBytes, largest, largestWhat, extra, repr);
  }

  /** The sizes of the network of {@code s} on images of {@code rows × cols} (tests compare them with the trainers'). */
  static Sizes sizes(RunSettings s, int rows, int cols) {
    return sizes(arch(s, rows, cols, 0, false, 0, 0, 0, Held.NONE));
  }

  private static Arch arch(RunSettings s, int rows, int cols, long probes, boolean analyzerCopy, long workspace,
      long probeFit, long heldOut, Held held) {
    boolean predictor = (s.method().equals("simsiam") || s.method().equals("byol"))
        && (s.predictor() || s.ablateFrom() > 0);
    return new Arch(s.method(), s.encoder().equals("cnn"), rows, cols, longs(s.cnnChannels()), longs(s.hidden()),
        s.projectionDim(), s.predictorHidden(), predictor, s.batchSize(), probes, analyzerCopy, workspace, probeFit,
        heldOut, held);
  }

  private static long[] longs(int[] values) {
    return Arrays.stream(values).asLongStream().toArray();
  }

  /**
   * The heap an array of {@code bytes} takes with G1 regions of {@code region} bytes (0: none): one of half a region
   * or more is humongous and takes whole regions, contiguous (the launchers' 32 MiB regions: a 33 MiB array takes 64).
   */
  static long held(long bytes, long region) {
    if (region <= 0 || bytes < region / 2) {
      return bytes;
    }
    return bytes >= Long.MAX_VALUE - region ? Long.MAX_VALUE : (bytes + region - 1) / region * region;
  }

  private static long mul(long a, long b) {
    long r = a * b;
    return a != 0 && (r / a != b || r < 0) ? Long.MAX_VALUE : r;
  }

  private static long add(long a, long b) {
    long r = a + b;
    return r < 0 ? Long.MAX_VALUE : r;
  }

  /** A size as MiB, GiB or TiB with one decimal. */
  static String bytes(long b) {
    if (b == Long.MAX_VALUE) {
      return "more than 8 EiB";
    }
    double mib = b / 1048576.0;
    if (mib < 1024) {
      return String.format(Locale.ROOT, "%.0f MiB", Math.ceil(mib));
    }
    return mib < 1048576 ? String.format(Locale.ROOT, "%.1f GiB", mib / 1024)
        : String.format(Locale.ROOT, "%.1f TiB", mib / 1048576);
  }
}
