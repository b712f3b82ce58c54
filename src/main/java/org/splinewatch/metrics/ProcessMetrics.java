package org.splinewatch.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import java.util.function.Supplier;
import org.bytedeco.javacpp.Pointer;
import org.splinewatch.snapshot.MetricFamily;

/**
 * The process's own health on {@code /metrics}: Micrometer's JVM and process binders (memory pools and buffers, GC
 * pauses, threads, classes, CPU, open file descriptors, uptime) and the native memory of ND4J's arrays as JavaCPP
 * counts it ({@code splinewatch_javacpp_allocated_bytes}, {@code splinewatch_javacpp_max_bytes}) with the resident set JavaCPP reads
 * ({@code splinewatch_process_resident_bytes}). These series carry no run label; dashboards join them to runs through
 * {@code splinewatch_run_info} on {@code instance}.
 */
public final class ProcessMetrics implements AutoCloseable {
  private final JvmGcMetrics gc;

  private ProcessMetrics(JvmGcMetrics gc) {
    this.gc = gc;
  }

  /** Binds everything to {@code registry}; {@link #close()} stops the GC listener. */
  public static ProcessMetrics bind(MeterRegistry registry) {
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new JvmInfoMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    gauge(registry, MetricFamily.JAVACPP_ALLOCATED_BYTES, () -> (double) Pointer.totalBytes());
    gauge(registry, MetricFamily.JAVACPP_MAX_BYTES, () -> (double) Pointer.maxBytes());
    gauge(registry, MetricFamily.PROCESS_RESIDENT_BYTES, () -> (double) Pointer.physicalBytes());
    return new ProcessMetrics(gc);
  }

  private static void gauge(MeterRegistry registry, MetricFamily family, Supplier<Number> value) {
    Gauge.builder(family.meterName(), value).baseUnit(family.unit()).description(family.help()).register(registry);
  }

  @Override
  public void close() {
    gc.close();
  }
}
