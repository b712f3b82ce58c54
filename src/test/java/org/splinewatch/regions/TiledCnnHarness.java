package org.splinewatch.regions;

/**
 * The exact tiled count of a plane of the default CNN encoder (CnnPlaneHarness's network and plane), run by hand
 * (docs/regions-engine.md "Tiled count"): {@code seed tileCap idx3-images [scale [threads [direct]]]}, where
 * {@code scale} shrinks the domain about the plane's centre and {@code direct} also computes one partition of the
 * whole (scaled) domain to compare.
 */
public final class TiledCnnHarness {
  public static void main(String[] args) throws Exception {
    long seed = Long.parseLong(args[0]);
    int cap = Integer.parseInt(args[1]);
    PiecewiseLinearNet net = CnnPlaneHarness.cnn(seed);
    Plane plane = CnnPlaneHarness.plane(seed, args.length > 2 ? java.nio.file.Path.of(args[2]) : null);
    int threads = args.length > 4 ? Integer.parseInt(args[4]) : 1;
    if (args.length > 3 && Double.parseDouble(args[3]) != 1) {
      double sc = Double.parseDouble(args[3]);
      double[] d = plane.domain();
      for (int i = 0; i < d.length; i++) d[i] *= sc;
      plane = plane.withDomain(d);
    }
    long t0 = System.nanoTime();
    long[] last = {0};
    Partition.Workspace[] ws = new Partition.Workspace[threads];
    for (int i = 0; i < threads; i++) {
      ws[i] = new Partition.Workspace(Runtime.getRuntime().maxMemory() / 5 / threads);
    }
    TiledRegionCount.Result r = TiledRegionCount.count(net, plane, cap, ws,
        (done, total, tiles, split, so) -> {
          long now = System.nanoTime();
          if (now - last[0] > 60_000_000_000L) {
            last[0] = now;
            System.out.printf("  %.1f %% area, %d tiles, %d regions in them (before the seams), %.0f s%n",
                100 * done / total, tiles, so, (now - t0) / 1e9);
          }
        });
    long peak = 0;
    for (java.lang.management.MemoryPoolMXBean pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    System.out.printf("tiled: %d regions, after layers %s, %d tiles, %d split, largest %d, seam bp %d, %.1f s, %d"
        + " threads, peak heap %d MiB of %d%n", r.regions(), java.util.Arrays.toString(r.regionsAfterLayer()),
        r.tiles(), r.splitTiles(), r.largestTile(), r.seamBreakpoints(), (System.nanoTime() - t0) / 1e9, threads,
        peak >> 20, Runtime.getRuntime().maxMemory() >> 20);
    if (args.length > 5) {
      long t1 = System.nanoTime();
      Partition p = Partition.compute(net, plane, 50_000_000);
      System.out.printf("direct: %d regions, after layers %s, %.1f s%n", p.regionCount(),
          java.util.Arrays.toString(p.regionsAfterLayer()), (System.nanoTime() - t1) / 1e9);
    }
  }
}
