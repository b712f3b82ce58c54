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
 * their own scheduling priority to nice 19 when they start, so that when analysis and training compete for a core the
 * kernel gives it to the trainer (training must never wait for analysis); analysis then uses the idle time. On Linux a
 * thread's nice value is its own ({@code renice -p TID}, found through {@code /proc/thread-self}); lowering it needs no
 * privilege. Elsewhere the threads keep normal priority.
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

  /** Sets the calling thread's nice value to {@link #NICE}; returns whether it worked. */
  public static boolean lowerCurrentThread() {
    try {
      Path self = Files.readSymbolicLink(Path.of("/proc/thread-self")); // "<pid>/task/<tid>"
      String tid = self.getFileName().toString();
      Process p = new ProcessBuilder("renice", "-n", Integer.toString(NICE), "-p", tid)
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (Exception | LinkageError e) {
      return false; // not Linux, or no renice: normal priority
    }
  }
}
