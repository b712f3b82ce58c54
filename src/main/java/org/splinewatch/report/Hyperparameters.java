package org.splinewatch.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The report's hyperparameter table: one row per setting of the runs' {@code config.json} (top-level values,
 * {@code settings.*}, {@code tags.*}, notes, git commit and dirty state), one column per run, and whether the runs
 * differ on that row. Provenance that differs between any two runs by nature (start time, run id, versions, threads)
 * is left out.
 */
public final class Hyperparameters {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> SKIPPED = Set.of("run_id", "started", "options", "versions", "threads");

  /** One row: the setting, each run's value ("" where a run lacks it), whether they differ. */
  public record Row(String name, List<String> values, boolean differs) {
  }

  private Hyperparameters() {
  }

  /** The rows for {@code runs}, in the order the first run's config.json lists them, then the others' extra keys. */
  public static List<Row> rows(List<RunData> runs) {
    List<Map<String, String>> flat = new ArrayList<>();
    Set<String> names = new LinkedHashSet<>();
    for (RunData r : runs) {
      Map<String, String> f = flatten(r.config());
      flat.add(f);
      names.addAll(f.keySet());
    }
    List<Row> rows = new ArrayList<>();
    for (String n : names) {
      List<String> values = flat.stream().map(f -> f.getOrDefault(n, "")).toList();
      rows.add(new Row(n, values, values.stream().distinct().count() > 1));
    }
    return rows;
  }

  /** {@code config.json} (as RunData keeps it: nested values as JSON text) flattened to dotted names. */
  static Map<String, String> flatten(Map<String, Object> config) {
    Map<String, String> out = new LinkedHashMap<>();
    for (var e : config.entrySet()) {
      if (SKIPPED.contains(e.getKey())) {
        continue;
      }
      String v = String.valueOf(e.getValue());
      JsonNode node = null;
      if (v.startsWith("{")) {
        try {
          node = JSON.readTree(v);
        } catch (java.io.IOException ex) {
          node = null; // not JSON after all: shown as text
        }
      }
      if (node != null && node.isObject()) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> f = it.next();
          out.put(e.getKey() + "." + f.getKey(), f.getValue().isValueNode() ? f.getValue().asText()
              : f.getValue().toString());
        }
      } else {
        out.put(e.getKey(), v);
      }
    }
    return out;
  }
}
