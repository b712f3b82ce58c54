package org.splinewatch.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cli.Main;
import org.splinewatch.data.SyntheticData;

/**
 * {@code ./monitor experiment seeds} end to end on tiny synthetic data and few steps: every finding is present with
 * a verdict from the allowed set and finite numbers, the three output files exist, and a second invocation trains
 * nothing (resumable).
 */
class ExperimentCommandIT {
  @Test
  void tinyExperimentWritesEveryFindingAndResumes(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 512, 5); // the quick plan's 512 probes (a larger --probe-size is refused)
    Path out = tmp.resolve("exp");
    String[] args = {"monitor", "experiment", "seeds", "--quick", "--seeds", "1", "--datasets", "mnist", "--methods",
        "supervised,simclr,simsiam", "--data-dir", data.toString(), "--steps", "40", "--long-steps", "60", "--out",
        out.toString()};
    String first = run(args);
    assertTrue(first.contains("[1/6]"), first);
    JsonNode results = new ObjectMapper().readTree(out.resolve("results.json").toFile());
    JsonNode findings = results.get("findings");
    assertEquals(Set.of("F1", "F2", "F3", "F4", "F5", "F6"), Set.copyOf(iterable(findings.fieldNames())));
    for (Iterator<Map.Entry<String, JsonNode>> it = findings.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      assertTrue(Set.of(Findings.HOLDS, Findings.DOES_NOT_HOLD, Findings.INCONCLUSIVE)
          .contains(f.getValue().get("verdict").asText()), f.toString());
      assertTrue(f.getValue().get("rule").asText().length() > 40, f.getKey());
      assertFinite(f.getValue().get("numbers"));
    }
    String md = Files.readString(out.resolve("results.md"));
    assertTrue(md.contains("| F6 |"), md);
    String html = Files.readString(out.resolve("report.html"));
    assertTrue(html.contains("uPlot") && html.contains("F5: local complexity"), "report.html has the plots");
    assertTrue(first.contains("| F1 |"), "the command ends with the findings table");
    // F1/F2/F4 had their runs: the region and ID numbers are there
    assertTrue(findings.get("F1").get("numbers").size() > 0, findings.get("F1").toString());
    assertTrue(findings.get("F4").get("numbers").size() > 0, findings.get("F4").toString());

    String second = run(args);
    assertEquals(6, second.split("finished before, skipped", -1).length - 1, second);
    assertTrue(!second.contains(": training ("), second);
  }

  private static java.util.List<String> iterable(Iterator<String> it) {
    java.util.List<String> out = new java.util.ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }

  /** Every number in the tree is finite (NaN and infinities are written as null). */
  private static void assertFinite(JsonNode n) {
    if (n.isNumber()) {
      assertTrue(Double.isFinite(n.asDouble()), n.toString());
    }
    n.elements().forEachRemaining(ExperimentCommandIT::assertFinite);
  }

  private static String run(String... args) {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = Main.execute(args);
    } finally {
      System.setOut(old);
    }
    String text = buf.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, text);
    return text;
  }
}
