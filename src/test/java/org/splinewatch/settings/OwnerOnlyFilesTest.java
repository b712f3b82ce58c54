package org.splinewatch.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL's rule for its ssl_key_file: a secret file owned by a user other than root must be owner-only; one owned
 * by root may also be readable by its group when the process runs as another user (a Kubernetes secret volume with
 * defaultMode 0440 and the pod's fsGroup); others may never have a permission. The mode read is the link's target's.
 * The tests run as root here, so "as another user" goes through the {@code processUid} seam, and a file "of another
 * user" is given to nobody (uid 65534) with {@link Files#setOwner}.
 */
class OwnerOnlyFilesTest {
  static final String KEY = "splinewatch.control.token-file";
  static final String SECRET = "the deployment token";
  static final int NOBODY = 65534;
  static final String KUBERNETES = "on Kubernetes, a secret volume's defaultMode: 0400, or 0440 with the pod's"
      + " fsGroup for a pod not running as root";

  @TempDir
  Path tmp;

  /** A secret volume as the kubelet lays it out: token -> ..data/token, ..data -> ..TIMESTAMP/, owned by root. */
  private Path kubernetesSecret(String mode) throws Exception {
    Path volume = Files.createDirectories(tmp.resolve("secret"));
    Path timestamped = Files.createDirectories(volume.resolve("..2026_12_05_20_04_27.1234567"));
    Path token = Files.writeString(timestamped.resolve("token"), "0123456789abcdef0123456789abcdef\n");
    Files.setPosixFilePermissions(token, PosixFilePermissions.fromString(mode));
    Files.createSymbolicLink(volume.resolve("..data"), volume.relativize(timestamped));
    return Files.createSymbolicLink(volume.resolve("token"), Path.of("..data", "token"));
  }

  private Optional<String> refusal(Path file, int processUid) {
    return OwnerOnlyFiles.refusal(KEY, file, SECRET, "", processUid);
  }

  @Test
  void aKubernetesSecretOwnedByRootAndReadableByTheGroupIsReadByAnotherUser() throws Exception {
    Path token = kubernetesSecret("r--r-----"); // defaultMode: 0440, group the pod's fsGroup
    assertEquals("root", Files.getOwner(token).getName());
    assertEquals(Optional.empty(), refusal(token, NOBODY));
    // the link itself is lrwxrwxrwx: the target's mode is what counts
    assertEquals(Optional.empty(), refusal(kubernetesSecretReplaced("r--------"), NOBODY));
  }

  private Path kubernetesSecretReplaced(String mode) throws Exception {
    Path token = tmp.resolve("secret").resolve("token");
    Files.setPosixFilePermissions(token.toRealPath(), PosixFilePermissions.fromString(mode));
    return token;
  }

  @Test
  void aFileOfRootReadableByItsGroupIsRefusedWhenThisRunsAsRoot() throws Exception {
    Path token = kubernetesSecret("r--r-----");
    assertEquals(Optional.of(KEY + " '" + token + "' (a link to '" + token.toRealPath() + "') is open to others than"
        + " its owner (mode r--r-----), so they may read " + SECRET + "; expected an owner-only file (rw-------): chmod"
        + " 600 " + token + " (the rule for a file owned by root when this runs as root; only a file owned by root"
        + " may also be readable by its group (rw-r-----), for a process of another user: " + KUBERNETES + ")"),
        refusal(token, 0));
  }

  @Test
  void aFileOfRootOpenToOthersOrWritableByItsGroupIsRefused() throws Exception {
    Path token = kubernetesSecret("rw-r--r--"); // the kubelet's default mode 0644
    String real = token.toRealPath().toString();
    for (String mode : new String[] {"rw-r--r--", "rw-rw----", "rw-r-x---", "r-----r--"}) {
      Files.setPosixFilePermissions(token.toRealPath(), PosixFilePermissions.fromString(mode));
      assertEquals(Optional.of(KEY + " '" + token + "' (a link to '" + real + "') is owned by root and open to others"
          + " or writable by its group (mode " + mode + "), so they may read " + SECRET + "; expected rw-r----- at"
          + " most (a file owned by root may also be readable by its group when this runs as another user): chmod 640"
          + " " + token + " for the group this runs in, or give it to the user this runs as and chmod 600; on"
          + " Kubernetes, a secret volume's defaultMode: 0440 with the pod's fsGroup"), refusal(token, NOBODY), mode);
    }
  }

  @Test
  void aFileOfAnotherUserThanRootMustBeOwnerOnly() throws Exception {
    Path file = Files.writeString(tmp.resolve("token"), "0123456789abcdef0123456789abcdef\n");
    Files.setOwner(file, file.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
    String rest = " (the rule for a file owned by nobody, not root; only a file owned by root may also be readable by"
        + " its group (rw-r-----), for a process of another user: " + KUBERNETES + ")";
    // whether this runs as nobody or as root: group-readable only for a file of root
    for (int uid : new int[] {NOBODY, 0}) {
      assertEquals(Optional.of(KEY + " '" + file + "' is open to others than its owner (mode rw-r-----), so they may"
          + " read " + SECRET + "; expected an owner-only file (rw-------): chmod 600 " + file + rest),
          refusal(file, uid));
    }
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    assertEquals(Optional.empty(), refusal(file, NOBODY));
    assertEquals(Optional.empty(), refusal(file, 0));
  }

  @Test
  void theUserThisRunsAsIsTheOwnerOfTheFilesItMakes() throws Exception {
    Path made = Files.writeString(tmp.resolve("made"), "x");
    assertEquals(Files.getAttribute(made, "unix:uid"), OwnerOnlyFiles.processUid());
  }

  @Test
  void theThrownLineIsTheRefusal() throws Exception {
    Path file = Files.writeString(tmp.resolve("password"), "secret\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OwnerOnlyFiles.refuseOpenToOthers(KEY, file, SECRET, " as ./monitor certs makes it"));
    assertEquals(OwnerOnlyFiles.refusal(KEY, file, SECRET, " as ./monitor certs makes it",
        OwnerOnlyFiles.processUid()).orElseThrow(), e.getMessage());
  }
}
