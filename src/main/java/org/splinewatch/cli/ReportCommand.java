package org.splinewatch.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.splinewatch.run.SignalStop;
import org.splinewatch.report.ReportWriter;
import org.splinewatch.report.RunData;
import org.splinewatch.snapshot.DurableFiles;
import org.splinewatch.snapshot.MetricsSegments;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/** {@code ./monitor report RUN_DIR [RUN_DIR...] [--out FILE]}: a self-contained HTML report of one or more runs. */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = "Write a self-contained HTML report (curves, alerts, partition pictures) of one or more runs.")
final class ReportCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "RUN_DIR", description = "run directories (runs/<run-id>)")
  List<Path> runs = new ArrayList<>();
  @Option(names = "--out", description = "output file (default RUN_DIR/report.html for one run, "
      + "splinewatch-report.html for several); a character device or a FIFO (/dev/null, a pipe) is written to")
  Path out;
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  /** A report file: it replaces only a file named like a report. */
  static final DurableFiles.OutputKind REPORT = new DurableFiles.OutputKind("an HTML file", "an .html report",
      "report.html", java.util.regex.Pattern.compile("(?i).*\\.html?"));

  /** Samples on disk (metrics.jsonl and its segments) from which the report says what it reads and writes. */
  static long progressBytes = 64L << 20;

  /** The bytes of a run's samples on disk: its metrics segments (compressed) and metrics.jsonl. */
  static long sampleBytes(Path run) {
    List<Path> files = new ArrayList<>(MetricsSegments.of(run));
    files.add(run.resolve("metrics.jsonl"));
    long sum = 0;
    for (Path f : files) {
      try {
        sum += java.nio.file.Files.size(f);
      } catch (java.io.IOException e) {
        // gone meanwhile: counts nothing
      }
    }
    return sum;
  }

  private static String mib(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
  }

  @Override
  public Integer call() throws Exception {
    // before any run is read: a report replaces only a report (e.g. not the run's metrics.jsonl, nor through a link)
    Main.refuseEmptyPaths(spec.commandLine(), "RUN_DIR", runs, "a run directory, e.g. runs/<run-id>");
    String problem = out == null ? null : DurableFiles.outputFileProblem("--out", out, REPORT);
    if (problem != null) {
      throw new ParameterException(spec.commandLine(), problem);
    }
    runs = RunData.distinct(runs, System.err);
    for (Path r : runs) { // every directory checked before the first is read
      try {
        RunData.check(r);
      } catch (RunData.ReportException e) { // a missing or foreign directory: a bad argument
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
    }
    Path file = out != null ? out : runs.size() == 1 ? runs.get(0).resolve("report.html")
        : Path.of("splinewatch-report.html");
    // the default file is checked as --out is (e.g. a report.html that is a link to another file, or a directory)
    String defaultProblem = out != null ? null : DurableFiles.outputFileProblem("the report", file, REPORT);
    if (defaultProblem != null) {
      throw new ParameterException(spec.commandLine(), defaultProblem + "; or pass --out FILE");
    }
    // Ctrl-C or SIGTERM: one line, exit 128 + the signal (the JVM's default said nothing); the report is written whole
    // (a temporary file renamed over it), and this process's temporary is removed
    Path report = file;
    try (AutoCloseable signals = SignalStop.exitWithLine(System.err, signal -> interrupted(signal, report))) {
      return report(file);
    }
  }

  /** What the command is doing, for the line a signal prints ({@link #interrupted}). */
  private volatile String doing = "checking the run directories";
  /** Whether a progress line is waiting for its end ({@code reading run 1 of 2: ...}). */
  private volatile boolean lineOpen;
  /** Whether a signal is ending the command: the write it stopped is then not reported as an error. */
  private volatile boolean signalled;

  /** The line of a signal ({@code SIGINT}) that ends the command writing {@code file}. */
  private String interrupted(String signal, Path file) {
    signalled = true;
    String what = doing;
    if (lineOpen) {
      System.err.println(); // the line of the run being read, cut short
    }
    DurableFiles.deleteOwnTemporaries(file); // its temporary, wherever a link put it, and no report begun after this
    if (what.startsWith("writing")) {
      return "interrupted by " + signal + " while " + what + ": " + file + " is as it was or the whole new report,"
          + " never a part of one";
    }
    return "interrupted by " + signal + " while " + what + ": no report written (" + file + " as it was)";
  }

  private Integer report(Path file) {
    long[] bytes = runs.stream().mapToLong(ReportCommand::sampleBytes).toArray();
    long total = java.util.Arrays.stream(bytes).sum();
    boolean progress = total >= progressBytes; // a long run takes tens of seconds a run: say what is going on
    long started = System.nanoTime();
    List<RunData> data = new ArrayList<>();
    List<String> leftOut = List.of(); // damaged pictures and embedding views the report left out
    try {
      for (int i = 0; i < runs.size(); i++) {
        Path r = runs.get(i);
        doing = "reading run " + (i + 1) + " of " + runs.size() + " (" + r + ")";
        long t = System.nanoTime();
        if (progress) {
          System.err.print("reading run " + (i + 1) + " of " + runs.size() + ": " + r + " (" + mib(bytes[i])
              + " of samples)...");
          System.err.flush();
          lineOpen = true;
        }
        RunData d = RunData.read(r);
        if (progress) {
          System.err.printf(java.util.Locale.ROOT, " %,d samples in %.1f s%n",
              d.series().values().stream().mapToLong(x -> x.points().size()).sum(), (System.nanoTime() - t) / 1e9);
          lineOpen = false;
        }
        // a report of nothing from a metrics.jsonl of garbage would hide the problem; one of a run that recorded no
        // sample (an HTTP run finished without a snapshot: the monitor wrote its report.html) says so, as that did
        List<String> why = d.problems().stream().filter(p -> p.startsWith("metrics")).toList();
        if (d.series().isEmpty() && !why.isEmpty()) {
          System.err.println("error: " + r + ": no usable sample in its metrics (" + String.join("; ", why)
              + "); expected the samples a run writes");
          return 1;
        }
        data.add(d);
      }
      if (progress) {
        System.err.println("writing " + file + "...");
      }
      doing = "writing " + file;
      try {
        leftOut = ReportWriter.write(data, file);
      } catch (java.io.UncheckedIOException e) {
        if (signalled) { // the signal's line says what became of the report
          return 1;
        }
        throw e;
      }
      doing = "printing its notes";
    } catch (OutOfMemoryError e) {
      data.clear(); // what was read goes, so that the message below can be made
      System.err.println();
      System.err.println("error: the report of " + runs.size() + (runs.size() == 1 ? " run (" : " runs (")
          + mib(total) + " of samples, and their pictures) needs more than the " + mib(Runtime.getRuntime().maxMemory())
          + " heap; give it more (SPLINEWATCH_HEAP=2g ./monitor report ...) or report fewer runs at a time");
      return 1;
    }
    if (progress) {
      System.err.printf(java.util.Locale.ROOT, "done in %.1f s%n", (System.nanoTime() - started) / 1e9);
    }
    leftOut.forEach(line -> System.out.println("note: " + line));
    for (RunData d : data) {
      ReportWriter.noSamples(d).ifPresent(n -> System.out.println("note: " + d.runId() + ": " + n));
      d.notes().forEach(n -> System.out.println("note: " + d.runId() + ": " + n));
      if (!d.complete()) {
        System.out.println(UnfinishedRuns.said(d.incompleteWarning(), d.dir()));
      } else {
        d.notChecked().ifPresent(n -> System.out.println("note: " + d.runId() + ": "
            + org.splinewatch.report.ReportWriter.NOT_CHECKED + ": " + n));
      }
    }
    System.out.println("report: " + file);
    return 0;
  }
}
