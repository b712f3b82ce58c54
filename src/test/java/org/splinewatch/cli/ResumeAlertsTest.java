package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.data.SyntheticData;

/**
 * A resumed run's collapse rules pick up where they stood before its checkpoint (reference maxima, consecutive counts,
 * firing states) instead of starting afresh: a rule still firing is said once at the start, is not recorded or raised
 * anew later, and stops a run whose early-stop says so at once.
 */
class ResumeAlertsTest {
  @TempDir
  Path tmp;

  private String[] args(String earlyStop, String maxSteps, String... more) {
    List<String> a = new ArrayList<>(List.of("train", "--no-svg", "--method", "vicreg", "--vicreg-std-coeff",
        "0", "--ablate-from", "100", "--data-dir", tmp.resolve("idx").toString(), "--batch-size", "32", "--hidden",
        "16", "--projection-dim", "16", "--probe-size", "50", "--snapshot-every", "20", "--analyzers", "embedding",
        "--metrics-port", "0", "--out", tmp.resolve("runs").toString(), "--run-id", "c", "--early-stop", earlyStop,
        "--max-steps", maxSteps));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  /** The {@code alert_firing} events' rules, in order. */
  private List<String> firings() throws Exception {
    ObjectMapper json = new ObjectMapper();
    List<String> rules = new ArrayList<>();
    for (String line : Files.readAllLines(tmp.resolve("runs/c/events.jsonl"))) {
      JsonNode j = json.readTree(line);
      if (j.path("type").asText().equals("alert_firing")) {
        rules.add(j.path("rule").asText());
      }
    }
    return rules;
  }

  @Test
  void aRuleFiringAtTheCheckpointIsNotRaisedAnewAndStopsAStoppingRunAtOnce() throws Exception {
    SyntheticData.writeDir(tmp.resolve("idx"), 640, 200, 3);
    String first = TestTools.cli(3, args("stop", "3000"));
    assertTrue(first.contains("stopped early at step"), first);
    List<String> before = firings();
    assertFalse(before.isEmpty(), first);
    String latest = tmp.resolve("runs/c/checkpoints/latest").toString();

    // the same command resumed: the stop-on rule that stopped it still fires, so it stops again without training on
    String again = TestTools.cli(3, args("stop", "3000", "--resume", latest));
    assertTrue(again.contains("still firing at the checkpoint's step"), again);
    assertEquals(before, firings(), "no alert recorded anew: " + again);

    // with --early-stop warn it trains on through it; the rules firing at the checkpoint are not raised again
    var stopped = java.util.regex.Pattern.compile("stopped early at step (\\d+)").matcher(first);
    assertTrue(stopped.find(), first);
    String on = TestTools.cli(0, args("warn", String.valueOf(Long.parseLong(stopped.group(1)) + 60), "--resume",
        latest));
    assertTrue(on.contains("still firing at the checkpoint's step"), on);
    List<String> after = firings();
    for (String rule : before) {
      assertEquals(before.stream().filter(rule::equals).count(), after.stream().filter(rule::equals).count(),
          rule + " was firing at the checkpoint and is not recorded again: " + after);
    }
  }
}
