package org.splinewatch.analysis;

import com.typesafe.config.Config;
import java.util.ArrayList;
import java.util.List;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.settings.ConfigErrors;

/**
 * The analyzers a run can start, by name, with the settings they share (read once from the configuration): an
 * embedded run starts those of {@code splinewatch.analysis.enabled}, an analyzer node of a cluster those a trainer
 * asks for.
 */
public record AnalyzerCatalogue(RegionSettings regions, RetentionSettings retention,
    LocalComplexitySettings localComplexity, GeometrySettings geometry, List<String> enabled) {
  /** Every analyzer a run can start, in order. */
  public static final List<String> NAMES = List.of(EmbeddingAnalyzer.NAME, RegionAnalyzer.NAME,
      BoundaryChangeAnalyzer.NAME, LayerGeometryAnalyzer.NAME, ProbeAnalyzer.NAME, TrainingHealthAnalyzer.NAME,
      LocalComplexityAnalyzer.NAME);

  public AnalyzerCatalogue {
    enabled = List.copyOf(enabled);
  }

  /**
   * {@code splinewatch.analysis.enabled} (default: all of {@link #NAMES} but local-complexity) with the region and retention settings; an
   * unknown name is an error listing the valid ones.
   */
  public static AnalyzerCatalogue fromConfig(Config config) {
    return fromConfig(config, null);
  }

  /**
   * {@link #fromConfig(Config)} where {@code option} set {@code splinewatch.analysis.enabled} ({@code --analyzers
   * embedding,foo}), which an unknown name is refused as; null: the names are refused as where the configuration
   * sets them (a config file's line, a -D property, ...). The other settings are read first.
   */
  public static AnalyzerCatalogue fromConfig(Config config, String option) {
    String enabled = "splinewatch.analysis.enabled";
    AnalyzerCatalogue catalogue = new AnalyzerCatalogue(RegionSettings.fromConfig(config),
        RetentionSettings.fromConfig(config), LocalComplexitySettings.fromConfig(config),
        GeometrySettings.fromConfig(config), config.getStringList(enabled));
    check(catalogue.enabled(), option != null ? option : ConfigErrors.setting(config, enabled));
    return catalogue;
  }

  /**
   * Throws an {@link IllegalArgumentException} listing the valid names when one of {@code names} is unknown;
   * {@code setting} names where they are set ({@code --analyzers embedding,foo}, {@code config file my.conf, line 2:
   * splinewatch.analysis.enabled = [embedding, foo]}), as the same names serve options and config files.
   */
  public static void check(List<String> names, String setting) {
    for (String name : names) {
      if (!NAMES.contains(name)) {
        throw new IllegalArgumentException(setting + ": unknown analyzer '" + name + "'; expected some of: "
            + String.join(", ", NAMES));
      }
    }
  }

  /** The analyzers of {@link #enabled()}: embedding metrics, exact regions, boundary changes, layer geometry, ... */
  public List<AnalyzerSpec> specs() {
    return specs(enabled);
  }

  /** The named analyzers, in catalogue order; an unknown name is an error. */
  public List<AnalyzerSpec> specs(List<String> names) {
    check(names, "the run's analyzers " + names); // an analyzer node's: those a trainer asks for
    List<AnalyzerSpec> list = new ArrayList<>();
    if (names.contains(EmbeddingAnalyzer.NAME)) {
      list.add(new AnalyzerSpec(EmbeddingAnalyzer.NAME, (run, metrics, dir) ->
          EmbeddingAnalyzer.create(run, metrics, dir, retention)));
    }
    if (names.contains(RegionAnalyzer.NAME)) {
      list.add(new AnalyzerSpec(RegionAnalyzer.NAME, (run, metrics, dir) ->
          RegionAnalyzer.create(run, metrics, regions, dir, retention)));
    }
    if (names.contains(BoundaryChangeAnalyzer.NAME)) {
      list.add(new AnalyzerSpec(BoundaryChangeAnalyzer.NAME, (run, metrics, dir) ->
          BoundaryChangeAnalyzer.create(run, metrics, regions)));
    }
    if (names.contains(ProbeAnalyzer.NAME)) {
      list.add(new AnalyzerSpec(ProbeAnalyzer.NAME, (run, metrics, dir) -> ProbeAnalyzer.create(run, metrics)));
    }
    if (names.contains(TrainingHealthAnalyzer.NAME)) {
      list.add(new AnalyzerSpec(TrainingHealthAnalyzer.NAME, (run, metrics, dir) ->
          TrainingHealthAnalyzer.create(metrics)));
    }
    if (names.contains(LocalComplexityAnalyzer.NAME)) {
      list.add(new AnalyzerSpec(LocalComplexityAnalyzer.NAME, (run, metrics, dir) ->
          LocalComplexityAnalyzer.create(run, metrics, localComplexity)));
    }
    if (names.contains(LayerGeometryAnalyzer.NAME)) {
      list.add(new AnalyzerSpec(LayerGeometryAnalyzer.NAME, (run, metrics, dir) ->
          LayerGeometryAnalyzer.create(run, metrics, geometry)));
    }
    return list;
  }
}
