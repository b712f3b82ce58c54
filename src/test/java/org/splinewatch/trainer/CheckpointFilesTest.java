package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A checkpoint's array files are read without ND4J: the shapes ND4J wrote, every damaged file named with its size, the
 * widths of each method's network; {@link Checkpoints#resolve} falls back to {@code latest.prev} when an array file of
 * {@code latest} is damaged, as it does for a damaged {@code meta.json}.
 */
class CheckpointFilesTest {
  @TempDir
  Path tmp;

  @Test
  void readsTheShapesNd4jWrites() throws Exception {
    Map<String, long[]> shapes = Map.of("scalar", new long[0], "vector", new long[] {7}, "matrix",
        new long[] {3, 5}, "conv", new long[] {3, 3, 1, 4}, "empty", new long[] {0, 4});
    for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE, DataType.LONG, DataType.INT)) {
      for (var e : shapes.entrySet()) {
        Path f = tmp.resolve(e.getKey() + "-" + type + ".bin");
        Nd4j.saveBinary(Nd4j.rand(DataType.DOUBLE, e.getValue()).castTo(type), f.toFile());
        assertArrayEquals(e.getValue(), CheckpointFiles.shape(f), f.toString());
      }
    }
  }

  @Test
  void aDamagedArrayFileIsNamedWithItsSize() throws Exception {
    Path f = tmp.resolve("g0-proj_w.bin");
    Nd4j.saveBinary(Nd4j.rand(DataType.FLOAT, 16, 8), f.toFile());
    byte[] whole = Files.readAllBytes(f);
    byte[] garbage = new byte[whole.length];
    new java.util.Random(3).nextBytes(garbage);
    byte[] otherShape = whole.clone();
    otherShape[0x2f] = 9; // the second dimension 8 → 9: more elements than the data holds
    List<byte[]> damaged = List.of(new byte[0], Arrays.copyOf(whole, 100), Arrays.copyOf(whole, whole.length - 1),
        Arrays.copyOf(whole, whole.length + 1), garbage, otherShape);
    for (byte[] bytes : damaged) {
      Files.write(f, bytes);
      IOException e = assertThrows(IOException.class, () -> CheckpointFiles.shape(f));
      assertTrue(e.getMessage().startsWith(f + " (" + bytes.length + " bytes) is not a readable ND4J array file (")
          && e.getMessage().endsWith("this checkpoint is damaged") && e.getMessage().lines().count() == 1,
          e.getMessage());
    }
  }

  @Test
  void everyMethodsCheckpointNamesItsWidths() throws Exception {
    var train = CollapseBehaviourTest.TRAIN;
    EncoderSpec cnn = new EncoderSpec("cnn", new int[] {2, 3}, new int[] {12});
    Map<String, Supplier<Trainer>> makers = new java.util.LinkedHashMap<>();
    makers.put("supervised", () -> new SupervisedTrainer(train, new int[] {16, 12}, 32, 1e-3, 1));
    makers.put("supervised-cnn", () -> new SupervisedTrainer(train, cnn, 32, 1e-3, 1));
    makers.put("simclr", () -> new SimClrTrainer(train, EncoderSpec.mlp(16, 12), 8, 32, 1e-3, 0.5, 1));
    makers.put("simclr-cnn", () -> new SimClrTrainer(train, cnn, 8, 32, 1e-3, 0.5, 1));
    makers.put("simsiam", () -> new SimSiamTrainer(train, EncoderSpec.mlp(16, 12), 8, 6, 32, 1e-3, true, true, 1));
    makers.put("byol", () -> new ByolTrainer(train, EncoderSpec.mlp(16, 12), 8, 6, 32, 1e-3, 0.99, 100, false, 1));
    makers.put("vicreg", () -> new VicRegTrainer(train, EncoderSpec.mlp(16, 12), 8, 32, 1e-3, 25, 25, 1, 1));
    Map<String, CheckpointFiles.Network> expected = Map.of(
        "supervised", new CheckpointFiles.Network(List.of(16, 12), -1, List.of(), false),
        "supervised-cnn", new CheckpointFiles.Network(List.of(12), -1, List.of(2, 3), false),
        "simclr", new CheckpointFiles.Network(List.of(16, 12), 8, List.of(), false),
        "simclr-cnn", new CheckpointFiles.Network(List.of(12), 8, List.of(2, 3), false),
        "simsiam", new CheckpointFiles.Network(List.of(16, 12), 8, List.of(), true),
        "byol", new CheckpointFiles.Network(List.of(16, 12), 8, List.of(), false),
        "vicreg", new CheckpointFiles.Network(List.of(16, 12), 8, List.of(), false));
    for (var e : makers.entrySet()) {
      Path dir = Files.createDirectories(tmp.resolve(e.getKey()));
      try (Trainer t = e.getValue().get()) {
        t.step();
        t.saveCheckpoint(dir);
      }
      assertEquals(expected.get(e.getKey()), CheckpointFiles.read(dir), e.getKey());
    }
    // a damaged optimiser moment or step count, a cut model.zip: each named
    Path simclr = tmp.resolve("simclr");
    Path moment;
    try (var files = Files.list(simclr)) {
      moment = files.filter(f -> f.getFileName().toString().startsWith("adam-")
          && f.getFileName().toString().endsWith(".bin")).sorted().findFirst().orElseThrow();
    }
    Files.write(moment, new byte[0]);
    assertTrue(assertThrows(IOException.class, () -> CheckpointFiles.read(simclr)).getMessage()
        .startsWith(moment + " (0 bytes) is not a readable ND4J array file"));
    Files.writeString(simclr.resolve("adam-iteration.txt"), "x");
    Path model = tmp.resolve("supervised").resolve("model.zip");
    byte[] zip = Files.readAllBytes(model);
    Files.write(model, Arrays.copyOf(zip, zip.length / 2));
    String m = assertThrows(IOException.class, () -> CheckpointFiles.read(model.getParent())).getMessage();
    assertTrue(m.startsWith(model + " (" + zip.length / 2 + " bytes) is not a readable model file (")
        && m.lines().count() == 1, m);
  }

  /** A checkpoint of a tiny SimCLR trainer at {@code step} steps, written the way a run writes it. */
  private static void checkpoint(Path checkpoints, long step) {
    try (Trainer t = new SimClrTrainer(CollapseBehaviourTest.TRAIN, EncoderSpec.mlp(16), 8, 32, 1e-3, 0.5, 1)) {
      t.step();
      Checkpoints.write(t, checkpoints, "latest", new Checkpoints.Meta(step, 0, 1.0, "simclr"));
    }
  }

  @Test
  void aDamagedArrayFileFallsBackToThePredecessor() throws Exception {
    Path checkpoints = tmp.resolve("run").resolve("checkpoints");
    checkpoint(checkpoints, 10);
    checkpoint(checkpoints, 20);
    Path latest = checkpoints.resolve("latest");
    Path prev = checkpoints.resolve("latest.prev");
    assertEquals(latest, Checkpoints.resolve(latest));
    Files.write(latest.resolve("g0-proj_w.bin"), new byte[0]);
    assertTrue(Checkpoints.problem(latest).orElseThrow().startsWith(latest.resolve("g0-proj_w.bin")
        + " (0 bytes) is not a readable ND4J array file"), Checkpoints.problem(latest).toString());
    assertEquals(prev, Checkpoints.resolve(latest));
    assertEquals(10, Checkpoints.read(latest).step());
    // the next checkpoint replaces the damaged one and keeps the usable predecessor
    checkpoint(checkpoints, 30);
    assertEquals(30, Checkpoints.read(latest).step());
    assertEquals(10, Checkpoints.read(prev).step());
    // both damaged: one line naming latest's file
    Files.write(latest.resolve("g0-enc0_w.bin"), new byte[] {1, 2, 3});
    Files.delete(prev.resolve("g0-proj_b.bin"));
    String m = assertThrows(IllegalArgumentException.class, () -> Checkpoints.read(latest)).getMessage();
    assertTrue(m.startsWith(latest.resolve("g0-enc0_w.bin") + " (3 bytes) is not a readable ND4J array file")
        && m.endsWith("(its predecessor latest.prev is no usable checkpoint either)") && m.lines().count() == 1, m);
  }
}
