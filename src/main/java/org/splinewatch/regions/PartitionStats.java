package org.splinewatch.regions;

import java.util.Arrays;

/**
 * Statistics of a {@link Partition} (regions.md §4). Shape statistics (area moments aside) exclude slivers, faces
 * with area below {@code 1e-14·A_domain}, which are still counted as regions.
 *
 * @param regions              number of faces {@code R}
 * @param regionsAfterLayer    region count after each hidden layer
 * @param vertices             vertices of the subdivision, domain corners included
 * @param edges                undirected edges, domain boundary included ({@code V − E + F = 1})
 * @param internalEdges        edges not on the domain boundary
 * @param domainArea           area of the domain in input units
 * @param areaMean             mean face area
 * @param areaStd              unbiased std of face areas
 * @param areaQuantiles        min, 10 %, 50 %, 90 %, max of face areas
 * @param areaSum              sum of face areas (equals the domain area)
 * @param verticesPerRegion    mean cycle length {@code m_f} (T-junctions included)
 * @param verticesTotal        {@code Σ m_f}
 * @param eccentricityMean     SplineCam eccentricity (max/min pairwise vertex distance), cycle vertices
 * @param eccentricityStd      unbiased std of it
 * @param eccentricityMedian   median of it
 * @param logEccentricityMean  mean of its logarithm
 * @param cornerEccentricityMean eccentricity with corners only (vertices with a nonzero turn)
 * @param centralityMean       SplineCam centrality: mean distance of all cycle vertices to their mean
 * @param centralityStd        std of that distance
 * @param boundaryLength       total length of internal edges {@code L_int}
 * @param boundaryDensity      {@code L_int / A_domain}
 * @param perimeterSum         {@code Σ_f perimeter_f} (equals {@code 2·L_int + perimeter(domain)})
 * @param nearRegions          faces whose centroid lies within {@code r_near} of an anchor (0 without anchors)
 * @param densityNear          regions per unit area near the anchors (NaN without anchors)
 * @param densityFar           regions per unit area elsewhere
 * @param slivers              faces below the sliver area threshold
 * @param decisionBoundaryLength length of the top-1 class boundary (NaN without a classifier head)
 * @param classAreas           area of each predicted class (empty without a classifier head)
 * @param inconsistentFaces    faces left unsplit because of numerical inconsistency (should be 0)
 * @param overflow             whether the region cap was reached
 */
public record PartitionStats(int regions, int[] regionsAfterLayer, int vertices, int edges, int internalEdges,
    double domainArea, double areaMean, double areaStd, double[] areaQuantiles, double areaSum,
    double verticesPerRegion, long verticesTotal, double eccentricityMean, double eccentricityStd,
    double eccentricityMedian, double logEccentricityMean, double cornerEccentricityMean, double centralityMean,
    double centralityStd, double boundaryLength, double boundaryDensity, double perimeterSum, int nearRegions,
    double densityNear, double densityFar, int slivers, double decisionBoundaryLength, double[] classAreas,
    int inconsistentFaces, boolean overflow) {

  /** Faces smaller than this fraction of the domain are slivers (regions.md §3.4 rule 8). */
  public static final double SLIVER_FRACTION = 1e-14;

  /** Computes every statistic; the decision boundary only when {@code classifierHead} and the partition has the head's outputs. */
  public static PartitionStats of(Partition p, boolean classifierHead) {
    return of(p, classifierHead, null);
  }

  /**
   * As {@link #of(Partition, boolean)}, with its per-face arrays and edge map taken from {@code workspace} (null:
   * fresh ones) and left there for the next plane, as the engine's own arrays are: the live analyzer computes one
   * plane's statistics after another. The result does not depend on the workspace's previous contents. Not while a
   * computation uses the workspace.
   */
  public static PartitionStats of(Partition p, boolean classifierHead, Partition.Workspace workspace) {
    int faces = p.regionCount();
    Plane plane = p.plane();
    double domainArea = plane.domainArea();
    double sliverArea = SLIVER_FRACTION * domainArea;
    double[][] perFace = Partition.Workspace.statsArrays(workspace, faces);
    double[] areas = perFace[0];
    double[] ecc = perFace[1];
    double[] cornerEcc = perFace[2];
    double[] cx = perFace[3];
    double[] cy = perFace[4];
    int[] cornerBuffer = new int[16]; // one face's corners, grown to the longest cycle
    int[] c = p.faceCycles(); // face f's cycle: m vertices from s = p.faceStart(f)
    int shaped = 0;
    long vertexTotal = 0;
    double perimeterSum = 0;
    double sumX = 0;
    double sumY = 0;
    for (int f = 0; f < faces; f++) {
      int s = p.faceStart(f);
      int m = p.faceLength(f);
      vertexTotal += m;
      double a2 = 0;
      double gx = 0;
      double gy = 0;
      // shoelace about the face's first vertex: with absolute coordinates of order 1 each product carried rounding
      // of 1e-17, more than a sliver's area (1e-18), which came out 0 or negative
      double x0 = p.vertexX(c[s]);
      double y0 = p.vertexY(c[s]);
      for (int k = 0; k < m; k++) {
        int u = c[s + k];
        int w = c[s + (k + 1) % m];
        double ux = p.vertexX(u) - x0;
        double uy = p.vertexY(u) - y0;
        double wx = p.vertexX(w) - x0;
        double wy = p.vertexY(w) - y0;
        double cross = ux * wy - wx * uy;
        a2 += cross;
        gx += (ux + wx) * cross;
        gy += (uy + wy) * cross;
        perimeterSum += length(p.vertexX(w) - p.vertexX(u), p.vertexY(w) - p.vertexY(u));
        sumX += p.vertexX(u);
        sumY += p.vertexY(u);
      }
      double area = a2 / 2;
      areas[f] = area;
      if (Math.abs(a2) > 0) {
        cx[f] = x0 + gx / (3 * a2);
        cy[f] = y0 + gy / (3 * a2);
      } else {
        cx[f] = p.vertexX(c[s]);
        cy[f] = p.vertexY(c[s]);
      }
      if (area >= sliverArea) {
        ecc[shaped] = eccentricity(p, c, s, m);
        if (cornerBuffer.length < m) {
          cornerBuffer = new int[Math.max(m, 2 * cornerBuffer.length)];
        }
        int corners = corners(p, c, s, m, cornerBuffer);
        cornerEcc[shaped] = corners >= 3 ? eccentricity(p, cornerBuffer, 0, corners) : ecc[shaped];
        shaped++;
      }
    }
    int slivers = faces - shaped;

    // Centrality (SplineCam): all cycle vertices with multiplicity, around their mean.
    double mx = sumX / vertexTotal;
    double my = sumY / vertexTotal;
    double cs = 0;
    double cs2 = 0;
    for (int f = 0; f < faces; f++) {
      for (int k = p.faceStart(f); k < p.faceStart(f) + p.faceLength(f); k++) {
        int v = c[k];
        double dd = length(p.vertexX(v) - mx, p.vertexY(v) - my);
        cs += dd;
        cs2 += dd * dd;
      }
    }
    double centralityMean = cs / vertexTotal;
    double centralityStd = Math.sqrt(Math.max(0, cs2 / vertexTotal - centralityMean * centralityMean));

    // Edges: an internal edge appears in two face cycles, a boundary edge in one.
    // iterated in insertion order, so a reused map of any capacity gives the same sums
    EdgeMap edgeUse = Partition.Workspace.takeEdgeMap(workspace, p.vertexCount() * 2);
    for (int f = 0; f < faces; f++) {
      int s = p.faceStart(f);
      int m = p.faceLength(f);
      for (int k = 0; k < m; k++) {
        edgeUse.add(EdgeMap.key(c[s + k], c[s + (k + 1) % m]), 1);
      }
    }
    int internalEdges = 0;
    double boundaryLength = 0;
    for (int k = 0; k < edgeUse.size(); k++) {
      if (edgeUse.valueAt(k) >= 2) {
        long key = edgeUse.keyAt(k);
        int a = (int) (key >>> 32);
        int b = (int) key;
        internalEdges++;
        boundaryLength += length(p.vertexX(a) - p.vertexX(b), p.vertexY(a) - p.vertexY(b));
      }
    }

    // Density near the anchors vs far (regions.md §4).
    double[] anchors = plane.anchors();
    int near = 0;
    double nearArea = 0;
    double densityNear = Double.NaN;
    double densityFar = faces / domainArea;
    if (anchors.length >= 4) {
      double minPair = Double.POSITIVE_INFINITY;
      int na = anchors.length / 2;
      for (int i = 0; i < na; i++) {
        for (int k = i + 1; k < na; k++) {
          minPair = Math.min(minPair, length(anchors[2 * i] - anchors[2 * k],
              anchors[2 * i + 1] - anchors[2 * k + 1]));
        }
      }
      double rNear = 0.25 * minPair;
      for (int f = 0; f < faces; f++) {
        double best = Double.POSITIVE_INFINITY;
        for (int i = 0; i < na; i++) {
          best = Math.min(best, length(cx[f] - anchors[2 * i], cy[f] - anchors[2 * i + 1]));
        }
        if (best < rNear) {
          near++;
          nearArea += areas[f];
        }
      }
      densityNear = nearArea > 0 ? near / nearArea : Double.NaN;
      densityFar = domainArea - nearArea > 0 ? (faces - near) / (domainArea - nearArea) : Double.NaN;
    }

    double decisionLength = Double.NaN;
    double[] classAreas = new double[0];
    if (classifierHead && DecisionBoundary.defined(p)) {
      DecisionBoundary db = DecisionBoundary.of(p);
      decisionLength = db.length();
      classAreas = db.classAreas();
    }

    double areaSum = 0;
    for (int f = 0; f < faces; f++) {
      areaSum += areas[f];
    }
    double areaMean = areaSum / faces;
    double areaStd = unbiasedStd(areas, faces, areaMean);
    double eccMean = mean(ecc, shaped);
    double eccStd = unbiasedStd(ecc, shaped, eccMean);
    double cornerEccMean = mean(cornerEcc, shaped);
    double logEcc = 0;
    for (int f = 0; f < shaped; f++) {
      logEcc += Math.log(ecc[f]);
    }
    int edges = edgeUse.size();
    Partition.Workspace.returnEdgeMap(workspace, edgeUse);
    // the moments above are summed in face order; the quantiles sort the arrays in place, last
    Arrays.sort(areas, 0, faces);
    Arrays.sort(ecc, 0, shaped);
    return new PartitionStats(faces, p.regionsAfterLayer(), p.vertexCount(), edges, internalEdges,
        domainArea, areaMean, areaStd,
        new double[] {quantile(areas, faces, 0), quantile(areas, faces, 0.1), quantile(areas, faces, 0.5),
            quantile(areas, faces, 0.9), quantile(areas, faces, 1)},
        areaSum, (double) vertexTotal / faces, vertexTotal, eccMean, eccStd,
        quantile(ecc, shaped, 0.5), shaped > 0 ? logEcc / shaped : Double.NaN, cornerEccMean, centralityMean,
        centralityStd, boundaryLength, boundaryLength / domainArea, perimeterSum, near, densityNear, densityFar,
        slivers, decisionLength, classAreas, p.inconsistentFaces(), p.overflow());
  }

  /**
   * SplineCam eccentricity of the vertices {@code v[from..from+n)}: largest over smallest pairwise distance (regions.md
   * §4).
   */
  static double eccentricity(Partition p, int[] v, int from, int n) {
    // squared distances compared, one square root each at the end (the root is monotone)
    double max = 0;
    double min = Double.POSITIVE_INFINITY;
    for (int i = from; i < from + n; i++) {
      for (int k = i + 1; k < from + n; k++) {
        double dx = p.vertexX(v[i]) - p.vertexX(v[k]);
        double dy = p.vertexY(v[i]) - p.vertexY(v[k]);
        double d2 = dx * dx + dy * dy;
        max = Math.max(max, d2);
        min = Math.min(min, d2);
      }
    }
    return Math.sqrt(max) / (Math.sqrt(min) + 1e-10);
  }

  /**
   * The length of {@code (dx, dy)}. Not {@code Math.hypot}: on Java 17 that is the pure-Java fdlibm routine, about 3 %
   * of the analysis thread's CPU in a default run's profile, for a care against overflow and underflow that plane
   * coordinates (of order 1) do not need; this differs from it by at most an ulp or so.
   */
  static double length(double dx, double dy) {
    return Math.sqrt(dx * dx + dy * dy);
  }

  /**
   * Writes the vertices of the cycle {@code c[from..from+m)} with a nonzero turn (T-junction vertices removed) to
   * {@code out} (at least {@code m} long) and returns their number; fewer than 3 mean the cycle's own vertices stand
   * for its corners.
   */
  private static int corners(Partition p, int[] c, int from, int m, int[] out) {
    int n = 0;
    for (int k = 0; k < m; k++) {
      int a = c[from + (k + m - 1) % m];
      int b = c[from + k];
      int d = c[from + (k + 1) % m];
      double ux = p.vertexX(b) - p.vertexX(a);
      double uy = p.vertexY(b) - p.vertexY(a);
      double wx = p.vertexX(d) - p.vertexX(b);
      double wy = p.vertexY(d) - p.vertexY(b);
      double cross = ux * wy - uy * wx;
      double scale = length(ux, uy) * length(wx, wy);
      if (Math.abs(cross) > 1e-9 * scale) {
        out[n++] = b;
      }
    }
    return n;
  }

  private static double mean(double[] a, int n) {
    if (n == 0) {
      return Double.NaN;
    }
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += a[i];
    }
    return s / n;
  }

  private static double unbiasedStd(double[] a, int n, double mean) {
    if (n < 2) {
      return 0;
    }
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += (a[i] - mean) * (a[i] - mean);
    }
    return Math.sqrt(s / (n - 1));
  }

  /** Linear-interpolation quantile of sorted data. */
  static double quantile(double[] sorted, double q) {
    return quantile(sorted, sorted.length, q);
  }

  /** As {@link #quantile(double[], double)} of {@code sorted[0..n)}. */
  static double quantile(double[] sorted, int n, double q) {
    if (n == 0) {
      return Double.NaN;
    }
    double pos = q * (n - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(n - 1, lo + 1);
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
  }

  @Override
  public boolean equals(Object o) {
    return this == o;
  }

  @Override
  public int hashCode() {
    return System.identityHashCode(this);
  }

  @Override
  public String toString() {
    return "PartitionStats[regions=" + regions + ", perLayer=" + Arrays.toString(regionsAfterLayer) + ", V=" + vertices
        + ", E=" + edges + "]";
  }
}
