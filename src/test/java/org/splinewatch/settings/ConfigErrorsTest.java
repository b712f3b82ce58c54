package org.splinewatch.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Config's wrong-type errors name the key relative to the block read ({@code port has type STRING rather than
 * NUMBER}); {@link ConfigErrors} names the full key, found by where the value is set, with its value and what is
 * expected.
 */
class ConfigErrorsTest {
  @TempDir
  Path tmp;

  private static String describe(Config root, Executable read) {
    return ConfigErrors.describe(assertThrows(ConfigException.class, read), root);
  }

  @Test
  void theFullKeyIsTheOneSetWhereTheWrongValueIs() throws Exception {
    Path file = Files.writeString(tmp.resolve("ports.conf"), """
        splinewatch.metrics.port = 9000
        splinewatch.cluster.port = "abc"
        """);
    Config root = ConfigFactory.parseFile(file.toFile()).withFallback(ConfigFactory.load()).resolve();
    // read as the settings classes read it: a block, then a key relative to it ("port" is also metrics.port's key)
    ConfigBlock cluster = ConfigBlock.of(root, "splinewatch.cluster");
    assertEquals("config file " + file + ", line 2: splinewatch.cluster.port = \"abc\" is a string; expected a whole"
        + " number, e.g. splinewatch.cluster.port = 25520 (reference.conf)", describe(root, () -> cluster.integer("port")));
    // the same read from the root
    assertEquals("config file " + file + ", line 2: splinewatch.cluster.port = \"abc\" is a string; expected a whole"
        + " number, e.g. splinewatch.cluster.port = 25520 (reference.conf)",
        describe(root, () -> root.getInt("splinewatch.cluster.port")));
  }

  @Test
  void aKeyReferenceConfDoesNotHaveGetsConfigsTypeNameAndOtherErrorsStayConfigs() {
    Config root = ConfigFactory.parseString("app.sizes = [1, x]");
    assertEquals("String: 1: app.sizes = [1, \"x\"] has a string in it; expected a list of numbers",
        describe(root, () -> root.getConfig("app").getNumberList("sizes")));
    ConfigException missing = assertThrows(ConfigException.class, () -> root.getInt("app.none"));
    assertEquals(missing.getMessage(), ConfigErrors.describe(missing, root));
  }

  @Test
  void pekkoKeysAreCheckedWhereAFileSetsThem() throws Exception {
    assertEquals(java.util.Optional.empty(), ConfigErrors.pekkoProblem(ConfigFactory.load()), "reference.conf's own");
    Path file = Files.writeString(tmp.resolve("pekko.conf"), """
        pekko.cluster.roles = [metrics]
        pekko.remote.artery.bind.port = 25521
        pekko.cluster.seed-nodes = "pekko://splinewatch@127.0.0.1:25520"
        """);
    Config root = ConfigFactory.parseFile(file.toFile()).withFallback(ConfigFactory.load()).resolve();
    assertEquals(java.util.Optional.of("config file " + file + ", line 3: pekko.cluster.seed-nodes ="
        + " \"pekko://splinewatch@127.0.0.1:25520\" is a string; expected a list of strings, e.g."
        + " pekko.cluster.seed-nodes = [\"pekko://splinewatch@127.0.0.1:25520\"] (reference.conf)"),
        ConfigErrors.pekkoProblem(root));
  }

  /** A well-typed value of a key the cluster node sets itself was ignored without a word. */
  @Test
  void aPekkoKeyTheClusterNodeSetsItselfIsNamedAsNotUsed() throws Exception {
    assertEquals(java.util.List.of(), ConfigErrors.unusedPekkoKeys(ConfigFactory.load()), "reference.conf's own");
    Path file = Files.writeString(tmp.resolve("node.conf"), """
        pekko.loglevel = INFO
        pekko.remote.artery.canonical.port = 2552
        pekko.cluster.roles = [metrics]
        """);
    Config root = ConfigFactory.parseFile(file.toFile()).withFallback(ConfigFactory.load()).resolve();
    assertEquals(java.util.List.of("config file " + file + ", line 3: pekko.cluster.roles = [\"metrics\"] is not used:"
        + " a cluster node sets it from splinewatch.cluster.roles (--roles); expected that setting",
        "config file " + file + ", line 2: pekko.remote.artery.canonical.port = 2552 is not used: a cluster node sets"
        + " it from splinewatch.cluster.port (--port); expected that setting"), ConfigErrors.unusedPekkoKeys(root));
  }

  /** The same keys given as -D in JAVA_OPTS were skipped: not used either, and nothing said so. */
  @Test
  void aPekkoKeyTheClusterNodeSetsItselfGivenAsASystemPropertyIsNamedAsNotUsed() {
    System.setProperty("pekko.remote.artery.canonical.port", "2552");
    System.setProperty("pekko.cluster.failure-detector.acceptable-heartbeat-pause", "30s");
    try {
      ConfigFactory.invalidateCaches();
      assertEquals(java.util.List.of("the system property"
          + " -Dpekko.cluster.failure-detector.acceptable-heartbeat-pause=30s (JAVA_OPTS) is not used: a cluster node"
          + " sets it from splinewatch.cluster.heartbeat-pause; expected that setting",
          "the system property -Dpekko.remote.artery.canonical.port=2552 (JAVA_OPTS) is not used: a cluster node sets"
          + " it from splinewatch.cluster.port (--port); expected that setting"),
          ConfigErrors.unusedPekkoKeys(ConfigFactory.load()));
    } finally {
      System.clearProperty("pekko.remote.artery.canonical.port");
      System.clearProperty("pekko.cluster.failure-detector.acceptable-heartbeat-pause");
      ConfigFactory.invalidateCaches();
    }
  }
}
