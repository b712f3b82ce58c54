package org.splinewatch.settings;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The {@code pekko} keys a config file sets, against those the class path's reference.conf files (Pekko's own,
 * splinewatch's) define: a misspelt one ({@code pekko.remote.artery.canonical.prot}, {@code pekko.loglevl}) was
 * ignored without a word, as Pekko reads only the keys it knows. Sections whose keys the user names are not checked:
 * {@link #FREE_FORM}.
 */
public final class PekkoKeys {
  /**
   * Sections whose keys are names of the user's choosing (class names, actor paths, shutdown phases, roles, Jackson
   * bindings and features, header names) or overrides of another section: anything under them is accepted.
   */
  static final Set<String> FREE_FORM = Set.of(
      "pekko.actor.deployment",
      "pekko.actor.serializers",
      "pekko.actor.serialization-bindings",
      "pekko.actor.serialization-identifiers",
      "pekko.actor.mailbox.requirements",
      "pekko.actor.router.type-mapping",
      "pekko.coordinated-shutdown.phases",
      "pekko.coordinated-shutdown.reason-overrides",
      "pekko.cluster.role",
      "pekko.cluster.configuration-compatibility-check.checkers",
      "pekko.cluster.configuration-compatibility-check.sensitive-config-paths",
      "pekko.remote.classic.adapters",
      "pekko.circuit-breaker",
      "pekko.serialization.jackson");
  /** Free-form sections by their own name, wherever they are (pekko.http.parsing, server.parsing, client.parsing). */
  static final Set<String> FREE_FORM_NAMES = Set.of("header-cache");
  /**
   * Sections that override another one and may set any of its keys, though reference.conf leaves them (nearly) empty:
   * "no overrides by default, see pekko.http.parsing".
   */
  static final Map<String, String> OVERRIDES = Map.of(
      "pekko.http.server.parsing", "pekko.http.parsing",
      "pekko.http.client.parsing", "pekko.http.parsing",
      "pekko.http.host-connection-pool.client", "pekko.http.client",
      "pekko.http.host-connection-pool.client.parsing", "pekko.http.parsing");
  /** Listed in the message when a section has at most this many keys; a larger one is named. */
  private static final int LISTED = 8;

  private PekkoKeys() {
  }

  /**
   * The first key under {@code pekko} of {@code file} (a config file as parsed) that {@code reference} (the class
   * path's reference.conf files) does not define, in one line naming the file ({@code label}) and line, the key,
   * what is expected and the nearest key ({@code unknown setting pekko.loglevl in my.conf, line 2; expected a key of
   * pekko in Pekko's reference.conf (see docs/options.md); did you mean pekko.loglevel?}); empty when there is none.
   */
  public static Optional<String> unknownKey(Config file, Config reference, String label) {
    if (!(file.root().get("pekko") instanceof ConfigObject pekko)) {
      return Optional.empty(); // none, or not a section: Pekko's own error
    }
    return unknownKey(pekko, List.of("pekko"), reference.getObject("pekko"), reference, label);
  }

  private static Optional<String> unknownKey(ConfigObject set, List<String> path, ConfigObject known,
      Config reference, String label) {
    List<Map.Entry<String, ConfigValue>> entries = new ArrayList<>(set.entrySet());
    // the first in the file first: the line a user reads from the top
    entries.sort(Comparator.comparingInt((Map.Entry<String, ConfigValue> e) -> e.getValue().origin().lineNumber())
        .thenComparing(Map.Entry::getKey));
    for (var e : entries) {
      List<String> key = new ArrayList<>(path);
      key.add(e.getKey());
      String joined = ConfigUtil.joinPath(key);
      ConfigValue defined = known.get(e.getKey());
      if (defined == null) {
        String section = ConfigUtil.joinPath(path);
        List<String> names = known.keySet().stream().sorted().toList();
        if (section.equals("pekko.actor") && ConfigErrors.closest(e.getKey(), names).isEmpty()) {
          Optional<String> dispatcher = unusedDispatcher(joined, e.getValue(), reference, label);
          if (dispatcher.isPresent()) {
            return dispatcher;
          }
        }
        return Optional.of("unknown setting " + joined + " in " + ConfigErrors.at(label, e.getValue().origin())
            + "; expected a key of " + section + " in Pekko's reference.conf"
            + (names.size() <= LISTED ? " (" + String.join(", ", names) + ")" : " (see docs/options.md)")
            + ConfigErrors.closest(e.getKey(), names).map(c -> {
              List<String> meant = new ArrayList<>(path);
              meant.add(c);
              return "; did you mean " + ConfigUtil.joinPath(meant) + "?";
            }).orElse(""));
      }
      if (FREE_FORM.contains(joined) || FREE_FORM_NAMES.contains(e.getKey())) {
        continue;
      }
      if (e.getValue() instanceof ConfigObject child && defined instanceof ConfigObject section) {
        Optional<String> deeper = unknownKey(child, key, withDefaults(joined, section, reference), reference, label);
        if (deeper.isPresent()) {
          return deeper;
        }
      }
    }
    return Optional.empty();
  }

  /**
   * A dispatcher of the user's own, {@code key} (an unknown key: {@code pekko.actor.my-dispatcher} or a top-level
   * {@code my-dispatcher}) whose {@code value} is a section with a dispatcher setting ({@code type}, {@code executor},
   * {@code throughput}, ...), in one line saying that it would have no effect, as splinewatch's actors look up only
   * their own dispatchers, and where those are set; empty for anything else, a plain unknown key.
   */
  public static Optional<String> unusedDispatcher(String key, ConfigValue value, Config reference, String label) {
    Set<String> dispatcherKeys = reference.getObject("pekko.actor.default-dispatcher").keySet();
    if (!(value instanceof ConfigObject section) || section.keySet().stream().noneMatch(dispatcherKeys::contains)) {
      return Optional.empty();
    }
    return Optional.of("unused dispatcher " + key + " in " + ConfigErrors.at(label, value.origin()) + ": no actor of"
        + " splinewatch looks it up, so it would have no effect; expected a setting of splinewatch's own dispatchers,"
        + " splinewatch-analysis-dispatcher (the analyzers) or splinewatch-trainer-dispatcher (the trainer),"
        + " top-level sections (see docs/settings.md), or of pekko.actor.default-dispatcher (Pekko's own actors)");
  }

  /**
   * The keys a dispatcher's {@code section} may set: its own and any of {@code pekko.actor.default-dispatcher} and
   * {@code default-mailbox} of {@code reference}, which Pekko reads it with as fallback.
   */
  public static ConfigObject asDispatcher(ConfigObject section, Config reference) {
    Config actor = reference.getConfig("pekko.actor");
    return section.withFallback(actor.getObject("default-dispatcher")).withFallback(actor.getObject("default-mailbox"));
  }

  /**
   * A dispatcher's section (it names an executor) may set anything of {@code pekko.actor.default-dispatcher} and
   * {@code default-mailbox}, a mailbox's anything of {@code default-mailbox}: Pekko reads them with those as fallback;
   * an overriding section ({@link #OVERRIDES}) anything of the section it overrides.
   */
  private static ConfigObject withDefaults(String path, ConfigObject section, Config reference) {
    Config actor = reference.getConfig("pekko.actor");
    if (OVERRIDES.containsKey(path)) {
      return section.withFallback(reference.getObject(OVERRIDES.get(path)));
    }
    if (section.containsKey("executor")) {
      return asDispatcher(section, reference);
    }
    if (section.containsKey("mailbox-type")) {
      return section.withFallback(actor.getObject("default-mailbox"));
    }
    return section;
  }
}
