package org.splinewatch.metrics;

import com.sun.management.GarbageCollectionNotificationInfo;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.io.FileInputStream;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import org.splinewatch.snapshot.MetricFamily;

/**
 * Peak memory of this process: heap used (sampled, and the heap just before every collection, which is where it
 * peaks), heap committed, off-heap and resident memory (the kernel's own high-water mark, {@code VmHWM}, on Linux).
 * Off-heap is resident memory minus the committed heap, the part the off-heap budget must cover: ND4J's native
 * arrays, SameDiff's array cache, JIT code, metaspace, native libraries, thread stacks. It reads low (down to 0)
 * while part of the committed heap has never been touched, which a long run's collections soon change. Samples on a
 * daemon thread every {@code sample-interval}; with a resident limit, a sample above it asks for a GC (ND4J frees
 * native arrays when their Java owners are collected) and a second one still above it calls {@code onLimit} once with
 * a one-line reason, so the run can stop with an error instead of being killed.
 */
public final class MemoryWatch implements AutoCloseable {
  /** Peaks in bytes; {@code heapMax} and {@code residentLimit} are the limits (0: none). */
  public record Peaks(long heapUsed, long heapCommitted, long heapMax, long offHeap, long resident,
      long residentLimit) {
    /** The memory fields of {@code run_finished} in events.jsonl. */
    public Map<String, Object> toEvent() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("heap_peak_bytes", heapUsed);
      m.put("heap_committed_peak_bytes", heapCommitted);
      m.put("heap_max_bytes", heapMax);
      m.put("off_heap_peak_bytes", offHeap);
      m.put("resident_peak_bytes", resident);
      m.put("resident_limit_bytes", residentLimit);
      return m;
    }

    /** One line for the console. */
    public String describe() {
      return "peak memory: heap " + mib(heapUsed) + " (committed " + mib(heapCommitted) + ", max " + mib(heapMax)
          + "), off-heap " + mib(offHeap) + ", resident " + mib(resident)
          + (residentLimit > 0 ? " (limit " + mib(residentLimit) + ")" : "");
    }
  }

  private final MemorySettings settings;
  private final Consumer<String> onLimit;
  private final ScheduledExecutorService timer;
  private final List<Runnable> unsubscribe = new ArrayList<>();
  private final AtomicLong heapUsed = new AtomicLong();
  private final AtomicLong heapCommitted = new AtomicLong();
  private final AtomicLong offHeap = new AtomicLong();
  private final AtomicLong resident = new AtomicLong();
  private final AtomicLong residentNow = new AtomicLong();
  private volatile boolean gcRequested;
  private volatile boolean limitReported;
  private volatile boolean oomReported;
  /** {@code /proc/self/status} as last read (about 1.5 kB on Linux); guarded by itself. */
  private final byte[] status = new byte[STATUS_BYTES];
  private static final int STATUS_BYTES = 8192;

  private MemoryWatch(MemorySettings settings, Consumer<String> onLimit) {
    this.settings = settings;
    this.onLimit = onLimit;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "splinewatch-memory");
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts sampling; {@code onLimit} is called at most once, on the sampling thread. */
  public static MemoryWatch start(MemorySettings settings, Consumer<String> onLimit) {
    MemoryWatch w = new MemoryWatch(settings, onLimit);
    w.listenToCollections();
    w.sample();
    long ms = Math.max(1, settings.sampleInterval().toMillis());
    w.timer.scheduleAtFixedRate(w::sampleAndCheck, ms, ms, TimeUnit.MILLISECONDS);
    return w;
  }

  /**
   * Gauges {@code splinewatch_memory_peak_bytes{area}} with {@code area} = heap, heap_committed, off_heap,
   * resident.
   */
  public void bind(MeterRegistry registry, Tags tags) {
    gauge(registry, PEAK, tags, "heap", heapUsed);
    gauge(registry, PEAK, tags, "heap_committed", heapCommitted);
    gauge(registry, PEAK, tags, "off_heap", offHeap);
    gauge(registry, PEAK, tags, "resident", resident);
    // the current values are exported once, by the process meters: jvm_memory_used_bytes and
    // jvm_memory_committed_bytes (heap), splinewatch_process_resident_bytes (resident)
  }

  private static final MetricFamily PEAK = MetricFamily.MEMORY_PEAK_BYTES;

  private static void gauge(MeterRegistry registry, MetricFamily family, Tags tags, String area, AtomicLong value) {
    Gauge.builder(family.meterName(), value, AtomicLong::get).description(family.help()).tags(tags.and("area", area))
        .strongReference(true).register(registry);
  }

  /** The peaks so far, after one more sample. */
  public Peaks peaks() {
    sample();
    return new Peaks(heapUsed.get(), heapCommitted.get(), Runtime.getRuntime().maxMemory(), offHeap.get(),
        resident.get(), settings.maxResident());
  }

  private void sampleAndCheck() {
    try {
      sample();
      long limit = settings.maxResident();
      long now = residentNow.get();
      if (limit <= 0 || limitReported) {
        return;
      }
      if (now <= limit) {
        gcRequested = false;
      } else if (!gcRequested) {
        gcRequested = true;
        System.gc(); // native arrays whose Java owners are garbage go with them; the next sample decides
      } else {
        limitReported = true;
        MemoryUsage h = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        onLimit.accept("resident memory " + mib(now) + " exceeds the limit of " + mib(limit) + " after a GC (heap "
            + mib(h.getCommitted()) + " committed, off-heap " + mib(Math.max(0, now - h.getCommitted()))
            + "); raise SPLINEWATCH_HEAP or SPLINEWATCH_OFF_HEAP (docs/memory.md)");
      }
    } catch (RuntimeException e) {
      // a failed sample must not end the sampling thread's schedule
    } catch (OutOfMemoryError e) {
      // the schedule's future would keep it unseen: the thread's handler ends a training run with one line
      // (trainer.BackgroundOutOfMemory); once, the sampling goes on
      if (!oomReported) {
        oomReported = true;
        Thread t = Thread.currentThread();
        t.getUncaughtExceptionHandler().uncaughtException(t, e);
      }
    }
  }

  private void sample() {
    MemoryUsage h = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    heapUsed.accumulateAndGet(h.getUsed(), Math::max);
    heapCommitted.accumulateAndGet(h.getCommitted(), Math::max);
    long rss;
    long hwm;
    synchronized (status) {
      int n = readStatus(status);
      rss = statusField(status, n, "VmRSS:");
      hwm = statusField(status, n, "VmHWM:");
    }
    if (rss > 0) {
      residentNow.set(rss);
      offHeap.accumulateAndGet(Math.max(0, rss - h.getCommitted()), Math::max);
      resident.accumulateAndGet(Math.max(rss, hwm), Math::max);
    }
  }

  /** A {@code /proc/self/status} field in bytes, or 0 where there is none (not Linux). */
  static long statusKib(String field) {
    byte[] buffer = new byte[STATUS_BYTES];
    return statusField(buffer, readStatus(buffer), field);
  }

  /**
   * {@code /proc/self/status} read into {@code buffer} (its first bytes where it is longer), the number of bytes read;
   * 0 where it cannot be read. A sample reads it into a buffer kept for it: {@code Files.readAllLines} made about 30 kB
   * of garbage a read, twice a sample.
   */
  private static int readStatus(byte[] buffer) {
    try (FileInputStream in = new FileInputStream("/proc/self/status")) {
      int n = 0;
      for (int r; n < buffer.length && (r = in.read(buffer, n, buffer.length - n)) > 0; ) {
        n += r;
      }
      return n;
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** The value in bytes of a field such as {@code VmRSS:} ({@code "VmRSS:   123456 kB"}) in the first n bytes. */
  static long statusField(byte[] status, int n, String field) {
    for (int line = 0; line < n; ) {
      if (startsWith(status, line, n, field)) {
        int i = line + field.length();
        while (i < n && (status[i] == ' ' || status[i] == '\t')) {
          i++;
        }
        long kib = 0;
        int digits = 0;
        for (; i < n && status[i] >= '0' && status[i] <= '9' && digits < 18; i++, digits++) {
          kib = kib * 10 + (status[i] - '0');
        }
        return digits > 0 ? kib * 1024 : 0;
      }
      while (line < n && status[line] != '\n') {
        line++;
      }
      line++;
    }
    return 0;
  }

  private static boolean startsWith(byte[] bytes, int from, int n, String prefix) {
    if (from + prefix.length() > n) {
      return false;
    }
    for (int k = 0; k < prefix.length(); k++) {
      if (bytes[from + k] != prefix.charAt(k)) {
        return false;
      }
    }
    return true;
  }

  /** The heap peaks between collections: the used heap just before each one. */
  private void listenToCollections() {
    Set<String> heapPools = new HashSet<>();
    for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        heapPools.add(pool.getName());
      }
    }
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (!(gc instanceof NotificationEmitter emitter)) {
        continue;
      }
      NotificationListener l = (Notification n, Object handback) -> {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
          return;
        }
        var info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
        long used = 0;
        // before-GC usage lists every pool, non-heap ones (metaspace, code cache) too
        for (var e : info.getGcInfo().getMemoryUsageBeforeGc().entrySet()) {
          if (heapPools.contains(e.getKey())) {
            used += e.getValue().getUsed();
          }
        }
        heapUsed.accumulateAndGet(used, Math::max);
      };
      emitter.addNotificationListener(l, null, null);
      unsubscribe.add(() -> {
        try {
          emitter.removeNotificationListener(l);
        } catch (ListenerNotFoundException e) {
          // already gone
        }
      });
    }
  }

  static String mib(long bytes) {
    return String.format(Locale.ROOT, "%d MiB", Math.round(bytes / 1048576.0));
  }

  @Override
  public void close() {
    timer.shutdownNow();
    unsubscribe.forEach(Runnable::run);
  }
}
