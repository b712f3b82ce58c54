package org.splinewatch.cli;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;

/**
 * Standard output that remembers why a write failed: {@link System#out} swallows the error, so
 * {@code ./monitor regions --json > result.json} on a full disk (or {@code > /dev/full}) exited 0 with nothing written.
 * {@link #problem} names the failure for {@code Main} to report (exit 1); a reader that went away ({@code | head}) is
 * left alone, as with a shell tool that SIGPIPE ends.
 */
final class CheckedStandardOutput extends OutputStream {
  private final OutputStream out = new FileOutputStream(FileDescriptor.out);
  private volatile IOException failed;

  /** Replaces {@link System#out} with a print stream over this, encoded and flushed as the JVM's own. */
  static CheckedStandardOutput install() {
    CheckedStandardOutput checked = new CheckedStandardOutput();
    Charset charset;
    try {
      charset = Charset.forName(System.getProperty("sun.stdout.encoding", Charset.defaultCharset().name()));
    } catch (IllegalArgumentException e) {
      charset = Charset.defaultCharset();
    }
    System.setOut(new PrintStream(new BufferedOutputStream(checked, 8192), true, charset));
    return checked;
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    try {
      out.write(b, off, len);
    } catch (IOException e) {
      if (failed == null) {
        failed = e;
      }
      throw e;
    }
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  /**
   * Why standard output lost what the command printed, as the error line after {@code "error: "}; null when all was
   * written or the reader closed the pipe (a broken pipe).
   */
  String problem() {
    System.out.flush();
    IOException e = failed;
    if (e == null || String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("broken pipe")) {
      return null;
    }
    return "cannot write standard output (" + (e.getMessage() == null ? e.getClass().getSimpleName()
        : e.getMessage()) + "): what the command printed there is lost or cut short; expected room for it, e.g. a"
        + " redirect to a file system that is not full";
  }
}
