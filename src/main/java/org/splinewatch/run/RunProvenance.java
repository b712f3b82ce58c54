package org.splinewatch.run;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.Version;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.snapshot.Provenance;
import org.splinewatch.trainer.Backend;
import org.splinewatch.trainer.RunSettings;

/**
 * A run's {@code config.json}: its id, method, data set, seed, the options given, every setting that shapes it, the
 * versions and source revision it ran with, its tags and notes.
 */
final class RunProvenance {
  private RunProvenance() {
  }

  static Map<String, Object> of(String runId, RunSettings s, Map<String, Object> options, List<String> analyzers,
      LabeledImages train, LabeledImages test, Backend.Info backend, RunMeta meta) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("run_id", runId);
    c.put("method", s.method());
    c.put("dataset", s.dataset());
    c.put("seed", s.seed());
    c.put("options", options);
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("epochs", s.epochs());
    settings.put("max_steps", s.maxSteps());
    settings.put("batch_size", s.batchSize());
    settings.put("snapshot_every", s.snapshotEvery());
    settings.put("planes", s.planes());
    settings.put("learning_rate", s.learningRate());
    settings.put("temperature", s.temperature());
    settings.put("hidden", s.hidden());
    settings.put("encoder", s.encoder());
    settings.put("cnn_channels", s.cnnChannels());
    settings.put("projection_dim", s.projectionDim());
    settings.put("probe_size", s.probeSize());
    settings.put("stop_gradient", s.stopGradient());
    settings.put("predictor", s.predictor());
    settings.put("predictor_hidden", s.predictorHidden());
    settings.put("ema_tau", s.emaTau());
    settings.put("vicreg_coefficients", List.of(s.vicregInvCoeff(), s.vicregStdCoeff(), s.vicregCovCoeff()));
    settings.put("ablations", s.ablations());
    settings.put("ablate_from", s.ablateFrom());
    settings.put("hub_buffer_size", s.hubBufferSize());
    settings.put("monitoring", s.monitoring());
    // the analyzers that see this run's snapshots: the metrics actor exports their drop and failure counters at 0
    settings.put("analyzers", s.monitoring() ? analyzers : List.of());
    settings.put("resumed", s.resume() != null); // a monitor lets a resumed run append to its existing directory
    settings.put("train_images", train.count());
    settings.put("test_images", test.count());
    c.put("settings", settings);
    Map<String, Object> versions = new LinkedHashMap<>();
    versions.put("splinewatch", Provenance.version());
    versions.put("java", System.getProperty("java.version"));
    versions.put("dl4j", "1.0.0-M2.1");
    versions.put("nd4j_backend", backend.describe());
    versions.put("pekko", Version.current());
    versions.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    c.put("versions", versions);
    c.put("git_commit", Provenance.gitCommit());
    c.put("git_dirty", Provenance.gitDirty());
    c.put("threads", Map.of("OMP_NUM_THREADS", String.valueOf(System.getenv("OMP_NUM_THREADS")),
        "available_processors", Runtime.getRuntime().availableProcessors()));
    c.put("started", Instant.now().toString());
    c.put("tags", new TreeMap<>(meta.tags()));
    c.put("notes", meta.notes());
    return c;
  }
}
