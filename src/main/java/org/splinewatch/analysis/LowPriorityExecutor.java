package org.splinewatch.analysis;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.dispatch.DispatcherPrerequisites;
import org.apache.pekko.dispatch.ExecutorServiceConfigurator;
import org.apache.pekko.dispatch.ExecutorServiceFactory;

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
 */
public final class LowPriorityExecutor extends ExecutorServiceConfigurator {
  /** Nice value of analysis threads. */
  public static final int NICE = 19;
  private final int poolSize;

  public LowPriorityExecutor(Config config, DispatcherPrerequisites prerequisites) {
    super(config, prerequisites);
    this.poolSize = config.getInt("fixed-pool-size");
    if (poolSize < 1) {
      throw new IllegalArgumentException("fixed-pool-size must be at least 1, got " + poolSize);
    }
  }

  @Override
  public ExecutorServiceFactory createExecutorServiceFactory(String id, ThreadFactory threadFactory) {
    return () -> (ExecutorService) new ThreadPoolExecutor(poolSize, poolSize, 60, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), lowPriority(threadFactory));
  }

  /** Wraps a thread factory so that each new thread first lowers its own priority. */
  public static ThreadFactory lowPriority(ThreadFactory factory) {
    return r -> {
      Thread t = factory.newThread(() -> {
        lowerCurrentThread();
        r.run();
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
