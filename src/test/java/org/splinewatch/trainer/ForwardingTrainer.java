package org.splinewatch.trainer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.splinewatch.embedding.EmbeddingMetrics;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * A {@link Trainer} that hands every call to another one: tests override the one call they change (a pause, an
 * injected failure) and inherit the rest, including the default methods.
 */
public abstract class ForwardingTrainer implements Trainer {
  protected final Trainer delegate;

  protected ForwardingTrainer(Trainer delegate) {
    this.delegate = delegate;
  }

  @Override
  public double step() {
    return delegate.step();
  }

  @Override
  public WeightSnapshot snapshot(String runId, long step, int epoch, double loss, double stepsPerSecond) {
    return delegate.snapshot(runId, step, epoch, loss, stepsPerSecond);
  }

  @Override
  public int stepsPerEpoch() {
    return delegate.stepsPerEpoch();
  }

  @Override
  public double learningRate() {
    return delegate.learningRate();
  }

  @Override
  public Map<String, BatchOutput> batchOutputs() {
    return delegate.batchOutputs();
  }

  @Override
  public void saveCheckpoint(Path dir) throws IOException {
    delegate.saveCheckpoint(dir);
  }

  @Override
  public void loadCheckpoint(Path dir) throws IOException {
    delegate.loadCheckpoint(dir);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
