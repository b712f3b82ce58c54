package org.splinewatch.run;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGTERM, SIGINT (Ctrl-C) and SIGHUP (a closed terminal or dropped ssh session) during a run: instead of the JVM's
 * immediate exit, the first signal asks the run to end after its current step ({@code onSignal} gets a reason such as
 * "interrupted by SIGTERM"), so that {@code checkpoints/latest}, {@code run_finished} and the removal of the discovery
 * file still happen; the caller exits with {@link #exitCode()} (128 + the signal number: 143, 130, 129). A second
 * signal, or {@code grace} running out, halts the process at once with the same code. {@link #close()} restores the
 * previous handlers. A signal the process ignores (SIGHUP under nohup) stays ignored.
 */
public final class SignalStop implements AutoCloseable {
  private static final Map<String, Integer> NUMBERS = Map.of("TERM", 15, "INT", 2, "HUP", 1);
  private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
  private volatile String received;
  private volatile Thread watchdog;

  private SignalStop() {
  }

  /** Installs the handlers; where the JVM does not allow it (no such signal, or -Xrs), signals keep their default. */
  public static SignalStop install(Consumer<String> onSignal, Duration grace, java.io.PrintStream out) {
    SignalStop stop = new SignalStop();
    for (String name : NUMBERS.keySet()) {
      try {
        Signal signal = new Signal(name);
        stop.previous.put(signal, Signal.handle(signal, s -> stop.handle(name, onSignal, grace, out)));
      } catch (IllegalArgumentException e) {
        // this signal cannot be handled here: the JVM's default stays
      }
    }
    return stop;
  }

  private void handle(String name, Consumer<String> onSignal, Duration grace, java.io.PrintStream out) {
    int code = 128 + NUMBERS.get(name);
    if (received != null) {
      out.println("second SIG" + name + ": exiting at once (the last checkpoint is the latest one written)");
      Runtime.getRuntime().halt(code);
    }
    received = name;
    out.println("SIG" + name + ": finishing the current step, then writing the checkpoint and run files (again to"
        + " exit at once)");
    Thread w = new Thread(() -> {
      try {
        Thread.sleep(grace.toMillis());
      } catch (InterruptedException e) {
        return;
      }
      out.println("error: the run did not end within " + grace.toSeconds() + " s of SIG" + name + "; exiting");
      Runtime.getRuntime().halt(code);
    }, "splinewatch-signal-watchdog");
    w.setDaemon(true);
    watchdog = w;
    w.start();
    onSignal.accept("interrupted by SIG" + name);
  }

  /** The signal received ({@code TERM}, {@code INT}, {@code HUP}), or null. */
  public String received() {
    return received;
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
