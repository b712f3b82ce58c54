package org.splinewatch.regions;

import java.util.Locale;

/**
 * An SVG picture of a partition, compact enough to keep hundreds per run: integer pixel coordinates with relative
 * path commands, faces grouped by a 12-colour palette (the colour is a hash of the activation pattern, so a region
 * keeps its colour over training, like regioncam), one outline style, anchors marked, a title line. Faces smaller
 * than {@code minFacePixels} square pixels cannot be seen individually; they are not drawn and show as the dark
 * background of the domain, and the subtitle says how many there are.
 */
public final class SvgRenderer {
  /** Default smallest drawn face, in square pixels. */
  public static final double MIN_FACE_PIXELS = 4;
  private static final String[] PALETTE = {"#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
      "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f"};

  private SvgRenderer() {
  }

  public static String render(Partition p, String title, int size) {
    return render(p, title, size, MIN_FACE_PIXELS, false);
  }

  /** With {@code decisionBoundary}, the top-1 decision boundary of the head is drawn in red (classifiers). */
  public static String render(Partition p, String title, int size, double minFacePixels, boolean decisionBoundary) {
    double[] dom = p.plane().domain();
    double[] bounds = p.plane().domainBounds();
    double minX = bounds[0];
    double minY = bounds[1];
    double maxX = bounds[2];
    double maxY = bounds[3];
    double scale = size / Math.max(maxX - minX, maxY - minY);
    int top = 34;
    StringBuilder[] groups = new StringBuilder[PALETTE.length];
    int hidden = drawFaces(p, groups, minX, maxY, scale, top, minFacePixels);
    StringBuilder sb = new StringBuilder(1 << 16);
    sb.append(String.format(Locale.ROOT,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">%n", size,
        size + top, size, size + top));
    sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    sb.append(String.format(Locale.ROOT,
        "<text x=\"4\" y=\"14\" font-family=\"sans-serif\" font-size=\"12\">%s</text>%n", escape(title)));
    // an overflowed partition stopped part-way through a layer: its picture is not the network's partition
    sb.append(String.format(Locale.ROOT,
        "<text x=\"4\" y=\"28\" font-family=\"sans-serif\" font-size=\"10\" fill=\"#555\">%s; %d"
            + " smaller than %.0f px² shown dark</text>%n", p.overflow() ? "incomplete: stopped at " + p.regionCount()
            + " regions (overflow)" : p.regionCount() + " regions", hidden, minFacePixels));
    sb.append("<path fill=\"#333\" d=\"");
    for (int k = 0; k < dom.length / 2; k++) {
      sb.append(k == 0 ? 'M' : 'L').append(String.format(Locale.ROOT, "%.1f %.1f", (dom[2 * k] - minX) * scale,
          top + (maxY - dom[2 * k + 1]) * scale));
    }
    sb.append("Z\"/>\n<g stroke=\"#222\" stroke-width=\"0.4\" stroke-linejoin=\"round\">\n");
    for (int g = 0; g < PALETTE.length; g++) {
      if (groups[g] != null) {
        sb.append("<path fill=\"").append(PALETTE[g]).append("\" d=\"").append(groups[g]).append("\"/>\n");
      }
    }
    sb.append("</g>\n");
    if (decisionBoundary && DecisionBoundary.defined(p)) {
      double[] seg = DecisionBoundary.segments(p);
      sb.append("<path fill=\"none\" stroke=\"#d00\" stroke-width=\"1.6\" d=\"");
      for (int k = 0; k + 3 < seg.length; k += 4) {
        long x0 = Math.round((seg[k] - minX) * scale);
        long y0 = Math.round(top + (maxY - seg[k + 1]) * scale);
        long x1 = Math.round((seg[k + 2] - minX) * scale);
        long y1 = Math.round(top + (maxY - seg[k + 3]) * scale);
        if (x0 != x1 || y0 != y1) {
          sb.append('M').append(x0).append(' ').append(y0).append('l').append(x1 - x0).append(' ').append(y1 - y0);
        }
      }
      sb.append("\"/>\n");
    }
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

  /**
   * Appends each drawn face's path to the group of its colour ({@code groups}, created as needed); returns how many
   * faces were too small to draw. A method of its own: the loop over the faces is what gets hot, and C2 compiled it
   * on-stack inside {@link #render}, the picture's text formatting included, three times a run (docs/performance.md).
   */
  static int drawFaces(Partition p, StringBuilder[] groups, double minX, double maxY, double scale, int top,
      double minFacePixels) {
    int hidden = 0;
    int[] xs = new int[16];
    int[] ys = new int[16];
    int[] c = p.faceCycles();
    for (int f = 0; f < p.regionCount(); f++) {
      int s = p.faceStart(f);
      int m = p.faceLength(f);
      if (xs.length < m) {
        xs = new int[2 * m];
        ys = new int[2 * m];
      }
      double area2 = 0;
      int n = 0;
      for (int k = 0; k < m; k++) {
        int x = (int) Math.round((p.vertexX(c[s + k]) - minX) * scale);
        int y = (int) Math.round(top + (maxY - p.vertexY(c[s + k])) * scale);
        if (n == 0 || x != xs[n - 1] || y != ys[n - 1]) {
          xs[n] = x;
          ys[n] = y;
          n++;
        }
      }
      for (int k = 0; k < m; k++) {
        int j = (k + 1) % m;
        double ax = p.vertexX(c[s + k]) * scale;
        double ay = p.vertexY(c[s + k]) * scale;
        double bx = p.vertexX(c[s + j]) * scale;
        double by = p.vertexY(c[s + j]) * scale;
        area2 += ax * by - bx * ay;
      }
      if (Math.abs(area2) / 2 < minFacePixels || n < 3) {
        hidden++;
        continue;
      }
      int colour = Math.floorMod(p.patternHash(f) * 0x9E3779B9, PALETTE.length);
      StringBuilder sb = groups[colour] == null ? groups[colour] = new StringBuilder() : groups[colour];
      sb.append('M').append(xs[0]).append(' ').append(ys[0]);
      for (int k = 1; k < n; k++) {
        sb.append('l').append(xs[k] - xs[k - 1]).append(' ').append(ys[k] - ys[k - 1]);
      }
      sb.append('z');
    }
    return hidden;
  }

  /**
   * {@code s} as XML text: the three markup characters escaped, and every character XML 1.0 does not allow (control
   * characters other than tab and line breaks, unpaired surrogates, U+FFFE, U+FFFF), which a file name can hold, as
   * '?', so that the picture stays well-formed.
   */
  static String escape(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        out.append(c).append(s.charAt(++i));
      } else if (c == '&') {
        out.append("&amp;");
      } else if (c == '<') {
        out.append("&lt;");
      } else if (c == '>') {
        out.append("&gt;");
      } else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' || Character.isSurrogate(c) || c == 0xFFFE
          || c == 0xFFFF) {
        out.append('?');
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
