package org.splinewatch.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.StreamSupport;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.NpzModel;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.snapshot.NpzArchive.Array;
import org.splinewatch.snapshot.NpzArchive.FormatException;

/**
 * The HTTP ingestion format (docs/snapshot-format.md): a run registration and network snapshots, each one
 * {@code .npz} body. It extends the benchmark format of {@code FORMAT.md}: a snapshot without a layer list is that
 * format's MLP ({@code W0..W{L-1}} of shape {@code (in, out)}, {@code b0..}, ReLU between); with a
 * {@code snapshot.json} layer list it may hold Dense, Conv2D, AvgPool2D, Flatten, ReLU, LeakyReLU and BatchNorm
 * (eval statistics) layers and mark where a projector head starts. Every shape is checked against the run's input
 * shape, every weight must be finite, and every failure is one {@link FormatException} line.
 *
 * <p>Over 300 lines because it is the whole HTTP snapshot format (docs/snapshot-format.md), each rule with its one-
 * line error, kept as one reading of the specification.
 */
public final class SnapshotFormat {
  // bare NaN and Infinity as numbers: Python's json.dumps writes a NaN loss that way (a diverged run's last snapshot)
  private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
      .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
  /** The setting that caps a snapshot layer's width, named in the errors that refuse a wider one. */
  private static final String WIDTH_SETTING = "splinewatch.ingest.max-layer-width";
  /** Entry names of the JSON documents. */
  public static final String RUN_DOC = "run";
  public static final String SNAPSHOT_DOC = "snapshot";
  public static final List<String> LAYER_TYPES = List.of("dense", "conv2d", "avgpool2d", "flatten", "relu",
      "leaky_relu", "batchnorm");
  /**
   * The keys each layer type holds besides {@code type} and {@code projector}: any other key is a mistake (a
   * misspelt {@code negative_slope} or {@code projector} was ignored, and the layer computed with the default).
   */
  private static final Map<String, List<String>> LAYER_KEYS = Map.of("dense", List.of("weight", "bias"),
      "conv2d", List.of("weight", "bias", "stride", "padding"), "avgpool2d", List.of("kernel", "stride"),
      "flatten", List.of(), "relu", List.of(), "leaky_relu", List.of("negative_slope"),
      "batchnorm", List.of("gamma", "beta", "mean", "var", "eps"));

  /** The layer keys that name arrays. */
  private static final List<String> ARRAY_KEYS = List.of("weight", "bias", "gamma", "beta", "mean", "var");
  /** The keys of {@code snapshot.json} (docs/snapshot-format.md, "Snapshot"); the Python client sends format too. */
  static final List<String> SNAPSHOT_KEYS = List.of("step", "epoch", "loss", "learning_rate", "layers", "format",
      "version");

  private SnapshotFormat() {
  }

  /**
   * A run registration. {@code probePairs} and {@code planeAnchors} are null when the client sent none (the
   * monitor then draws them); {@code earlyStop} is null for the monitor's default; {@code resumeKey} is null for a
   * new run, else the key the monitor answered to the run's first registration (the run is resumed: appended to).
   * {@code warnings}: the line of each {@code <f8} array with nonzero values that float32 rounded to 0
   * ({@link NpzArchive#warnings}).
   */
  public record RunSpec(String runId, String method, String dataset, Map<String, String> tags, int classes,
      boolean classifier, int[] inputShape, int probeCount, float[] probes, int[] probeLabels, float[] probePairs,
      List<int[]> planeAnchors, int planes, long seed, float[] fitInputs, int[] fitLabels, String earlyStop,
      Map<String, Object> settings, String resumeKey, List<String> warnings) {
    public int inputDim() {
      return Math.toIntExact(Arrays.stream(inputShape).asLongStream().reduce(1, Math::multiplyExact));
    }
  }

  /**
   * One parsed snapshot. {@code hasLoss} is false when no loss was sent (NaN then stands for "none", not for a
   * diverged loss, which a client sends as "NaN"). {@code warnings}: by array name, the line of each {@code <f8}
   * array with nonzero values that float32 rounded to 0 ({@link NpzArchive#warnings}).
   */
  public record Snapshot(long step, int epoch, double loss, double learningRate, List<Layer> layers, int reprBlock,
      boolean classifierHead, boolean hasLoss, Map<String, String> warnings) {
  }

  /** The keys of {@code run.json} (docs/snapshot-format.md, "Registration"). */
  static final List<String> RUN_KEYS = List.of("run_id", "resume_key", "classes", "method", "dataset", "tags",
      "classifier", "planes", "seed", "early_stop", "settings");
  /** The arrays of a registration. */
  static final List<String> RUN_ARRAYS = List.of("probes", "probe_labels", "probe_pairs", "plane_anchors",
      "fit_inputs", "fit_labels");

  /** Parses a registration body: {@code run.json} plus the arrays {@code probes}, {@code probe_labels}, .... */
  public static RunSpec parseRun(byte[] body, NpzArchive.Limits limits, int maxProbes) {
    NpzArchive npz = NpzArchive.read(body, limits, "run registration");
    JsonNode doc = json(npz, RUN_DOC, "run registration");
    // a misspelt key or array would be ignored and its default used (early_stop "stop", no linear-probe set)
    onlyKnown("run registration: run.json has the key", doc.fieldNames(), RUN_KEYS);
    onlyKnown("run registration: the archive has the array", npz.arrays().keySet().iterator(), RUN_ARRAYS);
    onlyKnown("run registration: the archive has the document", npz.documentNames().iterator(),
        List.of(RUN_DOC));
    String runId = text(doc, "run_id", null, "run registration");
    RunIds.problem(runId).ifPresent(p -> {
      throw new FormatException("run registration: " + p);
    });
    String method = text(doc, "method", "external", "run registration");
    String dataset = text(doc, "dataset", "external", "run registration");
    for (String label : List.of(method, dataset)) {
      if (!label.matches("[A-Za-z0-9._-]{1,64}")) {
        throw new FormatException("run registration: label '" + label + "' is not valid; expected 1 to 64 letters,"
            + " digits, '.', '_' or '-'");
      }
    }
    Map<String, String> tags = new LinkedHashMap<>();
    JsonNode t = doc.path("tags");
    if (!t.isMissingNode() && !t.isNull()) {
      if (!t.isObject() || t.size() > 32) {
        throw new FormatException("run registration: tags must be an object of at most 32 string values");
      }
      t.fields().forEachRemaining(e -> {
        if (!e.getKey().matches("[a-z][a-z0-9_]{0,31}") || !e.getValue().isValueNode()
            || e.getValue().asText().length() > 256) {
          throw new FormatException("run registration: tag '" + e.getKey() + "' is not valid; expected a lower-case"
              + " name (letters, digits, '_') and a value of at most 256 characters");
        }
        tags.put(e.getKey(), e.getValue().asText());
      });
    }
    int classes = integer(doc, "classes", -1, 2, 100000, "run registration");
    JsonNode classifierNode = doc.get("classifier");
    if (classifierNode != null && !classifierNode.isNull() && !classifierNode.isBoolean()) {
      throw new FormatException("run registration: classifier is " + shorten(classifierNode.toString())
          + "; expected true or false (whether the network's last layer is a classifier)");
    }
    boolean classifier = classifierNode != null && classifierNode.isBoolean() ? classifierNode.booleanValue()
        : "supervised".equals(method);
    String earlyStop = doc.hasNonNull("early_stop") ? doc.get("early_stop").asText() : null;
    if (earlyStop != null && !earlyStop.equals("stop") && !earlyStop.equals("warn")) {
      throw new FormatException("run registration: early_stop is '" + earlyStop + "'; expected stop or warn");
    }
    Array probes = require(npz, "probes", "run registration");
    if (probes.shape().length < 2) {
      throw new FormatException("run registration: probes has shape " + Arrays.toString(probes.shape())
          + "; expected (n, d) or (n, c, h, w)");
    }
    int n = probes.shape()[0];
    if (n < 10 || n > maxProbes) {
      throw new FormatException("run registration: " + n + " probes; expected 10 to " + maxProbes
          + " (splinewatch.ingest.max-probes)", n > maxProbes);
    }
    int[] inputShape = Arrays.copyOfRange(probes.shape(), 1, probes.shape().length);
    if (inputShape.length != 1 && inputShape.length != 3) {
      throw new FormatException("run registration: probes has shape " + Arrays.toString(probes.shape())
          + "; expected (n, d) or (n, c, h, w)");
    }
    finite("run registration", probes);
    int[] labels = labels(require(npz, "probe_labels", "run registration"), n, classes, "probe_labels");
    float[] pairs = null;
    Array p = npz.array("probe_pairs");
    if (p != null) {
      if (!Arrays.equals(p.shape(), probes.shape())) {
        throw new FormatException("run registration: probe_pairs has shape " + Arrays.toString(p.shape())
            + "; expected the shape of probes " + Arrays.toString(probes.shape()));
      }
      finite("run registration", p);
      pairs = p.values();
    }
    List<int[]> anchors = null;
    Array a = npz.array("plane_anchors");
    if (a != null) {
      if (a.shape().length != 2 || a.shape()[1] != 3 || a.shape()[0] > 16 || !a.integral()) {
        throw new FormatException("run registration: plane_anchors has shape " + Arrays.toString(a.shape())
            + "; expected integer probe indices of shape (planes, 3), at most 16 planes");
      }
      anchors = new ArrayList<>();
      int[] flat = labels(a, a.values().length, n, "plane_anchors");
      for (int i = 0; i < a.shape()[0]; i++) {
        int[] tri = Arrays.copyOfRange(flat, 3 * i, 3 * i + 3);
        if (tri[0] == tri[1] || tri[1] == tri[2] || tri[0] == tri[2]) {
          throw new FormatException("run registration: plane " + i + " has anchors " + Arrays.toString(tri)
              + "; expected three different probe indices");
        }
        anchors.add(tri);
      }
    }
    int planes = integer(doc, "planes", 2, 0, 16, "run registration");
    long seed = longInteger(doc, "seed", 42, Long.MIN_VALUE, "run registration");
    float[] fit = new float[0];
    int[] fitLabels = new int[0];
    Array fi = npz.array("fit_inputs");
    if (fi != null) {
      if (fi.shape().length < 2 || !Arrays.equals(Arrays.copyOfRange(fi.shape(), 1, fi.shape().length), inputShape)) {
        throw new FormatException("run registration: fit_inputs has shape " + Arrays.toString(fi.shape())
            + "; expected (m, " + Arrays.toString(inputShape).replaceAll("[\\[\\]]", "") + ") like probes");
      }
      finite("run registration", fi);
      fit = fi.values();
      fitLabels = labels(require(npz, "fit_labels", "run registration"), fi.shape()[0], classes, "fit_labels");
    }
    JsonNode key = doc.get("resume_key");
    if (key != null && !key.isNull() && !(key.isTextual() && key.asText().matches("[0-9a-f]{32}"))) {
      throw new FormatException("run registration: resume_key is " + shorten(key.toString()) + "; expected the 32"
          + " hex digits the monitor answered to the run's first registration, or none for a new run");
    }
    return new RunSpec(runId, method, dataset, tags, classes, classifier, inputShape, n, probes.values(), labels,
        pairs, anchors, planes, seed, fit, fitLabels, earlyStop, settings(doc.path("settings")),
        key == null || key.isNull() ? null : key.asText(), List.copyOf(npz.warnings().values()));
  }

  /**
   * The training settings a client reports (written to {@code config.json}'s {@code settings}, where
   * {@code ./monitor detection} reads {@code stop_gradient}, {@code predictor} and {@code vicreg_coefficients}):
   * at most 64 lower-case keys whose values are numbers, booleans, short strings or lists of up to 16 numbers.
   */
  private static Map<String, Object> settings(JsonNode node) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (node.isMissingNode() || node.isNull()) {
      return out;
    }
    if (!node.isObject() || node.size() > 64) {
      throw new FormatException("run registration: settings must be an object of at most 64 entries");
    }
    node.fields().forEachRemaining(e -> {
      JsonNode v = e.getValue();
      boolean list = v.isArray() && v.size() <= 16 && StreamSupport.stream(v.spliterator(), false)
          .allMatch(JsonNode::isNumber);
      boolean scalar = v.isNumber() || v.isBoolean() || (v.isTextual() && v.asText().length() <= 256);
      if (!e.getKey().matches("[a-z][a-z0-9_]{0,63}") || !(scalar || list)) {
        throw new FormatException("run registration: setting '" + shorten(e.getKey()) + "' is not valid; expected a"
            + " lower-case name and a number, boolean, string or list of up to 16 numbers");
      }
      out.put(e.getKey(), JSON.convertValue(v, Object.class));
    });
    return out;
  }

  /**
   * Parses a snapshot body for a run whose inputs have {@code inputShape} ({@code (d)} or {@code (c, h, w)}).
   * {@code classes} is checked against a classifier's output width; no layer may output more than {@code maxWidth}
   * values.
   */
  public static Snapshot parseSnapshot(byte[] body, NpzArchive.Limits limits, int[] inputShape, int classes,
      boolean classifier, int maxLayers, int maxWidth) {
    NpzArchive npz = NpzArchive.read(body, limits, "snapshot");
    JsonNode doc = npz.document(SNAPSHOT_DOC) == null ? JSON.createObjectNode() : json(npz, SNAPSHOT_DOC, "snapshot");
    // a misspelt "loss" recorded no loss (divergence could not fire), a misspelt "layers" read the arrays as an MLP
    onlyKnown("snapshot: snapshot.json has the key", doc.fieldNames(), SNAPSHOT_KEYS);
    onlyKnown("snapshot: the archive has the document", npz.documentNames().iterator(), List.of(SNAPSHOT_DOC));
    long step = longInteger(doc, "step", -1, 0, "snapshot");
    int epoch = integer(doc, "epoch", 0, 0, Integer.MAX_VALUE, "snapshot");
    double loss = number(doc, "loss");
    double lr = number(doc, "learning_rate");
    List<Layer> layers = new ArrayList<>();
    int projectorAt = -1;
    JsonNode list = doc.path("layers");
    int dim = Math.toIntExact(Arrays.stream(inputShape).asLongStream().reduce(1, Math::multiplyExact));
    try {
      if (list.isMissingNode()) {
        mlpLayers(npz, layers, dim, maxLayers, maxWidth);
      } else {
        LayerList parsed = layerList(npz, list, inputShape, maxLayers, maxWidth, WIDTH_SETTING, "snapshot");
        layers.addAll(parsed.layers());
        projectorAt = parsed.projectorAt();
      }
    } catch (NonFinite e) {
      // the weights are refused; the step, loss and learning rate still count for the run (a diverged network)
      throw new NonFinite(e.getMessage(), e.entry(), new Snapshot(step, epoch, loss, lr, List.of(), -1, false,
          doc.hasNonNull("loss"), npz.warnings()));
    }
    unnamedArray(npz, list);
    PiecewiseLinearNet net;
    try {
      net = new PiecewiseLinearNet(dim, layers);
    } catch (IllegalArgumentException e) {
      throw new FormatException("snapshot: " + e.getMessage());
    }
    int hiddenBefore = 0;
    int limit = projectorAt >= 0 ? projectorAt : layers.size();
    for (int i = 0; i < limit; i++) {
      if (layers.get(i) instanceof Layer.Activation a && a.kind() != Layer.Activation.Kind.IDENTITY) {
        hiddenBefore++;
      }
    }
    int blocks = net.blocks().size();
    int reprBlock;
    if (projectorAt >= 0) {
      if (classifier) {
        throw new FormatException("snapshot: a projector is marked in a classifier's snapshot; expected none");
      }
      if (hiddenBefore == 0 || projectorAt == layers.size()) {
        throw new FormatException("snapshot: the projector must start after an encoder activation and hold a layer");
      }
      reprBlock = hiddenBefore - 1;
    } else if (classifier) {
      if (net.head() == null || net.hiddenBlocks().isEmpty()) {
        throw new FormatException("snapshot: a classifier must end with a linear layer after at least one hidden"
            + " activation");
      }
      if (net.outputDim() != classes) {
        throw new FormatException("snapshot: the classifier has " + net.outputDim() + " outputs; expected the run's "
            + classes + " classes");
      }
      reprBlock = blocks - 2;
    } else {
      reprBlock = blocks - 1;
    }
    return new Snapshot(step, epoch, loss, lr, layers, reprBlock, classifier && projectorAt < 0,
        doc.hasNonNull("loss"), npz.warnings());
  }

  /**
   * Refuses an array of a snapshot that no layer of {@code list} names (or, without a list, that is not one of
   * {@code W0..}, {@code b0..}): a layer left out of the list, whose parameters were sent, was left out of the
   * network without a word.
   */
  private static void unnamedArray(NpzArchive npz, JsonNode list) {
    java.util.Set<String> named = new java.util.HashSet<>();
    if (list.isMissingNode()) {
      for (int i = 0; npz.array("W" + i) != null; i++) {
        named.add("W" + i);
        named.add("b" + i);
      }
    } else {
      for (JsonNode l : list) {
        for (String key : ARRAY_KEYS) {
          if (l.path(key).isTextual()) {
            named.add(l.get(key).asText());
          }
        }
      }
    }
    for (String name : npz.arrays().keySet()) {
      if (!named.contains(name)) {
        throw new FormatException("snapshot: the archive has the array '" + shorten(name) + "', which "
            + (list.isMissingNode() ? "is not one of W0..W{L-1}, b0..b{L-1}" : "no layer of the layer list names")
            + "; expected only the network's arrays (a layer missing from the list?)");
      }
    }
  }

  /** A parsed layer list: the layers, and the index of the projector's first layer (-1 when none is marked). */
  public record LayerList(List<Layer> layers, int projectorAt) {
  }

  /**
   * The layer list {@code list} (docs/snapshot-format.md, "Snapshot") of a network whose inputs have
   * {@code inputShape}, its arrays from {@code npz}: each layer checked against the shape it receives, every weight
   * finite, no layer wider than {@code maxWidth} (the limit {@code widthLimit} names, e.g. the setting that sets it).
   * {@code what} begins each error ("snapshot: layer 2 ...").
   */
  public static LayerList layerList(NpzArchive npz, JsonNode list, int[] inputShape, int maxLayers, int maxWidth,
      String widthLimit, String what) {
    if (!list.isArray() || list.size() == 0 || list.size() > maxLayers) {
      throw new FormatException(what + ": layers must be a list of 1 to " + maxLayers + " layers");
    }
    List<Layer> layers = new ArrayList<>();
    int projectorAt = -1;
    // the current activation shape: {c, h, w} for images, {d} once flat
    int[] shape = inputShape.clone();
    for (int i = 0; i < list.size(); i++) {
      JsonNode l = list.get(i);
      String where = what + ": layer " + i;
      if (!l.isObject()) {
        throw new FormatException(where + " is " + shorten(l.toString()) + "; expected an object with a \"type\"");
      }
      List<String> keys = LAYER_KEYS.get(l.path("type").asText(""));
      if (keys != null) { // an unknown type is named below
        for (var names = l.fieldNames(); names.hasNext(); ) {
          String key = names.next();
          if (!key.equals("type") && !key.equals("projector") && !keys.contains(key)) {
            throw new FormatException(where + " (" + l.path("type").asText() + ") has key \""
                + org.splinewatch.regions.NpyHeader.printable(shorten(key))
                + "\"; expected only type, projector" + (keys.isEmpty() ? "" : ", " + String.join(", ", keys)));
          }
        }
      }
      for (String key : new String[] {"negative_slope", "eps"}) {
        JsonNode v = l.get(key);
        if (v != null && !v.isNull() && !v.isNumber()) { // a string "0.2" was parsed, "0,2" silently the default
          throw new FormatException(where + ": \"" + key + "\" is " + shorten(v.toString()) + "; expected a number");
        }
      }
      JsonNode mark = l.get("projector");
      if (mark != null && !mark.isNull() && !mark.isBoolean()) {
        throw new FormatException(where + ": \"projector\" is " + shorten(mark.toString()) + "; expected true or"
            + " false");
      }
      if (l.path("projector").asBoolean(false)) {
        if (projectorAt >= 0) {
          throw new FormatException(where + " marks a second projector start; expected at most one");
        }
        projectorAt = layers.size();
      }
      String type = l.path("type").asText("");
      Layer layer = switch (type) {
        case "dense" -> dense(npz, l, where, shape);
        case "conv2d" -> conv(npz, l, where, shape);
        case "avgpool2d" -> pool(l, where, shape);
        case "flatten" -> new Layer.Flatten(flat(shape));
        case "relu" -> Layer.Activation.relu();
        case "leaky_relu" -> {
          double alpha = l.path("negative_slope").asDouble(0.01);
          if (!(alpha >= 0 && alpha < 1)) {
            throw new FormatException(where + " has negative_slope " + alpha + "; expected 0 <= slope < 1");
          }
          yield Layer.Activation.leakyRelu(alpha);
        }
        case "batchnorm" -> batchNorm(npz, l, where, shape,
            layers.isEmpty() ? null : layers.get(layers.size() - 1));
        default -> throw new FormatException(where + " has type '" + shorten(type) + "'; expected one of "
            + String.join(", ", LAYER_TYPES));
      };
      layers.add(layer);
      shape = next(layer, shape);
      // every analyzer holds (probes × width) activations of a layer: a width cap bounds the monitor's memory
      long width = Arrays.stream(shape).asLongStream().reduce(1, Math::multiplyExact);
      if (width > maxWidth) {
        throw new FormatException(where + " (" + type + ") outputs " + width + " values; expected at most "
            + maxWidth + " (" + widthLimit + ")", true);
      }
    }
    return new LayerList(layers, projectorAt);
  }

  /** A network's architecture without its weights, one entry a layer: type and shapes, e.g. "dense (64 -> 4)". */
  public static List<String> architecture(List<Layer> layers) {
    List<String> out = new ArrayList<>();
    for (Layer l : layers) {
      if (l instanceof Layer.Dense d) {
        out.add("dense (" + d.in() + " -> " + d.out() + ")");
      } else if (l instanceof Layer.Conv2D c) {
        out.add("conv2d (" + c.inChannels() + "x" + c.inHeight() + "x" + c.inWidth() + " -> " + c.outChannels() + "x"
            + c.outHeight() + "x" + c.outWidth() + ", kernel " + c.kernelH() + "x" + c.kernelW() + ", stride "
            + c.stride() + ", padding " + c.padding() + ")");
      } else if (l instanceof Layer.AvgPool2D p) {
        out.add("avgpool2d (" + p.channels() + "x" + p.inHeight() + "x" + p.inWidth() + " -> " + p.channels() + "x"
            + p.outHeight() + "x" + p.outWidth() + ")");
      } else if (l instanceof Layer.Flatten f) {
        out.add("flatten (" + f.size() + ")");
      } else if (l instanceof Layer.BatchNorm b) {
        out.add("batchnorm (" + b.gamma().length + ")");
      } else {
        out.add(((Layer.Activation) l).kind().name().toLowerCase(Locale.ROOT));
      }
    }
    return out;
  }

  /**
   * Why snapshot {@code s} does not have the architecture of the run's first snapshot ({@code first}, of
   * {@link #architecture}, with representation block {@code firstRepr}, sent at {@code firstStep}), naming the first
   * differing layer; empty when it has. The analyzers compare a run's snapshots layer by layer.
   */
  public static Optional<String> architectureProblem(List<String> first, int firstRepr, long firstStep, Snapshot s) {
    List<String> now = architecture(s.layers());
    String as = " as in the run's first snapshot (step " + firstStep + "); a run keeps one architecture, register"
        + " another run id for another network";
    for (int i = 0; i < Math.max(first.size(), now.size()); i++) {
      if (i >= now.size()) {
        return Optional.of("snapshot: layer " + i + " is missing (the network has " + now.size() + " layers); expected "
            + first.get(i) + as);
      }
      if (i >= first.size()) {
        return Optional.of("snapshot: layer " + i + " is " + now.get(i) + ", beyond the " + first.size() + " layers"
            + " expected" + as);
      }
      if (!first.get(i).equals(now.get(i))) {
        return Optional.of("snapshot: layer " + i + " is " + now.get(i) + "; expected " + first.get(i) + as);
      }
    }
    if (s.reprBlock() != firstRepr) {
      return Optional.of("snapshot: the representation is the output of hidden block " + s.reprBlock() + "; expected"
          + " block " + firstRepr + as + " (the projector mark moved)");
    }
    return Optional.empty();
  }

  /** The benchmark format's MLP: {@code W0..W{L-1}}, {@code b0..}, ReLU after all but the last. */
  private static void mlpLayers(NpzArchive npz, List<Layer> layers, int dim, int maxLayers, int maxWidth) {
    int count = 0;
    while (npz.array("W" + count) != null) {
      count++;
    }
    if (count == 0 || count > maxLayers) {
      throw new FormatException("snapshot: no layer list in snapshot.json and no arrays W0..W{L-1}; expected one or"
          + " the other (at most " + maxLayers + " layers)");
    }
    String stray = NpzModel.strayLayerArray(npz.arrays().keySet(), count);
    if (stray != null) {
      throw new FormatException("snapshot: array " + stray + " does not belong to layers W0..W" + (count - 1)
          + " (no W" + count + "); expected consecutive W0..W{L-1}, b0..b{L-1}");
    }
    int[] shape = {dim};
    for (int i = 0; i < count; i++) {
      layers.add(denseArrays(require(npz, "W" + i, "snapshot"), require(npz, "b" + i, "snapshot"),
          "snapshot: layer W" + i, shape));
      shape = new int[] {((Layer.Dense) layers.get(layers.size() - 1)).out()};
      if (shape[0] > maxWidth) {
        throw new FormatException("snapshot: W" + i + " has " + shape[0] + " outputs; expected at most " + maxWidth
            + " (" + WIDTH_SETTING + ")", true);
      }
      if (i < count - 1) {
        layers.add(Layer.Activation.relu());
      }
    }
  }

  private static Layer dense(NpzArchive npz, JsonNode l, String where, int[] shape) {
    return denseArrays(arrayOf(npz, l, "weight", where), arrayOf(npz, l, "bias", where), where, shape);
  }

  private static Layer denseArrays(Array w, Array b, String where, int[] shape) {
    if (shape.length != 1) {
      throw new FormatException(where + " (dense) receives an image of shape " + Arrays.toString(shape)
          + "; expected a flatten layer before it");
    }
    if (w.shape().length == 2 && w.shape()[1] >= 1 && w.shape()[0] != shape[0]) {
      // a layer that does not chain: named as PyTorch users know it too (nn.Linear.weight is (out, in))
      int in = w.shape()[0];
      int out = w.shape()[1];
      throw new FormatException(where + " (dense): " + w.name() + " has shape " + Arrays.toString(w.shape())
          + ", a layer of " + in + " inputs and " + out + " outputs (PyTorch: nn.Linear(in_features=" + in
          + ", out_features=" + out + "), weight of shape (" + out + ", " + in + ")), but receives " + shape[0]
          + " values; expected shape [" + shape[0] + ", " + out + "], i.e. (in, out) with y = x @ W + b, PyTorch's"
          + " weight transposed (in_features=" + shape[0] + ")");
    }
    if (w.shape().length != 2 || w.shape()[1] < 1) {
      throw new FormatException(where + " (dense): " + w.name() + " has shape " + Arrays.toString(w.shape())
          + "; expected (" + shape[0] + ", out), i.e. (in, out) with y = x @ W + b (PyTorch's nn.Linear.weight"
          + " transposed)");
    }
    int out = w.shape()[1];
    if (b.shape().length != 1 || b.shape()[0] != out) {
      throw new FormatException(where + " (dense): " + b.name() + " has shape " + Arrays.toString(b.shape())
          + "; expected (" + out + ",)");
    }
    finite(where, w);
    finite(where, b);
    return new Layer.Dense(shape[0], out, w.values(), b.values());
  }

  private static Layer conv(NpzArchive npz, JsonNode l, String where, int[] shape) {
    if (shape.length != 3) {
      throw new FormatException(where + " (conv2d) receives a flat input of " + shape[0] + " values; expected an"
          + " image (c, h, w): register probes of shape (n, c, h, w)");
    }
    Array w = arrayOf(npz, l, "weight", where);
    Array b = arrayOf(npz, l, "bias", where);
    if (w.shape().length != 4 || w.shape()[1] != shape[0] || w.shape()[0] < 1) {
      throw new FormatException(where + " (conv2d): " + w.name() + " has shape " + Arrays.toString(w.shape())
          + "; expected (out_channels, " + shape[0] + ", kh, kw), as PyTorch's nn.Conv2d weight with in_channels="
          + shape[0] + " (the channels it receives)");
    }
    if (b.shape().length != 1 || b.shape()[0] != w.shape()[0]) {
      throw new FormatException(where + " (conv2d): " + b.name() + " has shape " + Arrays.toString(b.shape())
          + "; expected (" + w.shape()[0] + ",)");
    }
    int stride = integer(l, "stride", 1, 1, 64, where);
    int padding = integer(l, "padding", 0, 0, 64, where);
    finite(where, w);
    finite(where, b);
    try {
      return new Layer.Conv2D(shape[0], shape[1], shape[2], w.shape()[0], w.shape()[2], w.shape()[3], stride,
          padding, w.values(), b.values());
    } catch (IllegalArgumentException e) {
      throw new FormatException(where + " (conv2d): " + e.getMessage());
    }
  }

  private static Layer pool(JsonNode l, String where, int[] shape) {
    if (shape.length != 3) {
      throw new FormatException(where + " (avgpool2d) receives a flat input; expected an image (c, h, w)");
    }
    int kernel = integer(l, "kernel", -1, 1, 64, where);
    int stride = integer(l, "stride", kernel, 1, 64, where);
    try {
      return new Layer.AvgPool2D(shape[0], shape[1], shape[2], kernel, stride);
    } catch (IllegalArgumentException e) {
      throw new FormatException(where + " (avgpool2d): " + e.getMessage());
    }
  }

  /**
   * Eval-mode batch normalisation. Per channel on an image: directly after a conv2d it folds into it; elsewhere its
   * parameters are repeated over the channel's h·w positions (the layout is channel-major).
   */
  private static Layer batchNorm(NpzArchive npz, JsonNode l, String where, int[] shape, Layer previous) {
    Array[] p = {arrayOf(npz, l, "gamma", where), arrayOf(npz, l, "beta", where), arrayOf(npz, l, "mean", where),
        arrayOf(npz, l, "var", where)};
    int features = shape[0];
    for (Array a : p) {
      if (a.shape().length != 1 || a.shape()[0] != features) {
        throw new FormatException(where + " (batchnorm): " + a.name() + " has shape " + Arrays.toString(a.shape())
            + "; expected (" + features + ",), one value per " + (shape.length == 3 ? "channel" : "feature"));
      }
      finite(where, a);
    }
    for (float v : p[3].values()) {
      if (v < 0) {
        throw new FormatException(where + " (batchnorm): var holds " + v + "; expected variances >= 0");
      }
    }
    double eps = l.path("eps").asDouble(1e-5);
    if (!(eps > 0 && eps < 1)) {
      throw new FormatException(where + " (batchnorm): eps " + eps + "; expected 0 < eps < 1");
    }
    float[][] v = {p[0].values(), p[1].values(), p[2].values(), p[3].values()};
    if (shape.length == 3 && !(previous instanceof Layer.Conv2D)) {
      int hw = Math.multiplyExact(shape[1], shape[2]);
      for (int k = 0; k < 4; k++) {
        float[] e = new float[Math.multiplyExact(features, hw)];
        for (int c = 0; c < features; c++) {
          Arrays.fill(e, c * hw, (c + 1) * hw, v[k][c]);
        }
        v[k] = e;
      }
    }
    return new Layer.BatchNorm(v[0], v[1], v[2], v[3], eps);
  }

  private static int[] next(Layer layer, int[] shape) {
    if (layer instanceof Layer.Dense d) {
      return new int[] {d.out()};
    } else if (layer instanceof Layer.Conv2D c) {
      return new int[] {c.outChannels(), c.outHeight(), c.outWidth()};
    } else if (layer instanceof Layer.AvgPool2D p) {
      return new int[] {p.channels(), p.outHeight(), p.outWidth()};
    } else if (layer instanceof Layer.Flatten f) {
      return new int[] {f.size()};
    }
    return shape;
  }

  private static int flat(int[] shape) {
    int n = 1;
    for (int s : shape) {
      n = Math.multiplyExact(n, s);
    }
    return n;
  }

  private static Array arrayOf(NpzArchive npz, JsonNode l, String key, String where) {
    String name = l.path(key).asText("");
    if (name.isEmpty()) {
      throw new FormatException(where + " names no '" + key + "' array; expected \"" + key + "\": an array name");
    }
    Array a = npz.array(name);
    if (a == null) {
      throw new FormatException(where + " names array '" + shorten(name) + "' as its " + key
          + ", which the archive does not hold");
    }
    return a;
  }

  private static Array require(NpzArchive npz, String name, String what) {
    Array a = npz.array(name);
    if (a == null) {
      throw new FormatException(what + ": missing array " + name + " (" + name + ".npy)");
    }
    return a;
  }

  static void finite(String where, Array a) {
    float[] v = a.values();
    for (int i = 0; i < v.length; i++) {
      if (!Float.isFinite(v[i])) {
        String entry = where + ": array " + a.name() + " holds " + v[i] + " at flat index " + i;
        throw new NonFinite(entry + "; expected finite numbers", entry, null);
      }
    }
  }

  /**
   * A NaN or infinite number in an array: still a malformed body (400), but for a snapshot a diverged network rather
   * than a broken client. {@code entry} names the first such number ("snapshot: layer 1 (dense): array W0 holds NaN
   * at flat index 3"); {@code scalars}, for a snapshot, is what its document said (step, epoch, loss, learning rate;
   * no layers), parsed before the weights, so that the run can still record them.
   */
  public static final class NonFinite extends FormatException {
    private final String entry;
    private final transient Snapshot scalars;

    NonFinite(String message, String entry, Snapshot scalars) {
      super(message);
      this.entry = entry;
      this.scalars = scalars;
    }

    public String entry() {
      return entry;
    }

    /** The snapshot's scalars (layers empty), or null when the array was not a snapshot's weight. */
    public Snapshot scalars() {
      return scalars;
    }
  }

  /** Integer labels (or indices) in {@code [0, bound)}, {@code n} of them. */
  private static int[] labels(Array a, int n, int bound, String name) {
    if (a.values().length != n || (a.shape().length != 1 && !name.equals("plane_anchors"))) {
      throw new FormatException("run registration: " + name + " has shape " + Arrays.toString(a.shape())
          + "; expected (" + n + ",)");
    }
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      float v = a.values()[i];
      if (v != Math.rint(v) || v < 0 || v >= bound) {
        throw new FormatException("run registration: " + name + " holds " + v + " at index " + i
            + "; expected integers from 0 to " + (bound - 1));
      }
      out[i] = (int) v;
    }
    return out;
  }

  /** Refuses the first of {@code names} that is not in {@code known}: {@code "<what> 'name'; expected only ..."}. */
  private static void onlyKnown(String what, Iterator<String> names, List<String> known) {
    while (names.hasNext()) {
      String name = names.next();
      if (!known.contains(name)) {
        throw new FormatException(what + " '" + org.splinewatch.regions.NpyHeader.printable(shorten(name))
            + "'; expected only " + String.join(", ", known));
      }
    }
  }

  static JsonNode json(NpzArchive npz, String name, String what) {
    byte[] bytes = npz.document(name);
    if (bytes == null) {
      throw new FormatException(what + ": missing " + name + ".json; expected a JSON object entry");
    }
    try {
      JsonNode node = JSON.readTree(bytes);
      if (node == null || !node.isObject()) {
        throw new FormatException(what + ": " + name + ".json is not a JSON object");
      }
      return node;
    } catch (IOException e) {
      throw new FormatException(what + ": " + name + ".json is not valid JSON; expected a JSON object");
    }
  }

  private static String text(JsonNode doc, String key, String fallback, String what) {
    JsonNode v = doc.get(key);
    if (v == null || v.isNull()) {
      if (fallback == null) {
        throw new FormatException(what + ": missing \"" + key + "\"");
      }
      return fallback;
    }
    if (!v.isTextual()) {
      throw new FormatException(what + ": \"" + key + "\" must be a string");
    }
    return v.asText();
  }

  private static int integer(JsonNode doc, String key, int fallback, int min, int max, String what) {
    JsonNode v = doc.get(key);
    if (v == null || v.isNull()) {
      if (fallback < min) {
        throw new FormatException(what + ": missing \"" + key + "\"; expected an integer from " + min + " to " + max);
      }
      return fallback;
    }
    if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < min || v.asInt() > max) {
      throw new FormatException(what + ": \"" + key + "\" is " + shorten(v.toString()) + "; expected an integer from "
          + min + " to " + max);
    }
    return v.asInt();
  }

  /**
   * A JSON integer (not 1.5, "5" or true) from {@code min} up to 2^63 - 1; {@code fallback} when missing or null,
   * unless it is below {@code min} (then the key is required).
   */
  private static long longInteger(JsonNode doc, String key, long fallback, long min, String what) {
    JsonNode v = doc.get(key);
    String expected = min == 0 ? "a non-negative integer" : "an integer";
    if (v == null || v.isNull()) {
      if (fallback < min) {
        throw new FormatException(what + ": " + key + " is missing; expected \"" + key + "\": " + expected + " in "
            + (what.equals("snapshot") ? SNAPSHOT_DOC : RUN_DOC) + ".json");
      }
      return fallback;
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min) {
      throw new FormatException(what + ": " + key + " must be " + expected + (v.isIntegralNumber()
          && !v.canConvertToLong() ? " below 2^63" : "") + ", got " + shorten(v.toString()));
    }
    return v.asLong();
  }

  /** A scalar that may be missing or null (NaN then); non-finite values are allowed (a diverged loss). */
  private static double number(JsonNode doc, String key) {
    JsonNode v = doc.get(key);
    if (v == null || v.isNull()) {
      return Double.NaN;
    }
    if (v.isNumber()) {
      return v.asDouble();
    }
    if (v.isTextual() && List.of("NaN", "Infinity", "-Infinity").contains(v.asText())) {
      return Double.parseDouble(v.asText());
    }
    throw new FormatException("snapshot: \"" + key + "\" is " + shorten(v.toString()) + "; expected a number");
  }

  /** {@code s} cut at 40 characters (with "…"), for a value quoted in a one-line error. */
  public static String shorten(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "…" : s;
  }
}
