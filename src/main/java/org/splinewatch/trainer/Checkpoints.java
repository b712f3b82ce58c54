package org.splinewatch.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code runs/<run-id>/checkpoints/latest} (at every epoch end and when the run ends or is stopped) and
 * {@code best} (lowest epoch-end training loss), each with the trainer's files and {@code meta.json} (step, epoch,
 * loss, method). Written into a temporary directory, then renamed, so a crash never leaves half a checkpoint.
 */
public final class Checkpoints {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What {@code meta.json} says. */
  public record Meta(long step, int epoch, double loss, String method) {
  }

  private Checkpoints() {
  }

  public static void write(Trainer trainer, Path checkpoints, String name, Meta meta) {
    try {
      Files.createDirectories(checkpoints);
      Path tmp = Files.createTempDirectory(checkpoints, "." + name + "-");
      trainer.saveCheckpoint(tmp);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("step", meta.step());
      m.put("epoch", meta.epoch());
      m.put("loss", Double.isFinite(meta.loss()) ? meta.loss() : String.valueOf(meta.loss()));
      m.put("method", meta.method());
      m.put("time", System.currentTimeMillis());
      JSON.writeValue(tmp.resolve("meta.json").toFile(), m);
      Path target = checkpoints.resolve(name);
      Path old = checkpoints.resolve("." + name + "-old");
      delete(old);
      if (Files.exists(target)) {
        Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      delete(old);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint " + checkpoints.resolve(name) + ": " + e.getMessage(), e);
    }
  }

  /** Reads {@code meta.json} of a checkpoint directory, with a one-line error when it is not one. */
  public static Meta read(Path dir) {
    Path meta = dir.resolve("meta.json");
    if (!Files.isRegularFile(meta)) {
      throw new IllegalArgumentException(dir + " is not a checkpoint (no meta.json); expected runs/<run-id>/"
          + "checkpoints/latest or best");
    }
    try {
      JsonNode j = JSON.readTree(meta.toFile());
      return new Meta(j.path("step").asLong(), j.path("epoch").asInt(), j.path("loss").asDouble(Double.NaN),
          j.path("method").asText());
    } catch (IOException e) {
      throw new IllegalArgumentException(meta + " is unreadable: " + e.getMessage());
    }
  }

  private static void delete(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
