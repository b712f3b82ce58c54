package org.splinewatch.regions;

import java.util.Arrays;
import java.util.Locale;

/**
 * An SVG picture of a partition: regions filled with a colour hashed from their activation pattern (stable over
 * training, like regioncam), outlined, anchors marked, a title line. Coordinates are rounded to 0.1 px to keep files
 * small.
 */
public final class SvgRenderer {
  private SvgRenderer() {
  }

  public static String render(Partition p, String title, int size) {
    double[] dom = p.plane().domain();
    double minX = Double.POSITIVE_INFINITY;
    double minY = Double.POSITIVE_INFINITY;
    double maxX = Double.NEGATIVE_INFINITY;
    double maxY = Double.NEGATIVE_INFINITY;
    for (int k = 0; k < dom.length / 2; k++) {
      minX = Math.min(minX, dom[2 * k]);
      maxX = Math.max(maxX, dom[2 * k]);
      minY = Math.min(minY, dom[2 * k + 1]);
      maxY = Math.max(maxY, dom[2 * k + 1]);
    }
    double scale = size / Math.max(maxX - minX, maxY - minY);
    int top = 24;
    StringBuilder sb = new StringBuilder(64 * p.regionCount() + 512);
    sb.append(String.format(Locale.ROOT,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">%n", size,
        size + top, size, size + top));
    sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    sb.append(String.format(Locale.ROOT, "<text x=\"4\" y=\"16\" font-family=\"sans-serif\" font-size=\"13\">%s</text>%n",
        escape(title)));
    sb.append("<g stroke=\"#222\" stroke-width=\"0.4\" stroke-linejoin=\"round\">\n");
    for (int f = 0; f < p.regionCount(); f++) {
      sb.append("<path fill=\"").append(colour(p.pattern(f))).append("\" d=\"");
      int[] c = p.faceUnsafe(f);
      for (int k = 0; k < c.length; k++) {
        double x = (p.vertexX(c[k]) - minX) * scale;
        double y = top + (maxY - p.vertexY(c[k])) * scale;
        sb.append(k == 0 ? 'M' : 'L').append(String.format(Locale.ROOT, "%.1f %.1f", x, y));
      }
      sb.append("Z\"/>\n");
    }
    sb.append("</g>\n");
    double[] a = p.plane().anchors();
    for (int k = 0; k < a.length / 2; k++) {
      double x = (a[2 * k] - minX) * scale;
      double y = top + (maxY - a[2 * k + 1]) * scale;
      sb.append(String.format(Locale.ROOT,
          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"black\" stroke=\"white\" stroke-width=\"1.5\"/>%n", x, y));
    }
    sb.append("</svg>\n");
    return sb.toString();
  }

  private static String colour(long[] pattern) {
    long h = Arrays.hashCode(pattern) * 0x9E3779B97F4A7C15L;
    int hue = (int) ((h >>> 33) % 360);
    int light = 70 + (int) ((h >>> 20) & 15);
    return "hsl(" + hue + ",55%," + light + "%)";
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
