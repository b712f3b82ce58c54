package org.splinewatch.ingest;

import com.typesafe.config.Config;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.apache.pekko.Done;
import org.apache.pekko.Version;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.analysis.PlaneAnchors;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.MetricsNode;
import org.splinewatch.cluster.ResumeKey;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.regions.Plane;
import org.splinewatch.snapshot.Provenance;
import org.splinewatch.snapshot.RunIds;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.SnapshotFormat;
import org.splinewatch.trainer.Augmenter;

/**
 * The runs streamed to this monitor over HTTP: one {@link IngestedRun} child each, found by run id. It turns a
 * registration into the run's fixed description (drawing probe pairs and plane anchors when the client sent none,
 * as {@code ./trainer} does) and keeps {@code active}, the ids of live runs, and {@code finished}, those whose end
 * began (a run moves itself from one to the other as it takes its finish), which the HTTP routes read to answer 404,
 * 409 or 410 before reading a body. Like {@code ./trainer}, it refuses a run id whose directory under {@code --out}
 * already holds a run, unless the registration resumes that run with the resume key its first registration was
 * answered (its client lost it: the monitor restarted, or ended it). A run
 * still streaming here is taken over by a registration with its resume key (an earlier resume registered after its
 * client's timeout, a client back after a network glitch): the same {@link IngestedRun} goes on, answering it as a
 * resume.
 */
public final class IngestActor extends AbstractBehavior<IngestActor.Command> {

  /** Messages. */
  public sealed interface Command {
  }

  /** Register a parsed run. */
  public record Register(SnapshotFormat.RunSpec spec, ActorRef<IngestedRun.Reply> replyTo) implements Command {
  }

  /** A parsed snapshot of run {@code runId}. */
  public record Snapshot(String runId, SnapshotFormat.Snapshot snapshot, ActorRef<IngestedRun.Reply> replyTo)
      implements Command {
  }

  /**
   * A snapshot of run {@code runId} refused for non-finite weights: its {@code scalars} (step, loss, ...) still
   * count, {@code entry} names the first non-finite number, {@code message} is the 400's line.
   */
  public record NonFiniteWeights(String runId, SnapshotFormat.Snapshot scalars, String entry, String message,
      ActorRef<IngestedRun.Reply> replyTo) implements Command {
  }

  /** The end of run {@code runId}. */
  public record Finish(String runId, String status, String reason, long step, ActorRef<IngestedRun.Reply> replyTo)
      implements Command {
  }

  /** {@code run} stopped; it is run {@code runId}'s actor only while {@link #runs} holds it for that id. */
  private record Ended(String runId, ActorRef<Object> run) implements Command {
  }

  /**
   * Run {@code runId} is over: the metrics node refused its registration, or its end is recorded. {@code run} answers
   * what still reaches it (the refusal; a finished run's answer) until it is told {@link IngestedRun.Retire}: the run
   * id is free from now on. {@code refused}: the metrics node refused the registration, and the run id is answered as
   * it was before it (409, 410, or 404 naming the earlier monitor that left it).
   */
  record Retiring(String runId, ActorRef<Object> run, boolean refused) implements Command {
  }

  /**
   * The monitor is stopping: every live run is finished as {@code interrupted} with {@code reason} (its last analyses
   * get {@code abort-drain-timeout}, then {@code run_finished} and its report are written), and registrations are
   * refused from now on. A run whose end had already begun (its client finished it, or its idle timeout) ends as it
   * was ending. Answered at once with which runs are which ({@link Stopping}); {@link AwaitEnded} waits for them all.
   */
  public record FinishAll(String reason, ActorRef<Stopping> replyTo) implements Command {
  }

  /**
   * The live runs when the monitor began to stop: {@code interrupted}, those it ends as interrupted; {@code ending},
   * those whose end had begun before (their client's finish, or their idle timeout), which end as they were ending.
   */
  public record Stopping(List<String> interrupted, List<String> ending) {
  }

  /** Answered once no run is live here any more. */
  public record AwaitEnded(ActorRef<Done> replyTo) implements Command {
  }

  /** Answered with the ids of the runs still live here (a stopping monitor names those that did not end in time). */
  public record Live(ActorRef<List<String>> replyTo) implements Command {
  }

  /**
   * Everything the runs share, read once at start-up: the alert settings for each early-stop mode a run may ask for
   * and the analyzers of {@code splinewatch.analysis.enabled}.
   */
  public record Context(Map<String, AlertSettings> alerts, List<String> analyzers, IngestSettings ingest,
      ClusterSettings cluster, ActorRef<MetricsNode.Command> node, Path out, String baseUrl, Map<String, Shape> active,
      FinishedRuns finished, MeterRegistry registry) {
    /** {@code splinewatch.alerts} with each of {@link AlertSettings#EARLY_STOP}, by mode. */
    public static Map<String, AlertSettings> alertsByMode(Config config) {
      Map<String, AlertSettings> byMode = new HashMap<>();
      for (String mode : AlertSettings.EARLY_STOP) {
        byMode.put(mode, AlertSettings.fromConfig(ConfigFactory.parseMap(Map.of("splinewatch.alerts.early-stop", mode))
            .withFallback(config)));
      }
      return Map.copyOf(byMode);
    }
  }

  /** What the HTTP routes need to parse a live run's snapshots before its actor sees them. */
  public record Shape(int[] inputShape, int classes, boolean classifier) {
  }

  private final Context c;
  private final Map<String, ActorRef<Object>> runs = new HashMap<>();
  /** Each live run's resume key and config.json, which a registration that takes it over must match. */
  private final Map<String, Owner> owners = new HashMap<>();

  private record Owner(String resumeKey, JsonNode config) {
  }

  /** The marks (finished, left) each live run's registration cleared: put back if the metrics node refuses it. */
  private final Map<ActorRef<Object>, FinishedRuns.Cleared> clearedMarks = new HashMap<>();
  private final List<ActorRef<Done>> awaitingEnd = new ArrayList<>();
  /** Why the monitor is stopping, once it is ({@link FinishAll}); null before. */
  private String stopping;

  public static Behavior<Command> create(Context context) {
    return Behaviors.setup(ctx -> new IngestActor(ctx, context));
  }

  private IngestActor(ActorContext<Command> ctx, Context c) {
    super(ctx);
    this.c = c;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Register.class, this::onRegister)
        .onMessage(Snapshot.class, m -> forward(m.runId(), m.replyTo(),
            new IngestedRun.Snapshot(m.snapshot(), m.replyTo())))
        .onMessage(NonFiniteWeights.class, m -> forward(m.runId(), m.replyTo(),
            new IngestedRun.NonFiniteWeights(m.scalars(), m.entry(), m.message(), m.replyTo())))
        // the run marks itself finished (refusing later snapshots before their bodies are read) once it takes the
        // finish: one it answers 503 (still registering) leaves it streaming, and the client's retry then ends it
        .onMessage(Finish.class, m -> forward(m.runId(), m.replyTo(),
            new IngestedRun.Finish(m.status(), m.reason(), m.step(), m.replyTo())))
        .onMessage(Ended.class, m -> {
          // a run that ended on its own (its end recorded, idle timeout) is no longer live
          forget(m.runId(), m.run());
          return this;
        })
        .onMessage(Retiring.class, m -> {
          FinishedRuns.Cleared earlier = clearedMarks.get(m.run());
          if (m.refused() && earlier != null && m.run().equals(runs.get(m.runId()))) {
            c.finished().restore(earlier);
          }
          forget(m.runId(), m.run());
          // what was forwarded to it before is ahead of this in its mailbox: it answers that, then stops (a message
          // that reached it after it stopped went to dead letters, its client unanswered until the route's timeout)
          m.run().tell(IngestedRun.Retire.INSTANCE);
          return this;
        })
        .onMessage(FinishAll.class, m -> {
          stopping = m.reason();
          List<String> interrupted = new ArrayList<>();
          List<String> ending = new ArrayList<>();
          for (String id : new TreeSet<>(runs.keySet())) {
            // checked and marked at once: a client's finish the run takes meanwhile is either before (ending) or
            // after (answered 410 by the run, which then ends as interrupted), never both
            if (c.finished().endedByMonitorUnlessEnding(id, m.reason())) {
              // a client still sending is told the monitor ended its run (410: stop sending), not that it finished it
              c.active().remove(id);
              interrupted.add(id);
            } else {
              // its end began before (its client's finish, its idle timeout): it ends as it was ending, and a retry
              // of its finish is still answered as a finished run's (409), not as one the stop ended (410)
              ending.add(id);
            }
            // a run already finishing ignores it; one still registering ends as soon as it is registered
            runs.get(id).tell(new IngestedRun.MonitorStopping(m.reason()));
          }
          m.replyTo().tell(new Stopping(List.copyOf(interrupted), List.copyOf(ending)));
          return this;
        })
        .onMessage(Live.class, m -> {
          m.replyTo().tell(List.copyOf(new TreeSet<>(runs.keySet())));
          return this;
        })
        .onMessage(AwaitEnded.class, m -> {
          if (runs.isEmpty()) {
            m.replyTo().tell(Done.getInstance());
          } else {
            awaitingEnd.add(m.replyTo());
          }
          return this;
        })
        .build();
  }

  /** Run {@code runId} is no longer live, if {@code run} is still its actor here (not a later registration's). */
  private void forget(String runId, ActorRef<Object> run) {
    clearedMarks.remove(run);
    if (!run.equals(runs.get(runId))) {
      return;
    }
    runs.remove(runId);
    owners.remove(runId);
    c.active().remove(runId);
    if (runs.isEmpty()) {
      awaitingEnd.forEach(r -> r.tell(Done.getInstance()));
      awaitingEnd.clear();
    }
  }

  private Behavior<Command> forward(String runId, ActorRef<IngestedRun.Reply> replyTo, Object message) {
    ActorRef<Object> run = runs.get(runId);
    if (run == null) {
      FinishedRuns.Answer finished = c.finished().answer(runId);
      replyTo.tell(finished != null ? IngestedRun.Reply.error(finished.status(), finished.message())
          : IngestedRun.Reply.error(404, unknown(runId, c.active().keySet())));
    } else {
      run.tell(message);
    }
    return this;
  }

  /** The one-line answer for an unknown run. */
  static String unknown(String runId, Set<String> active) {
    return "unknown run '" + runId + "'; register it first with POST /api/v1/runs (runs streaming here: "
        + (active.isEmpty() ? "none" : String.join(", ", new TreeSet<>(active))) + ")";
  }

  private Behavior<Command> onRegister(Register m) {
    SnapshotFormat.RunSpec spec = m.spec();
    String id = spec.runId();
    if (stopping != null) {
      m.replyTo().tell(IngestedRun.Reply.error(503, "this monitor is stopping (" + stopping + "); register the run"
          + " with a monitor that runs"));
      return this;
    }
    if (runs.containsKey(id) && spec.resumeKey() != null && c.finished().contains(id)
        && ownedBy(owners.get(id), spec.resumeKey())) {
      // the monitor ended the run (its idle timeout) and is still draining it: the client may resume it once it ended
      m.replyTo().tell(IngestedRun.Reply.error(503, "run '" + id + "' is still ending on this monitor (its last"
          + " analyses and report); register it again in a few seconds to resume it"));
      return this;
    }
    if (spec.resumeKey() != null && c.finished().reporting(id)
        && ResumeKey.holds(RunIds.runDirectory(c.out(), id), spec.resumeKey())) {
      // marked interrupted at this monitor's start: its report reads the directory the resumed run would append to
      // with Retry-After: the Python client sends the registration again then, and loses no snapshot
      m.replyTo().tell(IngestedRun.Reply.retry("run '" + id + "' is still being ended on this monitor (the report"
          + " of the earlier monitor's part of it is being written); register it again in a few seconds to resume it",
          1));
      return this;
    }
    if (runs.containsKey(id)) {
      if (c.finished().contains(id) || spec.resumeKey() == null) {
        // a new run of a finished id (another key, or none) is told that the id is taken for good, not to wait
        m.replyTo().tell(IngestedRun.Reply.error(409, c.finished().contains(id) ? "run '" + id + "' has finished on"
            + " this monitor and is still ending (its last analyses and report); its run directory "
            + RunIds.runDirectory(c.out(), id) + " holds it: choose another run id for a new run"
            : "run '" + id + "' is already streaming to this monitor; finish it or choose another run id"));
        return this;
      }
      return takeOver(m, runs.get(id), owners.get(id));
    }
    Path dir = RunIds.runDirectory(c.out(), id);
    // with the key the monitor answered its first registration, the client resumes the run in its directory
    boolean resume = spec.resumeKey() != null && RunIds.holdsRun(dir);
    Optional<String> taken = resume ? Optional.empty() : existingRun(dir, id);
    if (taken.isPresent()) {
      m.replyTo().tell(IngestedRun.Reply.error(409, taken.get()));
      return this;
    }
    if (runs.size() >= c.ingest().maxRuns()) {
      m.replyTo().tell(IngestedRun.Reply.error(503, "this monitor already receives " + runs.size() + " runs over HTTP,"
          + " its limit (splinewatch.ingest.max-runs); finish one first"));
      return this;
    }
    RunInfo info;
    try {
      info = runInfo(spec);
    } catch (IllegalArgumentException e) {
      m.replyTo().tell(IngestedRun.Reply.error(400, e.getMessage()));
      return this;
    }
    String earlyStop = earlyStop(spec);
    // the run's own early-stop mode decides what may stop it, through its answers and the control endpoint alike
    AlertSettings alerts = c.alerts().get(earlyStop);
    if (alerts == null) {
      m.replyTo().tell(IngestedRun.Reply.error(400, unknownEarlyStop(spec)));
      return this;
    }
    List<String> analyzers = c.analyzers();
    Map<String, Object> config = config(spec, info, earlyStop, analyzers);
    long lastStep = -1;
    if (resume) {
      Optional<String> refused = resumeRefusal(dir, id, spec.resumeKey(), config);
      if (refused.isPresent()) {
        m.replyTo().tell(IngestedRun.Reply.error(409, refused.get()));
        return this;
      }
      try {
        RunLog.endTornLines(dir);
      } catch (java.io.UncheckedIOException e) {
        m.replyTo().tell(IngestedRun.Reply.error(500, "the monitor cannot resume run '" + id + "': "
            + e.getMessage()));
        return this;
      }
      lastStep = LeftRuns.lastStep(dir);
    }
    Map<String, String> labels = Map.of("run", id, "method", spec.method(), "dataset", spec.dataset());
    String base = c.baseUrl() + "/api/v1/runs/" + id;
    Map<String, Object> urls = new LinkedHashMap<>();
    urls.put("snapshots", base + "/snapshots");
    urls.put("finish", base + "/finish");
    urls.put("run_directory", RunIds.runDirectory(c.out(), id).toString());
    String key = spec.resumeKey() != null ? spec.resumeKey() : ResumeKey.newKey();
    ActorRef<Object> run = getContext().spawn(IngestedRun.create(new IngestedRun.Setup(info, labels,
        config, spec.classifier(), alerts, earlyStop, analyzers, c.cluster(), c.ingest(), c.node(), urls, m.replyTo(),
        c.finished(), c.active(), c.registry(), key, resume,
        lastStep, spec.warnings(), getContext().getSelf())), "http-run-" + id + "-"
        + System.nanoTime());
    getContext().watchWith(run, new Ended(id, run));
    runs.put(id, run);
    owners.put(id, new Owner(spec.resumeKey() != null ? spec.resumeKey() : key, Json.mapper().valueToTree(config)));
    // cleared now, so that the run's own answers (503 while it registers) and the monitor's stop see it as live;
    // put back if the metrics node refuses it (Retiring), else a refused id would be answered 404 "unknown"
    clearedMarks.put(run, c.finished().clear(id));
    c.active().put(id, new Shape(spec.inputShape(), spec.classes(), spec.classifier()));
    return this;
  }

  /** The registration's early-stop mode, else the monitor's {@code splinewatch.ingest.early-stop}. */
  private String earlyStop(SnapshotFormat.RunSpec spec) {
    return spec.earlyStop() != null ? spec.earlyStop() : c.ingest().earlyStop();
  }

  /** The refusal of an early-stop mode, named as it was set: the registration's field, else the monitor's setting. */
  private String unknownEarlyStop(SnapshotFormat.RunSpec spec) {
    // both were checked before, as stop|warn: this is a guard
    return AlertSettings.unknownMode(spec.earlyStop() != null ? "run registration: early_stop '" + spec.earlyStop()
        + "'" : "splinewatch.ingest.early-stop '" + c.ingest().earlyStop() + "'");
  }

  /** Whether {@code key} is the resume key of the run that {@code owner} describes. */
  private static boolean ownedBy(Owner owner, String key) {
    return owner != null && MessageDigest.isEqual(owner.resumeKey().getBytes(StandardCharsets.UTF_8),
        key.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A registration with a resume key of run {@code spec.runId()}, which streams here: its owner (the holder of its
   * resume key, with its description) takes the run over from the stream it lost track of, and {@code run} answers
   * it as a resume. The same run goes on: snapshots of the old stream still in flight reach it as well, and each
   * step is taken once (steps only go forward); nothing is registered twice. Another key is refused (409). The run
   * takes the registration's early-stop mode, as a resume from its directory does (a client restarted with {@code
   * early_stop="warn"} to train on through a collapse).
   */
  private Behavior<Command> takeOver(Register m, ActorRef<Object> run, Owner owner) {
    SnapshotFormat.RunSpec spec = m.spec();
    String id = spec.runId();
    if (!ownedBy(owner, spec.resumeKey())) {
      m.replyTo().tell(IngestedRun.Reply.error(409, "run '" + id + "' is already streaming to this monitor and this"
          + " registration's resume_key is not the run's; only the client that registered it can resume it: finish"
          + " it or choose another run id"));
      return this;
    }
    String earlyStop = earlyStop(spec);
    AlertSettings alerts = c.alerts().get(earlyStop);
    if (alerts == null) {
      m.replyTo().tell(IngestedRun.Reply.error(400, unknownEarlyStop(spec)));
      return this;
    }
    Map<String, Object> config;
    try {
      // only what the client describes is compared: the early-stop mode and analyzers are the monitor's settings
      config = config(spec, runInfo(spec), earlyStop, c.analyzers());
    } catch (IllegalArgumentException e) {
      m.replyTo().tell(IngestedRun.Reply.error(400, e.getMessage()));
      return this;
    }
    Optional<String> other = otherDescription(owner.config(), config);
    if (other.isPresent()) {
      m.replyTo().tell(IngestedRun.Reply.error(409, "run '" + id + "' streaming on this monitor " + other.get()));
      return this;
    }
    run.tell(new IngestedRun.TakeOver(m.replyTo(), spec.warnings(), earlyStop, alerts));
    return this;
  }

  /**
   * Why a new run {@code id} cannot have {@code dir}: it holds a run already (a finished one, or one left by an
   * earlier monitor), whose files a new run would overwrite and append to; as {@code ./trainer} without {@code
   * --resume} or {@code --overwrite}, the client must choose another id, or resume its own run with its resume key
   * ({@link #resumeRefusal}). Empty when it is free.
   */
  static Optional<String> existingRun(Path dir, String id) {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      return Optional.of("run directory " + dir + " exists and is not a directory; choose another run id (run_id in"
          + " run.json)");
    }
    if (!RunIds.holdsRun(dir)) {
      return Optional.empty();
    }
    return Optional.of(holds(dir, id) + "; choose another run id (run_id in run.json): an HTTP run is resumed only"
        + " with the resume_key its first registration was answered, and never overwritten");
  }

  /** "run directory runs/x already holds run 'x' (finished at ...)": what a new run of that id would overwrite. */
  private static String holds(Path dir, String id) {
    return "run directory " + dir + " already holds run '" + id + "' (" + finishedAt(dir.resolve("events.jsonl"))
        .map(t -> "finished at " + t).orElse("no run_finished in its events.jsonl") + ")";
  }

  /** Settings a monitor chooses, not the client: a resumed run takes the resuming monitor's. */
  private static final Set<String> MONITOR_SETTINGS = Set.of("analyzers", "early_stop", "resumed");

  /**
   * Why the registration of run {@code id} with resume key {@code key} may not append to the run in {@code dir}, or
   * empty when it may: an HTTP run registered with that key (its SHA-256 in {@code resume-key.sha256}) and the same
   * description (method, dataset, seed, tags, settings). Then {@code config} becomes the resumed run's: its first
   * start kept, {@code settings.resumed} true.
   */
  static Optional<String> resumeRefusal(Path dir, String id, String key, Map<String, Object> config) {
    JsonNode earlier = LeftRuns.config(dir);
    if (earlier == null || !"http".equals(earlier.path("source").asText())) {
      return Optional.of("run directory " + dir + " holds run '" + id + "', which " + (earlier == null ? "has no"
          + " readable config.json" : "was not streamed over HTTP (a ./trainer run)") + " and cannot be resumed"
          + " over HTTP; choose another run id");
    }
    if (!ResumeKey.holds(dir, key)) {
      // every registration of the Python client carries a key of its own: this is mostly a new run, not a resume
      return Optional.of(holds(dir, id) + ", registered with another resume_key than this registration's; choose"
          + " another run id for a new run: the run there is resumed only with the resume_key its first"
          + " registration was answered, and never overwritten");
    }
    Optional<String> other = otherDescription(earlier, config);
    if (other.isPresent()) {
      return Optional.of("run '" + id + "' in " + dir + " " + other.get());
    }
    if (earlier.path("started").isTextual()) {
      config.put("started", earlier.get("started").asText());
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> settings = (Map<String, Object>) config.get("settings");
    settings.put("resumed", true); // the metrics node then appends to the run's directory
    return Optional.empty();
  }

  /**
   * How the description in {@code config} differs from the run's {@code earlier} one (method, dataset, seed, tags,
   * the client's settings; not the monitor's): "was registered with seed 42, this registration has 7; expected ...",
   * or empty when it does not.
   */
  private static Optional<String> otherDescription(JsonNode earlier, Map<String, Object> config) {
    JsonNode now = Json.mapper().valueToTree(config);
    TreeSet<String> settingKeys = new TreeSet<>();
    earlier.path("settings").fieldNames().forEachRemaining(settingKeys::add);
    now.path("settings").fieldNames().forEachRemaining(settingKeys::add);
    settingKeys.removeAll(MONITOR_SETTINGS);
    Map<String, JsonNode[]> compared = new LinkedHashMap<>();
    for (String k : List.of("method", "dataset", "seed", "tags")) {
      compared.put(k, new JsonNode[] {earlier.path(k), now.path(k)});
    }
    for (String k : settingKeys) {
      compared.put("settings." + k, new JsonNode[] {earlier.path("settings").path(k), now.path("settings").path(k)});
    }
    for (var e : compared.entrySet()) {
      JsonNode was = e.getValue()[0];
      JsonNode is = e.getValue()[1];
      if (!was.toString().equals(is.toString())) { // 42 read back as an int equals the long 42 sent
        return Optional.of("was registered with " + e.getKey() + " " + shown(was) + ", this registration has "
            + shown(is) + "; expected the run's own registration to resume it, or another run id");
      }
    }
    return Optional.empty();
  }

  private static String shown(JsonNode v) {
    String s = v.isMissingNode() ? "none" : v.toString();
    return s.length() > 60 ? s.substring(0, 60) + "…" : s;
  }

  private static final int EVENTS_TAIL = 65536;

  /** When the last {@code run_finished} of an events.jsonl says the run ended (its tail only), if it says. */
  static Optional<String> finishedAt(Path events) {
    try (SeekableByteChannel ch = Files.newByteChannel(events)) {
      long from = Math.max(0, ch.size() - EVENTS_TAIL);
      ByteBuffer buf = ByteBuffer.allocate((int) (ch.size() - from));
      ch.position(from);
      while (buf.hasRemaining() && ch.read(buf) > 0) {
        // read the tail
      }
      List<String> lines = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8).lines().toList();
      for (int i = lines.size() - 1; i >= 0; i--) {
        if (!lines.get(i).contains("\"run_finished\"")) {
          continue;
        }
        try {
          JsonNode e = Json.mapper().readTree(lines.get(i));
          if (e != null && "run_finished".equals(e.path("type").asText()) && e.path("time").canConvertToLong()) {
            return Optional.of(Instant.ofEpochMilli(e.get("time").asLong()).toString());
          }
        } catch (IOException malformed) {
          // a cut first line of the tail, or a torn last one: look further back
        }
      }
    } catch (IOException | RuntimeException unreadable) {
      // no events.jsonl or unreadable: the end is not known
    }
    return Optional.empty();
  }

  /** The run's fixed description; probe pairs and plane anchors are drawn (seeded) when not sent. */
  static RunInfo runInfo(SnapshotFormat.RunSpec spec) {
    int n = spec.probeCount();
    int d = spec.inputDim();
    SplittableRandom rnd = new SplittableRandom(spec.seed() ^ 0x9a1e5L);
    float[] pairs = spec.probePairs();
    if (pairs == null) {
      int[] shape = spec.inputShape();
      int side = (int) Math.round(Math.sqrt(d));
      boolean grey = shape.length == 3 ? shape[0] == 1 : side * side == d;
      if (!grey) {
        throw new IllegalArgumentException("run registration: inputs of shape " + Arrays.toString(shape)
            + " are not single-channel images, so the monitor cannot draw their augmented views; expected a"
            + " probe_pairs array (one augmented view per probe, the shape of probes)");
      }
      int h = shape.length == 3 ? shape[1] : side;
      int w = shape.length == 3 ? shape[2] : side;
      pairs = new float[n * d];
      Augmenter aug = new Augmenter(h, w);
      for (int i = 0; i < n; i++) {
        aug.augment(spec.probes(), i * d, pairs, i * d, rnd);
      }
    }
    List<int[]> anchors = spec.planeAnchors() != null ? spec.planeAnchors()
        : PlaneAnchors.draw(spec.probeLabels(), spec.planes(), rnd);
    RunInfo info = new RunInfo(spec.runId(), spec.method(), spec.dataset(), d, n, spec.probes(), pairs,
        spec.probeLabels(), spec.classes(), anchors, spec.fitInputs(), spec.fitLabels());
    // each plane must exist: three equal or collinear probes span none, and the region analyzer would fail to start
    for (int k = 0; k < anchors.size(); k++) {
      int[] a = anchors.get(k);
      try {
        Plane.throughAnchors(info.probe(a[0]), info.probe(a[1]), info.probe(a[2]), 0);
      } catch (IllegalArgumentException e) {
        String drawn = spec.planeAnchors() != null ? "" : " (drawn)";
        throw new IllegalArgumentException("run registration: plane " + k + drawn + " has anchor probes "
            + Arrays.toString(a) + " that span no plane (" + e.getMessage()
            + "); expected three probes that span a plane (plane_anchors)");
      }
    }
    return info;
  }

  private static Map<String, Object> config(SnapshotFormat.RunSpec spec, RunInfo info, String earlyStop,
      List<String> analyzers) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("run_id", spec.runId());
    c.put("method", spec.method());
    c.put("dataset", spec.dataset());
    c.put("source", "http");
    c.put("seed", spec.seed());
    c.put("tags", spec.tags());
    // the client's own settings first (method ablations for ./monitor detection); the monitor's keys win
    Map<String, Object> settings = new LinkedHashMap<>(spec.settings());
    settings.put("classes", spec.classes());
    settings.put("classifier", spec.classifier());
    // a list, not an int[]: the metrics node accepts strings, numbers, booleans, lists and maps in a config
    settings.put("input_shape", Arrays.stream(spec.inputShape()).boxed().toList());
    settings.put("probe_size", spec.probeCount());
    settings.put("probe_pairs", spec.probePairs() != null ? "sent" : "drawn by the monitor");
    settings.put("planes", info.planeAnchors().size());
    settings.put("linear_probe_images", spec.fitLabels().length);
    settings.put("early_stop", earlyStop);
    settings.put("analyzers", analyzers);
    c.put("settings", settings);
    Map<String, Object> versions = new LinkedHashMap<>();
    versions.put("splinewatch", Provenance.version());
    versions.put("java", System.getProperty("java.version"));
    versions.put("pekko", Version.current());
    c.put("versions", versions);
    c.put("started", Instant.now().toString());
    return c;
  }
}
