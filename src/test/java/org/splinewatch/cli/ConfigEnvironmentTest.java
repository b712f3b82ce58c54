package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;

/**
 * Typesafe Config's {@code CONFIG_FORCE_} environment variables, read over every file and property with
 * {@code -Dconfig.override_with_env_vars=true}: a misspelt one was ignored without a word, as a config file's typo
 * was before it was checked. Each is checked as a config file's keys are and named in the line.
 */
class ConfigEnvironmentTest {
  @TempDir
  Path tmp;

  private static final Properties READ = new Properties();

  static {
    READ.setProperty("config.override_with_env_vars", "true");
  }

  private static String refused(Map<String, String> environment, Properties properties) {
    return assertThrows(IllegalArgumentException.class,
        () -> TrainCommand.checkEnvironment(environment, properties)).getMessage();
  }

  @Test
  void eachVariableIsCheckedAsAConfigFilesKeyIs() {
    // settings, Pekko's keys and other variables pass
    TrainCommand.checkEnvironment(Map.of("CONFIG_FORCE_splinewatch_run_batch__size", "64",
        "CONFIG_FORCE_pekko_loglevel", "INFO", "CONFIG_FORCE_splinewatch__analysis__dispatcher_fixed__pool__size", "2",
        "PATH", "/bin"), READ);
    assertEquals("unknown setting splinewatch.run.planez in the environment variable"
        + " CONFIG_FORCE_splinewatch_run_planez (-Dconfig.override_with_env_vars=true); expected one of the keys of"
        + " reference.conf (see docs/options.md); did you mean CONFIG_FORCE_splinewatch_run_planes"
        + " (splinewatch.run.planes)?", refused(Map.of("CONFIG_FORCE_splinewatch_run_planez", "3"), READ));
    String pekko = refused(Map.of("CONFIG_FORCE_pekko_loglevl", "DEBUG"), READ);
    assertTrue(pekko.startsWith("unknown setting pekko.loglevl in the environment variable CONFIG_FORCE_pekko_loglevl")
        && pekko.endsWith("; did you mean CONFIG_FORCE_pekko_loglevel (pekko.loglevel)?"), pekko);
    assertTrue(refused(Map.of("CONFIG_FORCE_splinewatchx_run_planes", "3"), READ).startsWith("unknown setting"
        + " splinewatchx in the environment variable CONFIG_FORCE_splinewatchx_run_planes"));
    assertTrue(refused(Map.of("CONFIG_FORCE_splinewatch_run", "5"), READ).startsWith("splinewatch.run = \"5\" in the"
        + " environment variable CONFIG_FORCE_splinewatch_run (-Dconfig.override_with_env_vars=true): expected a"
        + " section of settings"));
    assertTrue(refused(Map.of("CONFIG_FORCE_splinewatch____run", "5"), READ).startsWith("the environment variable"
        + " CONFIG_FORCE_splinewatch____run has 4 underscores in a row; expected _ for a dot, __ for a dash or ___"
        + " for an underscore"));
  }

  @Test
  void withoutThePropertyASplinewatchVariableIsRefusedAsNotRead() {
    // Config reads none of them then: the run went on with reference.conf's value, without a word
    assertEquals("the environment variable CONFIG_FORCE_splinewatch_run_planes is not read: Typesafe Config reads"
        + " CONFIG_FORCE_ variables only with -Dconfig.override_with_env_vars=true; expected that in JAVA_OPTS, or"
        + " the setting in a --config file (see docs/options.md)",
        refused(Map.of("CONFIG_FORCE_splinewatch_run_planes", "3"), new Properties()));
    // another program's (not read by this one either) pass
    TrainCommand.checkEnvironment(Map.of("CONFIG_FORCE_pekko_loglevl", "DEBUG", "CONFIG_FORCE_other_app", "1"),
        new Properties());
  }

  @Test
  void aTrainerStartedWithTheVariablesRefusesAMisspeltOneAndNamesTheOneOfAWrongType() throws Exception {
    // end to end, as Config reads them: CONFIG_FORCE_splinewatch_run_planez=3 trained with 2 planes
    String typo = trainer(Map.of("CONFIG_FORCE_splinewatch_run_planez", "3"));
    assertTrue(typo.contains("error: unknown setting splinewatch.run.planez in the environment variable"
        + " CONFIG_FORCE_splinewatch_run_planez (-Dconfig.override_with_env_vars=true);"), typo);
    // a wrong type named Config's origin, "env variables overrides: splinewatch.run.batch-size = ..."
    String type = trainer(Map.of("CONFIG_FORCE_splinewatch_run_batch__size", "abc"));
    assertTrue(type.contains("error: the environment variable CONFIG_FORCE_splinewatch_run_batch__size:"
        + " splinewatch.run.batch-size = \"abc\" is a string; expected a whole number"), type);
  }

  /**
   * A variable is over a --config file as over every file (the file won over it), and a pekko value it sets is
   * checked as a file's is (Pekko refused it at its start, in words of its own).
   */
  @Test
  void aVariableWinsOverAConfigFileAndItsPekkoValueIsChecked() throws Exception {
    Path conf = Files.writeString(tmp.resolve("run.conf"), "splinewatch.run.batch-size = 64\n");
    String type = trainer(Map.of("CONFIG_FORCE_splinewatch_run_batch__size", "abc"), "--config", conf.toString());
    assertTrue(type.contains("error: the environment variable CONFIG_FORCE_splinewatch_run_batch__size:"
        + " splinewatch.run.batch-size = \"abc\" is a string; expected a whole number"), type);
    String pekko = trainer(Map.of("CONFIG_FORCE_pekko_loglevel", "5"));
    assertTrue(pekko.contains("error: the environment variable CONFIG_FORCE_pekko_loglevel: pekko.loglevel = \"5\";"
        + " expected one of OFF, ERROR, WARNING, INFO, DEBUG"), pekko);
  }

  /** {@code train} in a JVM of its own with {@code environment} and the property; expects exit code 2. */
  private String trainer(Map<String, String> environment, String... more) throws Exception {
    Path runs = tmp.resolve("runs");
    List<String> args = new java.util.ArrayList<>(List.of("train", "--out", runs.toString(), "--metrics-port=0",
        "--analyzers", "nope"));
    args.addAll(List.of(more));
    ProcessBuilder pb = new ProcessBuilder(TestTools.mainCommand("-Dconfig.override_with_env_vars=true",
        args.toArray(String[]::new))).redirectErrorStream(true);
    pb.environment().putAll(environment);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(2, p.waitFor(), out);
    assertFalse(Files.exists(runs), out);
    return out;
  }
}
