package org.splinewatch.settings;

import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * Typesafe Config's {@code CONFIG_FORCE_} environment variables: with {@code -Dconfig.override_with_env_vars=true}
 * {@code ConfigFactory.load()} reads each as a key over every file and system property
 * ({@code CONFIG_FORCE_splinewatch_run_batch__size=64} sets {@code splinewatch.run.batch-size}); without that property
 * they are not read at all. The name maps as Config maps it: {@code _} is {@code .}, {@code __} is {@code -},
 * {@code ___} is {@code _}; more underscores in a row are Config's error.
 */
public final class EnvOverrides {
  public static final String PREFIX = "CONFIG_FORCE_";
  /** The system property that makes Config read the variables. */
  public static final String PROPERTY = "config.override_with_env_vars";
  /** Config's origin description of the values it read from them. */
  public static final String ORIGIN = "env variables overrides";

  private EnvOverrides() {
  }

  /** Whether Config reads the variables: {@code -Dconfig.override_with_env_vars=true}, as Config parses it. */
  public static boolean enabled(Properties properties) {
    return Boolean.parseBoolean(properties.getProperty(PROPERTY));
  }

  /**
   * The key {@code variable} (a name starting with {@link #PREFIX}) sets; one Config cannot map (four underscores in a
   * row) is an {@link IllegalArgumentException} with one line.
   */
  public static String key(String variable) {
    StringBuilder key = new StringBuilder();
    int underscores = 0;
    String rest = variable.substring(PREFIX.length());
    for (int i = 0; i <= rest.length(); i++) {
      char c = i < rest.length() ? rest.charAt(i) : 0;
      if (c == '_') {
        underscores++;
        continue;
      }
      if (underscores > 3) {
        throw new IllegalArgumentException("the environment variable " + variable + " has " + underscores
            + " underscores in a row; expected _ for a dot, __ for a dash or ___ for an underscore (Typesafe Config's"
            + " " + PREFIX + " names, see docs/options.md)");
      }
      if (underscores > 0) {
        key.append(underscores == 1 ? '.' : underscores == 2 ? '-' : '_');
      }
      underscores = 0;
      if (c != 0) {
        key.append(c);
      }
    }
    return key.toString();
  }

  /** The variable that sets {@code key}: {@code splinewatch.run.batch-size} is CONFIG_FORCE_splinewatch_run_batch__size. */
  public static String variable(String key) {
    StringBuilder name = new StringBuilder(PREFIX);
    for (char c : key.toCharArray()) {
      name.append(c == '.' ? "_" : c == '-' ? "__" : c == '_' ? "___" : String.valueOf(c));
    }
    return name.toString();
  }

  /** The variable of {@code environment} that sets {@code key}, when one does. */
  public static Optional<String> variableOf(String key, Map<String, String> environment) {
    return environment.keySet().stream().filter(v -> v.startsWith(PREFIX)).sorted()
        .filter(v -> {
          try {
            return key(v).equals(key);
          } catch (IllegalArgumentException e) {
            return false;
          }
        }).findFirst();
  }
}
