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
import org.bytedeco.javacpp.Pointer;

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
    Gauge.builder("splinewatch.javacpp.allocated.bytes", () -> (double) Pointer.totalBytes()).baseUnit("bytes")
        .description("Native memory allocated through JavaCPP (ND4J arrays and workspaces) and not yet freed")
        .register(registry);
    Gauge.builder("splinewatch.javacpp.max.bytes", () -> (double) Pointer.maxBytes()).baseUnit("bytes")
        .description("Limit on JavaCPP's native allocations (org.bytedeco.javacpp.maxBytes)").register(registry);
    Gauge.builder("splinewatch.process.resident.bytes", () -> (double) Pointer.physicalBytes()).baseUnit("bytes")
        .description("Resident set size of the process (physical memory in use), as JavaCPP reads it")
        .register(registry);
    return new ProcessMetrics(gc);
  }

  @Override
  public void close() {
    gc.close();
  }
}
