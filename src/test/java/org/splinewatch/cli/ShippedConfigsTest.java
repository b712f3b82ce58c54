package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.settings.PekkoKeys;

/**
 * What the project ships passes the config file checks: every {@code *.conf} of the repository and every HOCON block
 * of its docs, as a {@code --config} file, and the {@code pekko} keys a cluster node sets itself are keys Pekko
 * defines (a Pekko upgrade that renames one would leave it unused without a word).
 */
class ShippedConfigsTest {
  private static final Pattern HOCON_BLOCK = Pattern.compile("```(?:hocon|conf)\\n(.*?)```", Pattern.DOTALL);

  @TempDir
  Path tmp;

  @Test
  void everyShippedConfFileAndDocsBlockPasses() throws Exception {
    List<Path> files = new ArrayList<>();
    List<Path> docs = new ArrayList<>();
    try (Stream<Path> all = Files.walk(Path.of("."))) {
      all.filter(p -> !p.startsWith("./target") && !p.startsWith("./.git") && !p.toString().contains("node_modules"))
          .filter(Files::isRegularFile).forEach(p -> {
            if (p.toString().endsWith(".conf")) {
              files.add(p);
            } else if (p.toString().endsWith(".md")) {
              docs.add(p);
            }
          });
    }
    assertTrue(files.contains(Path.of("./src/main/resources/reference.conf")), files.toString());
    for (Path doc : docs) {
      Matcher m = HOCON_BLOCK.matcher(Files.readString(doc));
      for (int n = 1; m.find(); n++) {
        files.add(Files.writeString(tmp.resolve(doc.getFileName() + "-" + n + ".conf"), m.group(1)));
      }
    }
    assertTrue(files.size() >= 4, "reference.conf and the HOCON blocks of the docs: " + files);
    for (Path f : files) {
      TrainCommand.checkKnownKeys(ConfigFactory.parseFile(f.toFile()), f.toString()); // throws with the line
      // and read as --config: the values pass too (--analyzers nope: refused after every setting is read)
      String m = CliTest.run(2, "train", "--config", f.toString(), "--analyzers", "nope", "--out",
          tmp.resolve("runs").toString(), "--metrics-port=0");
      assertTrue(m.startsWith("error: --analyzers nope: unknown analyzer 'nope'"), f + ": " + m);
    }
  }

  @Test
  void theClusterNodesOwnPekkoKeysArePekkos() throws Exception {
    Path store = Files.writeString(tmp.resolve("store.p12"), "not read here");
    Path password = Files.writeString(tmp.resolve("password"), "secret\n");
    for (boolean tls : new boolean[] {false, true}) {
      Config settings = TrainCommand.load(Map.of("splinewatch.cluster.tls.enabled", tls,
          "splinewatch.cluster.tls.key-store", store.toString(), "splinewatch.cluster.tls.trust-store",
          store.toString(), "splinewatch.cluster.tls.password-file", password.toString()), null);
      Config node = ClusterSettings.fromConfig(settings).nodeConfig(ConfigFactory.empty(), List.of("metrics"));
      assertFalse(node.isEmpty());
      assertEquals(Optional.empty(), PekkoKeys.unknownKey(node, ConfigFactory.defaultReference(), "nodeConfig"),
          "TLS " + tls);
    }
  }
}
