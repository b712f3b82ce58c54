package org.splinewatch.cli;

import com.typesafe.config.Config;
import java.io.File;
import java.util.Map;

/**
 * The settings a launcher's memory budget needs from a {@code --config} file (src/main/sh/memory.sh): {@code java -cp
 * JAR org.splinewatch.cli.LauncherSettings FILE KEY...} prints {@code KEY=VALUE} for each KEY that the file, or {@code
 * -Dconfig.file} / {@code -Dsplinewatch.KEY} among its system properties, or a {@code CONFIG_FORCE_} variable, sets,
 * read as {@link TrainCommand#load} reads them, in its order (a {@code -D} over the file; includes, quoted keys, nested
 * sections, substitutions). FILE may be empty (no {@code --config}). It prints
 * nothing and exits 1 when the files cannot be read: the command itself then refuses them in its own words.
 */
public final class LauncherSettings {
  private LauncherSettings() {
  }

  public static void main(String[] args) {
    if (args.length < 1) {
      System.exit(1);
    }
    Config config;
    try {
      config = TrainCommand.load(Map.of(), args[0].isEmpty() ? null : new File(args[0]));
    } catch (RuntimeException e) {
      System.exit(1);
      return;
    }
    StringBuilder out = new StringBuilder();
    for (int i = 1; i < args.length; i++) {
      String key = args[i];
      if (config.hasPath(key) && !"reference.conf".equals(config.getValue(key).origin().resource())) {
        out.append(key).append('=').append(config.getValue(key).unwrapped()).append('\n');
      }
    }
    System.out.print(out);
  }
}
