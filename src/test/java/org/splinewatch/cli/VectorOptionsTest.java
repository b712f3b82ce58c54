package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launchers' Java Vector API switch (src/main/sh/vector.sh): the module is added where the java has it, left out
 * where it does not (a JVM would refuse to start with an unknown module) or when SPLINEWATCH_VECTOR=off.
 */
class VectorOptionsTest {
  /** The options where the java has the module, as the launchers pass them. */
  static final String VECTOR_OPTS = "--add-modules=jdk.incubator.vector -XX:CompileCommand=quiet"
      + " -XX:CompileCommand=CompileThresholdScaling,org.splinewatch.regions.VectorDenseKernel::*,0.01";

  /** Exit code and output of {@code splinewatch_vector_opts}, the options one per line. */
  private static String[] opts(Map<String, String> env, Path javaDir) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", "set -euo pipefail; source src/main/sh/vector.sh;"
        + " splinewatch_vector_opts && printf '%s\\n' \"${SPLINEWATCH_VECTOR_OPTS[@]}\"").redirectErrorStream(true);
    pb.environment().remove("SPLINEWATCH_VECTOR");
    pb.environment().putAll(env);
    if (javaDir != null) {
      pb.environment().put("PATH", javaDir + ":" + System.getenv("PATH"));
    }
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    return new String[] {String.valueOf(p.waitFor()), out};
  }

  @Test
  void theModuleIsAddedWhereThisJavaHasIt() throws Exception {
    // the java the tests run on (Java 17 ships jdk.incubator.vector)
    boolean has = java.lang.module.ModuleFinder.ofSystem().find("jdk.incubator.vector").isPresent();
    // with the kernel compiled early (WarmingDenseKernel), quietly
    assertEquals(has ? VECTOR_OPTS.replace(' ', '\n') : "", opts(Map.of(), null)[1]);
    assertEquals("", opts(Map.of("SPLINEWATCH_VECTOR", "off"), null)[1], "switched off");
  }

  @Test
  void aJavaWithoutTheModuleStartsWithoutIt(@TempDir Path dir) throws Exception {
    Path java = dir.resolve("java");
    Files.writeString(java, "#!/bin/sh\n[ \"$1\" = --list-modules ] && printf 'java.base@17\\njava.sql@17\\n'\n");
    java.toFile().setExecutable(true);
    assertEquals("", opts(Map.of(), dir)[1]);
  }

  @Test
  void anUnknownValueIsAOneLineError() throws Exception {
    String[] bad = opts(Map.of("SPLINEWATCH_VECTOR", "yes"), null);
    assertEquals("1", bad[0]);
    assertEquals("error: SPLINEWATCH_VECTOR='yes' is not on or off; expected on (the default) or off", bad[1]);
  }
}
