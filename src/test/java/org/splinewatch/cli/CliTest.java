package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.data.DatasetLoader;
import org.splinewatch.data.SyntheticData;

/** Bad input on the command line: exit codes and one-line messages. */
class CliTest {
  @TempDir
  Path tmp;

  /** The line after a bad argument of ./monitor report. */
  private static final String REPORT_HELP = System.lineSeparator() + "(./monitor report --help lists the options)";
  private static final String DETECTION_HELP = System.lineSeparator()
      + "(./monitor detection --help lists the options)";
  private static final String CERTS_HELP = System.lineSeparator() + "(./monitor certs --help lists the options)";
  private static final String EXPERIMENT_HELP = System.lineSeparator()
      + "(./monitor experiment --help lists the options)";

  static String run(int expected, String... args) {
    return org.splinewatch.TestTools.cli(expected, args);
  }

  @Test
  void badArgumentsPrintOneErrorLineAndWhereTheOptionsAreNotTheWholeUsage() {
    String m = run(2, "train", "--run-id", "..");
    assertTrue(m.startsWith("error: run id '..' is not valid"), m);
    assertTrue(m.contains("(./trainer --help lists the options)") && !m.contains("Usage:"), m);
    assertTrue(m.strip().lines().count() == 2, m);
    String r = run(2, "monitor", "report", "--bogus");
    assertTrue(r.contains("(./monitor report --help lists the options)") && !r.contains("Usage:"), r);
  }

  /**
   * A word the command has no place for is named with what the command takes: picocli's "Unmatched argument at index
   * 2: 'b'" did not say what was expected, and {@code regions toy.npz} said only that --model was missing.
   */
  @Test
  void aStrayArgumentIsNamedWithWhatTheCommandTakes() {
    assertEquals("error: unexpected argument 'toy.npz'; expected it as --model toy.npz\n(./monitor regions --help"
        + " lists the options)", run(2, "monitor", "regions", "toy.npz").strip());
    assertEquals("error: unexpected argument 'b.npz'; expected options only\n(./monitor regions --help lists the"
        + " options)", run(2, "monitor", "regions", "--model", "a.npz", "b.npz").strip());
    assertEquals("error: unexpected argument 'b'; expected one DIR besides the options" + CERTS_HELP,
        run(2, "monitor", "certs", tmp.resolve("a").toString(), "b").strip());
    assertFalse(Files.exists(tmp.resolve("a")), "nothing written");
    assertEquals("error: unknown option '--bogus' and unexpected arguments 'x', 'y'; expected options only\n"
        + "(./monitor bench-soak --help lists the options)", run(2, "monitor", "bench-soak", "x", "--bogus", "y")
        .strip());
    assertEquals("error: unexpected argument 'extra'; expected options only\n(./trainer --help lists the options)",
        run(2, "train", "--max-steps", "5", "extra").strip());
    // it named only the missing RUN_DIR, not the mistyped option
    assertEquals("error: unknown option '--bogus' (and RUN_DIR is missing)\n(./monitor report --help lists the"
        + " options)", run(2, "monitor", "report", "--bogus").strip());
  }

  /**
   * A required argument or an option's value left out is named with what was expected there: picocli said "Missing
   * required parameter: 'RUN_DIR'" or "Missing required parameter for option '--seed' (<seed>)".
   */
  @Test
  void aMissingArgumentIsNamedWithWhatIsExpected() {
    assertEquals("error: RUN_DIR is missing; expected run directories (runs/<run-id>)" + REPORT_HELP,
        run(2, "monitor", "report").strip());
    assertEquals("error: DIR is missing; expected directory for the CA, stores and password" + CERTS_HELP,
        run(2, "monitor", "certs").strip());
    assertTrue(run(2, "monitor", "regions").strip().startsWith("error: --model is missing; expected --model <model>:"
        + " network and plane as .npz"));
    assertEquals("error: --seed has no value; expected --seed <seed>: random seed (default 42)\n(./trainer --help"
        + " lists the options)", run(2, "train", "--seed").strip());
  }

  /** A mistyped option is named with the options nearest to it: picocli said "Unknown option: '--epoch=2'". */
  @Test
  void aMistypedOptionIsNamedWithTheNearestOptions() {
    assertEquals("error: unknown option '--epoch=2'; did you mean --epochs?\n(./trainer --help lists the options)",
        run(2, "train", "--epoch=2").strip());
    assertEquals("error: unknown option '--epoch'; did you mean --epochs?\n(./trainer --help lists the options)",
        run(2, "train", "--epoch", "2").strip());
    assertTrue(run(2, "monitor", "report", "--outt", "x", "runs/a").startsWith("error: unknown option '--outt';"
        + " did you mean --out"));
  }

  /**
   * A list's default is shown as it is typed on the command line ({@code 42,7}), not as Java prints a list ({@code
   * [42, 7]}, which cannot be passed back).
   */
  @Test
  void helpShowsListDefaultsAsTheyAreTyped() {
    for (String command : MonitorCommand.subcommands(",").split(",")) {
      String help = run(0, "monitor", command, "--help").replaceAll("\\s+", " ");
      assertFalse(help.contains("(default ["), command + ": " + help);
    }
    assertTrue(run(0, "monitor", "detection", "--help").replaceAll("\\s+", " ").contains("(default 42,7)"));
    assertFalse(run(0, "train", "--help").replaceAll("\\s+", " ").contains("(default ["));
    // the defaults are still the lists, once, and a list given replaces them
    DetectionCommand detection = new DetectionCommand();
    new picocli.CommandLine(detection).parseArgs("runs");
    assertEquals(List.of(42L, 7L), detection.tuningSeeds);
    assertEquals(List.of("mnist"), detection.tuningDatasets);
    DetectionCommand given = new DetectionCommand();
    new picocli.CommandLine(given).parseArgs("--tuning-seeds", "1", "runs");
    assertEquals(List.of(1L), given.tuningSeeds);
    CertsCommand certs = new CertsCommand();
    new picocli.CommandLine(certs).parseArgs("dir");
    assertEquals(List.of("node"), certs.nodes);
    BenchClusterCommand bench = new BenchClusterCommand();
    new picocli.CommandLine(bench).parseArgs();
    assertEquals(List.of("embedding", "regions", "boundary"), bench.analyzers);
  }

  /**
   * The defaults the help texts of {@code ./trainer}, {@code monitor serve} and {@code monitor relay} state by hand
   * ("(default 42)") are reference.conf's: the options are read over reference.conf, so a changed default there left
   * the help stating the old one. A new option whose help states a default must be listed here.
   */
  @Test
  void helpDefaultsAreReferenceConfs() {
    Map<String, String> trainer = Map.ofEntries(Map.entry("--method", "run.method"),
        Map.entry("--dataset", "run.dataset"), Map.entry("--epochs", "run.epochs"),
        Map.entry("--batch-size", "run.batch-size"), Map.entry("--seed", "run.seed"),
        Map.entry("--snapshot-every", "run.snapshot-every"), Map.entry("--planes", "run.planes"),
        Map.entry("--out", "run.out"), Map.entry("--metrics-port", "metrics.port"),
        Map.entry("--metrics-host", "metrics.host"), Map.entry("--learning-rate", "run.learning-rate"),
        Map.entry("--temperature", "run.temperature"), Map.entry("--probe-size", "run.probe-size"),
        Map.entry("--hidden", "run.hidden"), Map.entry("--cnn-channels", "run.cnn-channels"),
        Map.entry("--projection-dim", "run.projection-dim"), Map.entry("--vicreg-std-coeff", "ssl.vicreg-std-coeff"),
        Map.entry("--vicreg-inv-coeff", "ssl.vicreg-inv-coeff"),
        Map.entry("--vicreg-cov-coeff", "ssl.vicreg-cov-coeff"), Map.entry("--ema-tau", "ssl.ema-tau"),
        Map.entry("--region-threads", "regions.threads"), Map.entry("--cluster-host", "cluster.host"));
    // defaults that are no single value of reference.conf: generated, from the environment, "all", "all but
    // local-complexity", the TLS file name, "both"
    List<String> notSettings = List.of("--run-id", "--cache-dir", "--train-subset", "--analyzers", "--tls-name",
        "--roles");
    Map<String, String> serve = Map.of("--host", "cluster.host", "--port", "cluster.port",
        "--metrics-port", "metrics.port", "--metrics-host", "metrics.host", "--out", "run.out", "--analysis-threads",
        TrainCommand.ANALYSIS_THREADS);
    Map<String, String> relay = Map.of("--host", "relay.host", "--port", "relay.port");
    picocli.CommandLine monitor = new picocli.CommandLine(new MonitorCommand());
    List<String> wrong = new java.util.ArrayList<>();
    wrong.addAll(helpDefaultProblems("./trainer", new picocli.CommandLine(new TrainCommand()), trainer, notSettings));
    wrong.addAll(helpDefaultProblems("serve", monitor.getSubcommands().get("serve"), serve, notSettings));
    wrong.addAll(helpDefaultProblems("relay", monitor.getSubcommands().get("relay"), relay, List.of("--sd-dir",
        "--token-file")));
    assertEquals(List.of(), wrong);
  }

  /** Each option of {@code command} whose help states "(default X…": X against its reference.conf key in keys. */
  private static List<String> helpDefaultProblems(String name, picocli.CommandLine command,
      Map<String, String> keys, List<String> notSettings) {
    com.typesafe.config.Config reference = com.typesafe.config.ConfigFactory.defaultReference();
    java.util.regex.Pattern stated = java.util.regex.Pattern.compile("\\(default ([^\\s);:]+)");
    List<String> problems = new java.util.ArrayList<>();
    for (picocli.CommandLine.Model.OptionSpec option : command.getCommandSpec().options()) {
      java.util.regex.Matcher m = stated.matcher(String.join(" ", option.description()));
      if (!m.find() || notSettings.contains(option.longestName())) {
        continue;
      }
      String key = keys.get(option.longestName());
      if (key == null) {
        problems.add(name + " " + option.longestName() + ": its help states default " + m.group(1) + "; add its"
            + " reference.conf key to this test");
        continue;
      }
      String path = key.startsWith("splinewatch-") ? key : "splinewatch." + key;
      Object value = reference.getValue(path).unwrapped();
      String expected = value instanceof List<?> list ? list.stream().map(String::valueOf)
          .collect(java.util.stream.Collectors.joining(",")) : String.valueOf(value);
      if (!m.group(1).equals(expected)) {
        problems.add(name + " " + option.longestName() + ": help says default " + m.group(1)
            + ", reference.conf's " + path + " is " + expected);
      }
    }
    return problems;
  }

  @Test
  void unknownMethodAndDatasetExitTwoListingValidValues() {
    String m = run(2, "train", "--method", "nope");
    assertTrue(m.contains("unknown --method 'nope'; expected one of: supervised, simclr"), m);
    String d = run(2, "train", "--dataset", "cifar");
    assertTrue(d.contains("unknown --dataset 'cifar'; expected one of: mnist, fashion-mnist"), d);
  }

  @Test
  void aBatchOfOneIsRefusedForTheSelfSupervisedMethods() {
    for (String method : new String[] {"simsiam", "simclr", "byol", "vicreg"}) {
      String m = run(2, "train", "--method", method, "--encoder", "cnn", "--batch-size", "1");
      assertTrue(m.contains("--batch-size 1: " + method + " needs at least 2 images per batch"), m);
    }
  }

  @Test
  void versionIsPrintedByEveryCommand() {
    for (String[] args : new String[][] {{"train", "--version"}, {"monitor", "--version"},
        {"monitor", "bench-overhead", "--version"}}) {
      String v = run(0, args);
      assertTrue(v.startsWith("splinewatch ") && v.contains("DL4J/ND4J 1.0.0-M2.1") && v.contains("Java 17"), v);
    }
  }

  @Test
  void badAlertSettingsAreNamed() {
    String key = run(2, "train", "--alert", "n-fires=2");
    assertTrue(key.contains("--alert 'n-fires=2': n-fires is no alert setting (did you mean n-fire?); expected"
        + " KEY=VALUE with KEY one of: ") && key.contains("n-fire,"), key);
    String far = run(2, "train", "--alert", "zzzzzz=2");
    assertTrue(far.contains("--alert 'zzzzzz=2': expected KEY=VALUE with KEY one of: "), far);
    String form = run(2, "train", "--alert", "n-fire");
    assertTrue(form.contains("expected KEY=VALUE"), form);
    String value = run(2, "train", "--alert", "n-fire=three");
    assertTrue(value.contains("--alert 'n-fire=three': expected a number for n-fire (reference.conf: 3)"), value);
    String range = run(2, "train", "--alert", "n-fire=0");
    // it listed all nine counts, not which one was given below 1 nor its value; now in the options' common words
    assertTrue(range.startsWith("error: splinewatch.alerts.n-fire 0: expected at least 1\n"), range);
    String two = run(2, "monitor", "detection", "--replay", "--alert", "batch-window=0", "--alert", "n-clear=-2", "x");
    assertTrue(two.startsWith("error: splinewatch.alerts.n-clear -2: expected at least 1\n"), two); // the first
  }

  @Test
  void badTagsAreNamed() {
    String form = run(2, "train", "--tag", "sweep");
    assertTrue(form.contains("--tag 'sweep': expected KEY=VALUE with KEY of letters, digits and '_'"), form);
    String comma = run(2, "train", "--tag", "a=b,c");
    assertTrue(comma.contains("--tag 'a=b,c': expected KEY=VALUE") && comma.contains("without ','"), comma);
    String twice = run(2, "train", "--tag", "a=1", "--tag", "a=2");
    assertTrue(twice.contains("--tag 'a=2': tag a given twice; expected each KEY once"), twice);
  }

  @Test
  void portInUseIsNamed() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();
      String m = run(1, "train", "--metrics-port", String.valueOf(port), "--data-dir", tmp.toString(), "--out",
          tmp.resolve("runs").toString());
      assertTrue(m.contains("metrics port " + port + " on 127.0.0.1 is already in use; choose another with"
          + " --metrics-port P (0 disables the endpoint)"), m);
      // monitor serve's port 0 picks a free port instead of disabling the endpoint
      String serve = run(1, "monitor", "serve", "--metrics-port", String.valueOf(port), "--port", "0", "--out",
          tmp.resolve("served").toString());
      assertTrue(serve.contains("metrics port " + port + " on 127.0.0.1 is already in use; choose another with"
          + " --metrics-port P (0 picks a free one)"), serve);
    }
  }

  @Test
  void aMetricsHostOfAnotherMachineIsABadArgument() throws Exception {
    // TEST-NET-1, an address of no machine here: exit 1 like a failure, although --metrics-host is what was wrong, and
    // serve had created --out and its lock by then
    String train = run(2, "train", "--metrics-host", "192.0.2.1", "--data-dir", tmp.toString(), "--out",
        tmp.resolve("runs").toString());
    assertEquals("error: --metrics-host 192.0.2.1 is not an address of this machine; expected one of its addresses"
        + " (e.g. 127.0.0.1 or 0.0.0.0)" + System.lineSeparator() + "(./trainer --help lists the options)",
        train.strip());
    assertFalse(Files.exists(tmp.resolve("runs")), train);
    String serve = run(2, "monitor", "serve", "--metrics-host", "nosuch.invalid", "--port", "0", "--out",
        tmp.resolve("served").toString());
    assertEquals("error: --metrics-host nosuch.invalid cannot be resolved; expected an address of this machine (e.g."
        + " 127.0.0.1 or 0.0.0.0)" + System.lineSeparator() + "(./monitor serve --help lists the options)",
        serve.strip());
    assertFalse(Files.exists(tmp.resolve("served")), serve);
    // loopback, a wildcard and a name of this machine pass the check
    assertEquals(java.util.Optional.empty(), org.splinewatch.metrics.MetricsHttpServer.notAnAddressHere("127.0.0.1"));
    assertEquals(java.util.Optional.empty(), org.splinewatch.metrics.MetricsHttpServer.notAnAddressHere("0.0.0.0"));
    assertEquals(java.util.Optional.empty(), org.splinewatch.metrics.MetricsHttpServer.notAnAddressHere("[::]"));
    assertEquals(java.util.Optional.empty(), org.splinewatch.metrics.MetricsHttpServer.notAnAddressHere("localhost"));
  }

  @Test
  void badClusterInputIsNamed() throws Exception {
    String monitor = run(2, "train", "--monitor", "localhost");
    assertTrue(monitor.contains("'localhost' is not HOST:PORT (e.g. 127.0.0.1:25520)"), monitor);
    String metricsPort = run(2, "monitor", "serve", "--metrics-port", "-1");
    assertTrue(metricsPort.contains("--metrics-port -1 is not a port; expected 0 (a free one) or 1-65535"),
        metricsPort);
    Path file = Files.writeString(tmp.resolve("afile"), "keep");
    String outFile = run(2, "monitor", "serve", "--out", file.toString());
    assertTrue(outFile.contains("--out " + file + " is a file; expected a directory of run directories"), outFile);
    assertEquals("keep", Files.readString(file));
    for (String threads : List.of("0", "257")) {
      String t = run(2, "monitor", "serve", "--analysis-threads", threads);
      assertTrue(t.contains("--analysis-threads " + threads + " is out of range; expected 1 to 256 (threads of this"
          + " node's analyzers)"), t);
    }
    String role = run(2, "monitor", "serve", "--roles", "analyzer,gpu");
    assertTrue(role.contains("unknown role 'gpu'; expected some of: analyzer, metrics"), role);
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();
      String m = run(1, "monitor", "serve", "--port", String.valueOf(port), "--out", tmp.toString());
      assertTrue(m.contains("cluster port " + port + " on 127.0.0.1 is in use"), m);
    }
  }

  @Test
  @org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void serveWithASeedWhereNoNodeAnswersEndsWithItsOwnLineAfterTheJoinTimeout() throws Exception {
    Path conf = Files.writeString(tmp.resolve("join.conf"), "splinewatch.cluster.join-timeout = 3s\n");
    // something accepts TCP there but never lets a node in (a wrong service, TLS settings that do not match)
    try (ServerSocket notANode = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      int port = notANode.getLocalPort();
      long t0 = System.nanoTime();
      String m = run(1, "monitor", "serve", "--seed", "127.0.0.1:" + port, "--port", "0", "--metrics-port", "0",
          "--out", tmp.resolve("served").toString(), "--config", conf.toString());
      assertTrue(m.contains("(roles analyzer, metrics; joining 127.0.0.1:" + port + ", waiting up to 3 s)"), m);
      assertTrue(m.contains("error: cannot reach the cluster seed 127.0.0.1:" + port + ": no splinewatch node let"
          + " this one join within 3 s; expected a running ./monitor serve there: check --seed HOST:PORT"), m);
      // a starved first monitor (nice 19 on a loaded machine) lets nobody in either: said as the trainer's line says it
      assertTrue(m.contains("(splinewatch.cluster.join-timeout sets the wait); a monitor starved of CPU answers too"
          + " late as well (its scheduling group at nice 19 on a machine loaded by other sessions: give it a lower"
          + " splinewatch.serve.scheduling-group-nice, e.g. 10)"), m);
      assertTrue(!m.contains("trainers join with"), "no node announced that never joined: " + m);
      assertTrue((System.nanoTime() - t0) / 1e9 < 60, "a bounded wait");
    }
  }

  @Test
  @org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void aSeedOrMonitorWhereNothingListensIsOneWaitingLineAndOneErrorNotPekkoJoinRetries() throws Exception {
    int port = freeLoopbackPort();
    Path conf = Files.writeString(tmp.resolve("join.conf"), "splinewatch.cluster.join-timeout = 3s\n");
    String serve = run(1, "monitor", "serve", "--seed", "127.0.0.1:" + port, "--port", "0", "--metrics-port", "0",
        "--out", tmp.resolve("served").toString(), "--config", conf.toString());
    assertTrue(serve.contains("waiting for the cluster seed 127.0.0.1:" + port + ": nothing listens there yet (up to"
        + " 3 s, splinewatch.cluster.join-timeout)"), serve);
    assertTrue(serve.contains("error: cannot reach the cluster seed 127.0.0.1:" + port + ": nothing listened there"
        + " within 3 s ("), serve);
    assertTrue(serve.contains("expected a running ./monitor serve there: check --seed HOST:PORT"), serve);
    assertTrue(!serve.contains("Couldn't join seed nodes") && !serve.contains("joining 127.0.0.1"), serve);
    assertFalse(Files.exists(tmp.resolve("served")), "nothing written");
    String train = run(1, "train", "--monitor", "127.0.0.1:" + port, "--max-steps", "5", "--out",
        tmp.resolve("runs").toString(), "--config", conf.toString());
    assertTrue(train.contains("waiting for the monitor at 127.0.0.1:" + port + ": nothing listens there yet"), train);
    assertTrue(train.contains("error: cannot reach the monitor at 127.0.0.1:" + port + ": nothing listened there"
        + " within 3 s ("), train);
    assertTrue(train.contains("check --monitor HOST:PORT"), train);
    assertTrue(!train.contains("Couldn't join seed nodes"), train);
    String unknown = run(1, "train", "--monitor", "no-such-host.invalid:25520", "--max-steps", "5", "--out",
        tmp.resolve("runs").toString(), "--config", conf.toString());
    assertTrue(unknown.contains("error: cannot reach the monitor at no-such-host.invalid:25520: unknown host"
        + " 'no-such-host.invalid'"), unknown);
  }

  @Test
  @org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void aTlsNameWithoutATlsDirectoryIsABadArgumentNotASilentlyPlainNode() throws Exception {
    int port = freeLoopbackPort();
    Path conf = Files.writeString(tmp.resolve("join.conf"), "splinewatch.cluster.join-timeout = 3s\n");
    String m = run(2, "monitor", "serve", "--tls-name", "monitor", "--seed", "127.0.0.1:" + port, "--port", "0",
        "--metrics-port", "0", "--out", tmp.resolve("served").toString(), "--config", conf.toString());
    assertTrue(m.startsWith("error: --tls-name monitor needs --tls-dir DIR, the directory of ./monitor certs that"
        + " holds monitor.p12 (without it the node would run without TLS)"), m);
    assertTrue(!m.contains("cluster node"), "nothing started: " + m);
  }

  /** A TLS file given alone turns TLS on, so the missing key store is named; before, the trainer joined on plain TCP. */
  @Test
  @org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void aTrustStoreOrPasswordWithoutAKeyStoreIsABadArgumentNotASilentlyPlainNode() throws Exception {
    int port = freeLoopbackPort();
    Path conf = Files.writeString(tmp.resolve("join.conf"), "splinewatch.cluster.join-timeout = 3s\n");
    Path trust = Files.writeString(tmp.resolve("truststore.p12"), "not read: the key store is missing first");
    Path password = Files.writeString(tmp.resolve("password"), "secret\n");
    String m = run(2, "train", "--monitor", "127.0.0.1:" + port, "--tls-trust-store", trust.toString(),
        "--tls-password-file", password.toString(), "--max-steps", "5", "--out", tmp.resolve("runs").toString(),
        "--config", conf.toString());
    assertTrue(m.startsWith("error: splinewatch.cluster.tls.key-store is not set (--tls-key-store FILE); TLS needs a"
        + " key store, a trust store and a password file: --tls-dir DIR --tls-name NAME for those ./monitor certs DIR"
        + " makes"), m);
  }

  /** A key store or password file others may read is refused at start, as ssh refuses such a private key. */
  @Test
  @org.junit.jupiter.api.Timeout(value = 180, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void aTlsKeyOrPasswordFileOpenToOthersIsRefusedAtStart() throws Exception {
    Path certs = tmp.resolve("certs");
    assertEquals(0, Main.execute("monitor", "certs", certs.toString(), "--nodes", "trainer1"));
    int port = freeLoopbackPort();
    Path conf = Files.writeString(tmp.resolve("join.conf"), "splinewatch.cluster.join-timeout = 3s\n");
    for (String[] c : new String[][] {{"password", "rw-r--r--", "password-file", "the password of this node's key"},
        {"trainer1.p12", "rw-r-----", "key-store", "this node's private key"}}) {
      Path file = certs.resolve(c[0]);
      Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString(c[1]));
      String m = run(2, "train", "--monitor", "127.0.0.1:" + port, "--tls-dir", certs.toString(), "--tls-name",
          "trainer1", "--max-steps", "5", "--out", tmp.resolve("runs").toString(), "--config", conf.toString());
      assertTrue(m.startsWith("error: splinewatch.cluster.tls." + c[2] + " '" + file + "' is open to others than its"
          + " owner (mode " + c[1] + "), so they may read " + c[3] + "; expected an owner-only file (rw-------) as"
          + " ./monitor certs makes it: chmod 600 " + file), m);
      Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    }
  }

  @Test
  void relayOnAnAddressItCannotUseSaysWhatIsWrongWithIt() throws Exception {
    Path token = org.splinewatch.TestTools.ownerOnlyFile(tmp.resolve("token"), "0123456789abcdef0123456789abcdef\n");
    String unknown = run(2, "monitor", "relay", "--token-file", token.toString(), "--host", "nosuch.invalid",
        "--port", "0");
    assertTrue(unknown.startsWith("error: --host nosuch.invalid cannot be resolved; expected an address of this"
        + " machine (default 127.0.0.1; 0.0.0.0 for every interface)"), unknown);
    // an empty host bound loopback while the console said "listening on all interfaces (0.0.0.0:…)"; the port out of
    // range is checked after it, so that without the check the relay does not start either
    String empty = run(2, "monitor", "relay", "--token-file", token.toString(), "--host", "", "--port", "70000");
    assertEquals("error: --host is empty (splinewatch.relay.host); expected an address of this machine (default"
        + " 127.0.0.1; 0.0.0.0 for every interface)" + System.lineSeparator()
        + "(./monitor relay --help lists the options)", empty.strip());
    // a blank host was called empty; it is quoted and said to be only whitespace, as other options' values
    String blank = run(2, "monitor", "relay", "--token-file", token.toString(), "--host", " \t", "--port", "70000");
    assertEquals("error: --host ' \t' (only whitespace) (splinewatch.relay.host); expected an address of this machine"
        + " (default 127.0.0.1; 0.0.0.0 for every interface)" + System.lineSeparator()
        + "(./monitor relay --help lists the options)", blank.strip());
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();
      // exit 1 and the same line as serve's and the trainer's metrics port in use (portInUseIsNamed)
      String inUse = run(1, "monitor", "relay", "--token-file", token.toString(), "--port", String.valueOf(port));
      assertEquals("error: relay port " + port + " on 127.0.0.1 is already in use; choose another with --port P (0"
          + " picks a free one)", inUse.strip());
    }
    // an address of another machine (TEST-NET-1): it said "expected a free port", which --port 0 did not fix; now
    // refused before binding, by the interfaces' addresses rather than the text of Linux's bind error
    String elsewhere = run(2, "monitor", "relay", "--token-file", token.toString(), "--host", "192.0.2.1", "--port",
        "0");
    assertEquals("error: --host 192.0.2.1 is not an address of this machine; expected one of its addresses (default"
        + " 127.0.0.1; 0.0.0.0 for every interface)" + System.lineSeparator() + "(./monitor relay --help lists the"
        + " options)", elsewhere.strip());
  }

  @Test
  void aClusterAddressOfAnotherMachineIsABadArgument() throws Exception {
    // TEST-NET-1: serve said "cluster port 0 on 192.0.2.1 is in use or cannot be bound; choose another with --port"
    // (exit 1), naming the port rather than the host; and without --insecure it asked for TLS first
    String expected = " 192.0.2.1 is not an address of this machine; expected one of its addresses (127.0.0.1 on one"
        + " machine, else its address on the network the nodes share; --host for serve, --cluster-host for a trainer)";
    for (List<String> tls : List.of(List.<String>of(), List.of("--insecure"))) {
      List<String> serve = new java.util.ArrayList<>(List.of("monitor", "serve", "--host", "192.0.2.1", "--port", "0",
          "--metrics-port", "0", "--out", tmp.resolve("served").toString()));
      serve.addAll(tls);
      assertEquals("error: cluster address" + expected + System.lineSeparator()
          + "(./monitor serve --help lists the options)", run(2, serve.toArray(String[]::new)).strip());
      assertFalse(Files.exists(tmp.resolve("served")));
    }
    String train = run(2, "train", "--monitor", "127.0.0.1:1", "--cluster-host", "192.0.2.1", "--insecure",
        "--data-dir", tmp.toString(), "--out", tmp.resolve("runs").toString());
    assertTrue(train.startsWith("error: cluster address" + expected), train);
  }

  @Test
  void aDeploymentTokenFileOthersMayReadIsRefusedBeforeAnythingStarts() throws Exception {
    // read at any mode: the token that stops every run, in a file anyone on the machine could read
    Path token = Files.writeString(tmp.resolve("open-token"), "0123456789abcdef0123456789abcdef\n");
    Files.setPosixFilePermissions(token, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    String refused = "error: splinewatch.control.token-file '" + token + "' is open to others than its owner (mode"
        + " rw-r--r--), so they may read the deployment token, which stops any run; expected an owner-only file"
        + " (rw-------): chmod 600 " + token + " (the rule for a file owned by root when this runs as root; only a"
        + " file owned by root may also be readable by its group (rw-r-----), for a process of"
        + " another user: on Kubernetes, a secret volume's defaultMode: 0400, or 0440 with the pod's fsGroup for a pod"
        + " not running as root)";
    // the --sd-dir that is a file is refused after the token is read: without the check, the relay stops there
    assertEquals(refused, firstLine(run(2, "monitor", "relay", "--token-file", token.toString(), "--port", "0",
        "--sd-dir", Files.writeString(tmp.resolve("sd-file"), "").toString())));
    // serve: exit 2 before the node starts (it was exit 1 once the cluster node had started, --out created)
    Path conf = Files.writeString(tmp.resolve("open-token.conf"), "splinewatch.control.token-file = \""
        + token.toString().replace("\\", "\\\\") + "\"\n");
    Path out = tmp.resolve("open-token-runs");
    assertEquals(refused, firstLine(run(2, "monitor", "serve", "--config", conf.toString(), "--port", "0",
        "--metrics-port", "0", "--out", out.toString())));
    assertFalse(Files.exists(out), "serve wrote its --out");
    assertEquals(refused, firstLine(run(2, "train", "--config", conf.toString(), "--out", out.toString(),
        "--max-steps", "0")));
    assertFalse(Files.exists(out), "the trainer wrote its --out");
    assertEquals("0123456789abcdef0123456789abcdef\n", Files.readString(token), "the file is left as it was");
  }

  @Test
  void aRelayWhoseDiscoveryDirectoryIsNotThereSaysSo() throws Exception {
    Path token = org.splinewatch.TestTools.ownerOnlyFile(tmp.resolve("token"), "0123456789abcdef0123456789abcdef\n");
    Path sd = tmp.resolve("no-runs-yet").resolve("prometheus-sd");
    Process p = new ProcessBuilder(org.splinewatch.TestTools.mainCommand("-Xmx128m", "monitor", "relay",
        "--token-file", token.toString(), "--port", "0", "--sd-dir", sd.toString())).redirectErrorStream(true).start();
    // the relay runs until stopped: read its lines on another thread, up to the first warning or a deadline
    java.util.concurrent.CompletableFuture<String> warning = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try (java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
          java.nio.charset.StandardCharsets.UTF_8))) {
        StringBuilder seen = new StringBuilder();
        for (String line = out.readLine(); line != null; line = out.readLine()) {
          if (line.startsWith("warning:")) {
            return line;
          }
          seen.append(line).append('\n');
        }
        return "no warning before the relay ended:\n" + seen;
      } catch (java.io.IOException e) {
        return "no warning: " + e;
      }
    });
    try {
      String line = warning.get(60, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(line.equals("warning: " + sd + " does not exist (yet): no run is discovered until a run started"
          + " with that --out creates it; expected the runs' prometheus-sd directory (--sd-dir)"), line);
    } finally {
      p.destroy();
      p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  /**
   * A relay that has forwarded an alert ends at once on SIGINT: it ended 0.36-0.40 s after it, as JDK 17's exit waits
   * at least 300 ms for threads in native code, and two of the relay's waited in epoll_wait (the webhook server's
   * dispatcher, not yet stopped when the JVM exited, and the forwarding HttpClient's selector, which has no close).
   * The fastest of up to 3 relays must end within 250 ms of the signal, which none could before.
   */
  @Test
  void aRelayEndsAtOnceOnSigint() throws Exception {
    Path token = org.splinewatch.TestTools.ownerOnlyFile(tmp.resolve("token"), "0123456789abcdef0123456789abcdef\n");
    com.sun.net.httpserver.HttpServer run = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress("127.0.0.1", 0), 4);
    run.createContext("/api/v1/alerts", x -> { // a run's control endpoint that takes the stop
      x.getRequestBody().readAllBytes();
      byte[] b = "stopping r".getBytes(java.nio.charset.StandardCharsets.UTF_8);
      x.sendResponseHeaders(202, b.length);
      x.getResponseBody().write(b);
      x.close();
    });
    run.start();
    String target = "127.0.0.1:" + run.getAddress().getPort();
    Path sd = Files.createDirectories(tmp.resolve("prometheus-sd"));
    Files.writeString(sd.resolve("r.json"), "[{\"targets\":[\"" + target + "\"],\"labels\":{}}]");
    String alert = "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":"
        + "{\"alertname\":\"A\",\"severity\":\"critical\",\"run\":\"r\",\"instance\":\"" + target + "\"}}]}";
    List<Long> millis = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 3 && (millis.isEmpty() || java.util.Collections.min(millis) >= 250); i++) {
        // SIGINT as at a terminal: a CI runner may start the tests with it ignored, which a JVM keeps (perl's
        // DEFAULT is inherited through exec, and the pid stays the relay's)
        List<String> command = new java.util.ArrayList<>(
            List.of("perl", "-e", "$SIG{INT} = 'DEFAULT'; exec @ARGV or die"));
        command.addAll(org.splinewatch.TestTools.mainCommand("-Xmx128m", "monitor", "relay", "--token-file",
            token.toString(), "--port", "0", "--sd-dir", sd.toString()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(
            p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8))) {
          String first = out.readLine();
          assertTrue(first != null && first.startsWith("splinewatch relay: POST http://"), first);
          String url = first.substring("splinewatch relay: POST ".length(), first.indexOf(" forwards"));
          var answer = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create(url)).header("Authorization", "Bearer 0123456789abcdef0123456789abcdef")
              .POST(java.net.http.HttpRequest.BodyPublishers.ofString(alert)).build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
          assertEquals(202, answer.statusCode(), answer.body());
          assertEquals(target + ": 202 stopping r", answer.body().strip());
          Thread.sleep(500); // the relay idle again, its threads waiting
          long t0 = System.nanoTime();
          new ProcessBuilder("kill", "-INT", String.valueOf(p.pid())).start().waitFor();
          assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "the relay ended");
          millis.add((System.nanoTime() - t0) / 1_000_000);
          assertEquals(130, p.exitValue());
        } finally {
          p.destroyForcibly();
        }
      }
    } finally {
      run.stop(0);
    }
    assertTrue(java.util.Collections.min(millis) < 250, "ms from SIGINT to the relay's end: " + millis);
  }

  @Test
  void aDataDirectoryThatIsNotThereIsABadArgumentBeforeAnythingStarts() {
    Path none = tmp.resolve("no-idx");
    String expected = "--data-dir " + none + ": no such directory; expected a directory with the four IDX files";
    String train = run(2, "train", "--data-dir", none.toString(), "--metrics-port", "0", "--out",
        tmp.resolve("runs").toString());
    assertTrue(train.startsWith("error: " + expected), train);
    assertTrue(!Files.exists(tmp.resolve("runs")), "nothing written");
    String experiment = run(2, "monitor", "experiment", "seeds", "--datasets", "mnist", "--data-dir",
        none.toString(), "--out", tmp.resolve("exp").toString());
    assertTrue(experiment.strip().equals("error: " + expected + " (train-images-idx3-ubyte, train-labels-idx1-ubyte,"
        + " t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz)" + EXPERIMENT_HELP), experiment);
    assertTrue(!Files.exists(tmp.resolve("exp")), "nothing written");
    String bench = run(2, "monitor", "bench-overhead", "--data-dir", none.toString());
    assertTrue(bench.startsWith("error: " + expected), bench);
  }

  @Test
  void experimentOptionsThatNoRunCouldTrainAreBadArgumentsBeforeAnythingIsWritten() throws Exception {
    Path exp = tmp.resolve("exp");
    String dataset = run(2, "monitor", "experiment", "seeds", "--datasets", "cifar", "--out", exp.toString());
    assertTrue(dataset.startsWith("error: unknown data set 'cifar' in --datasets; expected some of: mnist,"
        + " fashion-mnist"), dataset);
    for (String[] c : new String[][] {{"--steps", "0"}, {"--steps", "-5"}, {"--long-steps", "-1"}}) {
      String m = run(2, "monitor", "experiment", "seeds", "--quick", c[0], c[1], "--out", exp.toString());
      // the option given, in the words of the other ranges (it named both, whichever was wrong)
      assertTrue(m.startsWith("error: " + c[0] + " " + c[1] + ": expected at least 1 (or the option left out: the"
          + " plan's own steps)"), m);
    }
    assertFalse(Files.exists(exp), "nothing written");
    Path file = Files.writeString(tmp.resolve("afile"), "keep");
    String out = run(2, "monitor", "experiment", "seeds", "--out", file.toString());
    assertTrue(out.startsWith("error: --out " + file + " is a file; expected the experiment directory"), out);
  }

  @Test
  void aFileWhereACommandExpectsADirectoryIsNamedAsSuch() throws Exception {
    Path file = Files.writeString(tmp.resolve("afile"), "keep");
    String config = run(2, "monitor", "bench-soak", "--config", tmp.resolve("none.conf").toString());
    assertTrue(config.startsWith("error: config file " + tmp.resolve("none.conf") + " not found"), config);
    String soak = run(2, "monitor", "bench-soak", "--out", file.toString(), "--steps", "100");
    assertTrue(soak.startsWith("error: --out " + file + " is a file; expected a directory"), soak);
    String regions = run(2, "monitor", "bench-regions", "--dir", file.toString());
    assertTrue(regions.startsWith("error: workload directory " + file + " is a file; expected a directory"), regions);
    Path token = org.splinewatch.TestTools.ownerOnlyFile(tmp.resolve("token"), "0123456789abcdef0123456789abcdef\n");
    String relay = run(2, "monitor", "relay", "--sd-dir", file.toString(), "--token-file", token.toString(),
        "--port", "0");
    assertTrue(relay.startsWith("error: --sd-dir " + file + " is a file; expected the runs' prometheus-sd directory"),
        relay);
    assertEquals("keep", Files.readString(file));
  }

  @Test
  void corruptIdxIsNamed() throws Exception {
    SyntheticData.writeDir(tmp, 20, 20, 1);
    Files.write(tmp.resolve(DatasetLoader.TRAIN_LABELS), new byte[] {0, 0, 8, 3, 0, 0});
    String m = run(1, "train", "--metrics-port", "0", "--data-dir", tmp.toString(), "--out",
        tmp.resolve("runs").toString());
    assertTrue(m.contains("error: ") && m.contains("wrong magic number"), m);
  }

  @Test
  void badModelFileIsNamed() throws Exception {
    Path f = tmp.resolve("not.npz");
    Files.writeString(f, "hello");
    String m = run(1, "monitor", "regions", "--model", f.toString());
    assertTrue(m.contains("not a .npz (zip) archive"), m);
    String bench = run(1, "monitor", "bench-regions", f.toString()); // read before the table's header is printed
    assertTrue(bench.startsWith("error: ") && bench.contains("not a .npz (zip) archive")
        && bench.strip().lines().count() == 1, bench);
    // a path that names no file is a bad argument (exit 2), as a missing run directory is; bad contents stay 1
    Path none = tmp.resolve("none.npz");
    // both end a bad argument with the --help line, as the bench commands do (regions had none)
    String help = System.lineSeparator() + "(./monitor bench-regions --help lists the options)";
    for (String[] args : new String[][] {{"monitor", "regions", "--model", none.toString()},
        {"monitor", "bench-regions", none.toString()}}) {
      String n = run(2, args);
      assertTrue(n.strip().equals("error: " + none + ": no such file; expected a .npz network file"
          + help.replace("bench-regions", args[1])), n);
    }
    for (String[] args : new String[][] {{"monitor", "regions", "--model", tmp.toString()},
        {"monitor", "bench-regions", tmp.toString()}}) {
      String n = run(2, args);
      assertTrue(n.strip().equals("error: " + tmp + " is a directory; expected a .npz network file"
          + help.replace("bench-regions", args[1])), n);
    }
    // a FIFO (--model <(python export.py)) or a device exists: it was "no such file"
    Path fifo = tmp.resolve("model.fifo");
    if (new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0) {
      for (String[] args : new String[][] {{"monitor", "regions", "--model", fifo.toString()},
          {"monitor", "bench-regions", fifo.toString()}}) {
        String n = run(2, args);
        assertEquals("error: " + fifo + " is a FIFO; expected a .npz network file, a regular file (a zip archive is"
            + " read by seeking: save a pipe's output to a file first)" + help.replace("bench-regions", args[1]),
            n.strip());
      }
    }
    String dir = run(2, "monitor", "bench-regions", "--dir", tmp.resolve("nodir").toString());
    assertTrue(dir.strip().equals("error: workload directory " + tmp.resolve("nodir") + " not found; pass --dir DIR"
        + " or MODEL.npz files" + help), dir);
    Path missing = tmp.resolve("no-such-dir").resolve("p.svg");
    String svg = run(2, "monitor", "regions", "--model", f.toString(), "--svg", missing.toString());
    assertTrue(svg.startsWith("error: --svg " + missing + ": directory " + missing.getParent()
        + " does not exist") && svg.strip().endsWith(help.replace("bench-regions", "regions")), svg);
  }

  @Test
  void detectionAndReportNameAMissingRunAndDetectionABadDrop() {
    for (String command : new String[] {"detection", "report"}) {
      // a bad argument: exit 2 with one line and where the options are (they had no such line), also when an earlier
      // argument is a run
      String help = System.lineSeparator() + "(./monitor " + command + " --help lists the options)";
      String m = run(2, "monitor", command, tmp.resolve("nope").toString());
      assertTrue(m.strip().equals("error: " + tmp.resolve("nope") + ": no such run directory; expected runs/<run-id>"
          + " with metrics.jsonl" + help), m);
      // a file, e.g. the run's metrics.jsonl given instead of its directory: named as a file, not as missing
      Path file = tmp.resolve("files").resolve("metrics.jsonl");
      try {
        Files.createDirectories(file.getParent());
        Files.writeString(file, "");
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      String f = run(2, "monitor", command, file.toString());
      assertTrue(f.strip().equals("error: " + file + ": is a file, not a run directory; expected runs/<run-id> with"
          + " metrics.jsonl" + help), f);
    }
    // report's directory must hold a run; detection skips one that does not, with its reason (garbage directories)
    Path other = tmp.resolve("other");
    try {
      Files.createDirectories(other.resolve("sub"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    String foreign = run(2, "monitor", "report", other.toString());
    String reportHelp = System.lineSeparator() + "(./monitor report --help lists the options)";
    assertTrue(foreign.strip().equals("error: " + other + ": not a run directory (no metrics.jsonl); expected the"
        + " output of ./trainer" + reportHelp), foreign);
    Path noDir = tmp.resolve("no-such-dir").resolve("r.html");
    String outMissing = run(2, "monitor", "report", "--out", noDir.toString(), tmp.toString());
    assertTrue(outMissing.strip().equals("error: --out " + noDir + ": directory " + noDir.getParent()
        + " does not exist; expected a file in an existing directory" + reportHelp), outMissing);
    String d = run(2, "monitor", "detection", "--drop", "5", tmp.toString());
    assertTrue(d.contains("--drop 5.0 is out of range; expected a difference of accuracies (fractions of 1) in"
        + " (0, 1), e.g. 0.05 for 5 points"), d);
    // the drop is absolute (accuracy below best - drop), as the table's first line and detection.md say; the help
    // and this line called it "a ratio", which reads as relative (5 % of the best)
    String help = run(0, "monitor", "detection", "--help").replaceAll("\\s+", " ");
    assertTrue(help.contains("a difference of accuracies") && help.contains("0.05 is 5 points")
        && !help.contains("ratio"), help);
    String ds = run(2, "monitor", "detection", "--tuning-datasets", "mnist,cifar10", tmp.toString());
    assertTrue(ds.contains("error: --tuning-datasets mnist,cifar10 names an unknown data set; expected mnist and/or"
        + " fashion-mnist"), ds);
    String r = run(2, "monitor", "detection", "--drop-reference", "first", tmp.toString());
    assertTrue(r.contains("error: --drop-reference first is unknown; expected best or onset"), r);
    String detectionHelp = "(./monitor detection --help lists the options)";
    for (String bad : new String[] {d, ds, r}) {
      assertEquals(2, bad.strip().lines().count(), bad);
      assertTrue(bad.startsWith("error: ") && bad.strip().endsWith(detectionHelp), bad);
    }
  }

  @Test
  void reportRefusesAnOutThatIsADirectoryInsteadOfReplacingIt() throws Exception {
    Path runDir = Files.createDirectories(tmp.resolve("r"));
    Files.writeString(runDir.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_training_loss\",\"labels\":{},"
        + "\"step\":10,\"value\":1.0}\n");
    Path empty = Files.createDirectories(tmp.resolve("empty-out"));
    Path full = Files.createDirectories(tmp.resolve("full-out"));
    Files.writeString(full.resolve("keep.txt"), "x");
    for (Path out : new Path[] {empty, full}) {
      String m = run(2, "monitor", "report", "--out", out.toString(), runDir.toString());
      assertTrue(m.strip().equals("error: --out " + out + ": is a directory; expected a file, e.g. "
          + out.resolve("report.html") + REPORT_HELP), m);
      assertTrue(Files.isDirectory(out), "the directory stays a directory");
      assertFalse(Files.exists(tmp.resolve(out.getFileName() + ".tmp")), "no temporary file left beside it");
    }
    assertTrue(Files.exists(full.resolve("keep.txt")));
    String blank = run(2, "monitor", "report", "--out", "", runDir.toString());
    assertTrue(blank.strip().equals("error: --out is empty; expected a file, e.g. report.html" + REPORT_HELP), blank);
  }

  @Test
  void reportOfARunWithoutAUsableSampleFailsAndWritesNothing() throws Exception {
    Path runDir = Files.createDirectories(tmp.resolve("garbage"));
    Files.writeString(runDir.resolve("metrics.jsonl"), "hello world not json\n".repeat(1000));
    String m = run(1, "monitor", "report", runDir.toString());
    assertTrue(m.strip().startsWith("error: " + runDir + ": no usable sample in its metrics (metrics.jsonl line 1 is"
        + " malformed") && m.contains("997 more malformed lines") && m.strip().lines().count() == 1
        && m.length() < 600, m);
    assertFalse(Files.exists(runDir.resolve("report.html")), "no empty report");
  }

  @Test
  void reportReplacesOnlyAReportAndReadsARunNamedTwiceOnce() throws Exception {
    Path runDir = Files.createDirectories(tmp.resolve("r"));
    String metrics = "{\"name\":\"splinewatch_training_loss\",\"labels\":{},\"step\":10,\"value\":1.0}\n";
    Files.writeString(runDir.resolve("metrics.jsonl"), metrics);
    Path data = runDir.resolve("metrics.jsonl");
    String m = run(2, "monitor", "report", "--out", data.toString(), runDir.toString());
    assertTrue(m.strip().equals("error: --out " + data + ": exists and is not an HTML file; expected a new file or an"
        + " .html report to replace" + REPORT_HELP), m);
    assertTrue(Files.readString(data).equals(metrics), "the run's data is kept");
    Path old = Files.writeString(tmp.resolve("old.html"), "<html>old</html>");
    run(0, "monitor", "report", "--out", old.toString(), runDir.toString());
    assertTrue(!Files.readString(old).equals("<html>old</html>") && Files.readString(old).contains("<html"),
        "an older report is replaced");
    // the same run twice (e.g. overlapping globs): one run, so its own report.html, not two identical curves
    String twice = run(0, "monitor", "report", runDir.toString(), tmp.resolve("r/.").toString());
    assertTrue(twice.contains("note: " + tmp.resolve("r/.") + " is named more than once; read once")
        && twice.contains("report: " + runDir.resolve("report.html")), twice);
  }

  @Test
  void detectionRefusesALayerThatNoRunHasAKnnSeriesFor() throws Exception {
    Path ok = Files.createDirectories(tmp.resolve("ok"));
    Files.writeString(ok.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_knn_accuracy_ratio\",\"labels\":"
        + "{\"layer\":\"repr\"},\"step\":0,\"value\":0.8}\n{\"name\":\"splinewatch_knn_accuracy_ratio\",\"labels\":"
        + "{\"layer\":\"proj\"},\"step\":0,\"value\":0.7}\n");
    Files.writeString(ok.resolve("config.json"), "{\"run_id\": \"ok\", \"method\": \"simclr\"}");
    Files.writeString(ok.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"done\"}\n");
    // a typo would otherwise count every induced collapse as alerted with no accuracy drop
    String m = run(2, "monitor", "detection", "--layer", "rep", ok.toString());
    assertTrue(m.strip().equals("error: --layer rep: no run has a kNN accuracy series for this layer; expected one"
        + " of: proj, repr" + System.lineSeparator() + "(./monitor detection --help lists the options)"), m);
    assertTrue(run(0, "monitor", "detection", "--layer", "proj", ok.toString()).contains("| ok | simclr |"));
    // overlapping globs name a run twice: it is counted once
    String twice = run(0, "monitor", "detection", ok.toString(), ok.toString());
    assertTrue(twice.split("\\| ok \\| simclr \\|", -1).length == 2 && twice.contains("note: " + ok
        + " is named more than once; read once"), twice);
  }

  /**
   * A copied run directory is one run: counted once, the copy skipped as such (it was a second identical row, counted
   * twice). Two different runs given the same --run-id are both counted, each row named by its directory.
   */
  @Test
  void detectionCountsACopiedRunOnceAndTellsApartRunsSharingARunId() throws Exception {
    String healthy = "{\"name\":\"splinewatch_knn_accuracy_ratio\",\"labels\":{\"layer\":\"repr\"},\"step\":0,"
        + "\"value\":0.8}\n";
    Path a = writeRun(tmp.resolve("a/same"), healthy);
    Path copy = writeRun(tmp.resolve("b/same"), healthy);
    String d = run(0, "monitor", "detection", a.toString(), copy.toString());
    assertTrue(d.split("\\| same \\| simclr \\|", -1).length == 2 && d.contains("skipped " + copy + ": a copy of " + a
        + " (the same run_id same and metrics.jsonl); counted once") && d.contains("healthy runs with a false alarm:"
        + " 0 of 1\n"), d);
    Path other = writeRun(tmp.resolve("c/same"), healthy.replace("0.8", "0.9"));
    String two = run(0, "monitor", "detection", a.toString(), other.toString());
    assertTrue(two.contains("| same (" + a + ") | simclr |") && two.contains("| same (" + other + ") | simclr |")
        && two.contains("healthy runs with a false alarm: 0 of 2\n"), two);
  }

  private static Path writeRun(Path dir, String metrics) throws java.io.IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("metrics.jsonl"), metrics);
    Files.writeString(dir.resolve("config.json"), "{\"run_id\": \"" + dir.getFileName()
        + "\", \"method\": \"simclr\"}");
    Files.writeString(dir.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"done\"}\n");
    return dir;
  }

  /**
   * {@code detection runs/} reads each run in it (it said "skipped runs: no metrics.jsonl" and "no run to count");
   * {@code report runs/} names it as a directory of runs and says what to pass instead.
   */
  @Test
  void detectionReadsEachRunOfADirectoryOfRunsAndReportSaysToNameThem() throws Exception {
    Path runs = Files.createDirectories(tmp.resolve("runs"));
    Path ok = Files.createDirectories(runs.resolve("ok"));
    Files.writeString(ok.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_knn_accuracy_ratio\",\"labels\":"
        + "{\"layer\":\"repr\"},\"step\":0,\"value\":0.8}\n");
    Files.writeString(ok.resolve("config.json"), "{\"run_id\": \"ok\", \"method\": \"simclr\"}");
    Files.writeString(ok.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"done\"}\n");
    Path crashed = Files.createDirectories(runs.resolve("crashed")); // a run that died before its first sample
    Files.writeString(crashed.resolve("config.json"), "{\"run_id\": \"crashed\"}");
    Files.createDirectories(runs.resolve("notes")); // no run: not read
    String d = run(0, "monitor", "detection", runs.toString());
    assertTrue(d.contains("note: " + runs + " is a directory of runs; reading each of its 2 runs\n"), d);
    assertTrue(d.contains("| ok | simclr |") && d.contains("healthy runs with a false alarm: 0 of 1\n"), d);
    assertTrue(d.contains("skipped " + crashed + ": no metrics.jsonl\n") && !d.contains("skipped " + runs + ":")
        && !d.contains("notes"), d);
    // the directory and a run in it: the run is counted once
    String both = run(0, "monitor", "detection", runs.toString(), ok.toString());
    assertTrue(both.split("\\| ok \\| simclr \\|", -1).length == 2 && both.contains("note: " + ok
        + " is named more than once; read once"), both);
    String r = run(2, "monitor", "report", runs.toString());
    assertEquals("error: " + runs + ": is a directory of 2 runs, not a run directory; expected run directories such as "
        + crashed + " (" + runs.resolve("*") + " for all of them)" + REPORT_HELP, r.strip());
    // the directory above it (the project directory, whose runs/ was meant): it said only "no metrics.jsonl"
    String above = run(2, "monitor", "detection", tmp.toString());
    assertTrue(above.startsWith("error: no run to count: 1 of 1 run directory skipped (" + tmp + ": no metrics.jsonl,"
        + " but " + runs + " in it is a directory of 2 runs (name it)); expected"), above);
    String reportAbove = run(2, "monitor", "report", tmp.toString());
    assertEquals("error: " + tmp + ": not a run directory (no metrics.jsonl), but " + runs + " in it is a directory of"
        + " 2 runs; expected run directories such as " + crashed + " (" + runs.resolve("*") + " for all of them)"
        + REPORT_HELP, reportAbove.strip());
  }

  @Test
  void garbageAndInterruptedRunDirectoriesAreSkippedWithAReasonAndNotCounted() throws Exception {
    String knn = "{\"name\":\"splinewatch_knn_accuracy_ratio\",\"labels\":{\"layer\":\"repr\"},\"step\":0,"
        + "\"value\":0.8}\n";
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    Path half = Files.createDirectories(tmp.resolve("half"));
    Files.writeString(half.resolve("metrics.jsonl"), "");
    Files.writeString(half.resolve("config.json"), "{\"run_id\": \"half\"}");
    Path cut = Files.createDirectories(tmp.resolve("cut")); // no config.json, a half-written line, no events
    Files.writeString(cut.resolve("metrics.jsonl"), knn + "{\"name\":\"splinewatch_kn");
    Path interrupted = Files.createDirectories(tmp.resolve("sigint"));
    Files.writeString(interrupted.resolve("metrics.jsonl"), knn);
    Files.writeString(interrupted.resolve("config.json"), "{\"run_id\": \"sigint\", \"method\": \"simclr\"}");
    Files.writeString(interrupted.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"interrupted\","
        + "\"steps\":40}\n");
    Path ok = Files.createDirectories(tmp.resolve("ok"));
    Files.writeString(ok.resolve("metrics.jsonl"), knn);
    Files.writeString(ok.resolve("config.json"), "{\"run_id\": \"ok\", \"method\": \"simclr\"}");
    Files.writeString(ok.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"done\"}\n");
    String d = run(0, "monitor", "detection", empty.toString(), half.toString(), cut.toString(),
        interrupted.toString(), ok.toString());
    assertTrue(d.contains("healthy runs with a false alarm: 0 of 1\n"), d);
    assertTrue(d.contains("skipped, incomplete and not counted above: 4 run directories\n"), d);
    assertTrue(d.contains("skipped " + empty + ": no metrics.jsonl\n"), d);
    assertTrue(d.contains("skipped " + half + ": metrics.jsonl has no samples; the run has not finished (no"
        + " run_finished event)"), d);
    assertTrue(d.contains("skipped " + cut + ": config.json is missing; metrics.jsonl line 2 is half-written;"), d);
    assertTrue(d.contains("skipped " + interrupted + ": interrupted at step 40\n"), d);
    assertFalse(d.contains("| half |") || d.contains("| sigint |") || d.contains("| cut |"), d);
    assertTrue(d.contains("| ok | simclr |"), d);
    // counted, but its run_finished records no analyses to check its metrics against: said after the skipped runs
    assertTrue(d.endsWith("\ncounted, but not checked for metrics cut short: 1 run directory\n" + ok + ": run_finished"
        + " records no analysed snapshots and no last training step (a run without analyzers that ./trainer did not"
        + " end done itself: a --monitor or HTTP run, one stopped early or failed, or one of an earlier release)\n"),
        d);
    // nothing left to count: an error, not a table of "0 of 0"; run directories whose data cannot be counted are a
    // failure (exit 1), as report's "no usable sample" is (it was exit 2, a bad argument, with no --help line)
    String none = run(1, "monitor", "detection", empty.toString(), interrupted.toString());
    assertEquals("error: no run to count: 2 of 2 run directories skipped (" + empty + ": no metrics.jsonl; "
        + interrupted + ": interrupted at step 40); expected directories of finished ./trainer runs (runs/<run-id> with"
        + " metrics.jsonl)", none.strip());
    // more than three: every directory is named with its reason (it named the first three, then "…"), on one line
    String four = run(1, "monitor", "detection", empty.toString(), half.toString(), cut.toString(),
        interrupted.toString()).strip();
    assertEquals(1, four.lines().count(), four);
    assertTrue(four.startsWith("error: no run to count: 4 of 4 run directories skipped (" + empty + ": no"
        + " metrics.jsonl; " + half + ": metrics.jsonl has no samples;"), four);
    assertTrue(four.contains("; " + cut + ": config.json is missing;") && four.endsWith("; " + interrupted
        + ": interrupted at step 40); expected directories of finished ./trainer runs (runs/<run-id> with"
        + " metrics.jsonl)") && !four.contains("…"), four);
    // a run that recorded no sample (and no malformed line) is reported, and says so: it was "no usable sample",
    // exit 1, while the monitor wrote the report of an HTTP run that received no snapshot
    assertEquals("note: half: no samples: its metrics.jsonl holds none, so it has no curves\nwarning: half has"
        + " not finished (no run_finished event): still running, or it crashed\nreport: "
        + half.resolve("report.html"), run(0, "monitor", "report", half.toString()).strip());
    assertEquals("error: no run to count: 1 of 1 run directory skipped (" + half + ": metrics.jsonl has no samples;"
        + " the run has not finished (no run_finished event): still running, or it crashed); expected directories of"
        + " finished ./trainer runs (runs/<run-id> with metrics.jsonl)", run(1, "monitor", "detection",
        half.toString()).strip());
    // no directory named holds a run's metrics: bad arguments, exit 2 with the --help line, as report says of them
    assertEquals("error: no run to count: 1 of 1 run directory skipped (" + empty + ": no metrics.jsonl); expected"
        + " directories of finished ./trainer runs (runs/<run-id> with metrics.jsonl)" + DETECTION_HELP,
        run(2, "monitor", "detection", empty.toString()).strip());
    assertEquals("error: " + empty + ": not a run directory (no metrics.jsonl); expected the output of ./trainer"
        + REPORT_HELP, run(2, "monitor", "report", empty.toString()).strip());
  }

  /**
   * An experiment's runs/ keeps each run it trained again beside it as {@code <run-id>.incomplete-N}: detection of the
   * directory leaves them out with one note instead of a skipped line each, every rerun one more.
   */
  @Test
  void detectionOfAnExperimentsRunsLeavesOutTheDirectoriesItSetAside() throws Exception {
    String knn = "{\"name\":\"splinewatch_knn_accuracy_ratio\",\"labels\":{\"layer\":\"repr\"},\"step\":0,"
        + "\"value\":0.8}\n";
    Path runs = Files.createDirectories(tmp.resolve("exp-runs"));
    java.util.function.BiFunction<String, String, Path> run = (name, events) -> {
      try {
        Path d = Files.createDirectories(runs.resolve(name));
        Files.writeString(d.resolve("metrics.jsonl"), knn);
        Files.writeString(d.resolve("config.json"), "{\"run_id\": \"" + name.replaceFirst("\\..*", "")
            + "\", \"method\": \"simclr\"}");
        Files.writeString(d.resolve("events.jsonl"), events);
        return d;
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    };
    run.apply("a", "{\"type\":\"run_finished\",\"status\":\"done\"}\n");
    Path aside1 = run.apply("a.incomplete-1", "{\"type\":\"run_finished\",\"status\":\"interrupted\",\"steps\":9}\n");
    run.apply("a.incomplete-2", "");
    // no run a beside it: not known to be superseded, read as any run
    Path lone = run.apply("b.incomplete-1", "");
    String d = run(0, "monitor", "detection", runs.toString());
    assertTrue(d.contains("note: " + runs + " is a directory of runs; reading each of its 2 runs (left out: 2"
        + " directories <run-id>.incomplete-N that ./monitor experiment set aside when it trained the run again; name"
        + " one to read it)\n"), d);
    assertTrue(d.contains("| a | simclr |") && !d.contains("a.incomplete"), d);
    assertTrue(d.contains("skipped, incomplete and not counted above: 1 run directory\nskipped " + lone + ": the run"
        + " has not finished"), d);
    // named, one is read as any run
    String named = run(0, "monitor", "detection", runs.resolve("a").toString(), aside1.toString());
    assertTrue(named.contains("skipped " + aside1 + ": interrupted at step 9\n"), named);
  }

  @Test
  void usageAndAMissingSubcommandListTheRegisteredSubcommands() {
    String usage = run(2);
    assertTrue(usage.contains("splinewatch monitor <regions|report|detection|bench-regions|bench-overhead|"
        + "bench-cluster|bench-soak|serve|relay|certs|experiment> [options]"), usage);
    String missing = run(2, "monitor");
    assertTrue(missing.contains("missing subcommand; expected one of: regions, report, detection, bench-regions, "
        + "bench-overhead, bench-cluster, bench-soak, serve, relay, certs, experiment"), missing);
  }

  @Test
  void certsNamesWhatIsWrongWithItsDirectory() throws Exception {
    Path file = Files.writeString(tmp.resolve("afile"), "x");
    String notDir = run(2, "monitor", "certs", file.toString());
    // one line and where the options are, as every other subcommand's bad argument (it had no second line)
    assertTrue(notDir.startsWith("error: " + file + " is not a directory; expected a directory")
        && notDir.strip().endsWith(CERTS_HELP) && notDir.strip().lines().count() == 2, notDir);
    // a directory this process cannot write, also as root (it was exit 1, as if keytool had failed)
    Path readOnly = Path.of("/proc/self");
    if (Files.isDirectory(readOnly) && !Files.isWritable(readOnly)) {
      for (Path dir : new Path[] {readOnly, readOnly.resolve("certs")}) {
        String ro = run(2, "monitor", "certs", dir.toString());
        assertEquals("error: " + dir + ": cannot write in " + readOnly + " (read-only or not this user's); expected"
            + " a directory this user can write for the CA, stores and password (made when missing)" + CERTS_HELP,
            ro.strip());
      }
    }
    Path half = Files.createDirectories(tmp.resolve("half"));
    Files.writeString(half.resolve("ca.p12"), "x"); // a CA without its password file
    String noPassword = run(1, "monitor", "certs", half.toString());
    assertTrue(noPassword.contains("cannot make the certificates in " + half + ": " + half.resolve("password")
        + ": no such file or directory"), noPassword);
    // a validity keytool cannot write (an end past the year 9999): refused before a password file is left behind
    Path far = tmp.resolve("far");
    String days = run(2, "monitor", "certs", far.toString(), "--days", "99999999");
    assertTrue(days.startsWith("error: --days 99999999 is out of range; expected 1 to 36500 (100 years)"), days);
    assertFalse(Files.exists(far), "nothing written");
    run(0, "monitor", "certs", far.toString(), "--days", "36500", "--nodes", "n1");
    assertTrue(Files.exists(far.resolve("n1.p12")), "the longest validity taken is one keytool can write");
  }

  /**
   * A directory to make under a file, or a symbolic link to nothing: certs failed with exit 1 in java.nio's words
   * ("Not a directory", "already exists"), bench-soak said "already exists", and report --out and regions --svg named
   * the file as a directory that "does not exist".
   */
  @Test
  void aPathThroughAFileOrADanglingLinkIsNamedAsSuch() throws Exception {
    Path file = Files.writeString(tmp.resolve("afile"), "keep");
    Path dangling = Files.createSymbolicLink(tmp.resolve("dangling"), tmp.resolve("nowhere"));
    assertEquals("error: " + file.resolve("certs") + ": " + file + " is a file, not a directory; expected a directory"
        + " for the CA, stores and password (made when missing)" + CERTS_HELP,
        run(2, "monitor", "certs", file.resolve("certs").toString()).strip());
    assertEquals("error: " + dangling + ": it is a symbolic link to " + tmp.resolve("nowhere") + ", which does not"
        + " exist; expected a directory for the CA, stores and password (made when missing)" + CERTS_HELP,
        run(2, "monitor", "certs", dangling.toString()).strip());
    assertEquals("error: --out " + dangling.resolve("soak") + ": " + dangling + " is a symbolic link to "
        + tmp.resolve("nowhere") + ", which does not exist; expected a new or empty directory (made when missing)",
        firstLine(run(2, "monitor", "bench-soak", "--out", dangling.resolve("soak").toString())));
    assertEquals("error: --out " + file.resolve("r.html") + ": " + file + " is a file, not a directory; expected a"
        + " file in an existing directory" + REPORT_HELP,
        run(2, "monitor", "report", "--out", file.resolve("r.html").toString(), tmp.toString()).strip());
    assertFalse(Files.exists(tmp.resolve("nowhere")), "nothing made");
    assertEquals("keep", Files.readString(file));
  }

  @Test
  void anEmptyPathIsRefusedNotTakenAsTheWorkingDirectory() {
    // `./monitor certs "$DIR"` with DIR unset made the CA's key and the stores in the working directory, and
    // `experiment --out ""` trained there; each line here also has a bad option checked after the path, so that
    // without the check nothing is written either
    String certs = run(2, "monitor", "certs", "", "--days", "0");
    assertEquals("error: DIR is empty; expected a directory for the CA, stores and password, e.g. certs"
        + CERTS_HELP, certs.strip());
    String out = run(2, "monitor", "experiment", "seeds", "--out", "", "--steps", "0");
    assertEquals("error: --out is empty; expected the experiment directory, e.g. runs/exp" + EXPERIMENT_HELP,
        out.strip());
    String data = run(2, "monitor", "experiment", "seeds", "--out", tmp.resolve("e").toString(), "--data-dir", "",
        "--datasets", "mnist", "--steps", "0");
    assertEquals("error: --data-dir is empty; expected a directory with the four IDX files" + EXPERIMENT_HELP,
        data.strip());
    String cache = run(2, "monitor", "experiment", "seeds", "--out", tmp.resolve("e").toString(), "--cache-dir", "",
        "--steps", "0");
    assertTrue(cache.startsWith("error: --cache-dir is empty; expected the data cache directory"), cache);
    assertFalse(Files.exists(tmp.resolve("e")), "nothing written");
    // ./trainer --out "" trained in the working directory; relay --sd-dir "" and --token-file "" fell back to the
    // defaults without a word; report and detection said 'error: : not a run directory'
    assertEquals("error: --out is empty; expected the parent of the run directory, e.g. runs", firstLine(run(2, "train",
        "--out", "", "--max-steps", "0")));
    assertEquals("error: --data-dir is empty; expected a directory with the four IDX files", firstLine(run(2, "train",
        "--data-dir", "", "--max-steps", "0")));
    assertEquals("error: --resume is empty; expected a checkpoint directory, e.g. runs/<id>/checkpoints/latest",
        firstLine(run(2, "train", "--resume", "")));
    assertEquals("error: --out is empty; expected a directory of run directories, e.g. runs", firstLine(run(2,
        "monitor", "serve", "--out", "", "--metrics-port", "-1")));
    assertEquals("error: --sd-dir is empty; expected the runs' Prometheus discovery directory, e.g."
        + " runs/prometheus-sd", firstLine(run(2, "monitor", "relay", "--sd-dir", "", "--port", "-1")));
    assertEquals("error: --token-file is empty; expected the file holding the deployment token", firstLine(run(2,
        "monitor", "relay", "--token-file", "", "--port", "-1")));
    assertEquals("error: RUN_DIR is empty; expected a run directory, e.g. runs/<run-id>", firstLine(run(2, "monitor",
        "report", tmp.toString(), "")));
    assertEquals("error: RUN_DIR is empty; expected a run directory (runs/<run-id>) or a directory of runs",
        firstLine(run(2, "monitor", "detection", "")));
    // bench-regions --dir "" timed the working directory's .npz files, and a MODEL.npz "" was ": is a directory";
    // bench-soak --out "" was "--out  exists and is not empty", --config "" "config file  not found"
    assertEquals("error: --dir is empty; expected a directory of .npz workloads", firstLine(run(2, "monitor",
        "bench-regions", "--dir", "", "--threads", "3")));
    assertEquals("error: MODEL.npz is empty; expected a .npz network file", firstLine(run(2, "monitor",
        "bench-regions", "", "--threads", "3")));
    assertEquals("error: --out is empty; expected a new or empty directory for the soak's data and run, e.g. soak",
        firstLine(run(2, "monitor", "bench-soak", "--out", "", "--steps", "5")));
    assertEquals("error: --config is empty; expected a HOCON file", firstLine(run(2, "monitor", "bench-soak",
        "--config", "", "--steps", "5")));
    assertEquals("error: --data-dir is empty; expected a directory with the four IDX files", firstLine(run(2,
        "monitor", "bench-overhead", "--data-dir", "", "--steps", "0")));
  }

  private static String firstLine(String output) {
    return output.strip().lines().findFirst().orElse("");
  }

  @Test
  void certsDoesNotReplaceAnExistingKeyWithoutForce() throws Exception {
    Path dir = tmp.resolve("certs");
    run(0, "monitor", "certs", dir.toString(), "--nodes", "a");
    // the private keys and their password are for their owner only; the trust store and certificates are public
    for (String secret : java.util.List.of("ca.p12", "a.p12", "password")) {
      assertTrue("rw-------".equals(java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(dir.resolve(secret)))), secret);
    }
    byte[] key = Files.readAllBytes(dir.resolve("a.p12"));
    byte[] trust = Files.readAllBytes(dir.resolve("truststore.p12"));
    String again = run(2, "monitor", "certs", dir.toString(), "--nodes", "b,a");
    assertTrue(again.strip().equals("error: " + dir.resolve("a.p12") + " already exists (node a's key); expected a"
        + " new node name, or --force to replace its key and certificate" + CERTS_HELP), again);
    assertTrue(java.util.Arrays.equals(key, Files.readAllBytes(dir.resolve("a.p12"))), "a.p12 kept");
    assertTrue(!Files.exists(dir.resolve("b.p12")), "nothing made when one node is refused");
    run(0, "monitor", "certs", dir.toString(), "--nodes", "a", "--force");
    assertTrue(!java.util.Arrays.equals(key, Files.readAllBytes(dir.resolve("a.p12"))), "--force: a new key");
    assertTrue(java.util.Arrays.equals(trust, Files.readAllBytes(dir.resolve("truststore.p12"))), "same CA");
    // a node's copy (no ca.p12): a new CA would replace the trust store and password the cluster uses
    Path node = Files.createDirectories(tmp.resolve("node"));
    Files.copy(dir.resolve("truststore.p12"), node.resolve("truststore.p12"));
    String noCa = run(2, "monitor", "certs", node.toString(), "--nodes", "c");
    assertTrue(noCa.strip().equals("error: " + node.resolve("truststore.p12") + " already exists but "
        + node.resolve("ca.p12") + " does not: a new CA would replace the cluster's trust store and password;"
        + " expected the directory that holds ca.p12, or --force to make a new CA" + CERTS_HELP), noCa);
    assertTrue(!Files.exists(node.resolve("password")), "nothing written");
  }

  @Test
  void certsWithAPasswordThatDoesNotOpenTheCaSaysSoAndLeavesNoHalfMadeNodeBehind() throws Exception {
    Path dir = tmp.resolve("certs");
    run(0, "monitor", "certs", dir.toString(), "--nodes", "a");
    String password = Files.readString(dir.resolve("password"));
    Files.writeString(dir.resolve("password"), "not-the-ca-password\n");
    String wrong = run(1, "monitor", "certs", dir.toString(), "--nodes", "b");
    assertTrue(wrong.strip().equals("error: the password in " + dir.resolve("password") + " does not open "
        + dir.resolve("ca.p12") + "; expected the password file made with that CA"), wrong);
    Files.writeString(dir.resolve("password"), "");
    String empty = run(1, "monitor", "certs", dir.toString(), "--nodes", "b");
    assertTrue(empty.strip().equals("error: " + dir.resolve("password") + " is empty; expected the password of "
        + dir.resolve("ca.p12") + " on its first line"), empty);
    for (String f : new String[] {"b.p12", "b.csr", "b.crt"}) {
      assertFalse(Files.exists(dir.resolve(f)), f + " not written");
    }
    Files.writeString(dir.resolve("password"), password);
    run(0, "monitor", "certs", dir.toString(), "--nodes", "b"); // the right password: b is made, not refused
    assertTrue(Files.exists(dir.resolve("b.p12")) && !Files.exists(dir.resolve("b.csr")), "b made");
  }

  @Test
  void certsRefusesANodeNamedTwice() {
    Path dir = tmp.resolve("certs");
    String twice = run(2, "monitor", "certs", dir.toString(), "--nodes", "a,b,a");
    assertEquals("error: --nodes names a more than once; expected each node once" + CERTS_HELP, twice.strip());
    assertFalse(Files.exists(dir), "nothing written");
  }

  @Test
  void certsRepairsACaInterruptedAfterItsKeyStore() throws Exception {
    Path dir = tmp.resolve("certs");
    run(0, "monitor", "certs", dir.toString(), "--nodes", "a");
    byte[] caCrt = Files.readAllBytes(dir.resolve("ca.crt"));
    // stopped after ca.p12 (and the password) were written: the CA's public files are made again from ca.p12
    Files.delete(dir.resolve("ca.crt"));
    Files.delete(dir.resolve("truststore.p12"));
    String repaired = run(0, "monitor", "certs", dir.toString(), "--nodes", "b");
    assertTrue(repaired.startsWith("repaired: ca.crt and truststore.p12 made again from ca.p12"), repaired);
    assertTrue(java.util.Arrays.equals(caCrt, Files.readAllBytes(dir.resolve("ca.crt"))), "the same CA");
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(dir.resolve("truststore.p12"))) {
      trust.load(in, Files.readString(dir.resolve("password")).strip().toCharArray());
    }
    assertTrue(trust.isCertificateEntry("ca"), "the trust store holds the CA certificate");
    assertTrue(Files.exists(dir.resolve("b.p12")), "b made");
    // cut short (an empty ca.crt was what an older release left after a foreign ca.p12): made again too
    Files.write(dir.resolve("ca.crt"), new byte[0]);
    Files.write(dir.resolve("truststore.p12"), java.util.Arrays.copyOf(Files.readAllBytes(dir.resolve(
        "truststore.p12")), 100));
    String cut = run(0, "monitor", "certs", dir.toString(), "--nodes", "c");
    assertTrue(cut.startsWith("repaired: ca.crt and truststore.p12 made again from ca.p12"), cut);
    assertTrue(java.util.Arrays.equals(caCrt, Files.readAllBytes(dir.resolve("ca.crt"))), "the same CA");
    try (var in = Files.newInputStream(dir.resolve("truststore.p12"))) {
      trust.load(in, Files.readString(dir.resolve("password")).strip().toCharArray());
    }
    assertTrue(trust.isCertificateEntry("ca"), "the trust store holds the CA certificate again");
  }

  /**
   * Another CA's ca.crt or trust store beside ca.p12 is refused in one line before anything is written: it was kept
   * (it parsed, or held a ca entry), and nodes given it would refuse every certificate this CA signs.
   */
  @Test
  void certsRefusesAnotherCasCertificateOrTrustStoreBesideCaP12() throws Exception {
    Path dir = tmp.resolve("certs");
    Path other = tmp.resolve("other");
    run(0, "monitor", "certs", dir.toString(), "--nodes", "a");
    run(0, "monitor", "certs", other.toString(), "--nodes", "a");
    byte[] crt = Files.readAllBytes(dir.resolve("ca.crt"));
    Files.copy(other.resolve("ca.crt"), dir.resolve("ca.crt"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    String m = run(1, "monitor", "certs", dir.toString(), "--nodes", "c");
    assertTrue(m.strip().startsWith("error: " + dir.resolve("ca.crt") + " holds another CA's certificate"
        + " (CN=splinewatch cluster CA, SHA-256 ") && m.strip().contains("expected the CA in ca.p12's, move ca.crt"
        + " away and rerun to make it again from ca.p12") && m.strip().lines().count() == 1, m);
    assertFalse(Files.exists(dir.resolve("c.p12")), "no node made");
    assertTrue(java.util.Arrays.equals(Files.readAllBytes(other.resolve("ca.crt")),
        Files.readAllBytes(dir.resolve("ca.crt"))), "the file is left as it was");
    Files.write(dir.resolve("ca.crt"), crt);
    // the other CA's trust store: made with its own password
    byte[] trust = Files.readAllBytes(dir.resolve("truststore.p12"));
    Files.copy(other.resolve("truststore.p12"), dir.resolve("truststore.p12"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    String t = run(1, "monitor", "certs", dir.toString(), "--nodes", "c");
    assertEquals("error: " + dir.resolve("truststore.p12") + " does not open with the password of ca.p12, so another"
        + " CA made it; expected the trust store of the CA in ca.p12: move it away and rerun to make it again from"
        + " ca.p12 (then give it to every node)", t.strip());
    // the other CA's certificate in a trust store with this CA's password
    char[] password = Files.readAllLines(dir.resolve("password")).get(0).toCharArray();
    java.security.KeyStore foreign = java.security.KeyStore.getInstance("PKCS12");
    foreign.load(null, null);
    try (var in = Files.newInputStream(other.resolve("ca.crt"))) {
      foreign.setCertificateEntry("ca", java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificate(in));
    }
    try (var out = Files.newOutputStream(dir.resolve("truststore.p12"))) {
      foreign.store(out, password);
    }
    String f = run(1, "monitor", "certs", dir.toString(), "--nodes", "c");
    assertTrue(f.strip().startsWith("error: " + dir.resolve("truststore.p12") + " holds another CA's certificate")
        && f.strip().lines().count() == 1, f);
    assertFalse(Files.exists(dir.resolve("c.p12")), "no node made");
    Files.write(dir.resolve("truststore.p12"), trust);
    run(0, "monitor", "certs", dir.toString(), "--nodes", "c"); // its own files again: the node is made
    assertTrue(Files.exists(dir.resolve("c.p12")), "c made");
  }

  @Test
  void certsNamesACaKeyStoreCutShortAsDamagedNotAsAWrongPassword() throws Exception {
    Path dir = tmp.resolve("certs");
    run(0, "monitor", "certs", dir.toString(), "--nodes", "a");
    byte[] ca = Files.readAllBytes(dir.resolve("ca.p12"));
    Files.write(dir.resolve("ca.p12"), java.util.Arrays.copyOf(ca, 300));
    String damaged = run(1, "monitor", "certs", dir.toString(), "--nodes", "c");
    assertTrue(damaged.strip().startsWith("error: " + dir.resolve("ca.p12") + " is damaged or not a PKCS#12 key"
        + " store (EOFException); expected the CA key store ./monitor certs made: restore it from a backup, or move"
        + " it away and rerun with --force") && damaged.strip().lines().count() == 1, damaged);
    assertFalse(Files.exists(dir.resolve("c.p12")), "nothing made");
  }

  /**
   * A ca.p12 that the password opens but that holds no {@code ca} key entry (another key store, a copy of the trust
   * store) is one line naming it, before anything is written: it was a raw keytool error ("Alias <ca> does not
   * exist") after an empty ca.crt was written, or ("Alias <ca> has no key") after a node's key was made.
   */
  @Test
  void certsNamesACaKeyStoreWithoutTheCaKeyAndWritesNothing() throws Exception {
    Path dir = tmp.resolve("certs");
    run(0, "monitor", "certs", dir.toString(), "--nodes", "a");
    char[] password = Files.readAllLines(dir.resolve("password")).get(0).toCharArray();
    java.security.KeyStore made = java.security.KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(dir.resolve("ca.p12"))) {
      made.load(in, password);
    }
    java.security.KeyStore other = java.security.KeyStore.getInstance("PKCS12");
    other.load(null, null);
    other.setKeyEntry("other", made.getKey("ca", password), password, made.getCertificateChain("ca"));
    try (var out = Files.newOutputStream(dir.resolve("ca.p12"))) {
      other.store(out, password);
    }
    Files.delete(dir.resolve("ca.crt")); // as if its making had stopped: the repair must not start either
    Files.delete(dir.resolve("truststore.p12"));
    String m = run(1, "monitor", "certs", dir.toString(), "--nodes", "c");
    assertEquals("error: " + dir.resolve("ca.p12") + " holds no ca key entry (it holds other); expected the CA key"
        + " store ./monitor certs made: restore it from a backup, or move it away and rerun with --force to make a new"
        + " CA (every node then needs the new trust store and password)", m.strip());
    try (var left = Files.list(dir)) {
      assertEquals(java.util.List.of("a.crt", "a.p12", "ca.p12", "password"), left.map(p -> p.getFileName().toString())
          .sorted().toList(), "nothing written");
    }
    // the trust store copied over ca.p12: its ca entry is the certificate alone
    run(0, "monitor", "certs", tmp.resolve("fresh").toString(), "--nodes", "a");
    Files.copy(tmp.resolve("fresh/truststore.p12"), tmp.resolve("fresh/ca.p12"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    String trust = run(1, "monitor", "certs", tmp.resolve("fresh").toString(), "--nodes", "c");
    assertTrue(trust.strip().startsWith("error: " + tmp.resolve("fresh/ca.p12") + " holds no ca key entry (ca is a"
        + " certificate without its key, as in a trust store); expected") && trust.strip().lines().count() == 1, trust);
    assertFalse(Files.exists(tmp.resolve("fresh/c.p12")) || Files.exists(tmp.resolve("fresh/c.crt")), "no node made");
  }

  @Test
  void benchmarkOptionsOutOfRangeAreBadArgumentsBeforeAnythingRuns() {
    String[][] cases = {
        {"bench-overhead", "--steps", "0"}, {"bench-overhead", "--rounds", "0"},
        {"bench-overhead", "--method", "foo"}, {"bench-soak", "--steps", "0"},
        {"bench-regions", "--threads", "3"}, {"bench-cluster", "--hidden", "0"},
        {"bench-overhead", "--analyzers", "foo"}, {"bench-cluster", "--analyzers", "embedding,foo"},
        {"bench-cluster", "--in-flight", "0"}, {"bench-soak", "--every", "3601"},
        {"bench-overhead", "--snapshot-every", "601"}, {"bench-cluster", "--snapshots", "2147483647"},
        {"bench-regions", "--repeat", "2000000000"}, {"bench-cluster", "--in-flight", "15"},
        {"bench-cluster", "--max-nodes", "0"}, {"bench-overhead", "--warmup-steps", "600"},
        {"bench-regions", "--max-warmup", "2000000"}, {"bench-regions", "--stable", "2"},
        {"bench-regions", "--scaling", "--widths", "70000"}, {"bench-regions", "--scaling", "--depths", "64"},
        {"bench-regions", "--dir", "no-such-workloads"}};
    for (String[] c : cases) {
      String[] args = new String[c.length + 1];
      args[0] = "monitor";
      System.arraycopy(c, 0, args, 1, c.length);
      String m = run(2, args);
      // and no benchmark's header: nothing ran
      assertTrue(m.startsWith("error: ") && !m.contains(c[0] + ": "), m);
      // one line, then the line every bad argument of the CLI ends with (bench-cluster and bench-regions had none)
      List<String> lines = m.strip().lines().toList();
      assertEquals(List.of("(./monitor " + c[0] + " --help lists the options)"), lines.subList(1, lines.size()), m);
      if (c[c.length - 2].matches("--(in-flight|max-nodes|warmup-steps|max-warmup|stable)")) {
        assertTrue(lines.get(0).startsWith("error: " + c[c.length - 2] + " " + c[c.length - 1] + " is out of range;"
            + " expected "), m);
      }
    }
  }

  /** A loopback port nothing listens on once its probe socket is closed (a monitor that is not there). */
  private static int freeLoopbackPort() throws java.io.IOException {
    try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return free.getLocalPort();
    }
  }
}
