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
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
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
    StringBuilder line = new StringBuilder(where(e.origin(), key)).append(": ").append(key).append(" = ")
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

  /** What a {@code pekko} key must hold, as Pekko reads it. */
  private enum Kind {
    WHOLE_NUMBER("a whole number"),
    BOOLEAN("on or off"),
    STRING("a string"),
    STRINGS("a list of strings"),
    DURATION("a duration with a unit"),
    SECTION("a section of settings"),
    LOG_LEVEL("one of OFF, ERROR, WARNING, INFO, DEBUG"),
    ON_OFF_OR_COUNT("on, off or a whole number (how many to log)"),
    PORT_OR_EMPTY("a whole number (a port), or \"\" for the canonical port");

    final String expected;

    Kind(String expected) {
      this.expected = expected;
    }
  }

  /**
   * The {@code pekko} keys splinewatch's reference.conf sets, those a cluster node's configuration sets
   * ({@code cluster.ClusterSettings#nodeConfig}, TLS included), and the addresses and seed nodes a deployment may set:
   * what {@link #pekkoProblem} checks. Pekko reads them only when its actor system starts, after the options are
   * checked, and its errors name the key relative to the block it reads ({@code port has type STRING rather than
   * NUMBER}).
   */
  private static final Map<String, Kind> PEKKO_KEYS = new LinkedHashMap<>();

  static {
    for (String k : List.of("log-dead-letters-during-shutdown", "coordinated-shutdown.exit-jvm",
        "coordinated-shutdown.run-by-jvm-shutdown-hook", "coordinated-shutdown.run-by-actor-system-terminate",
        "http.server.transparent-head-requests", "cluster.split-brain-resolver.keep-oldest.down-if-alone",
        "cluster.run-coordinated-shutdown-when-down", "cluster.jmx.enabled", "cluster.log-info")) {
      PEKKO_KEYS.put("pekko." + k, Kind.BOOLEAN);
    }
    for (String k : List.of("logging-filter", "actor.provider", "remote.artery.transport",
        "remote.artery.canonical.hostname", "remote.artery.bind.hostname", "cluster.downing-provider-class",
        "cluster.split-brain-resolver.active-strategy", "cluster.split-brain-resolver.keep-oldest.role",
        "remote.artery.ssl.ssl-engine-provider")) {
      PEKKO_KEYS.put("pekko." + k, Kind.STRING);
    }
    PEKKO_KEYS.put("pekko.loglevel", Kind.LOG_LEVEL);
    PEKKO_KEYS.put("pekko.stdout-loglevel", Kind.LOG_LEVEL);
    PEKKO_KEYS.put("pekko.log-dead-letters", Kind.ON_OFF_OR_COUNT);
    PEKKO_KEYS.put("pekko.loggers", Kind.STRINGS);
    PEKKO_KEYS.put("pekko.cluster.roles", Kind.STRINGS);
    PEKKO_KEYS.put("pekko.cluster.seed-nodes", Kind.STRINGS);
    PEKKO_KEYS.put("pekko.actor.default-dispatcher.fork-join-executor.parallelism-min", Kind.WHOLE_NUMBER);
    PEKKO_KEYS.put("pekko.actor.default-dispatcher.fork-join-executor.parallelism-max", Kind.WHOLE_NUMBER);
    PEKKO_KEYS.put("pekko.remote.artery.canonical.port", Kind.WHOLE_NUMBER);
    // read by Pekko for our executor (analysis.LowPriorityExecutor) when the first analyzer starts, mid-run
    PEKKO_KEYS.put("splinewatch-analysis-dispatcher.fixed-pool-size", Kind.WHOLE_NUMBER);
    PEKKO_KEYS.put("pekko.remote.artery.bind.port", Kind.PORT_OR_EMPTY);
    PEKKO_KEYS.put("pekko.cluster.failure-detector.acceptable-heartbeat-pause", Kind.DURATION);
    PEKKO_KEYS.put("pekko.cluster.split-brain-resolver.stable-after", Kind.DURATION);
    PEKKO_KEYS.put("pekko.actor.serialization-bindings", Kind.SECTION);
    PEKKO_KEYS.put("pekko.remote.artery.ssl.config-ssl-engine", Kind.SECTION);
  }

  /**
   * The keys a cluster node's configuration sets over the file's, with the setting (and option) they come from: a
   * value the file gives them is not used.
   */
  private static final Map<String, String> SET_BY_NODE = Map.of(
      "pekko.remote.artery.canonical.port", "splinewatch.cluster.port (--port)",
      "pekko.remote.artery.canonical.hostname", "splinewatch.cluster.host (--host)",
      "pekko.remote.artery.bind.hostname", "splinewatch.cluster.host (--host)",
      "pekko.cluster.roles", "splinewatch.cluster.roles (--roles)",
      "pekko.cluster.failure-detector.acceptable-heartbeat-pause", "splinewatch.cluster.heartbeat-pause",
      "pekko.cluster.split-brain-resolver.stable-after", "splinewatch.cluster.down-after");

  /**
   * The first {@code pekko} key of {@link #PEKKO_KEYS} that a config file, a system property or a {@code CONFIG_FORCE_}
   * variable sets in {@code root} to a value Pekko cannot read, in one line as {@link #describe} words it ({@code config
   * file my.conf, line 1: pekko.remote.artery.canonical.port = "abc" is a string; expected a whole number, e.g.
   * pekko.remote.artery.canonical.port = 25520 (reference.conf)}, {@code the system property -Dpekko.loglevel
   * (JAVA_OPTS): pekko.loglevel = "5"; expected one of ...}); empty when there is none.
   */
  public static Optional<String> pekkoProblem(Config root) {
    for (var k : PEKKO_KEYS.entrySet()) {
      String key = k.getKey();
      if (!root.hasPathOrNull(key)) {
        continue;
      }
      ConfigValue raw = raw(root, key); // a null too, with where it is set
      ConfigValue value = raw.valueType() == ConfigValueType.NULL ? null : raw;
      ConfigOrigin origin = raw.origin();
      if (!setByUser(origin) || value != null && readable(root, key, k.getValue())) {
        continue; // reference.conf's own values are Pekko's and ours
      }
      ConfigValue example = key.equals("pekko.cluster.seed-nodes")
          ? ConfigValueFactory.fromIterable(List.of("pekko://splinewatch@127.0.0.1:25520")) : referenceValue(key);
      StringBuilder line = new StringBuilder(where(origin, key)).append(": ").append(key).append(" = ")
          .append(value == null ? "null" : concise(value));
      if (value != null && value.valueType() != typeOf(k.getValue())) {
        line.append(" ").append(found(value, null));
      }
      line.append("; expected ").append(k.getValue().expected);
      if (example != null && !(example instanceof ConfigList l && l.isEmpty())) {
        line.append(", e.g. ").append(key).append(" = ").append(concise(example)).append(" (reference.conf)");
      }
      if (SET_BY_NODE.containsKey(key)) { // the user meant the node's own setting
        line.append("; a cluster node sets it from ").append(SET_BY_NODE.get(key));
      }
      return Optional.of(line.toString());
    }
    return Optional.empty();
  }

  /**
   * Whether a value of {@code origin} was set by the user: in a config file, a system property or a
   * {@code CONFIG_FORCE_} environment variable (not reference.conf's, nor the code's).
   */
  private static boolean setByUser(ConfigOrigin origin) {
    return origin.filename() != null || fromSystemProperty(origin) || fromEnvironment(origin);
  }

  private static boolean fromSystemProperty(ConfigOrigin origin) {
    return "system properties".equals(origin.description());
  }

  private static boolean fromEnvironment(ConfigOrigin origin) {
    return EnvOverrides.ORIGIN.equals(origin.description());
  }

  /** The {@code CONFIG_FORCE_} variable that sets {@code key}: the one in this environment, else its name. */
  private static String environmentVariable(String key) {
    return EnvOverrides.variableOf(key, System.getenv()).orElse(EnvOverrides.variable(key));
  }

  /**
   * One line for each key of {@link #SET_BY_NODE} that a config file, a system property or a {@code CONFIG_FORCE_}
   * variable sets in {@code root} to a value Pekko can read: the node's own setting replaces it, so the value is not
   * used ({@code config file my.conf, line 1: pekko.remote.artery.canonical.port = 2552 is not used: a cluster node
   * sets it from splinewatch.cluster.port (--port); expected that setting}, {@code the system property
   * -Dpekko.remote.artery.canonical.port=2552 (JAVA_OPTS) is not used: ...}). Badly typed ones are
   * {@link #pekkoProblem}'s.
   */
  public static List<String> unusedPekkoKeys(Config root) {
    List<String> lines = new ArrayList<>();
    for (String key : SET_BY_NODE.keySet().stream().sorted().toList()) {
      if (!root.hasPath(key) || !setByUser(root.getValue(key).origin())) {
        continue; // reference.conf's
      }
      lines.add(setting(root, key) + " is not used: a cluster node sets it from " + SET_BY_NODE.get(key)
          + "; expected that setting");
    }
    return lines;
  }

  /** Where a key a config file sets is, for a message: {@code my.conf, line 3}; {@code label} names the file. */
  public static String at(String label, ConfigOrigin origin) {
    return label + (origin != null && origin.lineNumber() > 0 ? ", line " + origin.lineNumber() : "");
  }

  /**
   * Where {@code root} sets {@code key}, with its value, for the refusal of a value Config reads but splinewatch does
   * not take, in the words the user set it with: {@code config file my.conf, line 2: splinewatch.alerts.early-stop =
   * "maybe"}, {@code the system property -Dsplinewatch.alerts.early-stop=maybe (JAVA_OPTS)}, {@code the environment
   * variable CONFIG_FORCE_splinewatch_alerts_early__stop=maybe}, else {@code splinewatch.alerts.early-stop = "maybe"}.
   * A command-line option is named by its command, which checks it before.
   */
  public static String setting(Config root, String key) {
    ConfigValue value = root.getValue(key);
    ConfigOrigin origin = value.origin();
    String plain = String.valueOf(value.unwrapped());
    if (origin.filename() != null) {
      return where(origin) + ": " + key + " = " + concise(value);
    }
    if (fromSystemProperty(origin)) {
      return "the system property -D" + key + "=" + plain + " (JAVA_OPTS)";
    }
    if (fromEnvironment(origin)) {
      return "the environment variable " + environmentVariable(key) + "=" + plain;
    }
    return key + " = " + concise(value);
  }

  /**
   * The one of {@code names} a misspelt {@code name} most likely meant: the nearest by edits (a letter added, dropped,
   * changed, or two neighbours swapped), at most 1 edit for names of up to 4 letters and 2 beyond; empty when none is
   * that near.
   */
  public static Optional<String> closest(String name, Collection<String> names) {
    int limit = name.length() <= 4 ? 1 : 2;
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : new TreeSet<>(names)) {
      int d = edits(name.toLowerCase(Locale.ROOT), candidate.toLowerCase(Locale.ROOT));
      if (d <= limit && d < bestDistance && !candidate.equals(name)) {
        best = candidate;
        bestDistance = d;
      }
    }
    return Optional.ofNullable(best);
  }

  /** Edits from {@code a} to {@code b}: insertions, deletions, substitutions and swaps of neighbours. */
  static int edits(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }

  /** The value at {@code key}, which {@code root} has, as set (a null included). */
  private static ConfigValue raw(Config root, String key) {
    ConfigValue v = root.root();
    for (String part : ConfigUtil.splitPath(key)) {
      v = ((ConfigObject) v).get(part);
    }
    return v;
  }

  /** Whether Pekko can read {@code key} of {@code root} as {@code kind}. */
  private static boolean readable(Config root, String key, Kind kind) {
    try {
      switch (kind) {
        case WHOLE_NUMBER -> {
          root.getLong(key);
          return !(root.getValue(key).unwrapped() instanceof Double);
        }
        case BOOLEAN -> root.getBoolean(key);
        case STRING -> root.getString(key);
        case STRINGS -> root.getStringList(key);
        case DURATION -> root.getDuration(key);
        case SECTION -> root.getConfig(key);
        case LOG_LEVEL -> {
          return List.of("off", "error", "warning", "info", "debug").contains(root.getString(key).toLowerCase(
              Locale.ROOT));
        }
        case ON_OFF_OR_COUNT -> {
          String v = root.getString(key).toLowerCase(Locale.ROOT);
          if (!List.of("on", "off", "true", "false").contains(v)) {
            root.getInt(key);
          }
        }
        case PORT_OR_EMPTY -> {
          if (!root.getString(key).isEmpty()) {
            return readable(root, key, Kind.WHOLE_NUMBER);
          }
        }
        default -> throw new IllegalStateException(kind.name());
      }
      return true;
    } catch (ConfigException e) {
      return false;
    }
  }

  /** The HOCON type a value of {@code kind} has when it is written plainly (a boolean as on/off is a string). */
  private static ConfigValueType typeOf(Kind kind) {
    return switch (kind) {
      case WHOLE_NUMBER -> ConfigValueType.NUMBER;
      case BOOLEAN -> ConfigValueType.BOOLEAN;
      case STRINGS -> ConfigValueType.LIST;
      case SECTION -> ConfigValueType.OBJECT;
      default -> ConfigValueType.STRING;
    };
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

  /**
   * Where {@code key} is set: the system property or environment variable ({@code EnvOverrides}) that sets it, else
   * {@link #where(ConfigOrigin)}.
   */
  private static String where(ConfigOrigin origin, String key) {
    if (fromSystemProperty(origin)) {
      return "the system property -D" + key + " (JAVA_OPTS)";
    }
    if (fromEnvironment(origin)) {
      return "the environment variable " + environmentVariable(key);
    }
    return where(origin);
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
