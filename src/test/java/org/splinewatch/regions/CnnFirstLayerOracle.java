package org.splinewatch.regions;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Regions after the first layer of CnnPlaneHarness's plane by regions.md §7 oracle 1, {@code R = 1 + L + I} (lines
 * crossing the diamond domain, their intersections inside it), independently of the engine: a check of the tiled
 * count's first layer, run by hand (docs/regions-engine.md "Tiled count"). Args: {@code seed idx3-images [scale]}.
 */
public final class CnnFirstLayerOracle {
  private CnnFirstLayerOracle() {
  }

  public static void main(String[] args) throws Exception {
    long seed = Long.parseLong(args[0]);
    PiecewiseLinearNet net = CnnPlaneHarness.cnn(seed);
    Plane plane = CnnPlaneHarness.plane(seed, java.nio.file.Path.of(args[1]));
    double scale = args.length > 2 ? Double.parseDouble(args[2]) : 1;
    double pad = plane.domain()[0] * scale; // the diamond |s| + |t| <= pad
    double[][] f = plane.firstBlockCoefficients(net.blocks().get(0));
    List<double[]> lines = new ArrayList<>();
    Set<List<Double>> seen = new HashSet<>();
    for (int j = 0; j < f[0].length; j++) {
      double a = f[0][j];
      double bx = f[1][j];
      double by = f[2][j];
      double norm = Math.hypot(bx, by);
      if (norm == 0) {
        continue; // constant on the plane
      }
      // the line crosses the open diamond when the values at its corners have both signs
      double[] corner = {a + pad * bx, a - pad * bx, a + pad * by, a - pad * by};
      double lo = Math.min(Math.min(corner[0], corner[1]), Math.min(corner[2], corner[3]));
      double hi = Math.max(Math.max(corner[0], corner[1]), Math.max(corner[2], corner[3]));
      if (!(lo < 0 && hi > 0)) {
        continue;
      }
      double sg = bx != 0 ? Math.signum(bx) : Math.signum(by);
      if (seen.add(List.of(sg * a / norm, sg * bx / norm, sg * by / norm))) {
        lines.add(new double[] {a, bx, by});
      }
    }
    long inside = 0;
    for (int i = 0; i < lines.size(); i++) {
      double[] p = lines.get(i);
      for (int k = i + 1; k < lines.size(); k++) {
        double[] q = lines.get(k);
        double det = p[1] * q[2] - p[2] * q[1];
        if (det == 0) {
          continue; // parallel
        }
        double s = (-p[0] * q[2] + p[2] * q[0]) / det;
        double t = (-p[1] * q[0] + p[0] * q[1]) / det;
        if (Math.abs(s) + Math.abs(t) < pad) {
          inside++;
        }
      }
    }
    System.out.printf("seed %d, scale %s: %d lines cross the domain, %d intersections inside, R = 1 + L + I = %d%n",
        seed, scale, lines.size(), inside, 1 + lines.size() + inside);
    if (args.length > 3) { // the engine on the first layer alone, whole and tiled
      PiecewiseLinearNet first = net.prefix(1);
      double[] d = plane.domain();
      for (int i = 0; i < d.length; i++) {
        d[i] *= scale;
      }
      Plane scaled = plane.withDomain(d);
      if (args[3].equals("direct")) {
        System.out.println("engine, whole: " + Partition.compute(first, scaled, 5_000_000).regionCount());
      }
      TiledRegionCount.Result r = TiledRegionCount.count(first, scaled, 50_000, new Partition.Workspace(), null);
      System.out.println("engine, tiled: " + r.regions() + " in " + r.tiles() + " tiles");
    }
  }
}
