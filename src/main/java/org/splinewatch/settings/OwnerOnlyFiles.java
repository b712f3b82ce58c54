package org.splinewatch.settings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;

/**
 * The rule for a file that holds a secret (a key store, a password, the deployment token): others than its owner may
 * neither read nor change it, as ssh refuses such a private key. A copy that lost its mode (cp -r as another user, an
 * archive, a volume, a redirect under umask 022) went unnoticed while anyone on the machine could read the secret.
 */
public final class OwnerOnlyFiles {
  private OwnerOnlyFiles() {
  }

  /**
   * Refuses {@code file}, the value of setting {@code key}, when others than its owner have any permission on it: a
   * one-line {@link IllegalArgumentException} naming the key, the file, its mode, the {@code secret} exposed and
   * {@code chmod 600}. {@code madeBy} says what makes the file so, e.g. {@code " as ./monitor certs makes it"}, or is
   * empty. No check where the file system has no POSIX permissions, or when the file cannot be read (its reader then
   * fails with its own line).
   */
  public static void refuseOpenToOthers(String key, Path file, String secret, String madeBy) {
    openToOthers(file).ifPresent(mode -> {
      throw new IllegalArgumentException(key + " '" + file + "' is open to others than its owner (mode " + mode
          + "), so they may read " + secret + "; expected an owner-only file (rw-------)" + madeBy + ": chmod 600 "
          + file);
    });
  }

  /**
   * The mode of {@code file} ({@code rw-r--r--}) when others than its owner have any permission on it, else empty:
   * the rule itself, for a caller with a line of its own. {@code options}: {@link LinkOption#NOFOLLOW_LINKS} to read
   * a link's own mode. Empty where the file system has no POSIX permissions, or when the file cannot be read (its
   * reader then fails with its own line).
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
