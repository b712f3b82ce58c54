package org.splinewatch.run;

import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import org.splinewatch.cluster.MonitorLink;
import org.splinewatch.cluster.StopDeadline;
import org.splinewatch.metrics.CpuByRole;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGTERM, SIGINT (Ctrl-C) and SIGHUP (a closed terminal or dropped ssh session) during a run: instead of the JVM's
 * immediate exit, the first signal asks the run to end after its current step ({@code onSignal} gets a reason such as
 * "interrupted by SIGTERM"), so that {@code checkpoints/latest}, {@code run_finished} and the removal of the discovery
 * file still happen; the caller exits with {@link #exitCode()} (128 + the signal number: 143, 130, 129). A second
 * signal, or {@code grace} running out, halts the process at once with the same code. {@link #close()} restores the
 * previous handlers. A signal the process ignores (SIGHUP under nohup) stays ignored. The same signal again within
 * {@link #SAME_DELIVERY} of the first is that one delivered twice (GNU timeout's way), not a second signal; both are
 * timed from when they reached the JVM ({@link #arrivalOfThisThread}), not from when their handlers ran.
 *
 * <p>Installed before the run is set up ({@link #installBeforeStart}), a first signal is only recorded: the start-up
 * ends at its next check of {@link #received()} without training (the JVM's default was a silent exit 130 at any
 * point of the start-up, which takes seconds: loading ND4J, the data set); {@link #training} hands it to the run when
 * it came after the last check.
 */
public final class SignalStop implements AutoCloseable {
  private static final Map<String, Integer> NUMBERS = Map.of("TERM", 15, "INT", 2, "HUP", 1);
  /**
   * Whether the command has started (a run's handlers were installed, or the monitor serves) since
   * {@link #exitBeforeRun}'s or {@link #exitBeforeServing}'s handlers were: their line then no longer holds.
   */
  private static volatile boolean started;
  /** What a signal does first once the monitor serves ({@link #serving(Runnable)}), before the exit's hooks run. */
  private static volatile Runnable beforeExit = () -> { };
  private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
  private final PrintStream out;
  private volatile String received;
  /** {@link System#nanoTime()} when {@link #received} was set. */
  private long receivedAt;
  /** The grace from the first signal, which then halts the process; null before it. */
  private volatile StopDeadline deadline;
  /**
   * A repeat of the first signal within this time is the same signal delivered twice, not a second request: GNU
   * timeout sends its signal to the command and then to its process group, microseconds apart. Timed from the
   * signals' arrivals ({@link #arrivalOfThisThread}): timed from when their handlers ran, a first handler that ran late
   * on a busy machine took a user's second Ctrl-C, pressed before it ran, for the same delivery.
   */
  static final Duration SAME_DELIVERY = Duration.ofMillis(300);
  /** Linux's clock ticks a second ({@code getconf CLK_TCK}), the unit of a thread's start in /proc. */
  private static final long CLOCK_TICKS_PER_SECOND = 100;
  /** Halts the process with an exit code; a test replaces it. */
  java.util.function.IntConsumer halt = code -> Runtime.getRuntime().halt(code);
  private volatile Thread watchdog;
  /** The run's files are written and it only waits for Prometheus's next scrape: a first signal ends that wait. */
  private volatile boolean waitingForScrape;
  /** Where a first signal goes once the run is set up; null before. */
  private Consumer<String> onSignal;

  private SignalStop(PrintStream out) {
    this.out = out;
  }

  /** Installs the handlers; where the JVM does not allow it (no such signal, or -Xrs), signals keep their default. */
  public static SignalStop install(Consumer<String> onSignal, Duration grace, PrintStream out) {
    SignalStop stop = installBeforeStart(grace, out);
    stop.training(onSignal);
    return stop;
  }

  /**
   * Installs the handlers before the run is set up: a first signal is recorded ({@link #received()}) for the start-up
   * to end without training, and {@code grace} runs from it; a second one halts the process at once.
   */
  public static SignalStop installBeforeStart(Duration grace, PrintStream out) {
    started = true;
    SignalStop stop = new SignalStop(out);
    stop.previous.putAll(handleEach(name -> s -> stop.handle(name, grace, arrivalOfThisThread())));
    // at a terminal, where a user would press Ctrl-C (not in a CI runner's background process, which ignores it too)
    if (stop.interruptIgnored() && System.console() != null) {
      out.println(ignoredInterrupt(ProcessHandle.current().pid()));
    }
    return stop;
  }

  /**
   * Whether SIGINT is ignored in this process, so that Ctrl-C does nothing: the JVM keeps an ignored signal ignored and
   * installs no handler for it (a program started in the background without job control inherits it ignored).
   */
  public boolean interruptIgnored() {
    return previous.entrySet().stream()
        .anyMatch(e -> e.getKey().getName().equals("INT") && e.getValue() == SignalHandler.SIG_IGN);
  }

  /**
   * The note of a run at a terminal whose SIGINT is ignored ({@link #interruptIgnored}): Ctrl-C does nothing, where
   * the user expects it to end the run, as in a script's background job.
   */
  static String ignoredInterrupt(long pid) {
    return "note: Ctrl-C (SIGINT) is ignored in this process, as a program started in the background without job"
        + " control inherits it; end the run with kill -TERM " + pid + " (after its current step, as Ctrl-C would)";
  }

  /**
   * From the JVM's start until a run installs its handlers ({@code ./trainer} reading its command line, seconds of
   * class loading): a signal exits with 128 + its number and one line (nothing of the run has been written), where the
   * JVM's default exit said nothing. After the run's handlers are closed again, a signal exits as by the JVM's default.
   */
  public static void exitBeforeRun(PrintStream out) {
    exitBeforeStart(out, SignalStop::beforeTraining);
  }

  /**
   * From the JVM's start until {@link #serving()} ({@code ./monitor serve} loading its classes, starting its actor
   * system and HTTP server: seconds): a signal exits with 128 + its number and one line; afterwards as by the JVM's
   * default (the node's shutdown hook leaves the cluster).
   */
  public static void exitBeforeServing(PrintStream out) {
    exitBeforeStart(out, SignalStop::beforeServing);
  }

  /**
   * Until the returned handle is closed, SIGTERM, SIGINT or SIGHUP ends the command with one line on {@code out},
   * {@code line} of the signal's name ({@code SIGINT}), and exit code 128 + its number (143, 130, 129), for the
   * monitor's one-shot commands ({@code regions}, {@code bench-regions}, {@code detection}, {@code report}), which the
   * JVM's default ended with 130 and no word. A second signal while the first exits changes nothing. Closing restores
   * the previous handlers.
   */
  public static AutoCloseable exitWithLine(PrintStream out, Function<String, String> line) {
    AtomicBoolean exiting = new AtomicBoolean();
    Map<Signal, SignalHandler> previous = handleEach(name -> s -> {
      if (exiting.compareAndSet(false, true)) {
        out.println(line.apply("SIG" + name));
        out.flush();
        System.exit(128 + NUMBERS.get(name));
      }
    });
    return () -> previous.forEach((signal, handler) -> {
      if (!exiting.get()) {
        Signal.handle(signal, handler);
      }
    });
  }

  /**
   * Until closed, for a command whose JVM shutdown hooks stop its work ({@code bench-cluster}: its nodes, then the
   * removal of its temporary directory): the first SIGTERM, SIGINT or SIGHUP prints {@code first}'s line of the
   * signal's name ({@code SIGINT}) on {@code out} and exits with 128 + its number, which runs those hooks; a second one
   * while they run prints {@code second}'s line (what is left behind, and where) and halts at once with 128 + its
   * number. The JVM's default did nothing at a second signal (its exit waited for the hooks). The first signal
   * delivered again within {@link #SAME_DELIVERY} is that one. Closing restores the previous handlers.
   */
  public static ExitThenHalt exitThenHalt(PrintStream out, Function<String, String> first,
      Function<String, String> second) {
    ExitThenHalt handle = new ExitThenHalt(out, first, second);
    handle.previous.putAll(handleEach(name -> s -> handle.handle(name, arrivalOfThisThread())));
    return handle;
  }

  /** The handlers of {@link #exitThenHalt}. */
  public static final class ExitThenHalt implements AutoCloseable {
    private final PrintStream out;
    private final Function<String, String> first;
    private final Function<String, String> second;
    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
    /** Exits with an exit code, running the shutdown hooks (returns only in a test, which replaces it). */
    java.util.function.IntConsumer exit = System::exit;
    /** Halts the process with an exit code; a test replaces it. */
    java.util.function.IntConsumer halt = code -> Runtime.getRuntime().halt(code);
    private String received;
    private long receivedAt;

    /** Handles nothing until {@link #exitThenHalt} installs it (a test calls {@link #handle} itself). */
    ExitThenHalt(PrintStream out, Function<String, String> first, Function<String, String> second) {
      this.out = out;
      this.first = first;
      this.second = second;
    }

    /** A signal {@code name} ({@code INT}, ...) that reached the JVM now. */
    void handle(String name) {
      handle(name, System.nanoTime());
    }

    /** A signal {@code name} ({@code INT}, ...) that reached the JVM at {@code arrivedAt} ({@link System#nanoTime}). */
    void handle(String name, long arrivedAt) {
      int code = 128 + NUMBERS.get(name);
      synchronized (this) {
        if (received != null && received.equals(name) && sameDelivery(receivedAt, arrivedAt)) {
          return; // the first one, delivered again
        }
        if (received != null) {
          out.println(second.apply("SIG" + name));
          out.flush();
          halt.accept(code);
          return;
        }
        received = name;
        receivedAt = arrivedAt;
        out.println(first.apply("SIG" + name)); // before a second signal's line
        out.flush();
      }
      exit.accept(code); // outside the lock: the exit waits for the hooks, and a second signal must get in meanwhile
    }

    @Override
    public synchronized void close() {
      if (received == null) { // once exiting, a second signal still halts
        previous.forEach(Signal::handle);
      }
      previous.clear();
    }
  }

  /** The monitor node is up: a signal from now on is its shutdown, without {@link #exitBeforeServing}'s line. */
  public static void serving() {
    started = true;
  }

  /**
   * As {@link #serving()}; a signal from now on runs {@code first} before the exit (the monitor's scheduling group
   * back to an equal share: at nice 19 on a busy machine, the exit took 12 s to reach the shutdown hook).
   */
  public static void serving(Runnable first) {
    beforeExit = first;
    started = true;
  }

  private static void exitBeforeStart(PrintStream out, Function<String, String> line) {
    handleEach(name -> s -> {
      if (!started) {
        out.println(line.apply(name));
      } else {
        beforeExit.run();
      }
      System.exit(128 + NUMBERS.get(name));
    });
  }

  /**
   * When the signal whose handler runs in this thread reached the JVM, as closely as the JVM lets a program tell, in
   * {@link System#nanoTime()}'s terms: its signal dispatcher starts a thread for each signal as it takes it, and the
   * handler runs in that thread, on a busy machine a second or more later. On Linux the thread's start is in
   * /proc/thread-self/stat (clock ticks since boot, 10 ms), against /proc/uptime now; elsewhere, or unreadable, now.
   */
  static long arrivalOfThisThread() {
    long now = System.nanoTime();
    try {
      String stat = Files.readString(Path.of("/proc/thread-self/stat"));
      String uptime = Files.readString(Path.of("/proc/uptime"));
      now = System.nanoTime();
      // the fields from the third on: the start is the 22nd
      long startTicks = Long.parseLong(CpuByRole.statFields(stat)[22 - 3]);
      long uptimeNanos = new BigDecimal(uptime.trim().split("\\s+")[0]).movePointRight(9).longValue();
      long age = uptimeNanos - startTicks * (1_000_000_000L / CLOCK_TICKS_PER_SECOND);
      return now - Math.max(0, age);
    } catch (IOException | RuntimeException e) {
      return now; // not Linux: from when the handler runs
    }
  }

  /** Whether signals that arrived at {@code first} and at {@code then} ({@link System#nanoTime}) are one delivery. */
  static boolean sameDelivery(long first, long then) {
    return Math.abs(then - first) < SAME_DELIVERY.toNanos();
  }

  /**
   * Installs, for each of {@link #NUMBERS}' signals this JVM lets a program handle, the handler {@code handlerOf}
   * makes of its name ({@code INT}); returns the handlers they replaced. Where the JVM does not allow it (no such
   * signal, or -Xrs), a signal keeps the JVM's default.
   */
  private static Map<Signal, SignalHandler> handleEach(Function<String, SignalHandler> handlerOf) {
    Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
    for (String name : NUMBERS.keySet()) {
      try {
        Signal signal = new Signal(name);
        previous.put(signal, Signal.handle(signal, handlerOf.apply(name)));
      } catch (IllegalArgumentException e) {
        // this signal cannot be handled here: the JVM's default stays
      }
    }
    return previous;
  }

  /**
   * The run is set up: a first signal from now on asks it to end after its current step ({@code onSignal} gets
   * "interrupted by SIGxxx"); one that came since the start-up last checked {@link #received()} is handed on now.
   */
  public void training(Consumer<String> onSignal) {
    String early;
    synchronized (this) {
      this.onSignal = onSignal;
      early = received;
    }
    if (early != null) {
      out.println(finishing(early));
      onSignal.accept("interrupted by SIG" + early);
    }
  }

  void handle(String name, Duration grace) {
    handle(name, grace, System.nanoTime());
  }

  /** A signal {@code name} that reached the JVM at {@code arrivedAt} ({@link System#nanoTime}). */
  void handle(String name, Duration grace, long arrivedAt) {
    int code = 128 + NUMBERS.get(name);
    Consumer<String> to;
    synchronized (this) {
      if (received != null && received.equals(name) && sameDelivery(receivedAt, arrivedAt)) {
        return; // the first one, delivered again
      }
      if (received != null) {
        out.println("second SIG" + name + ": exiting at once (the last checkpoint is the latest one written)");
        halt.accept(code);
        return;
      }
      received = name;
      receivedAt = arrivedAt;
      deadline = StopDeadline.in(grace);
      to = onSignal;
    }
    if (waitingForScrape) {
      out.println("SIG" + name + ": not waiting for the scrape; exiting");
    } else if (to != null) {
      out.println(finishing(name));
    }
    Thread w = new Thread(() -> {
      try {
        Thread.sleep(grace.toMillis());
      } catch (InterruptedException e) {
        return;
      }
      out.println("error: the run did not end within " + MonitorLink.seconds(grace) + " of SIG" + name + "; exiting");
      halt.accept(code);
    }, "splinewatch-signal-watchdog");
    w.setDaemon(true);
    watchdog = w;
    w.start();
    if (to != null) {
      to.accept("interrupted by SIG" + name);
    }
  }

  /**
   * The run has ended and written its files, and waits only for Prometheus's next scrape: a first signal from now on
   * says that it ends the wait (the caller checks {@link #received()}) instead of finishing a step.
   */
  void waitingForScrape() {
    waitingForScrape = true;
  }

  /** The line of a signal {@code name} ({@code INT}, ...) that came before training started. */
  static String beforeTraining(String name) {
    return "interrupted by SIG" + name + " before training started: nothing was written";
  }

  /** The line of a signal {@code name} that came while {@code ./monitor serve} was starting. */
  static String beforeServing(String name) {
    return "interrupted by SIG" + name + " while the monitor was starting; no run was served";
  }

  private static String finishing(String name) {
    return "SIG" + name + ": finishing the current step, then writing the checkpoint and run files (again to exit at"
        + " once)";
  }

  /**
   * When the first signal's grace runs out and the process halts (empty before a signal): the run's waits on its way
   * out (on a remote monitor) share what is left of it.
   */
  public Optional<StopDeadline> deadline() {
    return Optional.ofNullable(deadline);
  }

  /** The signal received ({@code TERM}, {@code INT}, {@code HUP}), or null. */
  public String received() {
    return received;
  }

  /** The signal ({@code SIGTERM}, ...) of this class's whose exit code (128 + its number) {@code exitCode} is. */
  public static Optional<String> signalOf(int exitCode) {
    return NUMBERS.entrySet().stream().filter(e -> 128 + e.getValue() == exitCode).map(e -> "SIG" + e.getKey())
        .findFirst();
  }

  /** 128 + the number of the signal received (143 SIGTERM, 130 SIGINT, 129 SIGHUP), or 0 when none was. */
  public int exitCode() {
    String r = received;
    return r == null ? 0 : 128 + NUMBERS.get(r);
  }

  @Override
  public void close() {
    Thread w = watchdog;
    if (w != null) {
      w.interrupt(); // the run ended in time
    }
    previous.forEach(Signal::handle);
    previous.clear();
  }
}
