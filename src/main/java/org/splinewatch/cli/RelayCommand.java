package org.splinewatch.cli;

import com.typesafe.config.Config;
import java.io.File;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.splinewatch.control.AlertRelay;
import org.splinewatch.control.ControlSettings;
import org.splinewatch.control.RelaySettings;
import org.splinewatch.metrics.BrowsableUrl;
import org.splinewatch.settings.OptionValues;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * {@code ./monitor relay}: the one Alertmanager receiver of a deployment; forwards each alert to the control endpoint
 * of the discovered run that exports it ({@link AlertRelay}). Runs until stopped (Ctrl-C, SIGTERM).
 */
@Command(name = "relay", mixinStandardHelpOptions = true,
    description = "Forward Alertmanager webhook calls to the control endpoint of each discovered run (one receiver"
        + " and one deployment token for every run); runs until stopped.")
final class RelayCommand implements Callable<Integer> {
  @Spec
  CommandLine.Model.CommandSpec spec;
  @Option(names = "--host", description = "bind address (default 127.0.0.1)")
  String host;
  @Option(names = "--port", description = "port of POST /api/v1/alerts (default 9095; 0 picks a free one)")
  Integer port;
  @Option(names = "--sd-dir", description = "Prometheus discovery directory of the runs (default"
      + " splinewatch.relay.sd-dir, else splinewatch.metrics.sd-dir, else runs/prometheus-sd)")
  Path sdDir;
  @Option(names = "--token-file", description = "file holding the deployment token (default"
      + " splinewatch.control.token-file, $SPLINEWATCH_CONTROL_TOKEN_FILE)")
  Path tokenFile;
  @Option(names = "--config", description = "HOCON file overriding reference.conf")
  File configFile;

  @Override
  public Integer call() throws Exception {
    // "" fell back to the defaults (splinewatch.relay.sd-dir, no token file) without a word
    Main.refuseEmptyPaths(spec.commandLine(),
        Main.emptyPath("--sd-dir", sdDir, "the runs' Prometheus discovery directory, e.g. runs/prometheus-sd"),
        Main.emptyPath("--token-file", tokenFile, "the file holding the deployment token"),
        Main.emptyPath("--config", configFile, "a HOCON file"));
    Map<String, Object> overrides = new LinkedHashMap<>();
    TrainCommand.put(overrides, "splinewatch.relay.host", host);
    TrainCommand.put(overrides, "splinewatch.relay.port", port);
    TrainCommand.put(overrides, "splinewatch.relay.sd-dir", sdDir == null ? null : sdDir.toString());
    TrainCommand.put(overrides, "splinewatch.control.token-file", tokenFile == null ? null : tokenFile.toString());
    String token;
    ControlSettings control;
    RelaySettings relaySettings;
    Config config = null;
    try {
      config = TrainCommand.load(overrides, configFile);
      String configuredHost = config.getString("splinewatch.relay.host");
      if (configuredHost.isBlank()) {
        // Java binds "" to loopback, while the console said "listening on all interfaces (0.0.0.0:9095)"; a blank
        // one is quoted and said to be so, as other options' values (' ' read as "--host is empty")
        throw new IllegalArgumentException((configuredHost.isEmpty() ? "--host is empty"
            : OptionValues.named("--host", configuredHost)) + " (splinewatch.relay.host); expected an address of this"
            + " machine (default 127.0.0.1; 0.0.0.0 for every interface)");
      }
      relaySettings = RelaySettings.fromConfig(config);
      control = ControlSettings.fromConfig(config);
      if (!control.fromFile()) {
        throw new IllegalArgumentException("no deployment token: pass --token-file FILE (or set"
            + " SPLINEWATCH_CONTROL_TOKEN_FILE); the runs and Alertmanager read the same file");
      }
      token = control.resolveToken();
    } catch (com.typesafe.config.ConfigException e) { // a value of the wrong type: the file, the full key, ...
      throw new CommandLine.ParameterException(spec.commandLine(),
          org.splinewatch.settings.ConfigErrors.describe(e, config));
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    }
    Path sd = relaySettings.sdDir();
    String h = relaySettings.host();
    int p = relaySettings.port();
    BrowsableUrl.notAnAddressHere("--host", h, "default 127.0.0.1; 0.0.0.0 for every interface").ifPresent(why -> {
      throw new CommandLine.ParameterException(spec.commandLine(), why);
    });
    if (java.nio.file.Files.exists(sd) && !java.nio.file.Files.isDirectory(sd)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--sd-dir " + sd + " is a file; expected the runs'"
          + " prometheus-sd directory (<out>/prometheus-sd)");
    }
    // a client that declares a body and never sends it is dropped after 30 s (the JDK server's default: never); read
    // when the first server starts, so set before it
    if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
      System.setProperty("sun.net.httpserver.maxReqTime", "30");
    }
    CountDownLatch stopped = new CountDownLatch(1);
    try (AlertRelay relay = new AlertRelay(token, sd, System.out)) {
      try {
        relay.start(h, p);
      } catch (java.io.IOException e) {
        String why = String.valueOf(e.getMessage());
        if (why.contains("in use")) { // as serve's and the trainer's ports in use: exit 1, the port and the option
          System.err.println("error: relay port " + p + " on " + h + " is already in use; choose another with --port"
              + " P (0 picks a free one)");
          return 1;
        }
        if (why.contains("Cannot assign requested address")) { // one the check above could not see: --host is wrong
          throw new CommandLine.ParameterException(spec.commandLine(), "--host " + h + " is not an address of this"
              + " machine (cannot listen on " + h + ":" + p + ": " + why + "); expected one of its addresses"
              + " (default 127.0.0.1; 0.0.0.0 for every interface)");
        }
        System.err.println("error: cannot listen on " + h + ":" + p + " (" + why + "); expected a port this user may"
            + " listen on, e.g. --port 0 (a free one)");
        return 1;
      }
      // the relay is closed in the hook, before the JVM exits: JDK 17's exit waits at least 300 ms for a thread still
      // in native code, such as the server's dispatcher waiting in epoll_wait
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        relay.close();
        stopped.countDown();
      }, "relay-stop"));
      System.out.println("splinewatch relay: POST " + BrowsableUrl.base(h, relay.port()) + "/api/v1/alerts forwards to"
          + " the control endpoints of the runs discovered in " + sd + " (bearer token from "
          + control.tokenFile() + ")");
      BrowsableUrl.listening(h, "", relay.port()).ifPresent(System.out::println);
      if (!java.nio.file.Files.isDirectory(sd)) { // runs may still create it; until then every alert is refused
        System.out.println("warning: " + sd + " does not exist (yet): no run is discovered until a run started with"
            + " that --out creates it; expected the runs' prometheus-sd directory (--sd-dir)");
      }
      System.out.flush();
      stopped.await();
    }
    return 0;
  }
}
