package org.splinewatch.trainer;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Starts ND4J's backend on the calling thread before a run begins, so that a backend that cannot load (a CUDA build
 * on a machine without the NVIDIA driver or CUDA 11.6, a GPU its kernels were not built for) is one clear line and
 * exit code 1, instead of a fatal error on the trainer's dispatcher that takes the JVM down with stack traces.
 */
public final class Backend {
  /** Compute capabilities of the kernels in nd4j-cuda-11.6 1.0.0-M2.1: SASS for sm_37 to sm_86, no PTX. */
  static final int OLDEST_CAPABILITY = 37;
  static final int NEWEST_MAJOR = 8;
  static final String CUDA_NEEDS = "the cuda build (nd4j-cuda-11.6 1.0.0-M2.1) needs an NVIDIA driver, the CUDA 11.6"
      + " libraries (libcublas.so.11, libcusolver.so.11) and a GPU of compute capability 3.7 to 8.x; its kernels"
      + " do not run on Hopper (9.0) or newer; the default cpu build (mvn -B -DskipTests package) runs anywhere on"
      + " linux-x86_64";
  static final String CPU_NEEDS = "the cpu build (nd4j-native 1.0.0-M2.1 with OpenBLAS) needs linux-x86_64";
  private static final Pattern LINK_ERROR = Pattern.compile("UnsatisfiedLinkError: (.*)");
  private static final String CUDA_BACKEND_CLASS = "org.nd4j.linalg.jcublas.JCublasBackend";

  /** What a run trains on: "CPU", or "CUDA" and the GPU it uses, for the banner and config.json. */
  public record Info(String backend, String device) {
    public String describe() {
      return device.isEmpty() ? backend : backend + " (" + device + ")";
    }
  }

  private Backend() {
  }

  /**
   * Loads the backend and, for CUDA, checks the GPU against the kernels it ships.
   *
   * @throws IllegalStateException with a one-line reason when the backend cannot be used
   */
  public static Info start() {
    Properties env;
    // ND4J prints a failed native load's stack trace itself, then throws "no backend": keep that trace for the one line
    PrintStream err = System.err;
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    boolean started = false;
    System.setErr(new PrintStream(printed, true, StandardCharsets.UTF_8));
    try {
      Nd4j.create(1);
      env = Nd4j.getExecutioner().getEnvironmentInformation();
      started = true;
    } catch (Throwable e) { // UnsatisfiedLinkError, ExceptionInInitializerError, NoClassDefFoundError after either
      throw new IllegalStateException(failure(e, printed.toString(StandardCharsets.UTF_8),
          onClasspath(CUDA_BACKEND_CLASS)));
    } finally {
      System.setErr(err);
      if (started) {
        err.print(printed.toString(StandardCharsets.UTF_8)); // warnings of a backend that did start are kept
      }
    }
    String backend = String.valueOf(env.getOrDefault("backend", Nd4j.getBackend().getClass().getSimpleName()));
    if (!"CUDA".equals(backend)) {
      return new Info(backend, "");
    }
    int device = Nd4j.getAffinityManager().getDeviceForCurrentThread();
    Map<?, ?> gpu = (Map<?, ?>) ((List<?>) env.get("cuda.devicesInformation")).get(device);
    String name = String.valueOf(gpu.get("cuda.deviceName"));
    int major = ((Number) gpu.get("cuda.deviceMajor")).intValue();
    int minor = ((Number) gpu.get("cuda.deviceMinor")).intValue();
    checkCapability(name, major, minor);
    return new Info(backend, "GPU " + device + ": " + name + ", compute capability " + major + "." + minor);
  }

  /** Refuses a GPU that none of the shipped kernels (SASS sm_37 to sm_86, which also runs on 8.7 and 8.9) fits. */
  static void checkCapability(String name, int major, int minor) {
    if (major * 10 + minor < OLDEST_CAPABILITY || major > NEWEST_MAJOR) {
      throw new IllegalStateException("GPU " + name + " has compute capability " + major + "." + minor
          + ", which no kernel of the ND4J CUDA backend was built for: " + CUDA_NEEDS);
    }
  }

  /** One line: the native library that failed to load, else the innermost cause; and what the build needs. */
  static String failure(Throwable e, String printed, boolean cuda) {
    // the outer error often says only "no backend": a link error in the chain, or else one ND4J only printed, names
    // the missing library; failing both, the innermost cause names the CUDA error
    Throwable root = e;
    Throwable linkError = null;
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      root = t;
      if (t instanceof UnsatisfiedLinkError && t.getMessage() != null) {
        linkError = t;
      }
    }
    Matcher printedLinkError = LINK_ERROR.matcher(printed);
    String reason = linkError != null ? "UnsatisfiedLinkError: " + firstLine(linkError.getMessage())
        : printedLinkError.find() ? "UnsatisfiedLinkError: " + printedLinkError.group(1).trim()
        : root.getMessage() == null ? root.getClass().getSimpleName()
        : root.getClass().getSimpleName() + ": " + firstLine(root.getMessage());
    return "the ND4J backend could not start (" + reason + "); " + (cuda ? CUDA_NEEDS : CPU_NEEDS);
  }

  private static String firstLine(String message) {
    return message.lines().findFirst().orElse("").trim();
  }

  /** Whether this is the CUDA build (its backend is on the class path), without loading the backend. */
  static boolean cudaBuild() {
    return onClasspath(CUDA_BACKEND_CLASS);
  }

  private static boolean onClasspath(String className) {
    try {
      Class.forName(className, false, Backend.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }
}
