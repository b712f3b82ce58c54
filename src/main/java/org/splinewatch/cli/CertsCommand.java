package org.splinewatch.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.splinewatch.snapshot.IoErrors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ./monitor certs DIR}: a private CA and node certificates for the cluster's mutual TLS, made with the JDK's
 * {@code keytool} (run as a subprocess): {@code ca.p12} (the CA's key: keep it off the nodes), {@code ca.crt},
 * {@code truststore.p12} (the CA certificate, for every node), {@code NAME.p12} per node (its EC P-256 key and a
 * certificate signed by the CA for TLS client and server use) and {@code password} (mode 600, the stores'
 * password). With an existing {@code ca.p12} in DIR, only the new node certificates are made, signed by that CA (and a
 * missing {@code ca.crt} or trust store made again from it: its making was interrupted). An
 * existing node key, or a trust store and password without the CA that made them, is never replaced without
 * {@code --force}.
 */
@Command(name = "certs", mixinStandardHelpOptions = true,
    description = "Make a CA and node certificates (PKCS#12) for the cluster's mutual TLS with keytool.")
final class CertsCommand implements Callable<Integer> {
  @Spec
  picocli.CommandLine.Model.CommandSpec spec;
  @Parameters(index = "0", paramLabel = "DIR", description = "directory for the CA, stores and password")
  Path dir;
  @Option(names = "--nodes", split = ",", defaultValue = "node", description = "node certificate names (default"
      + " ${DEFAULT-VALUE})")
  List<String> nodes = List.of("node");
  @Option(names = "--days", description = "validity in days, 1 to " + MAX_DAYS + " (default ${DEFAULT-VALUE})")
  int days = 825;
  @Option(names = "--force", description = "replace existing node keys and certificates (NAME.p12, NAME.crt), and"
      + " make a new CA where DIR has a trust store or password but no ca.p12; nodes then need the new files")
  boolean force;

  @Override
  public Integer call() {
    String empty = Main.emptyPath("DIR", dir, "a directory for the CA, stores and password, e.g. certs");
    if (empty != null) { // it made the CA's key and every file in the working directory
      throw new ParameterException(spec.commandLine(), empty);
    }
    for (String n : nodes) {
      if (!n.matches("[A-Za-z0-9][A-Za-z0-9_-]{0,62}") || n.equals("ca") || n.equals("truststore")) {
        throw new ParameterException(spec.commandLine(), "node name '" + n + "' is not 1 to 63 of letters, digits,"
            + " '_' or '-' (and not ca or truststore)");
      }
    }
    String twice = ExperimentCommand.twice(nodes);
    if (twice != null) {
      throw new ParameterException(spec.commandLine(), "--nodes names " + twice + " more than once; expected each"
          + " node once");
    }
    String dayRange = OptionRange.outside("--days", days, 1, MAX_DAYS, "100 years");
    if (dayRange != null) {
      throw new ParameterException(spec.commandLine(), dayRange);
    }
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new ParameterException(spec.commandLine(), dir + " is not a directory; expected a directory for the CA,"
          + " stores and password (made when missing)");
    }
    String unmakeable = Main.directoryToMakeProblem(dir);
    if (unmakeable != null) {
      throw new ParameterException(spec.commandLine(), unmakeable + "; expected a directory for the CA, stores and"
          + " password (made when missing)");
    }
    Path existing = dir.toAbsolutePath().normalize();
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing != null && Files.isDirectory(existing) && !Files.isWritable(existing)) {
      // keytool's first file then failed, exit 1, as if the certificates could not be made
      throw new ParameterException(spec.commandLine(), dir + ": cannot write in " + existing + " (read-only or not"
          + " this user's); expected a directory this user can write for the CA, stores and password (made when"
          + " missing)");
    }
    String kept = force ? null : wouldReplace(dir, nodes);
    if (kept != null) {
      throw new ParameterException(spec.commandLine(), kept);
    }
    CertsProgress making = new CertsProgress(dir, nodes);
    // Ctrl-C, SIGTERM or SIGHUP: the JVM's exit runs the hook, which removes what was half made and says so
    Thread hook = new Thread(() -> {
      String line = making.interrupted();
      if (line != null) {
        System.err.println(line);
      }
    }, "certs-interrupted");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      List<String> repaired = make(dir, nodes, days, making);
      if (!repaired.isEmpty()) {
        System.out.println("repaired: " + String.join(" and ", repaired) + " made again from ca.p12 (an earlier"
            + " ./monitor certs stopped before writing " + (repaired.size() == 1 ? "it" : "them") + " whole)");
      }
    } catch (IOException e) {
      if (making.stopped()) { // the hook's line says what happened; the JVM is exiting with 128 + the signal
        return 1;
      }
      // a java.nio exception's message is often only the path: say what is wrong with it
      System.err.println("error: cannot make the certificates in " + dir + ": " + IoErrors.reason(e));
      return 1;
    } catch (IllegalStateException e) {
      if (!making.stopped()) {
        System.err.println("error: " + Main.oneLine(e));
      }
      return 1;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // the JVM is exiting: the hook runs
      }
    }
    System.out.println("certificates in " + dir + ": ca.crt, truststore.p12, " + String.join(".p12, ", nodes)
        + ".p12, password (keep ca.p12 off the nodes)");
    System.out.println("start nodes with: --tls-dir " + dir + " --tls-name NAME");
    return 0;
  }

  /**
   * What {@link #make} would replace that a node may be using, as the one-line refusal (null: nothing): a node's key
   * store or certificate, or, where {@code dir} has no {@code ca.p12}, the trust store, CA certificate or password
   * a new CA would overwrite.
   */
  static String wouldReplace(Path dir, List<String> nodes) {
    for (String n : nodes) {
      for (String file : List.of(n + ".p12", n + ".crt")) {
        Path f = dir.resolve(file);
        if (Files.exists(f)) {
          return f + " already exists (node " + n + "'s " + (file.endsWith(".p12") ? "key" : "certificate")
              + "); expected a new node name, or --force to replace its key and certificate";
        }
      }
    }
    if (!Files.exists(dir.resolve("ca.p12"))) {
      for (String file : List.of("truststore.p12", "ca.crt", "password")) {
        Path f = dir.resolve(file);
        if (Files.exists(f)) {
          return f + " already exists but " + dir.resolve("ca.p12") + " does not: a new CA would replace the"
              + " cluster's trust store and password; expected the directory that holds ca.p12, or --force to"
              + " make a new CA";
        }
      }
    }
    return null;
  }

  /** The longest validity {@code --days} takes (keytool refuses an end past the year 9999). */
  static final int MAX_DAYS = 36_500;

  /** A test hook: the system property naming a program run instead of the JDK's keytool, with its arguments. */
  static final String KEYTOOL_STAND_IN = "splinewatch.certs.keytool";

  /** The X.509 certificate in {@code file}, or null: missing, empty or cut short. */
  private static java.security.cert.Certificate certificateIn(Path file) {
    try (java.io.InputStream in = Files.newInputStream(file)) {
      return java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
    } catch (IOException | java.security.cert.CertificateException e) {
      return null;
    }
  }

  /**
   * The {@code ca} certificate of the PKCS#12 trust store {@code file}, or null where it is missing, cut short or
   * holds no such entry (all made again from ca.p12). A store the CA's password does not open was made with another
   * password, so by another CA: a one-line {@link IllegalStateException}, as a replacement would drop it.
   */
  private static java.security.cert.Certificate trustedCa(Path file, String password) {
    try (java.io.InputStream in = Files.newInputStream(file)) {
      java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
      store.load(in, password.toCharArray());
      return store.isCertificateEntry("ca") ? store.getCertificate("ca") : null;
    } catch (IOException e) {
      if (e.getCause() instanceof java.security.UnrecoverableKeyException) { // the PKCS#12 MAC did not verify
        throw new IllegalStateException(file + " does not open with the password of ca.p12, so another CA made it;"
            + " expected the trust store of the CA in ca.p12: move it away and rerun to make it again from ca.p12"
            + " (then give it to every node)");
      }
      return null;
    } catch (java.security.GeneralSecurityException e) {
      return null;
    }
  }

  /** Refuses {@code found}, a certificate in {@code file} that is not the CA's, in one line. */
  private static void sameCa(Path file, java.security.cert.Certificate found, java.security.cert.Certificate ca) {
    if (found != null && !found.equals(ca)) {
      throw new IllegalStateException(file + " holds another CA's certificate (" + describe(found) + ") than ca.p12 ("
          + describe(ca) + "); nodes that trusted it would refuse the certificates this CA signs: expected the CA"
          + " in ca.p12's, move " + file.getFileName() + " away and rerun to make it again from ca.p12 (then give it"
          + " to every node)");
    }
  }

  /** A certificate's subject and the start of its SHA-256 fingerprint, to tell two CAs apart. */
  private static String describe(java.security.cert.Certificate c) {
    String subject = c instanceof java.security.cert.X509Certificate x
        ? x.getSubjectX500Principal().getName() : c.getType();
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(c.getEncoded());
      return subject + ", SHA-256 " + HexFormat.of().formatHex(digest, 0, 8) + "…";
    } catch (java.security.GeneralSecurityException e) {
      return subject;
    }
  }

  /**
   * Makes (or reuses) the CA in {@code dir} and a certificate for each of {@code nodes}. Returns the CA's public files
   * made again from an existing {@code ca.p12} (a CA whose making was interrupted after its key store was written).
   */
  static List<String> make(Path dir, List<String> nodes, int days) throws IOException {
    return make(dir, nodes, days, new CertsProgress(dir, nodes));
  }

  /** As above, telling {@code making} what is being written, for {@link CertsProgress#interrupted}. */
  static List<String> make(Path dir, List<String> nodes, int days, CertsProgress making) throws IOException {
    try {
      return makeAll(dir, nodes, days, making);
    } finally {
      making.ended();
    }
  }

  private static List<String> makeAll(Path dir, List<String> nodes, int days, CertsProgress making) throws IOException {
    Files.createDirectories(dir);
    Path passwordFile = dir.resolve("password");
    Path ca = dir.resolve("ca.p12");
    String password;
    List<String> repaired = new ArrayList<>();
    if (Files.exists(ca)) {
      Ca existing = openCa(ca, passwordFile);
      password = existing.password();
      // another CA's certificate is refused before anything is written: nodes given it would not trust this CA
      java.security.cert.Certificate crt = certificateIn(dir.resolve("ca.crt"));
      java.security.cert.Certificate trusted = trustedCa(dir.resolve("truststore.p12"), password);
      sameCa(dir.resolve("ca.crt"), crt, existing.certificate());
      sameCa(dir.resolve("truststore.p12"), trusted, existing.certificate());
      // made from ca.p12 as a new CA makes them: nothing a node holds can differ from these. Missing, or cut short
      // (an interrupted write; empty where an older release failed on a foreign ca.p12): both hold only public data
      List<Path> again = new ArrayList<>();
      if (crt == null) {
        again.add(dir.resolve("ca.crt"));
      }
      if (trusted == null) {
        again.add(dir.resolve("truststore.p12"));
      }
      making.start("the CA's " + String.join(" and ", again.stream().map(f -> f.getFileName().toString()).toList()),
          again);
      if (crt == null) {
        Files.deleteIfExists(dir.resolve("ca.crt"));
        keytool(making, password, "-exportcert", "-alias", "ca", "-keystore", ca.toString(), "-rfc", "-file",
            dir.resolve("ca.crt").toString());
        repaired.add("ca.crt");
      }
      if (trusted == null) {
        Files.deleteIfExists(dir.resolve("truststore.p12"));
        keytool(making, password, "-importcert", "-noprompt", "-alias", "ca", "-file", dir.resolve("ca.crt").toString(),
            "-keystore", dir.resolve("truststore.p12").toString(), "-storetype", "PKCS12");
        repaired.add("truststore.p12");
      }
      making.made("the CA");
    } else {
      byte[] b = new byte[18];
      new SecureRandom().nextBytes(b);
      password = HexFormat.of().formatHex(b);
      List<Path> caFiles = List.of("password", "ca.p12", "ca.crt", "truststore.p12").stream().map(dir::resolve)
          .toList();
      making.start("the CA", caFiles);
      try {
        Files.writeString(passwordFile, password + "\n");
        ownerOnly(passwordFile);
        keytool(making, password, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
            "CN=splinewatch cluster CA", "-ext", "bc:c", "-ext", "KeyUsage:critical=keyCertSign,cRLSign",
            "-validity", String.valueOf(days), "-keystore", ca.toString(), "-storetype", "PKCS12");
        ownerOnly(ca);
        keytool(making, password, "-exportcert", "-alias", "ca", "-keystore", ca.toString(), "-rfc", "-file",
            dir.resolve("ca.crt").toString());
        Files.deleteIfExists(dir.resolve("truststore.p12"));
        keytool(making, password, "-importcert", "-noprompt", "-alias", "ca", "-file",
            dir.resolve("ca.crt").toString(), "-keystore", dir.resolve("truststore.p12").toString(), "-storetype",
            "PKCS12");
      } catch (IOException | RuntimeException e) {
        // a half-made CA (a password without ca.p12) would be refused as a foreign one on the next try
        for (Path f : caFiles) {
          Files.deleteIfExists(f);
        }
        throw e;
      }
      making.made("the CA");
    }
    for (String n : nodes) {
      Path store = dir.resolve(n + ".p12");
      Path csr = dir.resolve(n + ".csr");
      Path crt = dir.resolve(n + ".crt");
      making.start("node " + n, List.of(store, csr, crt));
      try {
        makeNode(making, dir, ca, password, n, store, csr, crt, days);
      } catch (IOException | RuntimeException e) {
        // a half-made node (a key without its signed certificate) would only be refused as existing next time
        for (Path f : List.of(store, csr, crt)) {
          Files.deleteIfExists(f);
        }
        throw e;
      }
      making.made("node " + n);
    }
    return repaired;
  }

  /** An existing CA: the password of its key store, and its certificate. */
  private record Ca(String password, java.security.cert.Certificate certificate) {}

  /**
   * The existing CA in {@code ca}, its password from the first line of {@code passwordFile}, checked before anything
   * is written: a wrong or empty password, a {@code ca.p12} that is no key store (cut short, overwritten), or one
   * without the CA's key (another key store, a copy of the trust store), is a one-line {@link IllegalStateException}.
   */
  private static Ca openCa(Path ca, Path passwordFile) throws IOException {
    List<String> lines = Files.readAllLines(passwordFile);
    if (lines.isEmpty() || lines.get(0).isBlank()) {
      throw new IllegalStateException(passwordFile + " is empty; expected the password of " + ca
          + " on its first line");
    }
    String password = lines.get(0).strip();
    try (java.io.InputStream in = Files.newInputStream(ca)) {
      java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
      store.load(in, password.toCharArray());
      if (!store.isKeyEntry("ca")) { // keytool would fail later, after writing an empty ca.crt or a node's key
        List<String> aliases = java.util.Collections.list(store.aliases());
        String holds = store.containsAlias("ca") ? "ca is a certificate without its key, as in a trust store"
            : aliases.isEmpty() ? "it holds no entry" : "it holds " + String.join(", ", aliases);
        throw new IllegalStateException(ca + " holds no ca key entry (" + holds + "); expected the CA key store"
            + " ./monitor certs made: restore it from a backup, or move it away and rerun with --force to make a new"
            + " CA (every node then needs the new trust store and password)");
      }
      return new Ca(password, store.getCertificate("ca"));
    } catch (IOException e) {
      if (e.getCause() instanceof java.security.UnrecoverableKeyException) { // the PKCS#12 MAC did not verify
        throw new IllegalStateException("the password in " + passwordFile + " does not open " + ca
            + "; expected the password file made with that CA", e);
      }
      throw damaged(ca, e);
    } catch (java.security.GeneralSecurityException e) {
      throw damaged(ca, e);
    }
  }

  private static IllegalStateException damaged(Path ca, Exception e) {
    return new IllegalStateException(ca + " is damaged or not a PKCS#12 key store (" + e.getClass().getSimpleName()
        + (e.getMessage() == null ? "" : ": " + Main.oneLine(e)) + "); expected the CA key store ./monitor certs"
        + " made: restore it from a backup, or move it away and rerun with --force to make a new CA (every node then"
        + " needs the new trust store and password)", e);
  }

  /** One node's key store, signed certificate and (removed at the end) certificate request. */
  private static void makeNode(CertsProgress making, Path dir, Path ca, String password, String n, Path store, Path csr,
      Path crt, int days) throws IOException {
    Files.deleteIfExists(store);
    keytool(making, password, "-genkeypair", "-alias", "node", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
        "CN=" + n, "-validity", String.valueOf(days), "-keystore", store.toString(), "-storetype", "PKCS12");
    ownerOnly(store);
    keytool(making, password, "-certreq", "-alias", "node", "-keystore", store.toString(), "-file", csr.toString());
    keytool(making, password, "-gencert", "-alias", "ca", "-keystore", ca.toString(), "-infile", csr.toString(),
        "-outfile", crt.toString(), "-rfc", "-validity", String.valueOf(days), "-ext",
        "KeyUsage:critical=digitalSignature", "-ext", "ExtendedKeyUsage=serverAuth,clientAuth");
    keytool(making, password, "-importcert", "-noprompt", "-alias", "ca", "-file", dir.resolve("ca.crt").toString(),
        "-keystore", store.toString());
    keytool(making, password, "-importcert", "-alias", "node", "-file", crt.toString(), "-keystore", store.toString());
    Files.delete(csr);
  }

  /**
   * Readable by its owner only: the password and the key stores holding a private key (the CA's and the nodes'; the
   * trust store and the certificates are public). Keytool makes its files with the default mode, usually 644.
   */
  private static void ownerOnly(Path file) throws IOException {
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: the file keeps its default mode
    }
  }

  /** Runs the JDK's keytool with the store password; a failure is an exception carrying its output. */
  private static void keytool(CertsProgress making, String password, String... args) throws IOException {
    Path tool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    // a test hook: a stand-in that holds a step, so that a signal surely comes while the certificates are made
    String standIn = System.getProperty(KEYTOOL_STAND_IN);
    List<String> cmd = new ArrayList<>(List.of(standIn != null ? standIn
        : Files.isExecutable(tool) ? tool.toString() : "keytool"));
    cmd.addAll(List.of(args));
    // keytool is a short-lived JVM: start it lean
    cmd.addAll(List.of("-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC", "-J-Xmx64m"));
    // the password goes through the environment, not the command line (which other users can list)
    cmd.addAll(List.of("-storepass:env", "SPLINEWATCH_STORE_PASS"));
    if (args[0].equals("-genkeypair")) {
      cmd.addAll(List.of("-keypass:env", "SPLINEWATCH_STORE_PASS"));
    }
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("SPLINEWATCH_STORE_PASS", password);
    Process p = making.start(pb);
    String output = new String(p.getInputStream().readAllBytes());
    try {
      boolean exited = p.waitFor(60, TimeUnit.SECONDS);
      if (!exited || p.exitValue() != 0) {
        p.destroyForcibly();
        if (exited && p.exitValue() > 128 && p.exitValue() <= 128 + 15 && making.awaitStop()) {
          // Ctrl-C reached keytool too (its process group): this JVM is exiting with it, and the hook says so
          throw new IllegalStateException("interrupted");
        }
        throw new IllegalStateException("keytool " + args[0] + " failed: " + output.strip().replace('\n', ' '));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running keytool", e);
    }
  }
}
