package org.splinewatch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The region engine and the metric math are plain libraries: no actor, Pekko, DL4J or ND4J imports. */
class ArchitectureTest {
  @Test
  void librariesStayPlain() {
    var classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("org.splinewatch");
    noClasses().that().resideInAnyPackage("org.splinewatch.regions..", "org.splinewatch.embedding..",
            "org.splinewatch.geometry..", "org.splinewatch.alerts..", "org.splinewatch.snapshot..")
        .should().dependOnClassesThat().resideInAnyPackage("org.apache.pekko..", "org.deeplearning4j..", "org.nd4j..",
            "org.splinewatch.trainer..", "org.splinewatch.analysis..", "org.splinewatch.monitor..")
        .check(classes);
  }
}
