package org.splinewatch.trainer;

/**
 * What the console shows, published by the trainer after every step (a volatile reference to an immutable value).
 */
public final class TrainingProgress {
  /**
   * One reading. {@code trained}: this process has trained at least one step, so {@code loss} and
   * {@code stepsPerSecond} are a step's; before that (the trainer is still being set up, or failed before its first
   * step) they are placeholders, and {@code totalSteps} is 0 until the trainer exists.
   */
  public record State(long step, long totalSteps, int epoch, double loss, double stepsPerSecond, String lastAlert,
      boolean finished, boolean trained) {
  }

  private volatile State state = new State(0, 0, 0, Double.NaN, 0, "-", false, false);

  public State get() {
    return state;
  }

  void set(State s) {
    state = s;
  }

  public void alert(String text) {
    State s = state;
    state = new State(s.step(), s.totalSteps(), s.epoch(), s.loss(), s.stepsPerSecond(), text, s.finished(),
        s.trained());
  }
}
