package org.splinewatch.cli;

import java.nio.file.Path;
import java.util.Map;
import org.splinewatch.settings.OptionValues;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The transport-security flags of {@code ./monitor serve} and {@code ./trainer --monitor}: mutual TLS files (any
 * of them turns TLS on) and {@code --insecure}. They override {@code splinewatch.cluster.tls} and
 * {@code splinewatch.cluster.insecure} of a {@code --config} file.
 */
final class ClusterSecurityOptions {
  @Option(names = "--tls-dir", paramLabel = "DIR", description = "TLS from a directory made by ./monitor certs:"
      + " DIR/NAME.p12, DIR/truststore.p12, DIR/password (NAME from --tls-name)")
  Path tlsDir;
  @Option(names = "--tls-name", description = "node certificate name in --tls-dir (default node)")
  String tlsName;
  @Option(names = "--tls-key-store", paramLabel = "FILE", description = "PKCS#12 key store of this node (turns TLS"
      + " on)")
  Path keyStore;
  @Option(names = "--tls-trust-store", paramLabel = "FILE", description = "PKCS#12 trust store with the cluster CA"
      + " (turns TLS on)")
  Path trustStore;
  @Option(names = "--tls-password-file", paramLabel = "FILE", description = "file whose first line is the stores'"
      + " password (turns TLS on)")
  Path passwordFile;
  @Option(names = "--insecure", description = "allow a non-loopback cluster address without TLS (anyone who"
      + " reaches the port can join)")
  boolean insecure;

  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  /** Adds the overrides these flags stand for; a {@code --tls-name} without {@code --tls-dir} is a bad argument. */
  void apply(Map<String, Object> overrides) {
    if (tlsName != null && tlsDir != null && (tlsName.isBlank() || tlsName.contains("/"))) {
      // it was taken as is: '' looked for DIR/.p12 and named that file as missing
      throw new ParameterException(mixee.commandLine(), OptionValues.named("--tls-name", tlsName) + " is not a"
          + " certificate name; expected the NAME of a NAME.p12 in --tls-dir " + tlsDir + ", as ./monitor certs DIR"
          + " --nodes NAME,... makes them");
    }
    if (tlsName != null && tlsDir == null) {
      throw new ParameterException(mixee.commandLine(), OptionValues.named("--tls-name", tlsName) + " needs --tls-dir"
          + " DIR, the"
          + " directory of ./monitor certs that holds " + tlsName + ".p12 (without it the node would run without"
          + " TLS)");
    }
    if (tlsDir != null) {
      String name = tlsName == null ? "node" : tlsName;
      overrides.put("splinewatch.cluster.tls.enabled", true);
      overrides.put("splinewatch.cluster.tls.key-store", tlsDir.resolve(name + ".p12").toString());
      overrides.put("splinewatch.cluster.tls.trust-store", tlsDir.resolve("truststore.p12").toString());
      overrides.put("splinewatch.cluster.tls.password-file", tlsDir.resolve("password").toString());
    }
    if (keyStore != null) {
      overrides.put("splinewatch.cluster.tls.enabled", true);
      overrides.put("splinewatch.cluster.tls.key-store", keyStore.toString());
    }
    // any TLS file turns TLS on, as the key store does: with a trust store or password alone the node ran on plain
    // TCP without a word; now one missing from both the flags and the config is named (exit 2)
    if (trustStore != null) {
      overrides.put("splinewatch.cluster.tls.enabled", true);
      overrides.put("splinewatch.cluster.tls.trust-store", trustStore.toString());
    }
    if (passwordFile != null) {
      overrides.put("splinewatch.cluster.tls.enabled", true);
      overrides.put("splinewatch.cluster.tls.password-file", passwordFile.toString());
    }
    if (insecure) {
      overrides.put("splinewatch.cluster.insecure", true);
    }
  }
}
