package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
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
}
