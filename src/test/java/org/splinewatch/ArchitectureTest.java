package org.splinewatch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package graph: plain libraries (no actor, Pekko, DL4J or ND4J imports) below actors and training, below the
 * wiring of runs and monitors, below the command line; no cycles between any two packages.
 */
class ArchitectureTest {
  static final String[] LIBRARIES = {"org.splinewatch.regions..", "org.splinewatch.embedding..",
      "org.splinewatch.geometry..", "org.splinewatch.alerts..", "org.splinewatch.snapshot..", "org.splinewatch.data..",
      "org.splinewatch.report..", "org.splinewatch.wire..", "org.splinewatch.experiment..",
      "org.splinewatch.settings.."};
  static final String[] ACTORS = {"org.splinewatch.trainer..", "org.splinewatch.hub..", "org.splinewatch.analysis..",
      "org.splinewatch.metrics.."};
  static final String[] WIRING = {"org.splinewatch.run..", "org.splinewatch.control..", "org.splinewatch.serve..",
      "org.splinewatch.cluster..", "org.splinewatch.ingest.."};

  private static JavaClasses imported;

  @BeforeAll
  static void importClasses() {
    imported = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("org.splinewatch");
  }

  @Test
  void librariesStayPlain() {
    noClasses().that().resideInAnyPackage("org.splinewatch.regions..", "org.splinewatch.embedding..",
            "org.splinewatch.geometry..", "org.splinewatch.alerts..", "org.splinewatch.snapshot..")
        .should().dependOnClassesThat().resideInAnyPackage("org.apache.pekko..", "org.deeplearning4j..", "org.nd4j..",
            "org.splinewatch.trainer..", "org.splinewatch.analysis..", "org.splinewatch.run..")
        .check(imported);
  }

  @Test
  void noPackageCycles() {
    slices().matching("org.splinewatch.(*)..").should().beFreeOfCycles().check(imported);
  }

  @Test
  void layersOnlyLookDown() {
    layeredArchitecture().consideringOnlyDependenciesInLayers()
        .layer("libraries").definedBy(LIBRARIES)
        .layer("actors").definedBy(ACTORS)
        .layer("wiring").definedBy(WIRING)
        .layer("cli").definedBy("org.splinewatch.cli..")
        .whereLayer("cli").mayNotBeAccessedByAnyLayer()
        .whereLayer("wiring").mayOnlyBeAccessedByLayers("cli")
        .whereLayer("actors").mayOnlyBeAccessedByLayers("wiring", "cli")
        .check(imported);
  }

  @Test
  void everyPackageIsInALayer() {
    List<String> all = new ArrayList<>(List.of(LIBRARIES));
    all.addAll(List.of(ACTORS));
    all.addAll(List.of(WIRING));
    all.add("org.splinewatch.cli..");
    classes().should().resideInAnyPackage(all.toArray(String[]::new)).check(imported);
  }

  @Test
  void everyPackageSaysWhatItIsFor() throws java.io.IOException {
    // package-info.java in every source package (the code-shape rule); read from the sources, as javac keeps no
    // class for a package-info without annotations
    java.nio.file.Path root = java.nio.file.Path.of("src/main/java");
    try (var dirs = java.nio.file.Files.walk(root)) {
      List<String> missing = dirs.filter(java.nio.file.Files::isDirectory)
          .filter(d -> hasJava(d) && !java.nio.file.Files.exists(d.resolve("package-info.java")))
          .map(d -> root.relativize(d).toString()).toList();
      org.junit.jupiter.api.Assertions.assertEquals(List.of(), missing, "source packages without package-info.java");
    }
  }

  private static boolean hasJava(java.nio.file.Path dir) {
    try (var files = java.nio.file.Files.list(dir)) {
      return files.anyMatch(f -> f.toString().endsWith(".java"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Formatting names its locale: file names, metric text and messages must not depend on the default one (under
   * {@code ar-EG}, {@code %05d} gave metrics segments Arabic-Indic digits, which no reader found).
   */
  @Test
  void formattingNeverUsesTheDefaultLocale() {
    noClasses().should().callMethod(String.class, "format", String.class, Object[].class)
        .orShould().callMethod(String.class, "formatted", Object[].class)
        .orShould().callMethod(java.io.PrintStream.class, "printf", String.class, Object[].class)
        .orShould().callMethod(java.io.PrintStream.class, "format", String.class, Object[].class)
        .orShould().callMethod(java.io.PrintWriter.class, "printf", String.class, Object[].class)
        .orShould().callMethod(java.io.PrintWriter.class, "format", String.class, Object[].class)
        .orShould().callMethod(String.class, "toLowerCase")
        .orShould().callMethod(String.class, "toUpperCase")
        .because("the default locale changes digits (ar-EG, th-TH-u-nu-thai) and letters (tr: I to ı); pass"
            + " Locale.ROOT")
        .check(imported);
  }

  @Test
  void theClusterNeverImportsTheLocalRun() {
    noClasses().that().resideInAPackage("org.splinewatch.cluster..")
        .should().dependOnClassesThat().resideInAnyPackage("org.splinewatch.run..", "org.splinewatch.serve..",
            "org.splinewatch.cli..")
        .check(imported);
  }
}
