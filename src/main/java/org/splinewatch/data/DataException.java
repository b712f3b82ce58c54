package org.splinewatch.data;

/** A data set problem, with a one-line message naming the file and what was expected. */
public final class DataException extends RuntimeException {
  public DataException(String message) {
    super(message);
  }

  public DataException(String message, Throwable cause) {
    super(message, cause);
  }
}
