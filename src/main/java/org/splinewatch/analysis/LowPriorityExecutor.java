package org.splinewatch.analysis;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToIntFunction;
import org.apache.pekko.dispatch.DispatcherPrerequisites;
import org.apache.pekko.dispatch.ExecutorServiceConfigurator;
import org.apache.pekko.dispatch.ExecutorServiceFactory;
import org.apache.pekko.dispatch.Mailbox;
import org.splinewatch.metrics.CpuByRole;

/**
 * Executor of {@code splinewatch-analysis-dispatcher}: a fixed pool ({@code fixed-pool-size}) of threads that lower
 * their own scheduling priority when they start, so that when analysis and training compete for a core the kernel
 * gives it to the trainer (training must never wait for analysis); analysis then uses the idle time. On Linux each
 * thread moves itself to the {@code SCHED_IDLE} policy ({@code chrt --idle -p 0 TID}, the thread id found through
 * {@code /proc/thread-self}): such a thread runs only when no normal thread of the machine wants the core, and a
 * waking trainer or augmentation thread preempts it at once. Measured on 2 cores, a busy nice-19 process still cost
 * SimCLR training about 10 % (its augmentation thread competes for the second core), a {@code SCHED_IDLE} one about
 * 1 %. Where {@code chrt} is missing the thread falls back to nice 19 ({@code renice}); neither needs privilege.
 * Elsewhere the threads keep normal priority.
 *
 * <p>The pool serves actors in the order of {@link AnalysisPriority} ({@code splinewatch.analysis.priority}): an
 * actor's turn (its mailbox, which Pekko hands to the executor) waits in a priority queue, priority analyzers first
 * and first come, first served within a rank. An analysis already running is never interrupted.
 */
public final class LowPriorityExecutor extends ExecutorServiceConfigurator {
  /** Nice value of analysis threads. */
  public static final int NICE = 19;
  private final int poolSize;
  private final AnalysisPriority priority;

  public LowPriorityExecutor(Config config, DispatcherPrerequisites prerequisites) {
    super(config, prerequisites);
    this.poolSize = config.getInt("fixed-pool-size");
    if (poolSize < 1) {
      throw new IllegalArgumentException("fixed-pool-size must be at least 1, got " + poolSize);
    }
    this.priority = AnalysisPriority.fromConfig(prerequisites.settings().config());
  }

  @Override
  public ExecutorServiceFactory createExecutorServiceFactory(String id, ThreadFactory threadFactory) {
    return () -> new RankedPool(poolSize, lowPriority(threadFactory), task -> rankOf(task, priority));
  }

  /** Rank of a task: an actor's mailbox ranks by the actor's name; anything else comes last. */
  static int rankOf(Runnable task, AnalysisPriority priority) {
    if (task instanceof Mailbox m && m.actor() != null) {
      return priority.rank(m.actor().self().path().name());
    }
    return priority.analyzers().size();
  }

  /** A fixed pool whose queue orders tasks by rank, then by arrival. */
  static final class RankedPool extends ThreadPoolExecutor {
    private final AtomicLong arrivals = new AtomicLong();
    private final ToIntFunction<Runnable> rank;

    RankedPool(int size, ThreadFactory threads, ToIntFunction<Runnable> rank) {
      super(size, size, 60, TimeUnit.SECONDS, new PriorityBlockingQueue<>(), threads);
      this.rank = rank;
    }

    @Override
    public void execute(Runnable task) {
      super.execute(new Ranked(rank.applyAsInt(task), arrivals.getAndIncrement(), task));
    }
  }

  private record Ranked(int rank, long arrival, Runnable task) implements Runnable, Comparable<Ranked> {
    @Override
    public void run() {
      task.run();
    }

    @Override
    public int compareTo(Ranked o) {
      return rank != o.rank ? Integer.compare(rank, o.rank) : Long.compare(arrival, o.arrival);
    }
  }

  /** Wraps a thread factory so that each new thread first lowers its own priority; its CPU time counts as analysis. */
  public static ThreadFactory lowPriority(ThreadFactory factory) {
    return r -> {
      Thread t = factory.newThread(() -> {
        lowerCurrentThread();
        CpuByRole.register("analysis");
        try {
          r.run();
        } finally {
          CpuByRole.threadEnding();
        }
      });
      t.setPriority(Thread.MIN_PRIORITY);
      return t;
    };
  }

  /**
   * Moves the calling thread to {@code SCHED_IDLE}, or failing that to nice {@link #NICE}; returns the policy it got:
   * {@code "idle"}, {@code "nice"} or {@code "normal"}.
   */
  public static String lowerCurrentThread() {
    String tid;
    try {
      Path self = Files.readSymbolicLink(Path.of("/proc/thread-self")); // "<pid>/task/<tid>"
      tid = self.getFileName().toString();
    } catch (Exception | LinkageError e) {
      return "normal"; // not Linux
    }
    return lowerThread(tid);
  }

  /**
   * Moves the thread {@code tid} (a Linux thread id of this process) to {@code SCHED_IDLE}, or failing that to nice
   * {@link #NICE}; returns the policy it got, as {@link #lowerCurrentThread()}.
   */
  static String lowerThread(String tid) {
    if (run("chrt", "--idle", "-p", "0", tid)) {
      return "idle";
    }
    return run("renice", "-n", Integer.toString(NICE), "-p", tid) ? "nice" : "normal";
  }

  private static boolean run(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (Exception e) {
      return false;
    }
  }
}
