package org.splinewatch.settings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;

/**
 * The rule for a file that holds a secret (a key store, a password, the deployment token), PostgreSQL's for its
 * ssl_key_file: a file owned by a user other than root must be owner-only (rw------- or less), as ssh wants a private
 * key; one owned by root may also be readable by its group (rw-r----- or less) when the process runs as another user,
 * so that a Kubernetes secret volume ({@code defaultMode: 0440}, group the pod's {@code fsGroup}, owner root) can be
 * read by a container that does not run as root; others may never have a permission. A link is judged by its target,
 * the file that is read (a secret volume's {@code token -> ..data/token}). A copy that lost its mode (cp -r as another
 * user, an archive, a volume, a redirect under umask 022) went unnoticed while anyone on the machine could read it.
 */
public final class OwnerOnlyFiles {
  private static final Set<PosixFilePermission> ROOT_MAY_ALSO_GRANT = Set.of(PosixFilePermission.GROUP_READ);
  private static final String KUBERNETES = "on Kubernetes, a secret volume's defaultMode: 0400, or 0440 with the"
      + " pod's fsGroup for a pod not running as root";

  private OwnerOnlyFiles() {
  }

  /**
   * Refuses {@code file}, the value of setting {@code key}, when it breaks the rule above: a one-line
   * {@link IllegalArgumentException} naming the key, the file (and the target of a link), its mode, the
   * {@code secret} exposed, the rule that applied and its fix ({@code chmod 600}, or {@code chmod 640} for a file of
   * root, and a secret volume's {@code defaultMode} on Kubernetes). {@code madeBy} says what makes the file so, e.g.
   * {@code " as ./monitor certs makes it"}, or is empty. No check where the file system has no POSIX permissions, or
   * when the file cannot be read (its reader then fails with its own line).
   */
  public static void refuseOpenToOthers(String key, Path file, String secret, String madeBy) {
    refusal(key, file, secret, madeBy, processUid()).ifPresent(line -> {
      throw new IllegalArgumentException(line);
    });
  }

  /** The line {@link #refuseOpenToOthers} throws, or empty; {@code processUid} is the seam a test runs "as". */
  static Optional<String> refusal(String key, Path file, String secret, String madeBy, int processUid) {
    PosixFileAttributeView posix = Files.getFileAttributeView(file, PosixFileAttributeView.class);
    if (posix == null) {
      return Optional.empty(); // no POSIX permissions on this file system
    }
    PosixFileAttributes attributes;
    Path target;
    try {
      attributes = posix.readAttributes(); // of the link's target: the file that is read
      target = Files.isSymbolicLink(file) ? file.toRealPath() : file;
    } catch (IOException e) {
      return Optional.empty(); // a file that is missing or went away fails where it is read, with its own line
    }
    Set<PosixFilePermission> perms = attributes.permissions();
    String owner = attributes.owner().getName();
    int ownerUid = uid(file, owner);
    String named = key + " '" + file + "'" + (target.equals(file) ? "" : " (a link to '" + target + "')");
    String mode = PosixFilePermissions.toString(perms);
    if (ownerUid == 0 && processUid != 0) {
      return perms.stream().allMatch(p -> p.name().startsWith("OWNER_") || ROOT_MAY_ALSO_GRANT.contains(p))
          ? Optional.empty()
          : Optional.of(named + " is owned by root and open to others or writable by its group (mode " + mode
              + "), so they may read " + secret + "; expected rw-r----- at most (a file owned by root may also be"
              + " readable by its group when this runs as another user): chmod 640 " + file + " for the group this"
              + " runs in, or give it to the user this runs as and chmod 600; on Kubernetes, a secret volume's"
              + " defaultMode: 0440 with the pod's fsGroup");
    }
    return perms.stream().allMatch(p -> p.name().startsWith("OWNER_"))
        ? Optional.empty()
        : Optional.of(named + " is open to others than its owner (mode " + mode + "), so they may read " + secret
            + "; expected an owner-only file (rw-------)" + madeBy + ": chmod 600 " + file + " (the rule for a file"
            + " owned by " + (ownerUid == 0 ? "root when this runs as root" : owner + ", not root") + "; only a file"
            + " owned by root may also be readable by its group (rw-r-----), for a process of another user: "
            + KUBERNETES + ")");
  }

  /** The numeric owner of {@code file} (of a link's target); by name where there is no unix view (0 for root). */
  private static int uid(Path file, String ownerName) {
    try {
      return (Integer) Files.getAttribute(file, "unix:uid");
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return "root".equals(ownerName) ? 0 : -1;
    }
  }

  /**
   * The user id this process runs as (the owner of {@code /proc/self}, which is its effective user's), else 0 or -1
   * by {@code user.name} where there is no {@code /proc}: the rule only asks whether it is root.
   */
  static int processUid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return "root".equals(System.getProperty("user.name")) ? 0 : -1;
    }
  }

  /**
   * The mode of {@code file} ({@code rw-r--r--}) when others than its owner have any permission on it, else empty:
   * the strict rule, whoever owns the file, for a caller with a line of its own (a file this program writes itself,
   * owner-only, such as a monitor's kept control token; never a secret volume). {@code options}:
   * {@link LinkOption#NOFOLLOW_LINKS} to read a link's own mode. Empty where the file system has no POSIX permissions,
   * or when the file cannot be read (its reader then fails with its own line).
   */
  public static Optional<String> openToOthers(Path file, LinkOption... options) {
    PosixFileAttributeView posix = Files.getFileAttributeView(file, PosixFileAttributeView.class, options);
    if (posix == null) {
      return Optional.empty(); // no POSIX permissions on this file system
    }
    Set<PosixFilePermission> perms;
    try {
      perms = posix.readAttributes().permissions();
    } catch (IOException e) {
      return Optional.empty(); // a file that is missing or went away fails where it is read, with its own line
    }
    return perms.stream().anyMatch(p -> !p.name().startsWith("OWNER_"))
        ? Optional.of(PosixFilePermissions.toString(perms)) : Optional.empty();
  }
}
