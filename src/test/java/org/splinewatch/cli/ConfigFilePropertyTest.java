package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code -Dconfig.file=FILE} (Typesafe Config's own option, e.g. in JAVA_OPTS) is checked as {@code --config FILE} is:
 * a missing file, a misspelt key or a bad pekko value were ignored or failed later; {@code -Dconfig.resource} and
 * {@code -Dconfig.url} are refused in one line.
 */
class ConfigFilePropertyTest {
  @TempDir
  Path tmp;

  /** {@code body} with the system property {@code name} set, as JAVA_OPTS sets it; Config's caches see it. */
  private static <T> T withProperty(String name, String value, Supplier<T> body) {
    System.setProperty(name, value);
    ConfigFactory.invalidateCaches();
    try {
      return body.get();
    } finally {
      System.clearProperty(name);
      ConfigFactory.invalidateCaches();
    }
  }

  /** {@code ./trainer --analyzers nope} with {@code -Dconfig.file=conf}: exit 2, the error line. */
  private String trainer(Path conf, String... more) {
    String[] args = new String[more.length + 6];
    args[0] = "train";
    System.arraycopy(more, 0, args, 1, more.length);
    System.arraycopy(new String[] {"--analyzers", "nope", "--out", tmp.resolve("runs").toString(),
        "--metrics-port=0"}, 0, args, more.length + 1, 5);
    String m = withProperty("config.file", conf.toString(), () -> CliTest.run(2, args));
    assertEquals(2, m.strip().lines().count(), "one error line and the --help hint: " + m);
    assertFalse(Files.exists(tmp.resolve("runs")), m);
    return m.lines().findFirst().orElseThrow();
  }

  @Test
  void aConfigFilePropertyIsCheckedAsConfigIs() throws Exception {
    Path none = tmp.resolve("none.conf");
    assertEquals("error: config file " + none + " (-Dconfig.file) not found; expected a HOCON file overriding keys of"
        + " reference.conf (see docs/options.md)", trainer(none));
    Path typo = Files.writeString(tmp.resolve("typo.conf"), "splinewatch.run.planez = 3\n");
    assertEquals("error: unknown setting splinewatch.run.planez in " + typo + " (-Dconfig.file), line 1; expected"
        + " one of the keys of reference.conf (see docs/options.md); did you mean splinewatch.run.planes?",
        trainer(typo));
    Path broken = Files.writeString(tmp.resolve("broken.conf"), "splinewatch { run { epochs = \n");
    assertTrue(trainer(broken).startsWith("error: config file " + broken + " (-Dconfig.file) cannot be read: "));
    Path pekko = Files.writeString(tmp.resolve("pekko.conf"), "pekko.cluster.seed-nodes = 5\n");
    assertTrue(trainer(pekko).startsWith("error: config file " + pekko + ", line 1: pekko.cluster.seed-nodes = 5 is a"
        + " number; expected a list of strings"), trainer(pekko));
    Path zero = Files.writeString(tmp.resolve("zero.conf"), "splinewatch-analysis-dispatcher.fixed-pool-size = 0\n");
    assertEquals("error: splinewatch-analysis-dispatcher.fixed-pool-size 0 in " + zero + ": expected at least 1"
        + " (threads of the analyzers)", trainer(zero));
    Path type = Files.writeString(tmp.resolve("type.conf"), "splinewatch.run.batch-size = \"abc\"\n");
    assertTrue(trainer(type).startsWith("error: config file " + type + ", line 1: splinewatch.run.batch-size = \"abc\""
        + " is a string; expected a whole number"), trainer(type));
    // with --config as well: both are checked, and --config's is named as before
    Path good = Files.writeString(tmp.resolve("good.conf"), "splinewatch.run.planes = 3\n");
    assertTrue(trainer(good, "--config", typo.toString()).startsWith("error: unknown setting splinewatch.run.planez in "
        + typo + ", line 1;"), trainer(good, "--config", typo.toString()));
    // monitor serve loads through the same code
    String serve = withProperty("config.file", typo.toString(), () -> CliTest.run(2, "monitor", "serve", "--out",
        tmp.resolve("served").toString()));
    assertTrue(serve.startsWith("error: unknown setting splinewatch.run.planez in " + typo + " (-Dconfig.file)"),
        serve);
    assertFalse(Files.exists(tmp.resolve("served")));
  }

  @Test
  void aConfigFilePropertyIsUsedUnderConfig() throws Exception {
    Path property = Files.writeString(tmp.resolve("property.conf"), "splinewatch.run { planes = 3, batch-size = 64 }\n"
        + "pekko.loglevel = INFO\n");
    Path option = Files.writeString(tmp.resolve("option.conf"), "splinewatch.run.planes = 5\n");
    Config both = withProperty("config.file", property.toString(), () -> TrainCommand.load(Map.of(), option.toFile()));
    assertEquals(5, both.getInt("splinewatch.run.planes"), "--config wins");
    assertEquals(64, both.getInt("splinewatch.run.batch-size"));
    assertEquals("INFO", both.getString("pekko.loglevel"));
    Config alone = withProperty("config.file", property.toString(), () -> TrainCommand.load(Map.of(), null));
    assertEquals(3, alone.getInt("splinewatch.run.planes"));
  }

  /**
   * Each source over the next: the command line, system properties (JAVA_OPTS), --config, -Dconfig.file,
   * reference.conf. A -D is the one-off override of a file always passed, as in Typesafe Config's own load(): the
   * --config file won over it.
   */
  @Test
  void aSystemPropertyWinsOverBothConfigFilesAndTheCommandLineOverIt() throws Exception {
    Path property = Files.writeString(tmp.resolve("property.conf"), "splinewatch.run { planes = 2, epochs = 2,"
        + " batch-size = 32 }\n");
    Path option = Files.writeString(tmp.resolve("option.conf"), "splinewatch.run { planes = 3, epochs = 3 }\n"
        + "pekko.loglevel = INFO\n");
    Config all = withProperty("config.file", property.toString(), () -> withProperty("splinewatch.run.planes", "5",
        () -> withProperty("pekko.loglevel", "DEBUG", () -> TrainCommand.load(Map.of(), option.toFile()))));
    assertEquals(5, all.getInt("splinewatch.run.planes"), "-D over --config");
    assertEquals("DEBUG", all.getString("pekko.loglevel"), "-Dpekko over --config");
    assertEquals(3, all.getInt("splinewatch.run.epochs"), "--config over -Dconfig.file");
    assertEquals(32, all.getInt("splinewatch.run.batch-size"), "-Dconfig.file over reference.conf");
    Config option7 = withProperty("splinewatch.run.planes", "5",
        () -> TrainCommand.load(Map.of("splinewatch.run.planes", 7), option.toFile()));
    assertEquals(7, option7.getInt("splinewatch.run.planes"), "the command line over -D");
  }

  /** {@code ./trainer --analyzers nope} with the system property {@code name}: exit 2, the error line. */
  private String trainerWith(String name, String value) {
    String m = withProperty(name, value, () -> CliTest.run(2, "train", "--analyzers", "nope", "--out",
        tmp.resolve("runs").toString(), "--metrics-port=0"));
    assertEquals(2, m.strip().lines().count(), "one error line and the --help hint: " + m);
    assertFalse(Files.exists(tmp.resolve("runs")), m);
    return m.lines().findFirst().orElseThrow();
  }

  /**
   * A pekko value or analyzer thread count that a system property sets is checked as a config file's is: Pekko
   * refused -Dpekko.loglevel=5 at its start with a stack trace, and a pool size of 0 failed every analysis.
   */
  @Test
  void aPekkoValueOrThreadCountOfASystemPropertyIsCheckedAsAFilesIs() {
    assertEquals("error: the system property -Dpekko.loglevel (JAVA_OPTS): pekko.loglevel = \"5\"; expected one of"
        + " OFF, ERROR, WARNING, INFO, DEBUG, e.g. pekko.loglevel = \"WARNING\" (reference.conf)",
        trainerWith("pekko.loglevel", "5"));
    String duration = trainerWith("pekko.cluster.split-brain-resolver.stable-after", "soon");
    assertTrue(duration.startsWith("error: the system property -Dpekko.cluster.split-brain-resolver.stable-after"
        + " (JAVA_OPTS): pekko.cluster.split-brain-resolver.stable-after = \"soon\"; expected a duration with a unit"),
        duration);
    assertEquals("error: the system property -Dsplinewatch-analysis-dispatcher.fixed-pool-size=0 (JAVA_OPTS):"
        + " expected at least 1 (threads of the analyzers)",
        trainerWith("splinewatch-analysis-dispatcher.fixed-pool-size", "0"));
  }

  @Test
  void aConfigResourceOrUrlIsRefused() throws Exception {
    Path conf = Files.writeString(tmp.resolve("any.conf"), "splinewatch.run.planes = 3\n");
    for (String[] p : new String[][] {{"config.resource", "application.conf"},
        {"config.url", conf.toUri().toString()}}) {
      IllegalArgumentException e = withProperty(p[0], p[1], () -> assertThrows(IllegalArgumentException.class,
          () -> TrainCommand.load(Map.of(), null)));
      assertEquals("-D" + p[0] + "=" + p[1] + " (JAVA_OPTS) is not supported; expected --config FILE (or"
          + " -Dconfig.file=FILE), a HOCON file overriding keys of reference.conf (see docs/options.md)",
          e.getMessage());
    }
    String empty = withProperty("config.file", "", () -> CliTest.run(2, "train", "--analyzers", "nope",
        "--out", tmp.resolve("runs").toString(), "--metrics-port=0"));
    assertTrue(empty.startsWith("error: -Dconfig.file= (JAVA_OPTS) is empty; expected -Dconfig.file=FILE"), empty);
  }
}
