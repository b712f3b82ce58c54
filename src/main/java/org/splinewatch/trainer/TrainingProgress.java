package org.splinewatch.trainer;

/**
 * What the console shows, published by the trainer after every step (a volatile reference to an immutable value).
 */
public final class TrainingProgress {
  /** One reading. */
  public record State(long step, long totalSteps, int epoch, double loss, double stepsPerSecond, String lastAlert,
      boolean finished) {
  }

  private volatile State state = new State(0, 0, 0, Double.NaN, 0, "-", false);

  public State get() {
    return state;
  }

  void set(State s) {
    state = s;
  }

  public void alert(String text) {
    State s = state;
    state = new State(s.step(), s.totalSteps(), s.epoch(), s.loss(), s.stepsPerSecond(), text, s.finished());
  }
}
