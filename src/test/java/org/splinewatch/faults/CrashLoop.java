package org.splinewatch.faults;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.trainer.Checkpoints;
import org.splinewatch.trainer.Trainer;

/**
 * The victim of {@link CrashSafetyIT}: rewrites a checkpoint ({@code checkpoint DIR}) or {@code config.json}
 * ({@code config DIR}) in a loop until it is killed, printing {@code ready} after the first complete write. Every
 * file of checkpoint {@code k} holds {@code k} in each of its 8-byte words, so a mixed checkpoint is detectable.
 */
public final class CrashLoop {
  private CrashLoop() {
  }

  /**
   * A trainer whose checkpoint is four 256 KB files stamped with its step ({@code .dat}: not ND4J array files, which
   * {@code Checkpoints} checks in a {@code .bin} file).
   */
  static Trainer stamped(long step) {
    return new Trainer() {
      @Override
      public double step() {
        return 0;
      }

      @Override
      public org.splinewatch.snapshot.WeightSnapshot snapshot(String runId, long s, int epoch, double loss,
          double stepsPerSecond) {
        throw new UnsupportedOperationException("not needed here");
      }

      @Override
      public int stepsPerEpoch() {
        return 1;
      }

      @Override
      public double learningRate() {
        return 0;
      }

      @Override
      public void saveCheckpoint(Path dir) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(256 * 1024);
        while (b.hasRemaining()) {
          b.putLong(step);
        }
        for (int i = 0; i < 4; i++) {
          Files.write(dir.resolve("part-" + i + ".dat"), b.array());
        }
      }

      @Override
      public void loadCheckpoint(Path dir) {
        throw new UnsupportedOperationException("not needed here");
      }

      @Override
      public void close() {
      }
    };
  }

  /** The step every part of a checkpoint directory is stamped with; an error when they differ or are short. */
  static long stampOf(Path dir) throws IOException {
    long stamp = -1;
    for (int i = 0; i < 4; i++) {
      ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve("part-" + i + ".dat")));
      if (b.remaining() != 256 * 1024) {
        throw new IllegalStateException(dir + "/part-" + i + ".dat has " + b.remaining() + " bytes");
      }
      while (b.hasRemaining()) {
        long v = b.getLong();
        if (stamp >= 0 && v != stamp) {
          throw new IllegalStateException(dir + " mixes steps " + stamp + " and " + v);
        }
        stamp = v;
      }
    }
    return stamp;
  }

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[1]);
    // the test holds our stdin: when it goes away (killed, timed out), so do we
    Thread orphan = new Thread(() -> {
      try {
        while (System.in.read() >= 0) {
          // nothing is sent
        }
      } catch (IOException e) {
        // closed
      }
      Runtime.getRuntime().halt(1);
    });
    orphan.setDaemon(true);
    orphan.start();
    boolean told = false;
    for (long step = Long.parseLong(args.length > 2 ? args[2] : "1"); ; step++) {
      if (args[0].equals("checkpoint")) {
        Checkpoints.write(stamped(step), dir.resolve("checkpoints"), "latest",
            new Checkpoints.Meta(step, (int) step, 1.0 / step, "supervised"));
      } else {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("run_id", "crash");
        config.put("step", step);
        config.put("padding", "x".repeat(200_000));
        RunLog.writeConfig(dir, config);
      }
      if (!told) {
        System.out.println("ready " + step);
        System.out.flush();
        told = true;
      }
    }
  }
}
