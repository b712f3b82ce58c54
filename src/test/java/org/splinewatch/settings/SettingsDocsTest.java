package org.splinewatch.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/settings.md lists every key of reference.conf under {@code splinewatch} and splinewatch's dispatchers, with
 * its default: many were described only in reference.conf's comments. A key added to reference.conf without a row
 * there, a default changed in one of them only, or a row for a key reference.conf no longer has fails here.
 */
class SettingsDocsTest {
  private static final Path DOC = Path.of("docs/settings.md");
  /** {@code | `splinewatch.run.method` | `simclr` | ...}: the key and its default. */
  private static final String NUMBER = "-?\\d+(\\.\\d+)?";
  private static final Pattern ROW = Pattern.compile("^\\| `(splinewatch[^`]*)` \\| `([^`]*)` \\|", Pattern.MULTILINE);

  /** The keys of splinewatch's own reference.conf (not Pekko's) with their defaults, as the page writes them. */
  static Map<String, String> referenceKeys() {
    // without the environment: control.token's ${?SPLINEWATCH_CONTROL_TOKEN} keeps its "" default
    Config reference = ConfigFactory.parseFile(Path.of("src/main/resources/reference.conf").toFile())
        .resolve(ConfigResolveOptions.noSystem());
    Map<String, String> keys = new TreeMap<>();
    for (var e : reference.entrySet()) {
      if (e.getKey().startsWith("splinewatch")) {
        keys.put(e.getKey(), shown(e.getValue()));
      }
    }
    return keys;
  }

  /** A default as written: a string without quotes (an empty one as {@code ""}), a list as {@code [a, b]}. */
  static String shown(ConfigValue value) {
    if (value instanceof ConfigList list) {
      List<String> items = new ArrayList<>();
      list.forEach(v -> items.add(shown(v)));
      return "[" + String.join(", ", items) + "]";
    }
    if (value.valueType() == ConfigValueType.STRING) {
      String s = (String) value.unwrapped();
      return s.isEmpty() ? "\"\"" : s;
    }
    return value.render(com.typesafe.config.ConfigRenderOptions.concise());
  }

  @Test
  void everyKeyOfReferenceConfIsListedWithItsDefault() throws Exception {
    Map<String, String> documented = new LinkedHashMap<>();
    Matcher m = ROW.matcher(Files.readString(DOC));
    while (m.find()) {
      String previous = documented.put(m.group(1), m.group(2));
      assertEquals(null, previous, m.group(1) + " is listed twice in " + DOC);
    }
    Map<String, String> reference = referenceKeys();
    assertTrue(reference.size() > 140, "reference.conf's keys: " + reference.keySet());
    for (var e : reference.entrySet()) {
      assertTrue(documented.containsKey(e.getKey()), e.getKey() + " (reference.conf) is not listed in " + DOC
          + "; expected a row | `" + e.getKey() + "` | `" + e.getValue() + "` | meaning |");
      String doc = documented.get(e.getKey());
      if (e.getValue().matches(NUMBER) && doc.matches(NUMBER)) { // 2.0 as reference.conf writes it is 2
        assertEquals(Double.parseDouble(e.getValue()), Double.parseDouble(doc), "the default of " + e.getKey()
            + " in " + DOC);
      } else {
        assertEquals(e.getValue(), doc, "the default of " + e.getKey() + " in " + DOC);
      }
    }
    for (String key : documented.keySet()) {
      assertTrue(reference.containsKey(key), key + " is listed in " + DOC + " but is no key of reference.conf");
    }
  }

  @Test
  void optionsLinksToIt() throws Exception {
    assertTrue(Files.readString(Path.of("docs/options.md")).contains("(settings.md)"), "docs/options.md");
  }
}
