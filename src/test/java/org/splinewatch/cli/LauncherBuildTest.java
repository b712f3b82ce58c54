package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;

/** The launchers' build on first use and after a source change (src/main/sh/launch.sh). */
class LauncherBuildTest {
  @Test
  void twoLaunchersStartedTogetherAfterASourceChangeBuildOnce(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(TestTools.installed("flock"), "flock (util-linux) not installed");
    // ./trainer's layout with a jar older than its sources; a stand-in mvn that logs when it starts and ends and
    // builds until the test releases it; a stand-in java that lists its modules and runs nothing
    Path sh = Files.createDirectories(dir.resolve("src/main/sh"));
    for (String f : new String[] {"launch.sh", "memory.sh", "vector.sh"}) {
      Files.copy(Path.of("src/main/sh", f), sh.resolve(f));
    }
    Files.writeString(dir.resolve("pom.xml"), "<project/>");
    Files.createDirectories(dir.resolve("target/lib"));
    Path jar = Files.writeString(dir.resolve("target/splinewatch.jar"), "jar");
    jar.toFile().setLastModified(System.currentTimeMillis() - 60_000); // older than the sources: a build is due
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Files.writeString(bin.resolve("mvn"), "#!/bin/sh\necho \"start $$\" >>\"$LOG\"\nprintf '\\033[0m\\033[1mbuilding\\033[m\\n'\n"
        + "while [ ! -f \"$LOG.release\" ]; do sleep 0.05; done\n"
        + "echo jar >target/splinewatch.jar\necho \"end $$\" >>\"$LOG\"\n");
    Files.writeString(bin.resolve("java"), "#!/bin/sh\n"
        + "if [ \"$1\" = --list-modules ]; then echo java.base@17; exit 0; fi\necho ran >>\"$LOG.ran\"\n");
    bin.resolve("mvn").toFile().setExecutable(true);
    bin.resolve("java").toFile().setExecutable(true);
    Path log = dir.resolve("build.log");
    Process[] launchers = new Process[2];
    for (int i = 0; i < 2; i++) {
      ProcessBuilder pb = new ProcessBuilder("bash", sh.resolve("launch.sh").toString(), "train")
          .redirectErrorStream(true).redirectOutput(dir.resolve("launcher-" + i + ".out").toFile());
      pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
      pb.environment().put("LOG", log.toString());
      pb.environment().remove("SPLINEWATCH_MAVEN_ARGS");
      pb.environment().remove("JAVA_OPTS");
      launchers[i] = pb.start();
      // the second starts while the first's build runs; the build ends once the second waits for it (or, as before
      // the lock, has started a build of its own)
      Path expect = i == 0 ? log : dir.resolve("launcher-1.out");
      String word = i == 0 ? "start" : "Waiting";
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!(Files.exists(expect) && Files.readString(expect).contains(word))
          && !(Files.exists(log) && Files.readAllLines(log).size() > 1) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
    }
    Files.writeString(dir.resolve("build.log.release"), "");
    for (Process p : launchers) {
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "a launcher did not end");
      assertEquals(0, p.exitValue());
    }
    String both = Files.readString(dir.resolve("launcher-0.out")) + Files.readString(dir.resolve("launcher-1.out"));
    // before the lock: "start A", "start B", "end A", "end B" (two builds in one target/ at once)
    List<String> builds = Files.readAllLines(log, StandardCharsets.UTF_8);
    assertEquals(2, builds.size(), "one build, not one per launcher: " + builds + "\n" + both);
    assertTrue(builds.get(0).startsWith("start ") && builds.get(1).startsWith("end "), builds.toString());
    assertEquals(2, Files.readAllLines(dir.resolve("build.log.ran")).size(), "both launchers then ran java\n" + both);
    assertTrue(both.contains("Waiting for the build of splinewatch another ./trainer or ./monitor started..."), both);
    // Maven's colour codes (ESC[0m even with -B) are taken out of what the launcher shows of the build
    assertTrue(both.contains("building") && !both.contains("\u001b"), both);
  }

  @Test
  void aUserWhoCannotWriteTargetRunsTheBuildsJarItself(@TempDir Path dir) throws Exception {
    // a checkout built by another user: the jar is current, target/ is not this user's to write (read-only, and
    // immutable where this user is root); a stand-in java that logs the jar it was given and whether it exists
    Path sh = Files.createDirectories(dir.resolve("src/main/sh"));
    for (String f : new String[] {"launch.sh", "memory.sh", "vector.sh"}) {
      Files.copy(Path.of("src/main/sh", f), sh.resolve(f));
      sh.resolve(f).toFile().setLastModified(System.currentTimeMillis() - 60_000);
    }
    Files.writeString(dir.resolve("pom.xml"), "<project/>");
    dir.resolve("pom.xml").toFile().setLastModified(System.currentTimeMillis() - 60_000);
    Path target = Files.createDirectories(dir.resolve("target/lib"));
    Files.writeString(dir.resolve("target/splinewatch.jar"), "jar");
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Files.writeString(bin.resolve("java"), "#!/bin/bash\n"
        + "if [ \"$1\" = --list-modules ]; then echo java.base@17; exit 0; fi\n"
        + "while [ $# -gt 0 ] && [ \"$1\" != -jar ]; do shift; done\n"
        + "if [ -f \"$2\" ]; then echo \"ran $2\" >>\"$LOG\"; else echo \"missing $2\" >>\"$LOG\"; fi\n");
    bin.resolve("java").toFile().setExecutable(true);
    Path log = dir.resolve("ran.log");
    Path out = dir.resolve("launcher.out");
    try (var readOnly = TestTools.ReadOnly.of(target.getParent())) {
      Assumptions.assumeTrue(readOnly.held(), "this user writes a read-only directory (no chattr)");
      ProcessBuilder pb = new ProcessBuilder("bash", sh.resolve("launch.sh").toString(), "train")
          .redirectErrorStream(true).redirectOutput(out.toFile());
      pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
      pb.environment().put("LOG", log.toString());
      pb.environment().remove("SPLINEWATCH_MAVEN_ARGS");
      pb.environment().remove("JAVA_OPTS");
      Process launcher = pb.start();
      assertTrue(launcher.waitFor(30, TimeUnit.SECONDS), "the launcher did not end");
      String said = Files.readString(out);
      // before: "cp: cannot create regular file '.../splinewatch-run-....jar.tmp...'" and java given that missing jar
      assertEquals(0, launcher.exitValue(), said);
      assertEquals(List.of("ran " + dir.resolve("target/splinewatch.jar").toRealPath()), Files.readAllLines(log),
          said);
      assertTrue(said.isEmpty(), said);
    }
  }
}
