package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.data.SyntheticData;

/**
 * Arguments that used to be accepted and then ignored, or refused with a cut-off or unnamed message: each is exit code
 * 2 with one error line naming the option, and no run directory is written.
 */
class ArgumentChecksTest {
  @TempDir
  Path tmp;

  /** Runs {@code ./trainer args --out tmp/runs}, expects exit code 2 and returns the error line. */
  private String refused(String... args) {
    String[] all = java.util.Arrays.copyOf(args, args.length + 3);
    all[args.length] = "--out";
    all[args.length + 1] = tmp.resolve("runs").toString();
    all[args.length + 2] = "--metrics-port=0";
    String[] withTrain = new String[all.length + 1];
    withTrain[0] = "train";
    System.arraycopy(all, 0, withTrain, 1, all.length);
    String m = CliTest.run(2, withTrain);
    assertEquals(2, m.strip().lines().count(), "one error line and the --help hint: " + m);
    assertTrue(m.startsWith("error: "), m);
    assertFalse(Files.exists(tmp.resolve("runs")), "a refused command line wrote the run directory: " + m);
    return m.lines().findFirst().orElseThrow();
  }

  @Test
  void aCommaSeparatedValueWithAnEmptyItemIsRefused() {
    // picocli read "64," as 64 (a second width forgotten, silently); leading and doubled commas reached the checks as ""
    for (String[] bad : new String[][] {{"--hidden", "64,"}, {"--cnn-channels", "8,16,"},
        {"--analyzers", "regions,"}, {"--analyzers=,regions"}}) {
      String m = refused(bad);
      String value = bad.length == 2 ? bad[1] : bad[0].substring(bad[0].indexOf('=') + 1);
      String name = bad.length == 2 ? bad[0] : bad[0].substring(0, bad[0].indexOf('='));
      assertTrue(m.contains(name + " '" + value + "' has an empty item; expected values separated by single commas,"
          + " none at either end"), m);
    }
    // a doubled comma in a list of numbers fails picocli's conversion first (it said "'' is not an int")
    assertEquals("error: --hidden has an empty item; expected whole numbers separated by single commas, such as 42,7",
        refused("--hidden", "64,,128"));
    // --help still prints the options
    assertTrue(CliTest.run(0, "train", "--hidden", "64,", "--help").contains("--hidden"));
    // a subcommand's list option too
    String experiment = CliTest.run(2, "monitor", "experiment", tmp.resolve("x").toString(), "--seeds", "42,");
    assertTrue(experiment.startsWith("error: --seeds '42,' has an empty item"), experiment);
    assertFalse(Files.exists(tmp.resolve("x")), experiment);
  }

  /** A value that is no number names the option, the value and what a number looks like, not a Java type. */
  @Test
  void aValueThatIsNoNumberIsNamedWithAnExample() {
    // it said "Invalid value for option '--max-steps': 'abc' is not a long" (a Java type, no example)
    assertEquals("error: --max-steps 'abc' is not a whole number; expected a whole number, such as 42",
        refused("--max-steps", "abc"));
    assertEquals("error: --learning-rate '1e-3x' is not a number; expected a number, such as 0.05 or 1e-3",
        refused("--learning-rate", "1e-3x"));
    assertEquals("error: --hidden item 'x' is not a whole number; expected whole numbers separated by single commas,"
        + " such as 42,7", refused("--hidden", "64,x"));
    assertEquals("error: --max-steps has an empty value; expected a whole number, such as 42", refused("--max-steps="));
    // ./monitor detection's options alike
    String seeds = CliTest.run(2, "monitor", "detection", "--tuning-seeds", "42,a", tmp.toString());
    assertTrue(seeds.startsWith("error: --tuning-seeds item 'a' is not a whole number; expected whole numbers"
        + " separated by single commas, such as 42,7\n"), seeds);
    String drop = CliTest.run(2, "monitor", "detection", "--drop", "five", tmp.toString());
    assertTrue(drop.startsWith("error: --drop 'five' is not a number; expected a number, such as 0.05 or 1e-3\n"), drop);
  }

  @Test
  void anAblationOnsetAtOrAfterTheEndIsRefused() throws Exception {
    String m = refused("--method", "vicreg", "--vicreg-std-coeff", "0", "--ablate-from", "500", "--max-steps", "150");
    assertTrue(m.contains("--ablate-from 500 is not before the run's end (150 steps); expected a step below 150"
        + " (--max-steps 150)"), m);
    String equal = refused("--method", "simsiam", "--no-stop-gradient", "--ablate-from", "150", "--max-steps", "150");
    assertTrue(equal.contains("--ablate-from 150 is not before the run's end (150 steps)"), equal);
    // with --epochs the length is known once the data is loaded: 640 images in batches of 32 are 20 steps an epoch
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 200, 3);
    String epochs = refused("--method", "vicreg", "--vicreg-std-coeff", "0", "--ablate-from", "40", "--epochs", "2",
        "--batch-size", "32", "--probe-size", "50", "--data-dir", data.toString(), "--cache-dir",
        tmp.resolve("cache").toString());
    assertTrue(epochs.contains("--ablate-from 40 is not before the run's end (40 steps); expected a step below 40"
        + " (--epochs 2 of 20 batches)"), epochs);
    // the detection benchmark's onset is before its end: past these checks (refused for the unknown analyzer only)
    String bench = refused("--method", "vicreg", "--vicreg-std-coeff", "0", "--ablate-from", "250", "--max-steps",
        "500", "--analyzers", "nope");
    assertFalse(bench.contains("--ablate-from"), bench);
  }

  @Test
  void anAblationOptionOfAnotherMethodIsRefused() {
    String sg = refused("--method", "simclr", "--no-stop-gradient");
    assertTrue(sg.contains("--no-stop-gradient applies to --method simsiam only; expected it without --method simclr"),
        sg);
    String pred = refused("--method", "simclr", "--no-predictor");
    assertTrue(pred.contains("--no-predictor applies to --method simsiam or byol only"), pred);
    String tau = refused("--method", "simsiam", "--ema-tau", "0.99");
    assertTrue(tau.contains("--ema-tau applies to --method byol only"), tau);
    for (String coeff : new String[] {"--vicreg-std-coeff", "--vicreg-inv-coeff", "--vicreg-cov-coeff"}) {
      String v = refused("--method", "byol", coeff, "0");
      assertTrue(v.contains(coeff + " applies to --method vicreg only; expected it without --method byol"), v);
    }
    String defaultMethod = refused("--no-predictor");
    assertTrue(defaultMethod.contains("expected it without --method simclr"), defaultMethod);
    // the options of the method itself, and no option at all, pass these checks (refused for the analyzer only)
    for (String[] ok : new String[][] {{"--method", "byol", "--ema-tau", "0.99", "--no-predictor"},
        {"--method", "simsiam", "--no-stop-gradient", "--no-predictor"}, {"--method", "vicreg", "--vicreg-std-coeff",
            "0", "--vicreg-inv-coeff", "20", "--vicreg-cov-coeff", "2"}, {"--method", "supervised"}, {}}) {
      String[] args = java.util.Arrays.copyOf(ok, ok.length + 2);
      args[ok.length] = "--analyzers";
      args[ok.length + 1] = "nope";
      String m = refused(args);
      assertTrue(m.contains("nope") && !m.contains("applies to"), m);
    }
  }

  @Test
  void anOptionOfAnotherMethodOrEncoderIsRefused() {
    String t = refused("--method", "byol", "--temperature", "0.1");
    assertTrue(t.contains("--temperature applies to --method simclr only; expected it without --method byol"), t);
    String p = refused("--method", "supervised", "--projection-dim", "32");
    assertTrue(p.contains("--projection-dim applies to --method simclr, simsiam, byol or vicreg only; expected it"
        + " without --method supervised"), p);
    String c = refused("--cnn-channels", "4,8");
    assertTrue(c.contains("--cnn-channels applies to --encoder cnn only; expected it with --encoder cnn (this run's"
        + " encoder is mlp)"), c);
    // where they apply they pass these checks (refused for the analyzer only)
    for (String[] ok : new String[][] {{"--temperature", "0.1"}, {"--method", "vicreg", "--projection-dim", "32"},
        {"--method", "supervised", "--encoder", "cnn", "--cnn-channels", "4,8"}}) {
      String[] args = java.util.Arrays.copyOf(ok, ok.length + 2);
      args[ok.length] = "--analyzers";
      args[ok.length + 1] = "nope";
      String m = refused(args);
      assertTrue(m.contains("nope") && !m.contains("applies to"), m);
    }
  }

  @Test
  void aMissingUnreadableOrMisspeltConfigFileIsABadArgument() throws Exception {
    String missing = refused("--config", tmp.resolve("nonexistent.conf").toString());
    assertTrue(missing.contains("config file " + tmp.resolve("nonexistent.conf") + " not found"), missing);
    Path dir = Files.createDirectories(tmp.resolve("a-dir"));
    String isDir = refused("--config", dir.toString());
    assertTrue(isDir.contains("config file " + dir + " is a directory; expected a HOCON file"), isDir);
    // a pipe (--config <(echo ...)) exists but is read only once: it was "not found"
    Path fifo = tmp.resolve("settings.fifo");
    if (new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0) {
      String pipe = refused("--config", fifo.toString());
      assertTrue(pipe.contains("config file " + fifo + " is a FIFO; expected a HOCON file overriding keys of"
          + " reference.conf (see docs/options.md), a regular file: it is read more than once, so save a pipe's"
          + " output to a file first"), pipe);
      String soak = org.splinewatch.TestTools.cli(2, "monitor", "bench-soak", "--config", fifo.toString());
      assertTrue(soak.startsWith("error: config file " + fifo + " is a FIFO;"), soak);
    }
    Path broken = Files.writeString(tmp.resolve("broken.conf"), "splinewatch { run { epochs = \n");
    String parse = refused("--config", broken.toString());
    assertTrue(parse.contains("config file " + broken + " cannot be read: "), parse);
    // a nested section left open: Config's parser said "expecting a close parentheses ')' here", and HOCON has none
    Path open = Files.writeString(tmp.resolve("open.conf"), "splinewatch { run { epochs = 3\n");
    assertEquals("error: config file " + open + " cannot be read: " + open + ": 2: a section's { is not closed with }"
        + " before the end of the file; expected HOCON (see docs/options.md)", refused("--config", open.toString()));
    Path typo = Files.writeString(tmp.resolve("typo.conf"), "splinewatch.run.snapshot-evry = 5\n");
    String t = refused("--config", typo.toString());
    assertEquals("error: unknown setting splinewatch.run.snapshot-evry in " + typo + ", line 1; expected one of the"
        + " keys of reference.conf (see docs/options.md); did you mean splinewatch.run.snapshot-every?", t);
    Path nested = Files.writeString(tmp.resolve("nested.conf"), "splinewatch { alerts { n-fire = 2, nfire = 3 } }\n");
    String n = refused("--config", nested.toString());
    assertTrue(n.contains("unknown setting splinewatch.alerts.nfire in " + nested), n);
    Path section = Files.writeString(tmp.resolve("section.conf"), "splinewatch.regoins.threads = 2\n");
    assertTrue(refused("--config", section.toString()).contains("unknown setting splinewatch.regoins in "));
    // what the project's own files set, other namespaces and substitutions are accepted (refused for the analyzer)
    Path good = Files.writeString(tmp.resolve("good.conf"), """
        splinewatch.hub.buffer-size = 100000
        splinewatch.hub.priority-buffer-size = 100000
        splinewatch.analysis.drain-timeout = 60m
        splinewatch.lifecycle.abort-drain-timeout = 3s
        splinewatch.local-complexity.points = 16
        splinewatch.control.token = ${?NO_SUCH_VARIABLE_SET}
        splinewatch { run { snapshot-every = 5, hidden = [32, 32] }, alerts.stop-on = [std_collapse] }
        splinewatch.cluster.tls { enabled = false }
        splinewatch-analysis-dispatcher.fixed-pool-size = 1
        pekko.loglevel = "ERROR"
        """);
    String ok = refused("--config", good.toString(), "--analyzers", "nope");
    assertTrue(ok.contains("nope") && !ok.contains("config file") && !ok.contains("unknown setting"), ok);
    // monitor serve loads through the same code
    String serve = CliTest.run(2, "monitor", "serve", "--config", typo.toString());
    assertTrue(serve.contains("unknown setting splinewatch.run.snapshot-evry in " + typo), serve);
  }

  @Test
  void aSystemPropertyThatNamesNoSettingIsRefused() {
    // -Dsplinewatch.regions.thread=2 in JAVA_OPTS was ignored without a word (the key is threads)
    java.util.Properties p = new java.util.Properties();
    p.setProperty("splinewatch.regions.threads", "2"); // a setting: overrides it, as ConfigFactory.load() reads it
    p.setProperty("splinewatch.root", "/somewhere"); // read by the code itself
    p.setProperty("java.version", "17");
    TrainCommand.checkSystemProperties(p);
    // set in this JVM, as JAVA_OPTS does: defaultReference() would hold it too, and the check passed it
    System.setProperty("splinewatch.regions.thread", "2");
    try {
      IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> TrainCommand.load(java.util.Map.of(), null));
      assertEquals("unknown setting splinewatch.regions.thread in the system property -Dsplinewatch.regions.thread"
          + " (JAVA_OPTS); expected one of the keys of reference.conf (see docs/options.md)", e.getMessage());
    } finally {
      System.clearProperty("splinewatch.regions.thread");
      com.typesafe.config.ConfigFactory.invalidateCaches();
    }
    // a pekko key: -Dpekko.loglevl=DEBUG was ignored without a word; a real one, and a free-form section's, pass
    p.setProperty("pekko.loglevel", "DEBUG");
    p.setProperty("pekko.remote.artery.canonical.port", "2552");
    p.setProperty("pekko.actor.serialization-bindings.\"x.Y\"", "jackson-cbor");
    TrainCommand.checkSystemProperties(p);
    p.setProperty("pekko.loglevl", "DEBUG");
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> TrainCommand.checkSystemProperties(p));
    assertTrue(e.getMessage().startsWith("unknown setting pekko.loglevl in the system property -Dpekko.loglevl"
        + " (JAVA_OPTS); expected a key of pekko in Pekko's reference.conf") && e.getMessage().endsWith(
        "; did you mean pekko.loglevel?"), e.getMessage());
  }

  @Test
  void aTypoInSplinewatchsOwnDispatchersIsRefused() throws Exception {
    // fixed-pool-sise was ignored without a word: the analyzers stayed on one thread
    Path typo = Files.writeString(tmp.resolve("pool.conf"), "splinewatch-analysis-dispatcher.fixed-pool-sise = 2\n");
    String t = refused("--config", typo.toString());
    assertTrue(t.contains("unknown setting splinewatch-analysis-dispatcher.fixed-pool-sise in " + typo + ", line 1;"
        + " expected a"
        + " key of splinewatch-analysis-dispatcher in reference.conf or a dispatcher setting of Pekko"
        + " (pekko.actor.default-dispatcher) (see docs/options.md); did you mean"
        + " splinewatch-analysis-dispatcher.fixed-pool-size?"), t);
    Path nested = Files.writeString(tmp.resolve("nested.conf"),
        "splinewatch-trainer-dispatcher { thread-pool-executor { keep-alive-tme = 30s } }\n");
    assertTrue(refused("--config", nested.toString()).contains("unknown setting"
        + " splinewatch-trainer-dispatcher.thread-pool-executor.keep-alive-tme in "));
    String serve = CliTest.run(2, "monitor", "serve", "--config", typo.toString());
    assertTrue(serve.contains("unknown setting splinewatch-analysis-dispatcher.fixed-pool-sise in " + typo), serve);
    // a pool size the executor refuses when the first analyzer starts, mid-run: refused before anything starts
    Path zero = Files.writeString(tmp.resolve("zero.conf"), "splinewatch-analysis-dispatcher.fixed-pool-size = 0\n");
    assertTrue(refused("--config", zero.toString()).contains("error: splinewatch-analysis-dispatcher.fixed-pool-size 0"
        + " in " + zero + ": expected at least 1 (threads of the analyzers)"));
    Path text = Files.writeString(tmp.resolve("text.conf"),
        "splinewatch-analysis-dispatcher.fixed-pool-size = \"two\"\n");
    String m = refused("--config", text.toString());
    assertTrue(m.contains("line 1: splinewatch-analysis-dispatcher.fixed-pool-size = \"two\" is a string; expected a"
        + " whole number"), m);
    // what Pekko reads for a dispatcher is accepted (refused for the analyzer)
    Path good = Files.writeString(tmp.resolve("good.conf"), """
        splinewatch-analysis-dispatcher { fixed-pool-size = 2, throughput = 2, throughput-deadline-time = 1s }
        splinewatch-analysis-dispatcher.mailbox-type = "org.apache.pekko.dispatch.UnboundedMailbox"
        splinewatch-trainer-dispatcher.thread-pool-executor.keep-alive-time = 30s
        """);
    String ok = refused("--config", good.toString(), "--analyzers", "nope");
    assertTrue(ok.contains("nope") && !ok.contains("unknown setting"), ok);
  }

  @Test
  void nonsenseNumbersAndDurationsInAConfigFileAreRefused() throws Exception {
    String[][] cases = {
        {"splinewatch.regions.pad = NaN", "splinewatch.regions.pad NaN: expected a finite number"},
        {"splinewatch.regions.pad = Infinity", "splinewatch.regions.pad Infinity: expected a finite number"},
        {"splinewatch.local-complexity.radius = Infinity", "splinewatch.local-complexity.radius Infinity: expected a"
            + " finite number"},
        {"splinewatch.alerts.rankme-sudden-fire = NaN", "splinewatch.alerts.rankme-sudden-fire NaN: expected a finite"
            + " number"},
        {"splinewatch.alerts.rankme-sudden-fire = 1.5", "splinewatch.alerts.rankme-sudden-fire 1.5: expected a number"
            + " in [0, 1]"},
        {"splinewatch.run.batch-size = 12.7", "splinewatch.run.batch-size 12.7: expected a whole number"},
        {"splinewatch.run.max-steps = 300.5", "splinewatch.run.max-steps 300.5: expected a whole number"},
        {"splinewatch.run.hidden = [32, 16.5]", "splinewatch.run.hidden [32, 16.5]: expected whole numbers"},
        {"splinewatch.regions.grid = 64.5", "splinewatch.regions.grid 64.5: expected a whole number"},
        {"splinewatch.alerts.n-fire = 2.5", "splinewatch.alerts.n-fire 2.5: expected a whole number"},
        {"splinewatch.retention.planes-keep-last = 2.5", "splinewatch.retention.planes-keep-last 2.5: expected a whole"
            + " number"},
        {"splinewatch.geometry.twonn-blocks = [1, 2.5]", "splinewatch.geometry.twonn-blocks [1, 2.5]: expected whole"
            + " numbers"},
        {"splinewatch.lifecycle.signal-grace = 0s", "splinewatch.lifecycle.signal-grace 0s: expected at least 1s (time"
            + " to finish the current step and write the checkpoint and run files)"},
        {"splinewatch.lifecycle.signal-grace = 5s", "splinewatch.lifecycle.signal-grace 5s: expected more than"
            + " splinewatch.lifecycle.abort-drain-timeout (5s)"},
        {"splinewatch.lifecycle.abort-drain-timeout = -5s", "splinewatch.lifecycle.abort-drain-timeout -5s: expected a"
            + " duration > 0, e.g. 30s"},
        {"splinewatch.analysis.timeout = 0s", "splinewatch.analysis.timeout 0s: expected a duration > 0"},
        {"splinewatch.analysis.drain-timeout = 0s", "splinewatch.analysis.drain-timeout 0s: expected a duration > 0"},
        {"splinewatch.memory.sample-interval = -1s", "splinewatch.memory.sample-interval -1s: expected a duration > 0"},
    };
    for (String[] c : cases) {
      Path conf = Files.writeString(tmp.resolve("bad.conf"), c[0] + "\n");
      // --analyzers nope: refused after the settings are read, should the value be accepted (not a whole run)
      String m = refused("--config", conf.toString(), "--analyzers", "nope");
      assertTrue(m.startsWith("error: " + c[1]), c[0] + " -> " + m);
    }
    // monitor serve reads its settings the same way (--metrics-port -1: refused there if the config were accepted)
    String[][] serve = {
        {"splinewatch.analysis.timeout = 0s", "splinewatch.analysis.timeout 0s: expected a duration > 0"},
        {"splinewatch.retention.finished-run-meters-grace = -1m", "splinewatch.retention.finished-run-meters-grace"
            + " -60s: expected at least 0s (0: at once)"},
        {"splinewatch.ingest.max-runs = 2.5", "splinewatch.ingest.max-runs 2.5: expected a whole number"},
        {"splinewatch.lifecycle.abort-drain-timeout = 0s", "splinewatch.lifecycle.abort-drain-timeout 0s: expected a"
            + " duration > 0"},
        {"splinewatch.cluster.heartbeat-pause = 0s", "splinewatch.cluster.heartbeat-pause 0s: expected a duration > 0"},
        {"splinewatch.cluster.join-timeout = 0s", "splinewatch.cluster.join-timeout 0s: expected a duration > 0"},
        {"splinewatch.serve.scheduling-group-nice = 20", "splinewatch.serve.scheduling-group-nice 20: expected a whole"
            + " number from 0 to 19 (the nice of monitor serve's scheduling group"},
        {"splinewatch.serve.scheduling-group-nice = -5", "splinewatch.serve.scheduling-group-nice -5: expected a whole"
            + " number from 0 to 19"},
        {"splinewatch.serve.scheduling-group-nice = 9.5", "splinewatch.serve.scheduling-group-nice 9.5: expected a"
            + " whole number"},
    };
    for (String[] c : serve) {
      String m = servedWith(c[0]);
      assertTrue(m.startsWith("error: " + c[1]), c[0] + " -> " + m);
    }
    assertFalse(Files.exists(tmp.resolve("served")));
  }

  /** What {@code monitor serve} says of a config file holding {@code setting} (exit 2 expected), on tmp/served. */
  private String servedWith(String setting) throws Exception {
    Path conf = Files.writeString(tmp.resolve("bad.conf"), setting + "\n");
    return CliTest.run(2, "monitor", "serve", "--config", conf.toString(), "--metrics-port", "-1", "--out",
        tmp.resolve("served").toString());
  }

  /**
   * Config-only settings out of range, in the options' common words ({@code --batch-size 0: expected at least 1})
   * with the full key: they said {@code splinewatch.cluster.max-open-runs must be at least 1, got 0}, and
   * splinewatch.ingest one line for five keys without the value.
   */
  @Test
  void configOnlySettingsOutOfRangeSayTheKeyTheValueAndWhatIsExpected() throws Exception {
    String[][] trainer = {
        {"splinewatch.cluster.max-open-runs = 0", "splinewatch.cluster.max-open-runs 0: expected at least 1"},
        {"splinewatch.cluster.max-layer-width = 0", "splinewatch.cluster.max-layer-width 0: expected at least 1"},
        {"splinewatch.cluster.in-flight-per-analyzer = 0", "splinewatch.cluster.in-flight-per-analyzer 0: expected at"
            + " least 1"},
        {"splinewatch.cluster.chunk-bytes = 100", "splinewatch.cluster.chunk-bytes 100: expected 1024-204800 (below"
            + " the 256 KiB artery frame)"},
        {"splinewatch.hub.priority-buffer-size = 0", "splinewatch.hub.priority-buffer-size 0: expected at least 1"},
        {"splinewatch.alerts.batch-warmup-steps = -3", "splinewatch.alerts.batch-warmup-steps -3: expected at least 0"},
        {"splinewatch.geometry.twonn-blocks-every = 0", "splinewatch.geometry.twonn-blocks-every 0: expected at least"
            + " 1"},
        {"splinewatch.geometry.twonn-blocks = [1, 0]", "splinewatch.geometry.twonn-blocks [1, 0]: expected block"
            + " counts of at least 1 (or [] for none)"},
    };
    for (String[] c : trainer) {
      Path conf = Files.writeString(tmp.resolve("bad.conf"), c[0] + "\n");
      // read with the cluster's and alerts' settings, after the options' checks (--analyzers would be refused first)
      assertEquals("error: " + c[1], refused("--config", conf.toString()), c[0]);
    }
    String[][] serve = {
        {"splinewatch.hub.buffer-size = 0", "splinewatch.hub.buffer-size 0: expected at least 1"},
        {"splinewatch.ingest.max-runs = 0", "splinewatch.ingest.max-runs 0: expected at least 1"},
        {"splinewatch.ingest.max-probes = 9", "splinewatch.ingest.max-probes 9: expected at least 10"},
        {"splinewatch.ingest.max-run-bytes = 100", "splinewatch.ingest.max-run-bytes 100: expected 1024-2147483583"
            + " (2^31 - 64)"},
    };
    for (String[] c : serve) {
      String m = servedWith(c[0]);
      assertEquals("error: " + c[1], m.lines().findFirst().orElseThrow(), c[0] + " -> " + m);
    }
    assertFalse(Files.exists(tmp.resolve("served")));
  }

  /**
   * The config-only settings that were in older words until session 55: {@code cluster port must be between 0
   * and 65535, got 70000}, {@code splinewatch.cluster.max-partial-bytes (1024) must be at least max-snapshot-bytes
   * (...)}, {@code splinewatch.retention settings must be >= 0 (0: no limit); got} all four, {@code
   * splinewatch.local-complexity: expected points >= 1, ...; got LocalComplexitySettings[...]}, and the like. Each
   * now names its full key, its value and what is expected, from a config file and from a -D property (JAVA_OPTS).
   */
  @Test
  void remainingConfigOnlySettingsOutOfRangeSayTheKeyTheValueAndWhatIsExpected() throws Exception {
    String[][] trainer = {
        {"splinewatch.cluster.port = 70000", "splinewatch.cluster.port 70000: expected 0 (a free one) or 1-65535"},
        {"splinewatch.cluster.max-partial-bytes = 1024", "splinewatch.cluster.max-partial-bytes 1024: expected at"
            + " least splinewatch.cluster.max-snapshot-bytes (134217728)"},
        {"splinewatch.cluster.tls.protocol = TLSv1.1", "splinewatch.cluster.tls.protocol TLSv1.1: expected one of"
            + " TLSv1.3, TLSv1.2"},
        {"splinewatch.alerts.rankme-n-fire = 0", "splinewatch.alerts.rankme-n-fire 0: expected at least 1"},
        {"splinewatch.alerts.std-fire = 0.5", "splinewatch.alerts.std-fire 0.5: expected at most"
            + " splinewatch.alerts.std-clear (0.3; the clear threshold lies on the healthy side of the fire"
            + " threshold)"},
        {"splinewatch.retention.planes-keep-last = -1", "splinewatch.retention.planes-keep-last -1: expected at least 0"
            + " (0: no limit)"},
        {"splinewatch.retention.metrics-segment-bytes = 100", "splinewatch.retention.metrics-segment-bytes 100:"
            + " expected 0 (no rotation) or at least 4096"},
        {"splinewatch.regions.pad = 1e39", "splinewatch.regions.pad 1.0E39: expected at most 3.4028235E38 (the"
            + " domain's corners are float32 inputs of the network), or <= 0 for 1.5 x the anchors' extent"},
        {"splinewatch.local-complexity.points = 0", "splinewatch.local-complexity.points 0: expected at least 1"},
        {"splinewatch.local-complexity.radius = 0", "splinewatch.local-complexity.radius 0.0: expected a finite number"
            + " > 0"},
    };
    for (String[] c : trainer) {
      Path conf = Files.writeString(tmp.resolve("bad.conf"), c[0] + "\n");
      assertEquals("error: " + c[1], refused("--config", conf.toString()), c[0]);
    }
    // a trainer joining a monitor checks its own port under its own key (withPort named splinewatch.cluster.port)
    Path trainerPort = Files.writeString(tmp.resolve("bad.conf"), "splinewatch.cluster.trainer-port = 70000\n");
    assertEquals("error: splinewatch.cluster.trainer-port 70000: expected 0 (a free one) or 1-65535",
        refused("--monitor", "127.0.0.1:1", "--config", trainerPort.toString()));
    // as JAVA_OPTS sets them
    for (String[] c : new String[][] {trainer[0], trainer[5]}) {
      String[] kv = c[0].split(" = ");
      System.setProperty(kv[0], kv[1]);
      try {
        com.typesafe.config.ConfigFactory.invalidateCaches();
        assertEquals("error: " + c[1], refused(), c[0]);
      } finally {
        System.clearProperty(kv[0]);
        com.typesafe.config.ConfigFactory.invalidateCaches();
      }
    }
    Path conf = Files.writeString(tmp.resolve("bad.conf"), "splinewatch.ingest.max-bytes-in-flight = 2048\n");
    String m = CliTest.run(2, "monitor", "serve", "--config", conf.toString(), "--metrics-port", "-1", "--out",
        tmp.resolve("served").toString());
    assertEquals("error: splinewatch.ingest.max-bytes-in-flight 2048: expected at least max-run-bytes and"
        + " max-snapshot-bytes (67108864), or auto", m.lines().findFirst().orElseThrow(), m);
    assertFalse(Files.exists(tmp.resolve("served")));
  }

  /**
   * A value of the wrong type in a config file: the file and line, the full key, the value and what is expected. It
   * used to be Config's {@code FILE: 1: run.batch-size has type STRING rather than NUMBER}: the key without its
   * {@code splinewatch.} block, no value, nothing expected.
   */
  @Test
  void aValueOfTheWrongTypeInAConfigFileNamesTheFileTheFullKeyAndWhatIsExpected() throws Exception {
    String[][] cases = {
        {"splinewatch.run.batch-size = \"abc\"", "splinewatch.run.batch-size = \"abc\" is a string; expected a whole"
            + " number, e.g. splinewatch.run.batch-size = 256 (reference.conf)"},
        {"splinewatch.run.batch-size = [1, 2]", "splinewatch.run.batch-size = [1, 2] is a list; expected a whole"
            + " number, e.g. splinewatch.run.batch-size = 256 (reference.conf)"},
        {"splinewatch.run.batch-size = null", "splinewatch.run.batch-size = null; expected a whole number, e.g."
            + " splinewatch.run.batch-size = 256 (reference.conf)"},
        {"splinewatch.run.hidden = 5x", "splinewatch.run.hidden = \"5x\" is a string; expected a list of whole numbers,"
            + " e.g. splinewatch.run.hidden = [256, 256] (reference.conf)"},
        {"splinewatch.run.hidden = [32, x]", "splinewatch.run.hidden = [32, \"x\"] has a string in it; expected a list"
            + " of whole numbers, e.g. splinewatch.run.hidden = [256, 256] (reference.conf)"},
        {"splinewatch.run.learning-rate = fast", "splinewatch.run.learning-rate = \"fast\" is a string; expected a"
            + " number, e.g. splinewatch.run.learning-rate = 0.001 (reference.conf)"},
        {"splinewatch.run.monitoring = maybe", "splinewatch.run.monitoring = \"maybe\" is a string; expected true or"
            + " false, e.g. splinewatch.run.monitoring = true (reference.conf)"},
        {"splinewatch.run.method = [simclr]", "splinewatch.run.method = [\"simclr\"] is a list; expected a string,"
            + " e.g. splinewatch.run.method = \"simclr\" (reference.conf)"},
        {"splinewatch.analysis.timeout = soon", "splinewatch.analysis.timeout = \"soon\": No number in duration value"
            + " 'soon'; expected a duration with a unit, e.g. splinewatch.analysis.timeout = \"10m\" (reference.conf)"},
        {"splinewatch.memory.max-resident = lots", "splinewatch.memory.max-resident = \"lots\": No number in"
            + " size-in-bytes value 'lots'; expected a size (a whole number of bytes, or with a unit), e.g."
            + " splinewatch.memory.max-resident = 0 (reference.conf)"},
        // inside a block, on its second line: the line of the value and its full key
        {"splinewatch {\n  run { epochs = 2, planes = three }\n}", "splinewatch.run.planes = \"three\" is a string;"
            + " expected a whole number, e.g. splinewatch.run.planes = 2 (reference.conf)"},
    };
    for (String[] c : cases) {
      Path conf = Files.writeString(tmp.resolve("typed.conf"), c[0] + "\n");
      String m = refused("--config", conf.toString(), "--analyzers", "nope");
      int line = c[0].contains("three") ? 2 : 1;
      assertEquals("error: config file " + conf + ", line " + line + ": " + c[1], m, c[0]);
    }
    // monitor serve reads its settings the same way
    Path port = Files.writeString(tmp.resolve("port.conf"), "splinewatch.cluster.port = \"abc\"\n");
    String serve = CliTest.run(2, "monitor", "serve", "--config", port.toString(), "--metrics-port", "-1", "--out",
        tmp.resolve("served").toString());
    assertTrue(serve.startsWith("error: config file " + port + ", line 1: splinewatch.cluster.port = \"abc\" is a"
        + " string; expected a whole number, e.g. splinewatch.cluster.port = 25520 (reference.conf)"), serve);
    assertFalse(Files.exists(tmp.resolve("served")));
  }

  /**
   * A {@code pekko} key of the wrong type in a config file: exit 2 before anything is written, one line as for the
   * splinewatch keys. Pekko read them only when its actor system started (exit 1 with its own words, {@code bad.conf:
   * 1: port has type STRING rather than NUMBER}), or never where a cluster node sets the key itself.
   */
  @Test
  void aPekkoValueOfTheWrongTypeInAConfigFileIsABadArgument() throws Exception {
    String[][] cases = {
        {"pekko.remote.artery.canonical.port = \"abc\"", "pekko.remote.artery.canonical.port = \"abc\" is a string;"
            + " expected a whole number, e.g. pekko.remote.artery.canonical.port = 17355 (reference.conf); a cluster"
            + " node sets it from splinewatch.cluster.port (--port)"},
        {"pekko.cluster.seed-nodes = 5", "pekko.cluster.seed-nodes = 5 is a number; expected a list of strings, e.g."
            + " pekko.cluster.seed-nodes = [\"pekko://splinewatch@127.0.0.1:25520\"] (reference.conf)"},
        {"pekko.loglevel = 5", "pekko.loglevel = 5 is a number; expected one of OFF, ERROR, WARNING, INFO, DEBUG, e.g."
            + " pekko.loglevel = \"WARNING\" (reference.conf)"},
        {"pekko.log-dead-letters = maybe", "pekko.log-dead-letters = \"maybe\"; expected on, off or a whole number"
            + " (how many to log), e.g. pekko.log-dead-letters = \"off\" (reference.conf)"},
        {"pekko.coordinated-shutdown.exit-jvm = [on]", "pekko.coordinated-shutdown.exit-jvm = [\"on\"] is a list;"
            + " expected on or off, e.g. pekko.coordinated-shutdown.exit-jvm = \"off\" (reference.conf)"},
        {"pekko.actor.default-dispatcher.fork-join-executor.parallelism-max = 2.5", "pekko.actor.default-dispatcher"
            + ".fork-join-executor.parallelism-max = 2.5; expected a whole number, e.g. pekko.actor.default-dispatcher"
            + ".fork-join-executor.parallelism-max = 2 (reference.conf)"},
        {"pekko.cluster.split-brain-resolver.stable-after = soon", "pekko.cluster.split-brain-resolver.stable-after ="
            + " \"soon\"; expected a duration with a unit, e.g. pekko.cluster.split-brain-resolver.stable-after ="
            + " \"20s\" (reference.conf); a cluster node sets it from splinewatch.cluster.down-after"},
        {"pekko {\n  loglevel = null\n}", "pekko.loglevel = null; expected one of OFF, ERROR, WARNING, INFO, DEBUG,"
            + " e.g. pekko.loglevel = \"WARNING\" (reference.conf)"},
    };
    for (String[] c : cases) {
      Path conf = Files.writeString(tmp.resolve("pekko.conf"), c[0] + "\n");
      String m = refused("--config", conf.toString(), "--analyzers", "nope");
      assertEquals("error: config file " + conf + ", line " + (c[0].contains("{") ? 2 : 1) + ": " + c[1], m, c[0]);
    }
    // values Pekko reads are accepted: the next check speaks
    Path good = Files.writeString(tmp.resolve("good.conf"), "pekko.loglevel = info\npekko.log-dead-letters = 10\n"
        + "pekko.remote.artery.bind.port = \"\"\npekko.coordinated-shutdown.exit-jvm = off\n"
        + "pekko.cluster.seed-nodes = [\"pekko://splinewatch@127.0.0.1:25520\"]\n");
    String ok = refused("--config", good.toString(), "--analyzers", "nope");
    assertTrue(ok.contains("nope") && !ok.contains("config file"), ok);
    // monitor serve and relay load the file the same way
    Path seeds = Files.writeString(tmp.resolve("seeds.conf"), "pekko.cluster.seed-nodes = 5\n");
    for (String[] command : new String[][] {{"serve", "--out", tmp.resolve("served").toString()}, {"relay"}}) {
      String[] args = new String[command.length + 3];
      args[0] = "monitor";
      System.arraycopy(command, 0, args, 1, command.length);
      args[command.length + 1] = "--config";
      args[command.length + 2] = seeds.toString();
      String m = CliTest.run(2, args);
      assertTrue(m.startsWith("error: config file " + seeds + ", line 1: pekko.cluster.seed-nodes = 5 is a number;"
          + " expected a list of strings"), command[0] + ": " + m);
    }
    assertFalse(Files.exists(tmp.resolve("served")));
  }

  /**
   * A misspelt {@code pekko} key in a config file ({@code canonical.prot}, {@code loglevl}) was ignored without a
   * word: Pekko reads only the keys it knows. Refused in one line with the nearest key; free-form sections pass.
   */
  @Test
  void aMisspeltPekkoKeyInAConfigFileIsABadArgument() throws Exception {
    Path typo = Files.writeString(tmp.resolve("pekko.conf"), "pekko.loglevel = INFO\n"
        + "pekko.remote.artery.canonical.prot = 2552\n");
    String m = refused("--config", typo.toString(), "--analyzers", "nope");
    assertEquals("error: unknown setting pekko.remote.artery.canonical.prot in " + typo + ", line 2; expected a key of"
        + " pekko.remote.artery.canonical in Pekko's reference.conf (hostname, port); did you mean"
        + " pekko.remote.artery.canonical.port?", m);
    Path level = Files.writeString(tmp.resolve("level.conf"), "pekko { loglevl = DEBUG }\n");
    String serve = CliTest.run(2, "monitor", "serve", "--config", level.toString(), "--out",
        tmp.resolve("served").toString());
    assertTrue(serve.startsWith("error: unknown setting pekko.loglevl in " + level + ", line 1; expected a key of pekko"
        + " in Pekko's reference.conf (see docs/options.md); did you mean pekko.loglevel?"), serve);
    assertFalse(Files.exists(tmp.resolve("served")));
    // keys of the user's choosing (class names, phases) and the settings Pekko defines pass (refused for the analyzer)
    Path good = Files.writeString(tmp.resolve("good.conf"), """
        pekko.actor.serialization-bindings { "org.example.Msg" = jackson-cbor }
        pekko.coordinated-shutdown.phases.my-phase { timeout = 5s }
        pekko.cluster.failure-detector.heartbeat-interval = 2s
        pekko.remote.artery.advanced.maximum-frame-size = 512KiB
        """);
    String ok = refused("--config", good.toString(), "--analyzers", "nope");
    assertTrue(ok.contains("nope") && !ok.contains("unknown setting"), ok);
  }

  @Test
  void aListAlertSettingShowsItsSyntaxOnOneLine() {
    String m = refused("--alert", "stop-on=std_collapse,region_drop");
    assertTrue(m.contains("--alert 'stop-on=std_collapse,region_drop': expected a list for stop-on, e.g."
        + " stop-on=[std_collapse,region_drop] (reference.conf: [std_collapse, dim_collapse, collapse_with_region_drop,"
        + " divergence, dead_representation, batch_collapse])"), m);
    String s = refused("--alert", "early-stop=5");
    assertTrue(s.contains("expected a string for early-stop (reference.conf: \"warn\")"), s);
  }

  @Test
  void anEmptyOrMalformedAlertKeyAndABadDurationAreOneLineArgumentErrors() {
    // "=3" used to reach HOCON's path parser: "error: path parameter: Invalid path ''", exit code 1
    for (String option : new String[] {"=3", "a..b=1", "\"n-fire\"=2"}) {
      String m = refused("--alert", option);
      assertTrue(m.startsWith("error: --alert '" + option + "': expected KEY=VALUE with KEY one of: "), m);
    }
    // a duration used to be "expected a string" (for 0) or HOCON's "hardcoded value: Invalid value at ..." (for abc)
    for (String option : new String[] {"export-hold=abc", "export-hold=0", "export-hold=[1s]"}) {
      String m = refused("--alert", option);
      assertEquals("error: --alert '" + option + "': expected a duration with a unit for export-hold, e.g."
          + " export-hold=30s or export-hold=0s (reference.conf: \"30s\")", m);
    }
  }

  @Test
  void rangeErrorsNameTheOption() {
    for (String option : new String[] {"--snapshot-every", "--epochs", "--batch-size", "--probe-size",
        "--projection-dim"}) {
      String m = refused(option, "0");
      assertTrue(m.contains(option + " 0: expected at least 1"), m);
    }
    String threads = refused("--region-threads", "0");
    assertTrue(threads.contains("--region-threads 0 (splinewatch.regions.threads): expected at least 1")
        && !threads.contains("RegionSettings["), threads);
  }

  @Test
  void aProbeBatchLargerThanTheTestSetIsRefusedBeforeAnythingIsWritten() throws Exception {
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 200, 3);
    String m = refused("--method", "supervised", "--probe-size", "201", "--max-steps", "5", "--batch-size", "32",
        "--data-dir", data.toString(), "--cache-dir", tmp.resolve("cache").toString());
    assertTrue(m.contains("--probe-size 201 is more than the 200 test images of mnist; expected 1-200"), m);
  }

  @Test
  void aTrainSubsetOrBatchLargerThanTheTrainingSetIsRefusedBeforeAnythingIsWritten() throws Exception {
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 200, 3);
    String[] common = {"--method", "supervised", "--max-steps", "5", "--probe-size", "50", "--data-dir",
        data.toString(), "--cache-dir", tmp.resolve("cache").toString()};
    String subset = refused(concat(common, "--train-subset", "641", "--batch-size", "32"));
    assertTrue(subset.contains("--train-subset 641 is more than the 640 training images of mnist; expected 0 (all)"
        + " or 32-640"), subset);
    String batch = refused(concat(common, "--batch-size", "641"));
    assertTrue(batch.contains("--batch-size 641 is more than the 640 training images of mnist; expected 1-640"),
        batch);
  }

  /**
   * A --batch-size beyond the fetched data set's 60,000 training images is refused as that, before the data set is
   * loaded (nothing fetched into --cache-dir); it was refused by the memory check ("training its 299648 parameters on
   * batches of 70000 needs at least 219.8 GiB ... expected --batch-size of at most 5901"), which runs before loading.
   */
  @Test
  void aBatchLargerThanTheFetchedTrainingSetIsRefusedAsSuchBeforeTheMemoryCheck() throws Exception {
    Path cache = tmp.resolve("cache");
    for (String[] run : new String[][] {{"simclr", "mnist"}, {"vicreg", "fashion-mnist"}, {"supervised", "mnist"}}) {
      assertEquals("error: --batch-size 70000 is more than the 60000 training images of " + run[1] + "; expected"
          + " 1-60000", refused("--method", run[0], "--dataset", run[1], "--batch-size", "70000", "--max-steps", "2",
          "--cache-dir", cache.toString()));
    }
    assertEquals("error: --train-subset 60001 is more than the 60000 training images of mnist; expected 0 (all) or"
        + " 256-60000", refused("--train-subset", "60001", "--max-steps", "2", "--cache-dir", cache.toString()));
    assertFalse(Files.exists(cache), "the data set was fetched for a refused command line");
  }

  /**
   * A network that cannot be built or trained (too many CNN stages for the images, a layer larger than a Java array,
   * more memory than the run may use) is refused before anything is written: it used to start the run, write its
   * directory and end with exit code 1 ("cannot create the trainer: too many pooling stages for 28x28 images",
   * "Allocation failed: [std::bad_alloc]").
   */
  @Test
  void aNetworkThatCannotBeTrainedIsRefusedBeforeAnythingIsWritten() throws Exception {
    String stages = refused("--encoder", "cnn", "--cnn-channels", "1,1,1,1,1,1", "--max-steps", "5");
    assertEquals("error: --cnn-channels [1, 1, 1, 1, 1, 1]: 6 convolution stages, but 28x28 images allow at most 4"
        + " (each stage's 2x2 average pooling halves the side: 28, 14, 7, 3, 1); expected at most 4 channel counts",
        stages);
    String hidden = refused("--hidden", "100000000", "--max-steps", "5");
    assertTrue(hidden.startsWith("error: --hidden [100000000]: dense layer 1 (784 x 100000000) has 78400000000"
        + " weights, which snapshots copy into one array, more than a Java array holds (2147483639); expected --hidden"
        + " entries of at most "), hidden);
    // VICReg's d x d covariance matrices of --projection-dim 2000000 need 44 TiB, whatever the machine
    String memory = refused("--method", "vicreg", "--projection-dim", "2000000", "--max-steps", "5");
    assertTrue(memory.startsWith("error: --projection-dim 2000000: training its ")
        && memory.contains("more than this run's memory limit of ") && memory.contains("expected --projection-dim of"
        + " at most "), memory);
    // the same settings from a config file
    Path wide = Files.writeString(tmp.resolve("wide.conf"), "splinewatch.run.hidden = [100000000]\n");
    assertTrue(refused("--config", wide.toString()).startsWith("error: --hidden [100000000]: dense layer 1"));
    // a setting without an option (8 TiB of predictor weights) is named by its key
    Path pred = Files.writeString(tmp.resolve("pred.conf"), "splinewatch.ssl.predictor-hidden = 2000000000\n");
    String p = refused("--method", "simsiam", "--config", pred.toString());
    assertTrue(p.startsWith("error: splinewatch.ssl.predictor-hidden 2000000000: training its "), p);
    Path stagesConf = Files.writeString(tmp.resolve("stages.conf"),
        "splinewatch.run { encoder = cnn, cnn-channels = [1, 1, 1, 1, 1] }\n");
    assertTrue(refused("--config", stagesConf.toString()).startsWith("error: --cnn-channels [1, 1, 1, 1, 1]: 5"
        + " convolution stages, but 28x28 images allow at most 4"));
    // a --data-dir's images may be smaller: checked once they are loaded, still before anything is written
    Path data = tmp.resolve("idx8");
    Files.createDirectories(data);
    for (String[] set : new String[][] {{"train", "320"}, {"t10k", "100"}}) {
      int n = Integer.parseInt(set[1]);
      int[] labels = new int[n];
      for (int i = 0; i < n; i++) {
        labels[i] = i % 10;
      }
      org.splinewatch.data.Idx.write(new org.splinewatch.data.LabeledImages(8, 8, new byte[n * 64], labels),
          data.resolve(set[0] + "-images-idx3-ubyte"), data.resolve(set[0] + "-labels-idx1-ubyte"));
    }
    String small = refused("--encoder", "cnn", "--cnn-channels", "4,4,4,4", "--data-dir", data.toString(),
        "--batch-size", "32", "--probe-size", "50", "--max-steps", "5", "--cache-dir", tmp.resolve("cache").toString());
    assertTrue(small.startsWith("error: --cnn-channels [4, 4, 4, 4]: 4 convolution stages, but 8x8 images allow at"
        + " most 3"), small);
  }

  private static String[] concat(String[] a, String... b) {
    return java.util.stream.Stream.concat(java.util.Arrays.stream(a), java.util.Arrays.stream(b))
        .toArray(String[]::new);
  }

  @Test
  void anOutThatIsAFileIsRefused() throws Exception {
    Path file = Files.writeString(tmp.resolve("notes.txt"), "keep me");
    String m = CliTest.run(2, "train", "--out", file.toString(), "--metrics-port=0");
    assertTrue(m.startsWith("error: --out " + file + " is a file; expected a directory, the parent of the run"
        + " directory"), m);
    assertEquals("keep me", Files.readString(file));
  }

  @Test
  void aConfigFileOutsideTheSplinewatchNamespaceOrReplacingASectionIsRefused() throws Exception {
    // a misspelt namespace was ignored without a word: the run trained with reference.conf's values
    Path ns = Files.writeString(tmp.resolve("ns.conf"), "splinewatchx.run.planes = 3\n");
    String m = refused("--config", ns.toString());
    assertEquals("error: unknown setting splinewatchx in " + ns + ", line 1; expected keys under splinewatch (e.g."
        + " splinewatch.run.planes = 3; see docs/options.md)", m);
    Path bare = Files.writeString(tmp.resolve("bare.conf"), "run { planes = 3 }\n");
    assertTrue(refused("--config", bare.toString()).startsWith("error: unknown setting run in " + bare), bare.toString());
    // a value where reference.conf has a section: "withValue(max-steps): No configuration setting found for key ..."
    Path section = Files.writeString(tmp.resolve("section.conf"), "splinewatch.run = 5\n");
    assertEquals("error: splinewatch.run = 5 in " + section + ", line 1: expected a section of settings, e.g."
        + " splinewatch.run { ... } (see docs/options.md)", refused("--config", section.toString()));
    Path root = Files.writeString(tmp.resolve("root.conf"), "splinewatch = \"x\"\n");
    assertTrue(refused("--config", root.toString()).startsWith("error: splinewatch = \"x\" in " + root
        + ", line 1: expected a section of settings"));
  }

  @Test
  void anUnknownModeOrAnalyzerIsNamedAsTheOptionOrTheKeyAndLineThatSetIt() throws Exception {
    // "unknown early-stop mode 'maybe'" and "unknown analyzer 'foo'" named the value only, for options and files alike
    String modes = "unknown early-stop mode; expected one of: warn, stop, alertmanager";
    assertEquals("error: --early-stop maybe: " + modes, refused("--early-stop", "maybe"));
    assertEquals("error: --alert early-stop=maybe: " + modes, refused("--alert", "early-stop=maybe"));
    Path es = Files.writeString(tmp.resolve("es.conf"), "splinewatch.run.seed = 1\n"
        + "splinewatch.alerts.early-stop = maybe\n");
    assertEquals("error: config file " + es + ", line 2: splinewatch.alerts.early-stop = \"maybe\": " + modes,
        refused("--config", es.toString()));
    System.setProperty("splinewatch.alerts.early-stop", "maybe");
    try {
      com.typesafe.config.ConfigFactory.invalidateCaches();
      assertEquals("error: the system property -Dsplinewatch.alerts.early-stop=maybe (JAVA_OPTS): " + modes,
          refused());
    } finally {
      System.clearProperty("splinewatch.alerts.early-stop");
      com.typesafe.config.ConfigFactory.invalidateCaches();
    }
    String names = "expected some of: " + String.join(", ", org.splinewatch.analysis.AnalyzerCatalogue.NAMES);
    assertEquals("error: --analyzers embedding,foo: unknown analyzer 'foo'; " + names,
        refused("--analyzers", "embedding,foo"));
    Path an = Files.writeString(tmp.resolve("an.conf"), "splinewatch.analysis.enabled = [embedding, foo]\n");
    assertEquals("error: config file " + an + ", line 1: splinewatch.analysis.enabled = [\"embedding\", \"foo\"]:"
        + " unknown analyzer 'foo'; " + names, refused("--config", an.toString()));
    // monitor serve took it: no run sent over HTTP was analysed (the analyzer node could not open one)
    Path served = tmp.resolve("served");
    String serve = CliTest.run(2, "monitor", "serve", "--config", an.toString(), "--out", served.toString());
    assertTrue(serve.startsWith("error: config file " + an + ", line 1: splinewatch.analysis.enabled = "), serve);
    Path ingest = Files.writeString(tmp.resolve("ingest.conf"), "splinewatch.ingest.early-stop = maybe\n");
    String i = CliTest.run(2, "monitor", "serve", "--config", ingest.toString(), "--out", served.toString());
    assertTrue(i.startsWith("error: config file " + ingest + ", line 1: splinewatch.ingest.early-stop = \"maybe\":"
        + " expected stop or warn"), i);
    assertFalse(Files.exists(served));
  }

  @Test
  void aDispatcherOfTheUsersOwnIsRefusedAsHavingNoEffect() throws Exception {
    // refused as "unknown setting pekko.actor.my-dispatcher": as if misspelt, though Pekko would read it, and no
    // splinewatch actor would run on it
    Path own = Files.writeString(tmp.resolve("own.conf"), "pekko.actor.my-dispatcher {\n  type = Dispatcher\n"
        + "  executor = thread-pool-executor\n}\n");
    assertEquals("error: unused dispatcher pekko.actor.my-dispatcher in " + own + ", line 1: no actor of splinewatch"
        + " looks it up, so it would have no effect; expected a setting of splinewatch's own dispatchers,"
        + " splinewatch-analysis-dispatcher (the analyzers) or splinewatch-trainer-dispatcher (the trainer), top-level"
        + " sections (see docs/settings.md), or of pekko.actor.default-dispatcher (Pekko's own actors)",
        refused("--config", own.toString()));
    Path top = Files.writeString(tmp.resolve("top.conf"), "\nmy-dispatcher { throughput = 5 }\n");
    String t = refused("--config", top.toString());
    assertTrue(t.startsWith("error: unused dispatcher my-dispatcher in " + top + ", line 2: no actor"), t);
    // a misspelt section of Pekko's is named as such
    Path typo = Files.writeString(tmp.resolve("typo.conf"), "pekko.actor.default-dispatchr { throughput = 5 }\n");
    String m = refused("--config", typo.toString());
    assertTrue(m.startsWith("error: unknown setting pekko.actor.default-dispatchr in ") && m.endsWith("did you mean"
        + " pekko.actor.default-dispatcher?"), m);
  }

  @Test
  void anUnreadableConfigFileIsRefusedNotReadAsEmpty() throws Exception {
    // Config reads a file it may not open as a missing one: the run started with none of its settings, without a word
    Path locked = Files.writeString(tmp.resolve("locked.conf"), "splinewatch.run.planes = 3\n");
    Files.setPosixFilePermissions(locked, java.util.Set.of());
    if (Files.isReadable(locked)) { // root reads it anyway; not another process's memory (ptrace rules)
      locked = Path.of("/proc/1/mem");
    }
    boolean denied;
    try (var in = Files.newInputStream(locked)) {
      denied = false;
    } catch (java.nio.file.AccessDeniedException e) {
      denied = true;
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(denied, "no file this user may not open");
    assertEquals("error: config file " + locked + " cannot be read (permission denied); expected a HOCON file this"
        + " user can read (see docs/options.md)", refused("--config", locked.toString(), "--analyzers", "nope"));
    // one that opens, but whose reading fails, also as root
    Path mem = Path.of("/proc/self/mem");
    assertEquals("error: config file " + mem + " cannot be read (Input/output error); expected a HOCON file this"
        + " user can read (see docs/options.md)", refused("--config", mem.toString(), "--analyzers", "nope"));
  }

  @Test
  void anOutThatCannotBeWrittenIsABadArgumentBeforeTheDataIsLoaded() throws Exception {
    // a directory this process cannot write, also as root: it used to load the data set, then fail with exit code 1
    // and "cannot write <out>/<id>/config.json: <out>/<id>: no such file or directory"
    Path readOnly = Path.of("/proc/self");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(readOnly) && !Files.isWritable(readOnly),
        "Linux only");
    for (Path out : new Path[] {readOnly, readOnly.resolve("runs").resolve("deeper")}) {
      String m = CliTest.run(2, "train", "--out", out.toString(), "--run-id", "x", "--metrics-port=0");
      assertEquals("error: --out " + out + ": cannot write in " + readOnly + " (read-only or not this user's);"
          + " expected a directory this user can write, the parent of the run directory (created when missing)",
          m.lines().findFirst().orElseThrow(), m);
    }
    // a file further up the path is named as such (found only when config.json was written)
    Path file = Files.writeString(tmp.resolve("notes.txt"), "keep me");
    String m = CliTest.run(2, "train", "--out", file.resolve("runs").toString(), "--run-id", "x", "--metrics-port=0");
    assertTrue(m.startsWith("error: --out " + file.resolve("runs") + ": " + file + " is a file; expected a"
        + " directory"), m);
    assertEquals("keep me", Files.readString(file));
  }

  @Test
  void analyzersWithoutMonitoringAreRefused() {
    String m = refused("--no-monitoring", "--analyzers", "regions");
    assertTrue(m.contains("--analyzers has no effect with --no-monitoring, which runs no analyzer; expected one of"
        + " them"), m);
  }

  @Test
  void conflictingEarlyStopSettingsAreRefused() {
    String both = refused("--alert", "early-stop=stop", "--early-stop", "warn");
    assertTrue(both.contains("--early-stop warn conflicts with --alert early-stop=stop; expected one of them"), both);
    // the same value twice is no conflict (refused for the analyzer only)
    String same = refused("--alert", "early-stop=stop", "--early-stop", "stop", "--analyzers", "nope");
    assertFalse(same.contains("conflicts"), same);
    String am = refused("--early-stop", "alertmanager");
    assertTrue(am.contains("--early-stop alertmanager needs the control endpoint, which --metrics-port 0 turns off"),
        am);
  }

  @Test
  void anUnknownMonitorSubcommandListsThem() {
    String m = CliTest.run(2, "monitor", "bogus");
    assertTrue(m.startsWith("error: unknown subcommand 'bogus'; expected one of: regions, report, detection,"
        + " bench-regions, bench-overhead, bench-cluster, bench-soak, serve, relay, certs, experiment"), m);
    String option = CliTest.run(2, "monitor", "--bogus");
    assertTrue(option.contains("--bogus") && !option.contains("unknown subcommand"), option);
  }

  @Test
  void theDocumentedAnalyzersAreTheCodesAnalyzers() throws Exception {
    String help = CliTest.run(0, "train", "--help");
    assertTrue(help.contains("local-complexity"), help);
    for (String doc : new String[] {"docs/options.md", "README.md"}) {
      String text = Files.readString(Path.of(doc));
      String row = text.lines().filter(l -> l.contains("--analyzers")).findFirst().orElseThrow();
      for (String a : org.splinewatch.analysis.AnalyzerCatalogue.NAMES) {
        assertTrue(row.contains("`" + a + "`"), doc + " does not list analyzer " + a + ": " + row);
      }
    }
  }

  /**
   * An empty or blank option value is quoted and said to be so in the error line, whatever the command: it printed as
   * nothing ({@code --layer : no run has …}, {@code --drop-reference  is unknown}, {@code --early-stop : unknown …}).
   */
  @Test
  void emptyAndBlankValuesAreQuotedAndNamedAsSuch() throws Exception {
    assertEquals("error: --early-stop '' (empty): unknown early-stop mode; expected one of: warn, stop, alertmanager",
        refused("--early-stop", ""));
    assertEquals("error: --early-stop ' ' (only whitespace): unknown early-stop mode; expected one of: warn, stop,"
        + " alertmanager", refused("--early-stop", " "));
    // a run with a kNN accuracy series of layer repr, for ./monitor detection
    Path run = Files.createDirectories(tmp.resolve("knn"));
    Files.writeString(run.resolve("config.json"), "{\"run_id\":\"knn\",\"method\":\"simclr\",\"settings\":{}}");
    Files.writeString(run.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_knn_accuracy_ratio\",\"labels\":"
        + "{\"run\":\"knn\",\"layer\":\"repr\"},\"step\":0,\"value\":0.5}\n");
    Files.writeString(run.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"done\","
        + "\"exit_code\":0,\"steps\":0}\n");
    String layer = CliTest.run(2, "monitor", "detection", "--layer", "", run.toString());
    assertTrue(layer.startsWith("error: --layer '' (empty): no run has a kNN accuracy series for this layer;"
        + " expected one of: repr\n"), layer);
    assertTrue(CliTest.run(2, "monitor", "detection", "--layer", "\t", run.toString()).startsWith("error: --layer"
        + " '\t' (only whitespace): no run has"));
    String reference = CliTest.run(2, "monitor", "detection", "--drop-reference", "", run.toString());
    assertTrue(reference.startsWith("error: --drop-reference '' (empty) is unknown; expected best or onset\n"),
        reference);
    // a value that shows is printed as given
    assertTrue(CliTest.run(2, "monitor", "detection", "--layer", "prj", run.toString()).startsWith("error: --layer"
        + " prj: no run has"));
    String tls = CliTest.run(2, "monitor", "serve", "--tls-name", "", "--out", tmp.resolve("serve").toString());
    assertTrue(tls.startsWith("error: --tls-name '' (empty) needs --tls-dir DIR"), tls);
    // beside --tls-dir it looked for DIR/.p12 and named that file as missing
    String dir = tmp.resolve("certs").toString();
    String tlsDir = CliTest.run(2, "monitor", "serve", "--tls-dir", dir, "--tls-name", " ", "--out",
        tmp.resolve("serve").toString());
    assertTrue(tlsDir.startsWith("error: --tls-name ' ' (only whitespace) is not a certificate name; expected the NAME"
        + " of a NAME.p12 in --tls-dir " + dir + ", as ./monitor certs DIR --nodes NAME,... makes them"), tlsDir);
  }
}
