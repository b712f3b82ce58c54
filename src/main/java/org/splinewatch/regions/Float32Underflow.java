package org.splinewatch.regions;

/**
 * The nonzero {@code <f8} (float64) values of one array that float32 rounds to 0 (below half of its least subnormal),
 * counted as the array is read into float32, so that they do not vanish without a word: {@link #warning} is the one
 * line per array that says so. Shared by {@link NpzModel} (network files) and {@code snapshot.NpzArchive} (region
 * files, request bodies).
 */
public final class Float32Underflow {
  private long count;
  private long firstIndex = -1;
  private double firstValue;

  /** {@code d}, the value at flat index {@code index}, rounded to float32; counted when that makes a nonzero 0. */
  public float round(double d, long index) {
    float f = (float) d;
    if (f == 0 && d != 0 && count++ == 0) {
      firstIndex = index;
      firstValue = d;
    }
    return f;
  }

  /** How many nonzero values became 0. */
  public long count() {
    return count;
  }

  /**
   * The warning for the array {@code where} names ({@code "model.npz: array W0"}), or null when no value vanished:
   * {@code "model.npz: array W0: 2 nonzero values below float32's range read as 0 (the first 1.0E-50 at flat index 1;
   * float32's least is 1.4E-45): arrays are read as float32"}.
   */
  public String warning(String where) {
    return count == 0 ? null : where + ": " + count + (count == 1 ? " nonzero value" : " nonzero values")
        + " below float32's range read as 0 (the first " + firstValue + " at flat index " + firstIndex + "; float32's"
        + " least is " + Float.MIN_VALUE + "): arrays are read as float32";
  }
}
