package org.splinewatch.settings;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A value of the wrong type, as Typesafe Config reports it, in one line that names where it is set, its full key,
 * the value and what is expected. Config's own message names the key relative to the block being read, without its
 * value or an example ({@code conf/run.conf: 1: run.batch-size has type STRING rather than NUMBER}); this one reads
 * {@code config file conf/run.conf, line 1: splinewatch.run.batch-size = "abc" is a string; expected a whole number,
 * e.g. splinewatch.run.batch-size = 256 (reference.conf)}.
 */
public final class ConfigErrors {
  /** {@code run.batch-size has type STRING rather than NUMBER}, also {@code list of STRING rather than list of NUMBER}. */
  private static final Pattern WRONG_TYPE = Pattern.compile("(.+) has type (.+) rather than (.+)");
  /** {@code Invalid value at 'analysis.timeout': No number in duration value 'abc'}. */
  private static final Pattern BAD_VALUE = Pattern.compile("Invalid value at '(.+?)': (.+)");
  /** {@code Configuration key 'run.batch-size' is set to null but expected NUMBER}. */
  private static final Pattern NULL = Pattern.compile("Configuration key '(.+?)' is set to null but expected (.+)");

  private ConfigErrors() {
  }

  /**
   * {@code e} in one line: for a wrong type, a bad value or a null where {@code root} (the configuration being read)
   * sets the key, the line above; for anything else Config's own first line.
   */
  public static String describe(ConfigException e, Config root) {
    String own = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
    if (root == null || e.origin() == null) {
      return own;
    }
    String rest = stripOrigin(own, e.origin());
    String relative;
    String problem;
    String expectedFromMessage;
    Matcher m;
    if (e instanceof ConfigException.WrongType && (m = WRONG_TYPE.matcher(rest)).matches()) {
      relative = m.group(1);
      problem = null;
      expectedFromMessage = m.group(3);
    } else if (e instanceof ConfigException.Null && (m = NULL.matcher(rest)).matches()) {
      relative = m.group(1);
      problem = null;
      expectedFromMessage = m.group(2);
    } else if (e instanceof ConfigException.BadValue && (m = BAD_VALUE.matcher(rest)).matches()) {
      relative = m.group(1);
      problem = m.group(2);
      expectedFromMessage = null;
    } else {
      return own;
    }
    Optional<String> full = fullKey(root, relative, e.origin());
    if (full.isEmpty()) {
      return own;
    }
    String key = full.get();
    ConfigValue value = valueOrNull(root, key);
    ConfigValue example = referenceValue(key);
    String expected = expected(example, expectedFromMessage, problem);
    StringBuilder line = new StringBuilder(where(e.origin())).append(": ").append(key).append(" = ")
        .append(value == null ? "null" : concise(value));
    if (problem != null) {
      line.append(": ").append(problem);
    } else if (value != null) {
      line.append(" ").append(found(value, expectedFromMessage));
    }
    line.append("; expected ").append(expected);
    if (example != null) {
      line.append(", e.g. ").append(key).append(" = ").append(concise(example)).append(" (reference.conf)");
    }
    return line.toString();
  }

  /** reference.conf's value of {@code key} (without system properties, which may be the wrong value), or null. */
  private static ConfigValue referenceValue(String key) {
    try {
      Config reference = ConfigFactory.defaultReferenceUnresolved().resolve();
      return reference.hasPath(key) ? reference.getValue(key) : null;
    } catch (ConfigException e) {
      return null;
    }
  }

  /** Config's message without the origin it starts with ({@code file.conf: 3: }). */
  private static String stripOrigin(String message, ConfigOrigin origin) {
    String prefix = origin.description() + ": ";
    return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
  }

  /** Where a value is set: {@code config file F, line N}, else Config's description (system properties, ...). */
  private static String where(ConfigOrigin origin) {
    if (origin.filename() != null) {
      return "config file " + origin.filename() + (origin.lineNumber() > 0 ? ", line " + origin.lineNumber() : "");
    }
    return origin.description();
  }

  /**
   * The full path of the key Config named {@code relative} (relative to the block it read): the key of {@code root}
   * that ends with it and whose value comes from {@code origin}; one that is the relative path itself comes first.
   */
  static Optional<String> fullKey(Config root, String relative, ConfigOrigin origin) {
    List<String> candidates = new ArrayList<>();
    collect(root.root(), new ArrayList<>(), relative, origin, candidates);
    return candidates.stream().filter(relative::equals).findFirst().or(() -> candidates.stream().findFirst());
  }

  private static void collect(ConfigObject object, List<String> path, String relative, ConfigOrigin origin,
      List<String> out) {
    for (var e : object.entrySet()) {
      List<String> key = new ArrayList<>(path);
      key.add(e.getKey());
      String joined = ConfigUtil.joinPath(key);
      ConfigValue v = e.getValue();
      if ((joined.equals(relative) || joined.endsWith("." + relative)) && sameOrigin(v.origin(), origin)) {
        out.add(joined);
      } else if (v instanceof ConfigObject child) {
        collect(child, key, relative, origin, out);
      }
    }
  }

  private static boolean sameOrigin(ConfigOrigin a, ConfigOrigin b) {
    return a != null && a.description().equals(b.description());
  }

  private static ConfigValue valueOrNull(Config root, String key) {
    try {
      return root.hasPath(key) ? root.getValue(key) : null;
    } catch (ConfigException e) {
      return null;
    }
  }

  /** What a wrong value is: "is a string", "has a string in it" (a list of numbers with a string). */
  private static String found(ConfigValue value, String expectedFromMessage) {
    if (value instanceof ConfigList list && expectedFromMessage != null && expectedFromMessage.startsWith("list of ")) {
      for (ConfigValue item : list) {
        String want = expectedFromMessage.substring("list of ".length());
        if (!item.valueType().name().equals(want)) {
          return "has " + article(item.valueType()) + " in it";
        }
      }
    }
    return "is " + article(value.valueType());
  }

  private static String article(ConfigValueType type) {
    return switch (type) {
      case OBJECT -> "a section";
      case LIST -> "a list";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      case STRING -> "a string";
    };
  }

  /**
   * What is expected: a duration or a size where Config could not read one, else from reference.conf's value of the key
   * ({@code example}, more telling than Config's type name), else from Config's type name.
   */
  private static String expected(ConfigValue example, String expectedFromMessage, String problem) {
    if (problem != null && problem.contains("size-in-bytes")) {
      return example == null ? "a size, e.g. 2g or 1536m" : "a size (a whole number of bytes, or with a unit)";
    }
    if (problem != null && problem.contains("duration")) {
      return example == null ? "a duration with a unit, e.g. 30s" : "a duration with a unit";
    }
    if (example == null) { // a key reference.conf does not have (another namespace's)
      return expectedFromMessage != null ? typeName(expectedFromMessage) : "another value";
    }
    switch (example.valueType()) {
      case NUMBER -> {
        Object n = example.unwrapped();
        return n instanceof Integer || n instanceof Long ? "a whole number" : "a number";
      }
      case BOOLEAN -> {
        return "true or false";
      }
      case LIST -> {
        List<?> items = ((ConfigList) example).unwrapped();
        if (!items.isEmpty() && items.stream().allMatch(i -> i instanceof Integer || i instanceof Long)) {
          return "a list of whole numbers";
        }
        if (!items.isEmpty() && items.stream().allMatch(i -> i instanceof Number)) {
          return "a list of numbers";
        }
        if (!items.isEmpty() && items.stream().allMatch(i -> i instanceof String)) {
          return "a list of strings";
        }
        return expectedFromMessage != null ? typeName(expectedFromMessage) : "a list";
      }
      case OBJECT -> {
        return "a section of settings";
      }
      default -> {
        return isDuration(example) ? "a duration with a unit" : "a string";
      }
    }
  }

  private static boolean isDuration(ConfigValue value) {
    if (value.valueType() != ConfigValueType.STRING) {
      return false;
    }
    try {
      ConfigFactory.empty().withValue("v", value).getDuration("v");
      return true;
    } catch (ConfigException e) {
      return false;
    }
  }

  /** Config's type name in words: NUMBER is "a number", "list of NUMBER" "a list of numbers". */
  static String typeName(String configType) {
    if (configType.startsWith("list of ")) {
      String item = configType.substring("list of ".length()).toLowerCase(Locale.ROOT);
      return "a list of " + (item.equals("object") ? "sections" : item + "s");
    }
    return switch (configType) {
      case "NUMBER" -> "a number";
      case "BOOLEAN" -> "true or false";
      case "LIST" -> "a list";
      case "OBJECT" -> "a section of settings";
      case "STRING" -> "a string";
      default -> configType.toLowerCase(Locale.ROOT);
    };
  }

  /** A value on one line: a list as {@code [a, b]}, anything else as HOCON renders it concisely. */
  private static String concise(ConfigValue value) {
    if (value instanceof ConfigList list) {
      return "[" + String.join(", ", list.stream().map(ConfigErrors::concise).toList()) + "]";
    }
    return value.render(ConfigRenderOptions.concise());
  }
}
