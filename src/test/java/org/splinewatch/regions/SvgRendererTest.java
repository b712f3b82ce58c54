package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

/** The partition picture: well-formed XML whatever its title holds, and an incomplete partition says so. */
class SvgRendererTest {
  /** {@code 2 → 4 → 1}: the lines x = 0, y = 0, x = y and x = −y through the middle of {@code [−1,1]²}, 8 regions. */
  private static PiecewiseLinearNet star() {
    float[] w0 = {1, 0, 1, 1, 0, 1, 1, -1}; // (in, out): columns (1,0), (0,1), (1,1), (1,−1)
    return new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, 4, w0, new float[4]), Layer.Activation.relu(),
        new Layer.Dense(4, 1, new float[] {1, 1, 1, 1}, new float[1])));
  }

  private static Plane square() {
    return Plane.explicit(new double[2], new double[] {1, 0}, new double[] {0, 1});
  }

  private static Document parse(String svg) throws Exception {
    return DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void aTitleWithControlCharactersOrMarkupStaysWellFormed() throws Exception {
    // a model file name may hold any byte but '/' and NUL; a control character in the text made the SVG unreadable
    Partition p = Partition.compute(star(), square());
    String title = "we\u0001ird & <odd> \"name\"\u001b.npz: 8 regions";
    Document d = parse(SvgRenderer.render(p, title, 200));
    assertEquals("we?ird & <odd> \"name\"?.npz: 8 regions", d.getElementsByTagName("text").item(0).getTextContent());
    assertEquals("tab\tand\nline \uD83D\uDE00 kept", SvgRenderer.escape("tab\tand\nline \uD83D\uDE00 kept"));
    assertEquals("lone ? ? ?", SvgRenderer.escape("lone \uD800 \uFFFE \uFFFF"));
  }

  @Test
  void anOverflowedPartitionIsCalledIncomplete() throws Exception {
    Partition whole = Partition.compute(star(), square());
    assertEquals(8, whole.regionCount());
    String complete = parse(SvgRenderer.render(whole, "t", 200)).getElementsByTagName("text").item(1)
        .getTextContent();
    assertTrue(complete.startsWith("8 regions; "), complete);
    Partition stopped = Partition.compute(star(), square(), 3);
    assertTrue(stopped.overflow());
    String sub = parse(SvgRenderer.render(stopped, "t", 200)).getElementsByTagName("text").item(1).getTextContent();
    assertTrue(sub.startsWith("incomplete: stopped at " + stopped.regionCount() + " regions (overflow); "), sub);
    assertFalse(sub.startsWith(stopped.regionCount() + " regions"), sub);
  }

  /** A seeded random 2 → 24 → 24 → 1 network: 457 regions in the unit square, some too small to draw. */
  private static Partition randomPartition() {
    Random r = new Random(7);
    float[] w0 = new float[2 * 24];
    float[] w1 = new float[24 * 24];
    float[] w2 = new float[24];
    float[] b0 = new float[24];
    float[] b1 = new float[24];
    for (float[] w : List.of(w0, w1, w2, b0, b1)) {
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) r.nextGaussian() * 0.5f;
      }
    }
    PiecewiseLinearNet net = new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, 24, w0, b0), Layer.Activation.relu(),
        new Layer.Dense(24, 24, w1, b1), Layer.Activation.relu(), new Layer.Dense(24, 1, w2, new float[1])));
    return Partition.compute(net, square());
  }

  @Test
  void theFacesAreDrawnByASmallMethodOfTheirOwnAndThePictureIsUnchanged() throws Exception {
    // the face loop moved out of render (less for C2 to compile on-stack, docs/performance.md); the picture is
    // byte for byte the one render drew with the loop inline (this hash was taken from that code)
    Partition p = randomPartition();
    assertEquals(457, p.regionCount());
    String svg = SvgRenderer.render(p, "golden", 480);
    assertEquals("c05ac9524ab6a5a0d28655568fa0c9f922d9341384c4396d638c75e93e58a5d0", HexFormat.of().formatHex(
        MessageDigest.getInstance("SHA-256").digest(svg.getBytes(StandardCharsets.UTF_8))));
    double[] b = p.plane().domainBounds();
    double scale = 480 / Math.max(b[2] - b[0], b[3] - b[1]);
    StringBuilder[] groups = new StringBuilder[12];
    int hidden = SvgRenderer.drawFaces(p, groups, b[0], b[3], scale, 34, SvgRenderer.MIN_FACE_PIXELS);
    assertTrue(hidden > 0 && hidden < p.regionCount(), "hidden " + hidden);
    assertTrue(svg.contains(p.regionCount() + " regions; " + hidden + " smaller than 4 px"), svg.substring(0, 400));
    int drawn = 0;
    for (StringBuilder g : groups) {
      if (g != null) {
        assertTrue(svg.contains("d=\"" + g + "\""), "every colour group is one path of the picture");
        drawn += (int) g.chars().filter(c -> c == 'z').count();
      }
    }
    assertEquals(p.regionCount() - hidden, drawn);
  }
}
