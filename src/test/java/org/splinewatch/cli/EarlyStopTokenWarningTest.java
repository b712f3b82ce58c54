package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.data.SyntheticData;

/**
 * {@code --early-stop alertmanager} with the run's own random control token: the shipped Alertmanager configuration and
 * the relay send the deployment token, which such a run refuses, so it warns at start instead of leaving the user to
 * find out at the first collapse that nothing can stop it.
 */
class EarlyStopTokenWarningTest {
  @TempDir
  static Path tmp;

  @BeforeAll
  static void data() throws Exception {
    SyntheticData.writeDir(tmp.resolve("idx"), 320, 100, 3);
  }

  private static String run(String runId, String earlyStop, String... more) throws Exception {
    List<String> args = new ArrayList<>(List.of("train", "--no-monitoring", "--method", "supervised", "--data-dir",
        tmp.resolve("idx").toString(), "--batch-size", "32", "--hidden", "16", "--probe-size", "50",
        "--max-steps", "10", "--metrics-port", String.valueOf(TestTools.freePort()), "--out",
        tmp.resolve("runs").toString(), "--run-id", runId, "--early-stop", earlyStop));
    args.addAll(List.of(more));
    return TestTools.cli(0, args.toArray(String[]::new));
  }

  @Test
  void aRunThatOnlyAlertmanagerCanStopWarnsWhenItsTokenIsItsOwn() throws Exception {
    String own = run("own", "alertmanager");
    assertTrue(own.contains("warning: --early-stop alertmanager, but this run's control token is its own random one")
        && own.contains("point Alertmanager's credentials_file at " + tmp.resolve("runs/own/control-token")), own);

    Path tokenFile = TestTools.ownerOnlyFile(tmp.resolve("deployment-token"), "0123456789abcdef0123456789abcdef\n");
    Path conf = Files.writeString(tmp.resolve("deployment.conf"),
        "splinewatch.control.token-file = \"" + tokenFile.toString().replace("\\", "\\\\") + "\"\n");
    String shared = run("shared", "alertmanager", "--config", conf.toString());
    assertFalse(shared.contains("warning: --early-stop alertmanager"), shared);
    assertTrue(shared.contains("bearer token in " + tokenFile), shared);

    String warn = run("warn", "warn");
    assertFalse(warn.contains("warning: --early-stop alertmanager"), warn);
  }
}
