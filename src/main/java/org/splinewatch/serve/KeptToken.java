package org.splinewatch.serve;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import org.splinewatch.settings.OwnerOnlyFiles;
import org.splinewatch.snapshot.IoErrors;
import org.splinewatch.snapshot.RunIds;

/**
 * The random control token a {@code monitor serve} keeps in {@code <out>/control-token} when no deployment token is
 * configured: a monitor started again on that {@code --out} (after a kill, a crash or a stop) takes the token it
 * finds there instead of writing a new one, so the clients given it by value ({@code token=},
 * {@code $SPLINEWATCH_CONTROL_TOKEN}, a copied header) follow the restart. One monitor holds an {@code --out} at a
 * time ({@link OutLock}), so the token there is always this directory's monitor's. A file that is no longer
 * owner-only, or that holds no token, is refused: it may have been exposed or edited, and only its owner can say
 * whether to keep it ({@code chmod 600}) or to start with a new one (delete it).
 */
public final class KeptToken {
  static final int MIN_LENGTH = org.splinewatch.control.AlertWebhook.MIN_TOKEN_LENGTH;

  private KeptToken() {
  }

  /** Why {@code <out>/control-token} cannot be kept, or empty when it can (or is not there). */
  public static Optional<String> problem(Path out) {
    try {
      read(out);
      return Optional.empty();
    } catch (IllegalArgumentException e) {
      return Optional.of(e.getMessage());
    }
  }

  /**
   * The token in {@code <out>/control-token}, or empty when there is none; an {@link IllegalArgumentException} (one
   * line naming the file, what is wrong and what to do) when it is there but cannot be kept.
   */
  static Optional<String> read(Path out) {
    Path file = out.resolve(RunIds.CONTROL_TOKEN_FILE);
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    String delete = "; expected the file an earlier ./monitor serve on " + out + " wrote, or delete it to start with"
        + " a new token";
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalArgumentException(file + " is not a regular file (" + (Files.isSymbolicLink(file) ? "a link"
          : Files.isDirectory(file, LinkOption.NOFOLLOW_LINKS) ? "a directory" : "a special file") + ")" + delete
          + " (a shared token goes in splinewatch.control.token-file)");
    }
    // the shared owner-only rule (OwnerOnlyFiles); the line is this file's own: it is no setting, and deleting it is
    // as good an answer as chmod 600 (a new token)
    OwnerOnlyFiles.openToOthers(file, LinkOption.NOFOLLOW_LINKS).ifPresent(mode -> {
      throw new IllegalArgumentException(file + " is open to others than its owner (mode " + mode + "), so its token"
          + " may be known; expected an owner-only file (rw-------): chmod 600 " + file + " to keep its token, or"
          + " delete it to start with a new one");
    });
    String text;
    try {
      text = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + " (" + IoErrors.reason(e) + ")" + delete);
    }
    String token = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    if (token.length() < MIN_LENGTH || !token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new IllegalArgumentException(file + " holds no control token (" + (token.length() < MIN_LENGTH
          ? token.length() + " characters" : "a character other than printable ASCII, or more than one line") + ")"
          + "; expected one line of at least " + MIN_LENGTH + " printable characters as ./monitor serve writes it,"
          + " or delete it to start with a new token");
    }
    return Optional.of(token);
  }
}
