package org.splinewatch.hub;

import java.util.function.Consumer;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;

/**
 * A stream stage that always takes what arrives into a {@link DropOldestBuffer} of {@code capacity} elements and
 * hands the oldest on, one at a time, when downstream asks: it holds at most its capacity, and a lagging downstream
 * sees the newest elements. (Pekko's {@code conflateWithSeed} into such a buffer, followed by {@code mapConcat}, which
 * the hub used before, handed on the whole buffer at once: the elements not yet taken by downstream could no longer
 * be dropped while the buffer refilled behind them, twice its capacity.) When upstream finishes, what it holds is
 * still handed on.
 *
 * @param <T> the elements
 */
final class DropOldestStage<T> extends GraphStage<FlowShape<T, T>> {
  private final Inlet<T> in = Inlet.create("DropOldest.in");
  private final Outlet<T> out = Outlet.create("DropOldest.out");
  private final FlowShape<T, T> shape = FlowShape.of(in, out);
  private final int capacity;
  private final Consumer<? super T> onDrop;

  /**
   * @param capacity at least 1
   * @param onDrop   called on the stream's thread for each element pushed out of the buffer, oldest first
   */
  DropOldestStage(int capacity, Consumer<? super T> onDrop) {
    this.capacity = DropOldestBuffer.requireCapacity(capacity); // before the stream is materialised
    this.onDrop = onDrop;
  }

  @Override
  public FlowShape<T, T> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new GraphStageLogic(shape) {
      private final DropOldestBuffer<T> buffer = new DropOldestBuffer<>(capacity, onDrop);
      private boolean finishing;

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            buffer.add(grab(in));
            if (isAvailable(out)) {
              push(out, buffer.poll());
            }
            pull(in);
          }

          @Override
          public void onUpstreamFinish() {
            if (buffer.isEmpty()) {
              completeStage();
            } else {
              finishing = true; // completed by onPull once the buffer is handed on
            }
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            T next = buffer.poll();
            if (next != null) {
              push(out, next);
              if (finishing && buffer.isEmpty()) {
                completeStage();
              }
            }
          }
        });
      }

      @Override
      public void preStart() {
        pull(in);
      }
    };
  }
}
