package org.splinewatch.cli;

import java.util.Arrays;
import org.apache.pekko.Version;
import org.slf4j.LoggerFactory;
import org.splinewatch.run.SignalStop;
import org.splinewatch.snapshot.Provenance;
import picocli.CommandLine;

/** Entry point: {@code train …} for {@code ./trainer}, {@code monitor …} for {@code ./monitor}. */
public final class Main {
  private Main() {
  }

  public static void main(String[] args) {
    // where standard output holds the results (not a trainer's or server's console log): a full disk under > FILE is
    // exit 1, not 0
    CheckedStandardOutput stdout = args.length > 1 && args[0].equals("monitor")
        && RESULTS_ON_STDOUT.contains(args[1]) ? CheckedStandardOutput.install() : null;
    if (args.length > 0 && args[0].equals("train")) {
      SignalStop.exitBeforeRun(System.out); // Ctrl-C while the command line is read: one line, not a silent exit
    } else if (args.length > 1 && args[0].equals("monitor") && args[1].equals("serve")) {
      SignalStop.exitBeforeServing(System.out);
    }
    int code = execute(args);
    String lost = stdout == null ? null : stdout.problem();
    if (lost != null) {
      System.err.println("error: " + lost);
      code = code == 0 ? 1 : code;
    }
    System.exit(code);
  }

  /** The monitor commands whose standard output is their result (the others' is a console log). */
  static final java.util.Set<String> RESULTS_ON_STDOUT = java.util.Set.of("regions", "report", "detection",
      "bench-regions", "bench-overhead", "bench-cluster", "bench-soak", "certs");

  /** Runs a command line and returns its exit code (tests call this directly). */
  public static int execute(String... args) {
    // initialise logging before any actor system starts: otherwise SLF4J replays (and announces) log calls made
    // concurrently during its initialisation
    LoggerFactory.getILoggerFactory();
    if (args.length == 0 || !(args[0].equals("train") || args[0].equals("monitor"))) {
      System.err.println("usage: splinewatch train [options] | splinewatch monitor <" + MonitorCommand.subcommands("|")
          + "> [options]");
      return 2;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    CommandLine cl = args[0].equals("train") ? new CommandLine(new TrainCommand())
        : new CommandLine(new MonitorCommand());
    withVersion(cl, "splinewatch " + Provenance.version() + " (DL4J/ND4J 1.0.0-M2.1, Pekko "
        + Version.current() + ", Java " + System.getProperty("java.version") + ")");
    // bad arguments: the one line that says what was wrong, and where the options are listed (not the whole usage)
    cl.setParameterExceptionHandler((ex, ignoredArgs) -> {
      CommandLine failed = ex.getCommandLine();
      failed.getErr().println("error: " + unknownSubcommand(ex).or(() -> unknownOption(ex))
          .or(() -> strayArgument(ex))
          .or(() -> unknownOptionBeforeMissing(ex)).or(() -> notANumber(ex)).or(() -> missing(ex))
          .orElse(oneLine(ex)));
      failed.getErr().println(helpHint(failed.getCommandSpec()));
      return 2;
    });
    cl.setExecutionExceptionHandler((ex, line, parsed) -> {
      line.getErr().println("error: " + oneLine(ex));
      return 1;
    });
    cl.setExecutionStrategy(parsed -> {
      Integer help = CommandLine.executeHelpRequest(parsed); // --help and --version whatever else is given
      if (help != null) {
        return help;
      }
      refuseEmptyListItems(parsed);
      return new CommandLine.RunLast().execute(parsed);
    });
    return cl.execute(rest);
  }

  /**
   * Refuses, as a bad argument, a comma-separated option value with an empty item: picocli drops a trailing one
   * ({@code --hidden 64,} read as {@code 64}, a second width forgotten) and keeps a leading or doubled one as "".
   */
  static void refuseEmptyListItems(CommandLine.ParseResult parsed) {
    for (CommandLine.ParseResult level = parsed; level != null; level = level.subcommand()) {
      for (CommandLine.Model.OptionSpec option : level.matchedOptions()) {
        if (option.splitRegex().isEmpty()) {
          continue;
        }
        for (String value : option.originalStringValues()) {
          if (Arrays.asList(value.split(option.splitRegex(), -1)).contains("")) {
            throw new CommandLine.ParameterException(level.commandSpec().commandLine(), option.longestName() + " '"
                + value + "' has an empty item; expected values separated by single commas, none at either end");
          }
        }
      }
    }
  }

  /** The line every bad argument's error ends with: {@code (./monitor report --help lists the options)}. */
  static String helpHint(CommandLine.Model.CommandSpec spec) {
    return "(" + spec.qualifiedName(" ").replaceFirst("^trainer", "./trainer").replaceFirst("^monitor", "./monitor")
        + " --help lists the options)";
  }

  /** What {@code --version} prints, on every command and subcommand. */
  private static void withVersion(CommandLine command, String version) {
    command.getCommandSpec().version(version);
    command.getSubcommands().values().forEach(sub -> withVersion(sub, version));
  }

  /**
   * {@code ./monitor bogus}: picocli's "Unmatched argument at index 0" does not say that a subcommand was expected;
   * this line names it and lists the subcommands. Empty for every other error.
   */
  private static java.util.Optional<String> unknownSubcommand(CommandLine.ParameterException ex) {
    if (ex instanceof CommandLine.UnmatchedArgumentException u && u.getCommandLine().getCommand() instanceof MonitorCommand
        && !u.getUnmatched().isEmpty() && !u.getUnmatched().get(0).startsWith("-")) {
      return java.util.Optional.of("unknown subcommand '" + u.getUnmatched().get(0) + "'; expected one of: "
          + MonitorCommand.subcommands(", "));
    }
    return java.util.Optional.empty();
  }

  /**
   * One mistyped option, alone or with the word after it, its value ({@code ./trainer --epoch 2}, {@code
   * --epoch=2}): picocli said "Unknown option: '--epoch=2'", or the value was named as an unexpected argument; this
   * line names the option and the nearest options picocli finds. Empty for every other error.
   */
  static java.util.Optional<String> unknownOption(CommandLine.ParameterException ex) {
    if (!(ex instanceof CommandLine.UnmatchedArgumentException u) || u.getCommandLine().getCommand()
        instanceof MonitorCommand) {
      return java.util.Optional.empty();
    }
    java.util.List<String> unmatched = u.getUnmatched();
    if (unmatched.isEmpty() || unmatched.size() > 2 || !unmatched.get(0).startsWith("-")
        || unmatched.size() == 2 && unmatched.get(1).startsWith("-")) {
      return java.util.Optional.empty();
    }
    java.util.List<String> near = u.getSuggestions().stream().limit(3).toList();
    return java.util.Optional.of("unknown option '" + unmatched.get(0) + "'; " + (near.isEmpty()
        ? "expected one of the options --help lists" : "did you mean " + String.join(" or ", near) + "?"));
  }

  /**
   * An unknown option where a required parameter is missing too ({@code ./monitor report --bogus}): picocli named
   * only the missing parameter ("Missing required parameter: 'RUN_DIR'"), though the option is what was mistyped.
   */
  static java.util.Optional<String> unknownOptionBeforeMissing(CommandLine.ParameterException ex) {
    java.util.List<String> options = unmatched(ex.getCommandLine(), true);
    if (!(ex instanceof CommandLine.MissingParameterException m) || options.isEmpty()) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(quoted("unknown option", options) + " (and " + m.getMissing().stream()
        .map(a -> a instanceof CommandLine.Model.OptionSpec o ? o.longestName() : a.paramLabel())
        .collect(java.util.stream.Collectors.joining(", ")) + " is missing)");
  }

  /**
   * A required argument, or an option's value, not given ({@code ./monitor report}, {@code ./trainer --seed}): picocli
   * said "Missing required parameter: 'RUN_DIR'" or "Missing required parameter for option '--seed' (<seed>)", not
   * what was expected there; this line names it with its description from the help.
   */
  static java.util.Optional<String> missing(CommandLine.ParameterException ex) {
    if (!(ex instanceof CommandLine.MissingParameterException m) || m.getMissing().size() != 1) {
      return java.util.Optional.empty();
    }
    CommandLine.Model.ArgSpec arg = m.getMissing().get(0);
    String described = String.join(" ", arg.description());
    boolean valueOfGivenOption = String.valueOf(ex.getMessage()).startsWith("Missing required parameter for option");
    if (arg instanceof CommandLine.Model.OptionSpec o) {
      return java.util.Optional.of(o.longestName() + (valueOfGivenOption ? " has no value" : " is missing")
          + "; expected " + o.longestName() + " " + o.paramLabel() + ": " + described);
    }
    return java.util.Optional.of(arg.paramLabel() + " is missing; expected " + described);
  }

  /** picocli's refusal of a value that does not convert to an option's number type. */
  private static final java.util.regex.Pattern NOT_A_NUMBER = java.util.regex.Pattern.compile(
      "Invalid value for (?:option|positional parameter) '([^']+)'(?: \\([^)]*\\))?: '(.*)' is not an? (int|long|short"
      + "|byte|double|float)");

  /**
   * A value that is no number ({@code --drop abc}, {@code --tuning-seeds 42,x}): picocli said "'abc' is not a double",
   * a Java type, and nothing of what a number looks like; this line names the option, the value and an example.
   */
  static java.util.Optional<String> notANumber(CommandLine.ParameterException ex) {
    java.util.regex.Matcher m = NOT_A_NUMBER.matcher(String.valueOf(ex.getMessage()));
    if (!m.matches()) {
      return java.util.Optional.empty();
    }
    boolean whole = !m.group(3).equals("double") && !m.group(3).equals("float");
    boolean list = ex.getArgSpec() != null && !ex.getArgSpec().splitRegex().isEmpty();
    String expected = list ? (whole ? "whole numbers separated by single commas, such as 42,7"
        : "numbers separated by single commas, such as 0.5,1e-3")
        : whole ? "a whole number, such as 42" : "a number, such as 0.05 or 1e-3";
    return java.util.Optional.of(m.group(1) + (m.group(2).isEmpty() ? " has an empty " + (list ? "item" : "value")
        : (list ? " item '" : " '") + m.group(2) + "' is not a " + (whole ? "whole number" : "number"))
        + "; expected " + expected);
  }

  /** The arguments picocli matched to nothing: those that look like options, or the others. */
  private static java.util.List<String> unmatched(CommandLine failed, boolean options) {
    return failed.getUnmatchedArguments().stream().filter(a -> a.startsWith("-") == options).toList();
  }

  /** {@code unknown option '--a'}, or {@code unknown options '--a', '--b'}: {@code what} and the items quoted. */
  private static String quoted(String what, java.util.List<String> items) {
    return what + (items.size() == 1 ? " '" : "s '") + String.join("', '", items) + "'";
  }

  /**
   * A word the command has no place for ({@code ./monitor regions toy.npz}, {@code certs a b}): picocli said
   * "Unmatched argument at index 2: 'b'" (with an unknown option among them "Unmatched arguments from index 1: 'foo',
   * '--bogus'"), or "Missing required option: '--model=<model>'" where the word was meant for that option; this line
   * names the word and what the command takes. Empty for every other error (unknown options alone: picocli's line
   * names them).
   */
  static java.util.Optional<String> strayArgument(CommandLine.ParameterException ex) {
    CommandLine failed = ex.getCommandLine();
    java.util.List<String> words = unmatched(failed, false);
    java.util.List<String> options = unmatched(failed, true);
    if (failed.getCommand() instanceof MonitorCommand || words.isEmpty()
        || !(ex instanceof CommandLine.UnmatchedArgumentException
        || ex instanceof CommandLine.MissingParameterException && options.isEmpty())) {
      return java.util.Optional.empty();
    }
    String what = (options.isEmpty() ? "" : quoted("unknown option", options) + " and ")
        + quoted("unexpected argument", words);
    if (ex instanceof CommandLine.MissingParameterException m) {
      // the value of the one required option, given without the option's name
      if (words.size() == 1 && m.getMissing().size() == 1
          && m.getMissing().get(0) instanceof CommandLine.Model.OptionSpec o) {
        return java.util.Optional.of(what + "; expected it as " + o.longestName() + " " + words.get(0));
      }
      return java.util.Optional.empty();
    }
    java.util.List<String> takes = failed.getCommandSpec().positionalParameters().stream()
        .map(p -> (p.arity().max() == 1 ? "one " + p.paramLabel() : p.paramLabel() + "...")).toList();
    return java.util.Optional.of(what + "; expected " + (takes.isEmpty() ? "options only"
        : String.join(" and ", takes) + " besides the options"));
  }

  /**
   * Why the directory {@code dir}, made where missing (certs DIR, bench-soak --out), cannot be made, as the start of
   * the error line, or null: it, or a directory above it, is a symbolic link to nothing, or the path goes through a
   * file. They failed only when made, in java.nio's words ("already exists", "Not a directory"; certs with exit 1).
   */
  static String directoryToMakeProblem(java.nio.file.Path dir) {
    for (java.nio.file.Path p = dir.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
      if (java.nio.file.Files.isSymbolicLink(p) && !java.nio.file.Files.exists(p)) {
        String to;
        try {
          to = java.nio.file.Files.readSymbolicLink(p).toString();
        } catch (java.io.IOException | UnsupportedOperationException e) {
          to = "a missing file";
        }
        return dir + ": " + (p.equals(dir.toAbsolutePath().normalize()) ? "it" : p) + " is a symbolic link to " + to
            + ", which does not exist";
      }
      if (java.nio.file.Files.exists(p)) {
        return java.nio.file.Files.isDirectory(p) || p.equals(dir.toAbsolutePath().normalize()) ? null
            : dir + ": " + p + " is a file, not a directory";
      }
    }
    return null;
  }

  /**
   * Why a path argument cannot be used, or null: one given as "" (an unset shell variable in {@code --out "$DIR"})
   * is {@code Path.of("")}, the working directory, where it was used as such (certificates, experiment runs).
   */
  static String emptyPath(String name, java.nio.file.Path path, String expected) {
    return path != null && path.toString().isEmpty() ? name + " is empty; expected " + expected : null;
  }

  /** As above, for an option read as a {@link java.io.File} ({@code --config}). */
  static String emptyPath(String name, java.io.File file, String expected) {
    return emptyPath(name, file == null ? null : file.toPath(), expected);
  }

  /** The first of {@code problems} ({@link #emptyPath}'s, one per path argument) that is not null, or null. */
  static String firstProblem(String... problems) {
    return java.util.Arrays.stream(problems).filter(java.util.Objects::nonNull).findFirst().orElse(null);
  }

  /** Refuses, as a bad argument, the first of {@code problems} ({@link #emptyPath}'s) that is not null. */
  static void refuseEmptyPaths(CommandLine commandLine, String... problems) {
    String empty = firstProblem(problems);
    if (empty != null) {
      throw new CommandLine.ParameterException(commandLine, empty);
    }
  }

  /** Refuses, as a bad argument, a path of {@code paths} (the arguments named {@code name}) given as "". */
  static void refuseEmptyPaths(CommandLine commandLine, String name, java.util.List<java.nio.file.Path> paths,
      String expected) {
    refuseEmptyPaths(commandLine, paths.stream().map(p -> emptyPath(name, p, expected)).toArray(String[]::new));
  }

  static String oneLine(Throwable e) {
    String m = e.getMessage();
    return (m == null ? e.getClass().getSimpleName() : m).lines().findFirst().orElse("");
  }
}
