package org.splinewatch.control;

import com.typesafe.config.Config;
import java.nio.file.Path;

/**
 * {@code splinewatch.control}: the bearer token of the control endpoint, given inline ({@code token}) or as a file
 * ({@code token-file}: one token for every run, the file Alertmanager's {@code credentials_file} reads too). Read once
 * at start-up.
 *
 * @param token     the inline token; empty: a random one, new for each {@code ./trainer} run; {@code monitor serve}
 *                  keeps the one an earlier monitor left on its {@code --out} (MonitorServer)
 * @param tokenFile the deployment token's file, or null
 */
public record ControlSettings(String token, Path tokenFile) {
  public static ControlSettings fromConfig(Config config) {
    Config c = config.getConfig("splinewatch.control");
    String file = c.getString("token-file");
    return new ControlSettings(c.getString("token"), file.isEmpty() ? null : Path.of(file));
  }

  /** Whether the token comes from {@link #tokenFile()} (then no per-run copy is written). */
  public boolean fromFile() {
    return tokenFile != null;
  }

  /**
   * The file that holds the process's token for the control endpoint's users: the deployment's {@link #tokenFile()},
   * else {@code perProcess}, into which {@code token} is written now (a deployment's token is never copied).
   */
  public Path publish(String token, Path perProcess) {
    if (fromFile()) {
      return tokenFile;
    }
    ControlToken.write(perProcess, token);
    return perProcess;
  }

  /** Whether every process of the deployment shares one token (a token file or an inline token), not a random one. */
  public boolean shared() {
    return fromFile() || !token.isEmpty();
  }

  /**
   * The token: that of {@link #tokenFile()} (a missing file or a short token is a one-line {@link
   * IllegalArgumentException}), else {@link #token()}, else a fresh random one.
   */
  public String resolveToken() {
    if (tokenFile != null) {
      return AlertWebhook.readTokenFile(tokenFile);
    }
    return token.isEmpty() ? AlertWebhook.newToken() : token;
  }
}
