package org.splinewatch.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link DropOldestBuffer}: keeps the newest {@code capacity} elements in order and reports each drop once. */
class DropOldestBufferTest {

  @Test
  void keepsTheNewestAndDropsTheOldestFirst() {
    List<Integer> dropped = new ArrayList<>();
    DropOldestBuffer<Integer> b = new DropOldestBuffer<>(3, dropped::add);
    for (int i = 0; i < 7; i++) {
      b.add(i);
    }
    assertEquals(List.of(0, 1, 2, 3), dropped, "the oldest go first, each reported once");
    assertEquals(3, b.size());
    assertEquals(4, b.poll());
    assertEquals(List.of(5, 6), b.drain());
    assertTrue(b.isEmpty());
    assertNull(b.poll());
    assertEquals(List.of(), b.drain());
  }

  @Test
  void dropsNothingWithinCapacity() {
    List<String> dropped = new ArrayList<>();
    DropOldestBuffer<String> b = new DropOldestBuffer<>(2, dropped::add);
    b.add("a");
    b.add("b");
    assertEquals("a", b.poll());
    b.add("c");
    assertEquals(List.of(), dropped);
    assertEquals(List.of("b", "c"), b.drain());
  }

  @Test
  void aCapacityOfOneKeepsOnlyTheLatest() {
    List<Integer> dropped = new ArrayList<>();
    DropOldestBuffer<Integer> b = new DropOldestBuffer<>(1, dropped::add);
    b.add(1);
    b.add(2);
    b.add(3);
    assertEquals(List.of(1, 2), dropped);
    assertEquals(List.of(3), b.drain());
  }

  @Test
  void refusesACapacityBelowOne() {
    assertThrows(IllegalArgumentException.class, () -> new DropOldestBuffer<Integer>(0, x -> { }));
  }
}
