package org.splinewatch.experiment;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The small statistics the findings are decided with: mean ± sd, median, a moving median, Spearman's ρ. */
final class Stats {
  private Stats() {
  }

  static double mean(List<Double> v) {
    return v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }

  static Map<String, Object> meanSd(List<Double> v) {
    double m = mean(v);
    double ss = 0;
    for (double x : v) {
      ss += (x - m) * (x - m);
    }
    double sd = v.size() > 1 ? Math.sqrt(ss / (v.size() - 1)) : Double.NaN;
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("mean", m);
    out.put("sd", sd);
    out.put("n", v.size());
    return out;
  }

  static double median(Collection<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  static List<Double> movingMedian(List<Double> v) {
    List<Double> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      out.add(median(v.subList(Math.max(0, i - 1), Math.min(v.size(), i + 2))));
    }
    return out;
  }

  /** Spearman's rank correlation (average ranks for ties); NaN for fewer than 3 pairs. */
  static double spearman(List<Double> x, List<Double> y) {
    if (x.size() < 3) {
      return Double.NaN;
    }
    double[] rx = ranks(x);
    double[] ry = ranks(y);
    double mx = Arrays.stream(rx).average().orElse(0);
    double my = Arrays.stream(ry).average().orElse(0);
    double sxy = 0;
    double sxx = 0;
    double syy = 0;
    for (int i = 0; i < rx.length; i++) {
      sxy += (rx[i] - mx) * (ry[i] - my);
      sxx += (rx[i] - mx) * (rx[i] - mx);
      syy += (ry[i] - my) * (ry[i] - my);
    }
    return sxx == 0 || syy == 0 ? Double.NaN : sxy / Math.sqrt(sxx * syy);
  }

  private static double[] ranks(List<Double> v) {
    Integer[] order = new Integer[v.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(v.get(a), v.get(b)));
    double[] r = new double[v.size()];
    for (int i = 0; i < order.length; ) {
      int j = i;
      while (j + 1 < order.length && v.get(order[j + 1]).equals(v.get(order[i]))) {
        j++;
      }
      for (int k = i; k <= j; k++) {
        r[order[k]] = (i + j) / 2.0 + 1;
      }
      i = j + 1;
    }
    return r;
  }

}
