package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.splinewatch.TestTools;

/**
 * The launchers' memory budget (src/main/sh/memory.sh, also the Docker entrypoint's): defaults per command, capped by
 * the machine's memory, and the overrides SPLINEWATCH_HEAP, SPLINEWATCH_OFF_HEAP and -Xmx in JAVA_OPTS.
 */
class MemoryBudgetTest {
  /** Exit code and output of {@code splinewatch_memory_opts ARGS}, printing the options one per line. */
  private static String[] opts(Map<String, String> env, String args) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", "set -euo pipefail; source src/main/sh/memory.sh;"
        + " splinewatch_machine_mib() { echo ${FAKE_MACHINE_MIB}; }; splinewatch_memory_opts " + args
        + " && printf '%s\\n' \"${SPLINEWATCH_MEMORY_OPTS[@]}\"").redirectErrorStream(true);
    pb.environment().remove("SPLINEWATCH_HEAP");
    pb.environment().remove("SPLINEWATCH_OFF_HEAP");
    pb.environment().remove("JAVA_OPTS");
    pb.environment().put("FAKE_MACHINE_MIB", "24000");
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    return new String[] {String.valueOf(p.waitFor()), out};
  }

  @Test
  void defaultsFollowTheCommandAndTheMachine() throws Exception {
    assertEquals("-Xmx640m\n-Dorg.bytedeco.javacpp.maxbytes=1024m\n-Dorg.bytedeco.javacpp.maxphysicalbytes=1664m",
        opts(Map.of(), "train --max-steps 10")[1]);
    assertTrue(opts(Map.of(), "monitor serve --port 0")[1].startsWith("-Xmx1536m\n"), "several runs per node");
    assertTrue(opts(Map.of(), "train --max-steps 10 --method supervised")[1].startsWith("-Xmx1024m\n"),
        "a supervised network keeps its head: its planes need more");
    assertTrue(opts(Map.of(), "train --method=supervised")[1].startsWith("-Xmx1024m\n"));
    assertTrue(opts(Map.of(), "train --method simclr --run-id supervised")[1].startsWith("-Xmx640m\n"));
    assertTrue(opts(Map.of(), "monitor bench-overhead")[1].startsWith("-Xmx640m\n"));
    // bench-cluster's analyzer nodes share one JVM: 640 MiB each for the most it runs at once (default 2)
    assertTrue(opts(Map.of(), "monitor bench-cluster")[1].startsWith("-Xmx1280m\n"));
    assertTrue(opts(Map.of(), "monitor bench-cluster --snapshots 4 --max-nodes 3")[1].startsWith("-Xmx1920m\n"));
    assertTrue(opts(Map.of(), "monitor bench-cluster --max-nodes=1")[1].startsWith("-Xmx640m\n"));
    assertTrue(opts(Map.of(), "monitor bench-cluster --max-nodes 3 --max-nodes 4")[1].startsWith("-Xmx2560m\n"));
    assertTrue(opts(Map.of(), "monitor bench-cluster --compare-tls")[1].startsWith("-Xmx640m\n"), "one node");
    assertTrue(opts(Map.of(), "monitor bench-cluster --max-nodes x")[1].startsWith("-Xmx1280m\n"), "refused later");
    assertTrue(opts(Map.of(), "monitor bench-cluster --max-nodes 16")[1].startsWith("-Xmx6000m\n"),
        "a quarter of the machine at most");
    assertTrue(opts(Map.of(), "monitor regions --model m.npz")[1].startsWith("-Xmx640m\n"));
    // monitor experiment trains its runs in its own JVM: a plan with supervised runs (the default's) gets their heap,
    // as ./trainer gives each (it had 640 MiB for them)
    for (String plan : new String[] {"monitor experiment seeds --quick", "monitor experiment seeds --methods"
        + " simclr,supervised", "monitor experiment seeds --methods=supervised --out runs/exp"}) {
      assertTrue(opts(Map.of(), plan)[1].startsWith("-Xmx1024m\n"), plan);
    }
    assertTrue(opts(Map.of(), "monitor experiment seeds --methods simclr,byol --out supervised")[1]
        .startsWith("-Xmx640m\n"), "self-supervised runs only");
    // a CNN's SameDiff training holds more native memory: 1.5 GiB off-heap, the same heap
    for (String cnn : new String[] {"train --encoder cnn --max-steps 200", "train --encoder=cnn"}) {
      assertEquals("-Xmx640m\n-Dorg.bytedeco.javacpp.maxbytes=1536m\n-Dorg.bytedeco.javacpp.maxphysicalbytes=2176m",
          opts(Map.of(), cnn)[1], cnn);
    }
    assertTrue(opts(Map.of(), "train --encoder mlp --run-id cnn")[1].endsWith("maxphysicalbytes=1664m"));
    assertTrue(opts(Map.of("FAKE_MACHINE_MIB", "8192"), "train --encoder cnn")[1].contains("maxbytes=1024m"),
        "an eighth of the machine at most");
    // a 2 GB container: a quarter for the heap, an eighth for off-heap
    assertEquals("-Xmx512m\n-Dorg.bytedeco.javacpp.maxbytes=256m\n-Dorg.bytedeco.javacpp.maxphysicalbytes=768m",
        opts(Map.of("FAKE_MACHINE_MIB", "2048"), "train")[1]);
  }

  /**
   * A resumed run is sized for the method and encoder it was started with: {@code --resume DIR} alone (the advice an
   * interrupted run prints) of a supervised run got the 640 MiB heap, where its planes overflow, and of a CNN run the
   * 1 GiB off-heap that stopped such runs at the resident limit.
   */
  @Test
  void aResumedRunIsSizedForTheMethodAndEncoderItWasStartedWith(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path sup = dir.resolve("runs/s/checkpoints/latest");
    java.nio.file.Files.createDirectories(sup);
    java.nio.file.Files.writeString(sup.resolve("meta.json"), "{\"step\":629,\"epoch\":2,\"method\":\"supervised\"}");
    java.nio.file.Files.writeString(sup.resolve("../../config.json"), "{\n  \"options\" : {\n"
        + "    \"splinewatch.run.method\" : \"supervised\"\n  }\n}\n");
    assertTrue(opts(Map.of(), "train --resume " + sup)[1].startsWith("-Xmx1024m\n"), "supervised, from meta.json");
    assertTrue(opts(Map.of(), "train --resume=" + sup + " --max-steps 700")[1].startsWith("-Xmx1024m\n"));
    // a --monitor run's checkpoint keeps its options in checkpoints/run-options.json
    java.nio.file.Path cnn = dir.resolve("elsewhere/c/checkpoints/latest");
    java.nio.file.Files.createDirectories(cnn);
    java.nio.file.Files.writeString(cnn.resolve("meta.json"), "{\"step\":100,\"method\":\"simclr\"}");
    java.nio.file.Files.writeString(cnn.resolve("../run-options.json"), "{\n  \"options\" : {\n"
        + "    \"splinewatch.run.encoder\" : \"cnn\",\n    \"splinewatch.run.max-steps\" : 100\n  }\n}\n");
    assertEquals("-Xmx640m\n-Dorg.bytedeco.javacpp.maxbytes=1536m\n-Dorg.bytedeco.javacpp.maxphysicalbytes=2176m",
        opts(Map.of(), "train --resume " + cnn)[1]);
    // an option given again wins, as it does for the run; a missing checkpoint is the trainer's to refuse
    assertTrue(opts(Map.of(), "train --resume " + cnn + " --encoder mlp")[1].endsWith("maxphysicalbytes=1664m"));
    assertTrue(opts(Map.of(), "train --resume " + dir.resolve("none"))[1].startsWith("-Xmx640m\n"));
    assertTrue(opts(Map.of(), "monitor report " + sup)[1].startsWith("-Xmx640m\n"), "only train resumes");
  }

  /**
   * A run whose --config file asks for the supervised method or the CNN encoder gets their budget, as the same options
   * on the command line do: it got the default 640 MiB heap and 1 GiB off-heap. The JVM reads the file (the test's
   * class path stands for the launcher's jar), so its includes, quoted keys and nested sections count as they do for
   * the run; an option given on the command line wins, as it does for the run.
   */
  @Test
  void aConfigFileAskingForTheSupervisedMethodOrTheCnnEncoderGetsTheirBudget(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    Map<String, String> probe = Map.of("SPLINEWATCH_PROBE_CLASS_PATH", System.getProperty("java.class.path"));
    java.nio.file.Path nested = java.nio.file.Files.writeString(dir.resolve("nested.conf"), "# a supervised CNN run\n"
        + "splinewatch {\n  run {\n    method = supervised // the head stays\n    \"encoder\" = \"cnn\"\n  }\n}\n");
    String both = "-Xmx1024m\n-Dorg.bytedeco.javacpp.maxbytes=1536m\n-Dorg.bytedeco.javacpp.maxphysicalbytes=2560m";
    assertEquals(both, opts(probe, "train --method supervised --encoder cnn")[1], "on the command line");
    assertEquals(both, opts(probe, "train --config " + nested)[1], "nested sections, a quoted key, comments");
    assertEquals(both, opts(probe, "train --max-steps 10 --config=" + nested)[1]);
    // dotted paths, and a file that includes another: the included file's values count
    java.nio.file.Files.writeString(dir.resolve("base.conf"), "splinewatch.run.method = \"supervised\"\n");
    java.nio.file.Path including = java.nio.file.Files.writeString(dir.resolve("including.conf"),
        "include \"base.conf\"\nsplinewatch.run { encoder: mlp }\n");
    assertEquals("-Xmx1024m\n-Dorg.bytedeco.javacpp.maxbytes=1024m\n-Dorg.bytedeco.javacpp.maxphysicalbytes=2048m",
        opts(probe, "train --config " + including)[1]);
    // -Dconfig.file in JAVA_OPTS is read as --config is
    assertEquals("-Xmx1024m\n-Dorg.bytedeco.javacpp.maxbytes=1536m\n-Dorg.bytedeco.javacpp.maxphysicalbytes=2560m",
        opts(Map.of("SPLINEWATCH_PROBE_CLASS_PATH", System.getProperty("java.class.path"),
            "JAVA_OPTS", "-Dx=1 -Dconfig.file=" + nested), "train")[1]);
    // -Dsplinewatch.run.KEY in JAVA_OPTS wins over the file, as it does for the run (the file won here and there),
    // and a CONFIG_FORCE_ variable (read with -Dconfig.override_with_env_vars=true) over both
    assertEquals("-Xmx640m\n-Dorg.bytedeco.javacpp.maxbytes=1536m\n-Dorg.bytedeco.javacpp.maxphysicalbytes=2176m",
        opts(Map.of("SPLINEWATCH_PROBE_CLASS_PATH", System.getProperty("java.class.path"),
            "JAVA_OPTS", "-Dsplinewatch.run.method=simclr"), "train --config " + nested)[1]);
    assertEquals(both, opts(Map.of("SPLINEWATCH_PROBE_CLASS_PATH", System.getProperty("java.class.path"),
        "JAVA_OPTS", "-Dsplinewatch.run.method=simclr -Dconfig.override_with_env_vars=true",
        "CONFIG_FORCE_splinewatch_run_method", "supervised"), "train --config " + nested)[1]);
    // the command line wins over the file; a key under another section, or commented out, is no method
    assertEquals("-Xmx640m\n-Dorg.bytedeco.javacpp.maxbytes=1024m\n-Dorg.bytedeco.javacpp.maxphysicalbytes=1664m",
        opts(probe, "train --config " + nested + " --method simclr --encoder mlp")[1]);
    java.nio.file.Path other = java.nio.file.Files.writeString(dir.resolve("other.conf"),
        "splinewatch.report { method = supervised }\n# splinewatch.run.method = supervised\n");
    assertTrue(opts(probe, "train --config " + other)[1].startsWith("-Xmx640m\n"));
    // a file the JVM cannot read is the trainer's to refuse, in its own words: the default budget here
    java.nio.file.Path broken = java.nio.file.Files.writeString(dir.resolve("broken.conf"), "splinewatch.run {\n");
    String[] out = opts(probe, "train --config " + broken);
    assertEquals("0", out[0], out[1]);
    assertTrue(out[1].startsWith("-Xmx640m\n"), out[1]);
    assertTrue(opts(probe, "train --config " + dir.resolve("missing.conf"))[1].startsWith("-Xmx640m\n"));
    assertTrue(opts(probe, "monitor serve --config " + nested)[1].startsWith("-Xmx1536m\n"), "only train");
  }

  @Test
  void overridesAndBadSizes() throws Exception {
    assertEquals("-Xmx2048m\n-Dorg.bytedeco.javacpp.maxbytes=1024m\n-Dorg.bytedeco.javacpp.maxphysicalbytes=3072m",
        opts(Map.of("SPLINEWATCH_HEAP", "2g", "SPLINEWATCH_OFF_HEAP", "1g"), "train")[1]);
    // -Xmx in JAVA_OPTS is the heap: no second -Xmx, and the resident limit includes it
    assertEquals("-Dorg.bytedeco.javacpp.maxbytes=1024m\n-Dorg.bytedeco.javacpp.maxphysicalbytes=4096m",
        opts(Map.of("JAVA_OPTS", "-Dx=1 -Xmx3g"), "train")[1]);
    assertEquals("", opts(Map.of("SPLINEWATCH_HEAP", "jvm"), "train")[1], "the JVM's own sizing, no limits");
    String[] bad = opts(Map.of("SPLINEWATCH_HEAP", "1.5g"), "train");
    assertEquals("2", bad[0]);
    assertEquals("error: SPLINEWATCH_HEAP='1.5g' is not a heap size; expected e.g. 1g, 1536m or jvm", bad[1]);
    bad = opts(Map.of("SPLINEWATCH_OFF_HEAP", "lots"), "train");
    assertEquals("2", bad[0]);
    assertEquals("error: SPLINEWATCH_OFF_HEAP='lots' is not a size; expected e.g. 512m or 1g", bad[1]);
  }

  @Test
  void theDockerEntrypointStartsJavaWithTheBudget(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    // the image's layout: entrypoint, memory.sh, vector.sh and the jar side by side; a stand-in java prints its arguments
    for (String f : new String[] {"container-entrypoint.sh", "memory.sh", "vector.sh"}) {
      java.nio.file.Files.copy(java.nio.file.Path.of("src/main/sh", f), dir.resolve(f));
    }
    java.nio.file.Path bin = java.nio.file.Files.createDirectories(dir.resolve("bin"));
    java.nio.file.Files.writeString(bin.resolve("java"), "#!/bin/sh\n"
        // the launcher asks for the module list first (vector.sh): this java has the Vector API
        + "if [ \"$1\" = --list-modules ]; then echo java.base@17; echo jdk.incubator.vector@17; exit 0; fi\n"
        + "echo \"MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX MALLOC_MMAP_THRESHOLD_=$MALLOC_MMAP_THRESHOLD_ $*\"\n");
    bin.resolve("java").toFile().setExecutable(true);
    ProcessBuilder pb = new ProcessBuilder("bash", dir.resolve("container-entrypoint.sh").toString(), "train",
        "--metrics-host", "0.0.0.0").redirectErrorStream(true);
    pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
    pb.environment().put("SPLINEWATCH_HEAP", "640m");
    pb.environment().put("SPLINEWATCH_OFF_HEAP", "384m");
    pb.environment().remove("JAVA_OPTS");
    pb.environment().remove("MALLOC_ARENA_MAX");
    pb.environment().remove("MALLOC_MMAP_THRESHOLD_");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertEquals(0, p.waitFor(), out);
    assertEquals("MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=33554432 " + VectorOptionsTest.VECTOR_OPTS
        + " -XX:G1HeapRegionSize=32m -XX:-UseProfiledLoopPredicate -XX:MetaspaceSize=128m -Xmx640m -Dorg.bytedeco.javacpp.maxbytes=384m -Dorg.bytedeco.javacpp.maxphysicalbytes=1024m -jar " + dir.toRealPath() + "/splinewatch.jar train"
        + " --metrics-host 0.0.0.0", out);
    String docker = java.nio.file.Files.readString(java.nio.file.Path.of("docker/Dockerfile"));
    assertTrue(docker.contains("ENTRYPOINT [\"/splinewatch/container-entrypoint.sh\"]")
        && docker.contains("src/main/sh/memory.sh") && docker.contains("src/main/sh/vector.sh"),
        "the image uses the entrypoint and ships memory.sh and vector.sh");
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({"train, training", "monitor regions, ./monitor regions",
      "monitor --help, ./monitor"})
  void anInterruptWhileTheLauncherProbesJavaEndsItWithOneLine(String command, String starting,
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    // ./trainer's layout with a built jar; a stand-in java that, asked for its modules, waits for the interrupt and
    // exits 130 as the JVM does on SIGINT (so bash, seeing no death by signal, used to go on and start the run)
    java.nio.file.Path sh = java.nio.file.Files.createDirectories(dir.resolve("src/main/sh"));
    for (String f : new String[] {"launch.sh", "memory.sh", "vector.sh"}) {
      java.nio.file.Files.copy(java.nio.file.Path.of("src/main/sh", f), sh.resolve(f));
    }
    java.nio.file.Files.writeString(dir.resolve("pom.xml"), "<project/>");
    java.nio.file.Files.createDirectories(dir.resolve("target/lib"));
    java.nio.file.Path jar = java.nio.file.Files.writeString(dir.resolve("target/splinewatch.jar"), "jar");
    jar.toFile().setLastModified(System.currentTimeMillis() + 60_000); // newer than the sources: no build
    java.nio.file.Path bin = java.nio.file.Files.createDirectories(dir.resolve("bin"));
    java.nio.file.Files.writeString(bin.resolve("java"), "#!/bin/sh\n"
        + "if [ \"$1\" = --list-modules ]; then trap 'kill $w; exit 130' INT; sleep 30 >/dev/null 2>&1 & w=$!;"
        + " touch \"$MARK.listing\"; wait $w; echo java.base@17; exit 0; fi\n"
        + "touch \"$MARK.ran\"\n");
    bin.resolve("java").toFile().setExecutable(true);
    // its own session and process group, which the interrupt goes to, as Ctrl-C sends it to the foreground group;
    // SIGINT at its default first, as in a terminal's foreground job: a process started in the background without job
    // control (a CI runner's) has it ignored, and a shell cannot trap a signal ignored when it starts
    org.junit.jupiter.api.Assumptions.assumeTrue(TestTools.installed("perl"), "perl not installed");
    java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("setsid", "perl", "-e",
        "$SIG{INT} = 'DEFAULT'; exec @ARGV or die", "bash", sh.resolve("launch.sh").toString()));
    argv.addAll(java.util.List.of(command.split(" ")));
    ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
    pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
    pb.environment().put("MARK", dir.resolve("java").toString());
    pb.environment().remove("SPLINEWATCH_VECTOR");
    pb.environment().remove("SPLINEWATCH_MAVEN_ARGS");
    Process p = pb.start();
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!java.nio.file.Files.exists(dir.resolve("java.listing")) && p.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(java.nio.file.Files.exists(dir.resolve("java.listing")), "the launcher never asked java for its modules");
    Process kill = new ProcessBuilder("kill", "-INT", "--", "-" + p.pid()).inheritIO().start();
    assertEquals(0, kill.waitFor());
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertTrue(p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS), out);
    assertEquals(130, p.exitValue(), out);
    assertEquals("interrupted by SIGINT before " + starting + " started: nothing was written", out);
    assertTrue(!java.nio.file.Files.exists(dir.resolve("java.ran")), "the run started after the interrupt");
  }
}
