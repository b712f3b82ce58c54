package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AnalyzerCatalogueTest {
  private final AnalyzerCatalogue catalogue = AnalyzerCatalogue.fromConfig(ConfigFactory.load());

  @Test
  void namedAnalyzersComeInCatalogueOrder() {
    List<String> names = catalogue.specs(List.of(RegionAnalyzer.NAME, EmbeddingAnalyzer.NAME)).stream()
        .map(AnalyzerSpec::name).toList();
    assertEquals(List.of(EmbeddingAnalyzer.NAME, RegionAnalyzer.NAME), names);
    assertEquals(AnalyzerCatalogue.NAMES.size(), catalogue.specs(AnalyzerCatalogue.NAMES).size());
  }

  @Test
  void anUnknownNameIsAnErrorListingTheValidOnes() {
    var e = assertThrows(IllegalArgumentException.class, () -> catalogue.specs(List.of("embedding", "nope")));
    assertTrue(e.getMessage().startsWith("the run's analyzers [embedding, nope]: unknown analyzer 'nope'; expected"
        + " some of: embedding"), e.getMessage());
  }

  @Test
  void anUnknownNameInTheSettingsNamesWhereItIsSet() {
    // it named the value only ("unknown analyzer 'nope'"), for a config file and --analyzers alike
    var fromFile = ConfigFactory.parseFile(writeConf("splinewatch.analysis.enabled = [embedding, nope]\n"))
        .withFallback(ConfigFactory.load());
    var e = assertThrows(IllegalArgumentException.class, () -> AnalyzerCatalogue.fromConfig(fromFile));
    assertTrue(e.getMessage().matches("config file .*\\.conf, line 1: splinewatch\\.analysis\\.enabled ="
        + " \\[\"embedding\", \"nope\"\\]: unknown analyzer 'nope'; expected some of: embedding, .*"), e.getMessage());
  }

  private static java.io.File writeConf(String text) {
    try {
      java.nio.file.Path f = java.nio.file.Files.createTempFile("analyzers", ".conf");
      f.toFile().deleteOnExit();
      return java.nio.file.Files.writeString(f, text).toFile();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void planeAnchorsAreProbesOfThreeDistinctClasses() {
    int[] labels = {0, 0, 1, 1, 2, 2, 3};
    List<int[]> planes = PlaneAnchors.draw(labels, 4, new SplittableRandom(7));
    assertEquals(4, planes.size());
    for (int[] p : planes) {
      assertTrue(labels[p[0]] != labels[p[1]] && labels[p[1]] != labels[p[2]] && labels[p[0]] != labels[p[2]]);
    }
    assertTrue(PlaneAnchors.draw(new int[] {0, 0, 1, 1}, 2, new SplittableRandom(7)).isEmpty(), "two classes only");
  }
}
