package org.splinewatch.run;

import com.typesafe.config.Config;
import java.util.Map;
import java.util.TreeMap;

/**
 * A run's tags and notes ({@code splinewatch.run-meta}: {@code --tag K=V}, {@code --notes TEXT}), recorded in
 * {@code config.json} and, the tags, in {@code splinewatch_run_info{tags}}.
 */
public record RunMeta(Map<String, String> tags, String notes) {
  public RunMeta {
    tags = Map.copyOf(tags);
  }

  /** Reads and checks {@code splinewatch.run-meta}; a bad tag is an IllegalArgumentException naming it. */
  public static RunMeta fromConfig(Config config) {
    Config c = config.getConfig("splinewatch.run-meta");
    Map<String, String> tags = new TreeMap<>();
    for (String t : c.getStringList("tags")) {
      int eq = t.indexOf('=');
      String key = eq < 0 ? "" : t.substring(0, eq);
      String value = eq < 0 ? "" : t.substring(eq + 1);
      if (!key.matches("[A-Za-z_][A-Za-z0-9_]{0,63}") || value.isEmpty() || value.length() > 200
          || !value.matches("[^,=\\p{Cntrl}]+")) {
        throw new IllegalArgumentException("--tag '" + t + "': expected KEY=VALUE with KEY of letters, digits and '_'"
            + " and a non-empty VALUE of at most 200 characters without ',', '=' or control characters");
      }
      if (tags.put(key, value) != null) {
        throw new IllegalArgumentException("--tag '" + t + "': tag " + key + " given twice; expected each KEY once");
      }
    }
    String notes = c.getString("notes");
    if (notes.length() > 10_000) {
      throw new IllegalArgumentException("--notes: " + notes.length() + " characters; expected at most 10000");
    }
    return new RunMeta(tags, notes);
  }
}
