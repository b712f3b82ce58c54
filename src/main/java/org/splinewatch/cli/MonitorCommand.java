package org.splinewatch.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.splinewatch.regions.NpzModel;
import org.splinewatch.regions.Partition;
import org.splinewatch.regions.PartitionStats;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.regions.Plane;
import org.splinewatch.regions.SvgRenderer;
import org.splinewatch.regions.TiledRegionCount;
import org.splinewatch.snapshot.NpzArchive;
import org.splinewatch.snapshot.RegionFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code ./monitor}: tools around the monitor. */
@Command(name = "monitor", mixinStandardHelpOptions = true,
    subcommands = {MonitorCommand.Regions.class, ReportCommand.class, DetectionCommand.class, BenchRegionsCommand.class,
        BenchOverheadCommand.class, BenchClusterCommand.class, BenchSoakCommand.class, ServeCommand.class,
        RelayCommand.class, CertsCommand.class, ExperimentCommand.class},
    description = "splinewatch monitor: serve (an analyzer/metrics node trainers join), regions (exact partition stats of a network file), report, detection (alert lead time), bench-regions, bench-cluster,"
        + " bench-overhead, bench-soak, relay (one Alertmanager receiver for every run), certs (CA and node certificates for the cluster's TLS), experiment (reproduce the findings F1-F6).")
public final class MonitorCommand implements Runnable {
  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
        "missing subcommand; expected one of: " + subcommands(", "));
  }

  /** The names of the registered subcommands, in registration order, joined by {@code separator}. */
  static String subcommands(String separator) {
    return String.join(separator, new picocli.CommandLine(new MonitorCommand()).getSubcommands().keySet());
  }

  /** {@code ./monitor regions --model FILE.npz [--json] [--threads N] [--svg OUT | --tiled]}. */
  @Command(name = "regions", mixinStandardHelpOptions = true,
      description = "Exact linear regions of a ReLU network on its plane: an .npz in the benchmark format (W0.., b0..,"
          + " origin, u, v) or a region file (network.json layer list, any layer kind of the snapshot format, with"
          + " anchors or origin, u, v; docs/snapshot-format.md).")
  static final class Regions implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "network and plane as .npz: the benchmark format or a"
        + " region file (e.g. planes/plane-<k>-overflow.npz of a run whose plane overflowed)")
    Path model;
    @Option(names = "--json", description = "print JSON instead of text")
    boolean json;
    @Option(names = "--svg", description = "also write an SVG picture of the partition to this file")
    Path svg;
    @Option(names = "--max-regions", description = "region cap (default ${DEFAULT-VALUE})")
    int maxRegions = Partition.DEFAULT_MAX_REGIONS;
    /** The most threads {@code --threads} may ask for. */
    static final int MAX_THREADS = 256;

    @Option(names = "--threads", description = "threads for the per-layer vertex products, or with --tiled for the"
        + " tiles, each with a share of the memory budget of at least 16 MiB; 1 to 256 (default ${DEFAULT-VALUE})")
    int threads = 1;
    @Option(names = "--tiled", description = "count exactly in tiles that each fit the memory budget (a plane with"
        + " more regions than the heap holds); --max-regions is then the most per tile. Counts only: no area or shape"
        + " statistics, no --svg")
    boolean tiled;
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** A picture file: it replaces only a file named like a picture. */
    static final org.splinewatch.snapshot.DurableFiles.OutputKind PICTURE =
        new org.splinewatch.snapshot.DurableFiles.OutputKind("an SVG file", "an .svg picture", "regions.svg",
            java.util.regex.Pattern.compile("(?i).*\\.svg"));

    /**
     * Why {@code svg} cannot take the picture, as the error line after {@code "error: "}, or null: never the model it
     * is drawn from, and otherwise as any output the user names (DurableFiles.outputFileProblem): only a new file or
     * an SVG picture, also through a symbolic link.
     */
    static String svgTargetProblem(Path svg, Path model) {
      try {
        if (!svg.toString().isEmpty() && Files.isRegularFile(svg) && Files.exists(model)
            && Files.isSameFile(svg, model)) {
          return "--svg " + svg + ": is the --model file itself; expected another file for the picture";
        }
      } catch (java.io.IOException e) {
        return "--svg " + svg + ": cannot be checked (" + e.getMessage() + "); expected a new file or an .svg picture"
            + " to replace";
      }
      return org.splinewatch.snapshot.DurableFiles.outputFileProblem("--svg", svg, PICTURE);
    }

    /** What the command is doing, for the line a signal prints ({@link #interrupted}). */
    private volatile String doing = "reading its options";
    /** The progress line shown now, wiped before that line; null when none. */
    private volatile ProgressLine shownBar;
    /** Whether a signal is ending the command: a write it cut short is then not reported as an error. */
    private volatile boolean signalled;

    @Override
    public Integer call() throws Exception {
      try (AutoCloseable signals = org.splinewatch.run.SignalStop.exitWithLine(System.err, this::interrupted)) {
        return regions();
      }
    }

    /**
     * The line of a signal ({@code SIGINT}) that ends the command: what it was doing and what was written. The
     * statistics are printed only once the partition is complete, and {@code --svg} is written whole (a temporary file
     * renamed over it) after them, so at most this process's temporary file is left, and it is removed here.
     */
    String interrupted(String signal) {
      signalled = true;
      ProgressLine bar = shownBar;
      if (bar != null) {
        bar.finish();
      }
      String what = doing;
      if (svg != null) { // its temporary, wherever a link put it, and no picture begun after this line
        org.splinewatch.snapshot.DurableFiles.deleteOwnTemporaries(svg);
      }
      if (what.startsWith("writing")) {
        return "interrupted by " + signal + " while " + what + ": the statistics above are complete; " + svg
            + " is as it was or the whole new picture, never a part of one";
      }
      return "interrupted by " + signal + " while " + what + ": no result printed, nothing written"
          + (svg == null ? "" : " (--svg " + svg + " as it was)");
    }

    private Integer regions() throws Exception {
      // the options first: a bad value is named before a large model is read
      String empty = Main.emptyPath("--model", model, "a .npz network file"); // it was named as a directory
      if (empty != null) {
        throw new ParameterException(spec.commandLine(), empty);
      }
      if (threads < 1) {
        throw new ParameterException(spec.commandLine(), "--threads " + threads + ": expected at least 1");
      }
      // --threads 100000 was taken and printed as used; the products split only at 64 vertices a thread or more
      String tooMany = OptionRange.outside("--threads", threads, 1, MAX_THREADS, "this machine has "
          + Runtime.getRuntime().availableProcessors() + " cores; threads beyond them only wait for one");
      if (tooMany != null) {
        throw new ParameterException(spec.commandLine(), tooMany);
      }
      if (maxRegions < 1) {
        throw new ParameterException(spec.commandLine(), "--max-regions " + maxRegions + ": expected at least 1");
      }
      if (tiled && svg != null) {
        throw new ParameterException(spec.commandLine(), "--svg needs the whole partition, which --tiled does not"
            + " keep; expected one of them");
      }
      String notAFile = modelFileProblem(model);
      if (notAFile != null) {
        throw new ParameterException(spec.commandLine(), notAFile);
      }
      String svgProblem = svg == null ? null : svgTargetProblem(svg, model);
      if (svgProblem != null) {
        throw new ParameterException(spec.commandLine(), svgProblem);
      }
      List<Network> read = new ArrayList<>(1);
      doing = "reading " + model;
      int code = Network.readInto(model, read);
      if (code == 2) { // no such --model file: a bad argument, not bad contents
        System.err.println(Main.helpHint(spec));
      }
      if (code != 0) {
        return code;
      }
      Network m = read.get(0);
      if (tiled) {
        doing = "counting the regions of " + model + " in tiles";
        ProgressLine tiles = ProgressLine.onStandardError();
        shownBar = tiles;
        return tiledCount(m, tiles);
      }
      doing = "computing the regions of " + model;
      ExecutorService pool = threads > 1 ? Executors.newFixedThreadPool(
          threads) : null;
      long budget = workspaceBudget();
      long t0 = System.nanoTime();
      ProgressLine bar = ProgressLine.onStandardError();
      shownBar = bar;
      Partition p;
      PartitionStats s;
      try {
        try {
          // the engine stops with overflow before its arrays outgrow the budget (a network too wide for the heap)
          p = Partition.compute(m.net(), m.plane(), maxRegions, pool, threads, new Partition.Workspace(budget),
              (layer, layers, done, width, regions) -> {
                long now = System.nanoTime();
                if (bar.due(now)) {
                  bar.show(progress(layer, layers, done, width, regions, bar.seconds(now)), now);
                }
              });
        } finally {
          bar.finish();
        }
        s = PartitionStats.of(p, false);
      } catch (OutOfMemoryError e) {
        System.err.println(outOfMemory(model, m.description(), "a smaller network, a lower --max-regions or a larger"
            + " SPLINEWATCH_HEAP"));
        return 1;
      } finally {
        if (pool != null) {
          pool.shutdownNow();
        }
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (p.overflow()) {
        System.err.println("warning: " + model + ": stopped at " + p.regionCount() + " regions, "
            + (p.regionCount() > maxRegions ? "over --max-regions " + maxRegions
            : p.overflowAtPatternArray() ? "at the largest array of region patterns the heap allows ("
                + (Partition.maxPatternArrayBytes() >> 20) + " MiB, a sixteenth of the heap; a pattern holds a bit for"
                + " each of the network's " + m.net().hiddenNeurons() + " hidden neurons)"
            : "at the memory budget of " + (budget >> 20) + " MiB (a quarter of the free heap)")
            + "; the partition is incomplete (overflow: true); --tiled counts it exactly");
      }
      String merged = m.mergedWarning(model, p.mergedByTolerance(), p.mergedLayer());
      if (merged != null) {
        System.err.println("warning: " + merged);
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("model", model.toString());
      m.describe(out);
      out.put("regions", s.regions());
      out.put("regions_after_layer", p.overflow() ? completedLayers(s.regionsAfterLayer()) : s.regionsAfterLayer());
      out.put("vertices", s.vertices());
      out.put("edges", s.edges());
      out.put("internal_edges", s.internalEdges());
      out.put("domain_area", s.domainArea());
      out.put("area_mean", s.areaMean());
      out.put("area_std", s.areaStd());
      out.put("area_quantiles_0_10_50_90_100", s.areaQuantiles());
      out.put("vertices_per_region", s.verticesPerRegion());
      out.put("eccentricity_mean", s.eccentricityMean());
      out.put("eccentricity_median", s.eccentricityMedian());
      out.put("log_eccentricity_mean", s.logEccentricityMean());
      out.put("corner_eccentricity_mean", s.cornerEccentricityMean());
      out.put("centrality_mean", s.centralityMean());
      out.put("boundary_length", s.boundaryLength());
      out.put("boundary_density", s.boundaryDensity());
      out.put("slivers", s.slivers());
      out.put("inconsistent_faces", s.inconsistentFaces());
      // regions the zero tolerance merged (the warning above says why): 0 where the engine resolves the plane
      out.put("merged_by_tolerance", p.mergedByTolerance());
      if (p.overflow()) {
        // an incomplete partition's geometry is not the network's (regions.md 3.6: no geometry on overflow), as the
        // live analyzer exports none; its regions count is where it stopped
        out.replaceAll((k, v) -> GEOMETRY.contains(k) ? null : v);
      }
      out.put("overflow", s.overflow());
      out.put("threads", threads);
      out.put("seconds", seconds);
      doing = "printing the statistics";
      print(out);
      if (svg != null) { // after the statistics, so that a failed picture does not lose them
        doing = "writing the --svg picture " + svg;
        try {
          String picture = SvgRenderer.render(p, model.getFileName() + ": " + (p.overflow()
              ? "stopped at " + s.regions() + " regions, incomplete (overflow: true)" : s.regions() + " regions"), 600);
          org.splinewatch.snapshot.DurableFiles.writeOutput(svg,
              picture.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (java.io.IOException e) {
          if (signalled) { // the signal's line says what became of the picture
            return 1;
          }
          System.err.println("error: cannot write the --svg picture " + svg + ": "
              + org.splinewatch.snapshot.IoErrors.reason(e));
          return 1;
        }
      }
      return 0;
    }

    /**
     * Why {@code model} is no file a network can be read from, as the error line after {@code "error: "}, or null:
     * missing, a directory, or a device or FIFO, such as {@code --model <(python export.py)}, which was "no such file"
     * (a .npz is a zip archive, read by seeking).
     */
    static String modelFileProblem(Path model) {
      if (Files.isRegularFile(model)) {
        return null;
      }
      if (Files.isDirectory(model)) {
        return model + " is a directory; expected a .npz network file";
      }
      if (!Files.exists(model)) {
        return model + ": no such file; expected a .npz network file";
      }
      String kind = org.splinewatch.snapshot.DurableFiles.specialKind(model);
      return model + " is " + (kind == null ? "not a regular file" : kind) + "; expected a .npz network file, a"
          + " regular file (a zip archive is read by seeking: save a pipe's output to a file first)";
    }

    /** The progress line of a whole partition: where the engine stands, in layers and neurons, and its regions. */
    static String progress(int layer, int layers, int done, int width, int regions, double seconds) {
      return String.format(java.util.Locale.ROOT, "regions: layer %d/%d, neuron %d/%d, %d regions so far, %.0f s",
          layer + 1, layers, done, width, regions, seconds);
    }

    /** The statistics of the partition's geometry: none of them is printed (null) for an overflowed partition. */
    static final java.util.Set<String> GEOMETRY = java.util.Set.of("vertices", "edges", "internal_edges", "area_mean",
        "area_std", "area_quantiles_0_10_50_90_100", "vertices_per_region", "eccentricity_mean", "eccentricity_median",
        "log_eccentricity_mean", "corner_eccentricity_mean", "centrality_mean", "boundary_length", "boundary_density",
        "slivers", "inconsistent_faces");

    /**
     * The per-layer counts of an overflowed partition, as the live analyzer exports them: the layers it completed,
     * and null for the layer it stopped in (a partial count) and those it never reached (0 in the engine's array,
     * which read as "0 regions after layer 3").
     */
    static List<Integer> completedLayers(int[] after) {
      int cut = after.length - 1;
      while (cut > 0 && after[cut] == 0) {
        cut--;
      }
      List<Integer> out = new ArrayList<>(after.length);
      for (int l = 0; l < after.length; l++) {
        out.add(l < cut ? after[l] : null);
      }
      return out;
    }

    /** The regions that meet where two region boundaries cross: the least cap a tile of a partition can keep. */
    static final int MIN_TILE_CAP = 4;

    /** The least workspace of a thread of {@code --tiled}: a few tiles' vertices of a wide layer. */
    static final long MIN_TILE_WORKSPACE = 16L << 20;

    /**
     * {@code --tiled}: the exact counts from {@link TiledRegionCount}, each thread with a share of the workspace
     * budget, and progress on standard error ({@link ProgressLine}: redrawn on a terminal, a line every 10 s
     * otherwise).
     */
    int tiledCount(Network m, ProgressLine bar) throws Exception {
      long budget = workspaceBudget();
      // the threads share the budget (known once the model is read): a floor of 16 MiB per thread whatever their
      // number took more than the heap had (--threads 8 in a 160 MiB heap: 128 MiB of workspaces for a 28 MiB
      // budget, and OutOfMemoryError stack traces)
      long most = Math.max(1, budget / MIN_TILE_WORKSPACE);
      if (threads > most) {
        throw new ParameterException(spec.commandLine(), "--threads " + threads + " with --tiled: each thread"
            + " computes its tiles in a workspace of at least " + (MIN_TILE_WORKSPACE >> 20) + " MiB, and the budget"
            + " of " + (budget >> 20) + " MiB (a quarter of what is free of the "
            + (Runtime.getRuntime().maxMemory() >> 20) + " MiB heap) holds " + most + "; expected --threads "
            + (most == 1 ? "1" : "1 to " + most)
            + ", or a larger SPLINEWATCH_HEAP");
      }
      Partition.Workspace[] ws = new Partition.Workspace[threads];
      for (int i = 0; i < threads; i++) {
        ws[i] = new Partition.Workspace(budget / threads);
      }
      long t0 = System.nanoTime();
      TiledRegionCount.Result r;
      try {
        r = TiledRegionCount.count(m.net(), m.plane(), maxRegions, ws, new TiledRegionCount.Progress() {
          // from the tiles' threads, one at a time (the count calls it in a synchronized block)
          int tilesCounted;

          @Override
          public void update(double done, double total, int tiles, int split, long sum) {
            tilesCounted = tiles;
            long now = System.nanoTime();
            if (bar.due(now)) {
              bar.show(tiledProgress(done / total, tiles, split, bar.seconds(now)), now);
            }
          }

          @Override
          public void seams(int counted, int split) {
            long now = System.nanoTime();
            if (bar.due(now)) {
              bar.show(tiledSeamsProgress(tilesCounted, counted, split, bar.seconds(now)), now);
            }
          }
        });
      } catch (OutOfMemoryError e) {
        Arrays.fill(ws, null); // their arrays: the line below needs a little heap
        bar.finish();
        System.err.println(outOfMemory(model, m.description(), "a lower --max-regions or a larger SPLINEWATCH_HEAP"));
        return 1;
      } catch (TiledRegionCount.TileOverflow e) {
        bar.finish();
        if (e.overCap()) {
          // a tile around a point where boundaries meet keeps their regions however small: --max-regions 1 ran
          // until the tiles were a millionth of the plane wide, then was exit 1 as if the heap were too small
          throw new ParameterException(spec.commandLine(), "--max-regions " + maxRegions + " is too low for --tiled:"
              + " " + model + ": " + e.getMessage() + "; expected a larger --max-regions, e.g. "
              + Math.max(e.regions(), MIN_TILE_CAP) + " (where two region boundaries cross, " + MIN_TILE_CAP
              + " regions meet in any tile around the point)");
        }
        // each thread's tiles have 1/threads of the budget: with many threads a tile of a wide network overflows
        // its share however small it is, and fewer threads is then the remedy (a larger cap is not)
        System.err.println("error: " + model + ": " + e.getMessage() + "; expected "
            + (threads > 1 ? "fewer --threads (each of the " + threads + " has a workspace of "
            + (ws[0].budgetBytes() >> 20) + " MiB) or " : "") + "a larger SPLINEWATCH_HEAP");
        return 1;
      } finally {
        bar.finish(); // whatever the count ended with, the error or the results start on a clean line
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      String merged = m.mergedWarning(model, r.mergedByTolerance(), r.mergedLayer());
      if (merged != null) {
        System.err.println("warning: " + merged);
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("model", model.toString());
      m.describe(out);
      out.put("regions", r.regions());
      out.put("regions_after_layer", r.regionsAfterLayer());
      out.put("domain_area", m.plane().domainArea());
      out.put("area_mean", m.plane().domainArea() / r.regions());
      out.put("tiles", r.tiles());
      out.put("tiles_split", r.splitTiles());
      out.put("largest_tile", r.largestTile());
      out.put("seam_breakpoints", r.seamBreakpoints());
      out.put("merged_by_tolerance", r.mergedByTolerance());
      out.put("overflow", false);
      out.put("threads", threads);
      out.put("seconds", seconds);
      print(out);
      return 0;
    }

    /**
     * The progress line of {@code --tiled}: the share of the plane counted (to two significant digits below 0.1 %: a
     * wide network's count stood at "0.0 %" for hours), the tiles counted and split, and once some of the plane is
     * counted the time left if the rest goes at the rate so far (regions are rarely spread evenly: an estimate).
     */
    static String tiledProgress(double fraction, int tiles, int split, double seconds) {
      double percent = 100 * fraction;
      String shown = percent >= 0.1 || percent <= 0 ? String.format(java.util.Locale.ROOT, "%5.1f", percent)
          : new java.math.BigDecimal(percent).round(new java.math.MathContext(2)).toPlainString();
      String left = fraction > 0 && fraction < 1
          ? ", about " + duration(seconds * (1 - fraction) / fraction) + " left at this rate" : "";
      return String.format(java.util.Locale.ROOT, "tiled: %s %% of the plane, %d tiles, %d split, %.0f s%s", shown,
          tiles, split, seconds, left);
    }

    /**
     * The progress line of {@code --tiled} once every tile is counted: the seams between them, which are counted
     * after the tiles (each at the tolerance of the tiles beside it), by split tile.
     */
    static String tiledSeamsProgress(int tiles, int counted, int split, double seconds) {
      return String.format(java.util.Locale.ROOT, "tiled: %d tiles counted, the seams of %d of %d split, %.0f s",
          tiles, counted, split, seconds);
    }

    /** {@code seconds} in the unit a person reads best: s, min, h or days. */
    static String duration(double seconds) {
      if (seconds < 120) {
        return String.format(java.util.Locale.ROOT, "%.0f s", seconds);
      } else if (seconds < 7200) {
        return String.format(java.util.Locale.ROOT, "%.0f min", seconds / 60);
      } else if (seconds < 2 * 86400) {
        return String.format(java.util.Locale.ROOT, "%.1f h", seconds / 3600);
      }
      return String.format(java.util.Locale.ROOT, "%.0f days", seconds / 86400);
    }

    private void print(Map<String, Object> out) throws Exception {
      if (json) {
        System.out.println(new ObjectMapper().writer(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
      } else {
        out.forEach((k, v) -> System.out.println(k + ": " + (v instanceof int[] a ? Arrays.toString(a)
            : v instanceof long[] l ? Arrays.toString(l) : v instanceof double[] d ? Arrays.toString(d) : v)));
      }
    }

    /** The one line for a network whose regions ran the heap out of memory (regions and bench-regions). */
    static String outOfMemory(Path model, String network, String expected) {
      return "error: " + model + ": out of memory (heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB)"
          + " computing the regions of " + network + "; expected " + expected;
    }

    /**
     * The network and plane of {@code --model}: the benchmark format's MLP ({@code widths}) or a region file
     * ({@code layers}, any layer kind; {@link RegionFile}), with the plane's {@link Plane#unresolvedNearCentre} line
     * (null: none), computed once when the model is read (it projects every first-layer neuron onto the plane).
     */
    record Network(PiecewiseLinearNet net, Plane plane, int[] widths, RegionFile.Model file, String unresolved) {
      Network(PiecewiseLinearNet net, Plane plane, int[] widths, RegionFile.Model file) {
        this(net, plane, widths, file, plane.unresolvedNearCentre(net));
      }

      /**
       * Reads {@code model} into {@code into} and returns 0, or prints the one-line error and returns the exit code:
       * 2 for a missing file (a bad argument), 1 for bad contents.
       */
      static int readInto(Path model, List<Network> into) {
        try {
          into.add(read(model));
          return 0;
        } catch (NpzModel.ModelFileException e) {
          System.err.println("error: " + e.getMessage());
          return e.noSuchFile() ? 2 : 1;
        } catch (NpzArchive.FormatException e) {
          System.err.println("error: " + e.getMessage());
          return 1;
        }
      }

      static Network read(Path model) {
        if (Files.isRegularFile(model) && RegionFile.isRegionFile(model)) {
          RegionFile.Model f = RegionFile.read(model, NpzModel.inflatedCap());
          // float64 values that float32 rounds to 0 are not dropped without a word (arrays are read as float32)
          f.warnings().forEach(w -> System.err.println("warning: " + w));
          return checked(model, new Network(f.net(), f.plane(), null, f));
        }
        NpzModel m = NpzModel.read(model);
        m.warnings().forEach(w -> System.err.println("warning: " + w));
        return checked(model, new Network(m.net(), m.plane(), m.widths(), null));
      }

      /** {@code n}, after a warning line where its plane is far wider than the engine resolves near its centre. */
      private static Network checked(Path model, Network n) {
        if (n.unresolved() != null) {
          System.err.println("warning: " + model + ": " + n.unresolved());
        }
        return n;
      }

      /**
       * The warning line (without {@code "warning: "}) for a partition whose zero tolerance merged {@code merged}
       * regions, the first in hidden layer {@code layer} (from 0; Partition#mergedByTolerance), or null: none merged,
       * or the plane is far wider than the first layer ({@link #checked}'s line, printed before, says it).
       */
      String mergedWarning(Path model, long merged, int layer) {
        if (merged == 0 || unresolved != null) {
          return null;
        }
        return model + ": hidden layer " + (layer + 1) + " has boundaries closer to the partition's vertices than the"
            + " engine resolves at this plane's scale (within "
            + String.format(java.util.Locale.ROOT, "%.0e", Partition.TAU) + " of a neuron's largest value on the"
            + " plane): " + merged + (merged == 1 ? " region" : " regions") + " merged, so the count is not exact"
            + " (usually low; counted in tiles, sometimes high); expected a plane on the scale of that structure"
            + " (smaller u and v, or pad, around it)";
      }

      /** For messages: "a network of widths [...]" or "a network of N layers (conv2d ..., ...)". */
      String description() {
        return widths != null ? "a network of widths " + Arrays.toString(widths)
            : "a network of " + file.architecture().size() + " layers " + file.architecture();
      }

      void describe(Map<String, Object> out) {
        if (widths != null) {
          out.put("widths", widths);
        } else {
          out.put("input_shape", file.inputShape());
          out.put("layers", file.architecture());
        }
      }
    }

    /**
     * What the engine's arrays may take: a quarter of the heap left once the model is loaded, so that a network too
     * wide for the heap ends in {@code overflow: true} instead of an {@link OutOfMemoryError}. The rest is for what
     * the budget does not count: the result's copy of the faces and patterns, the statistics, and the old and new
     * copies of an array while it grows (up to 1.5 times its size again). A third left the heap about 70 % full
     * after collections on a 150,000-neuron layer in 256 MiB, and once out of memory on a loaded machine.
     */
    static long workspaceBudget() {
      Runtime rt = Runtime.getRuntime();
      System.gc(); // the model file's buffers
      long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
      return Math.max(16L << 20, free / 4);
    }
  }
}
