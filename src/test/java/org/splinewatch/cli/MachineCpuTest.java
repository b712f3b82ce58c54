package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link MachineCpu}: the busy share of the machine's CPUs from {@code /proc/stat}. */
class MachineCpuTest {

  @Test
  void idleAndIowaitAreNotBusyAndGuestTimeIsNotCountedTwice() {
    // user nice system idle iowait irq softirq steal guest guest_nice
    assertArrayEquals(new long[] {100 + 5 + 30 + 2 + 3 + 10, 100 + 5 + 30 + 800 + 50 + 2 + 3 + 10},
        MachineCpu.parse("cpu  100 5 30 800 50 2 3 10 40 0"));
    // an older kernel's four fields
    assertArrayEquals(new long[] {135, 935}, MachineCpu.parse("cpu 100 5 30 800"));
  }

  @Test
  void theShareIsBusyTicksOverAllTicksBetweenTwoReadings() {
    assertEquals(0.25, MachineCpu.busyShare(new long[] {100, 1000}, new long[] {150, 1200}), 1e-12);
    assertTrue(Double.isNaN(MachineCpu.busyShare(null, new long[] {1, 2})));
    assertTrue(Double.isNaN(MachineCpu.busyShare(new long[] {1, 2}, new long[] {1, 2})));
  }

  @Test
  void aLineThatIsNotTheAllCpuLineIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> MachineCpu.parse("cpu0 1 2 3 4"));
  }

  @Test
  void thisMachinesReadingIsBusyWithinItsTotal() {
    long[] t = MachineCpu.ticks();
    if (t != null) { // Linux
      assertTrue(t[0] >= 0 && t[0] <= t[1], t[0] + " of " + t[1]);
    }
  }
}
