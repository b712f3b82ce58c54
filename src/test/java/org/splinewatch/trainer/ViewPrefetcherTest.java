package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ViewPrefetcherTest {

  @Test
  void theBulkCopyWritesEveryValueWhereTheArrayReadsIt() {
    // the CPU backend takes the bulk path (an NIO view of the host buffer); this checks its order and byte order
    assertTrue(Nd4j.getBackend().getClass().getSimpleName().startsWith("Cpu"), "tests run on the CPU backend");
    INDArray view = Nd4j.create(DataType.FLOAT, 5, 13);
    Random r = new Random(3);
    for (int round = 0; round < 2; round++) { // the second copy overwrites the first
      float[] values = new float[5 * 13];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) r.nextGaussian();
      }
      ViewPrefetcher.copyInto(view, values);
      assertArrayEquals(values, view.data().asFloat());
      for (int row = 0; row < 5; row++) {
        for (int col = 0; col < 13; col++) {
          assertEquals(values[row * 13 + col], view.getFloat(row, col), 0f);
        }
      }
      assertEquals(values[7] * 2, view.mul(2).getFloat(0, 7), 0f); // an op reads the new values
    }
  }
}
