package org.splinewatch.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The arrays of a checkpoint directory, read without ND4J (so before its backend starts) and without loading the
 * weights: the header of every array file ({@code *.bin} of {@link SameDiffCheckpoint}, the arrays in a supervised
 * {@code model.zip}) checked against the data the file holds, the optimiser's step count, and the layer widths the
 * arrays imply. {@code --resume} checks a checkpoint with it before anything is written: a damaged one falls back to
 * its predecessor ({@link Checkpoints#resolve}), one of other widths is refused ({@code run.ResumeCheck}).
 */
public final class CheckpointFiles {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Allocation modes of ND4J's binary format whose buffer lengths are longs (what 1.0.0-M2.1 writes). */
  private static final List<String> ALLOCATION_MODES = List.of("MIXED_DATA_TYPES", "LONG_SHAPE");
  private static final Map<String, Integer> ELEMENT_BYTES = Map.ofEntries(Map.entry("DOUBLE", 8),
      Map.entry("FLOAT", 4), Map.entry("HALF", 2), Map.entry("BFLOAT16", 2), Map.entry("LONG", 8),
      Map.entry("INT", 4), Map.entry("SHORT", 2), Map.entry("BYTE", 1), Map.entry("UBYTE", 1), Map.entry("BOOL", 1),
      Map.entry("UINT16", 2), Map.entry("UINT32", 4), Map.entry("UINT64", 8));
  private static final int MAX_RANK = 32;
  private static final String ITERATION = "adam-iteration.txt";
  private static final Pattern LAYER = Pattern.compile("g0-(enc|conv)(\\d+)_w\\.bin");

  /**
   * The widths of the network a checkpoint holds: its hidden dense layers (empty: no layer files of this project's
   * trainers, nothing known), the projector's output width (-1 without a projector: supervised), the convolution
   * stages' channels (empty for an MLP) and whether it has a predictor.
   */
  public record Network(List<Integer> hidden, int projectionDim, List<Integer> cnnChannels, boolean predictor) {
    /** Whether the arrays showed a network at all. */
    public boolean known() {
      return !hidden.isEmpty();
    }
  }

  private CheckpointFiles() {
  }

  /**
   * Checks every array file of the checkpoint {@code dir} and returns the widths they imply.
   *
   * @throws IOException one line naming the first file that is missing, damaged or not what a checkpoint writes
   */
  public static Network read(Path dir) throws IOException {
    Map<String, long[]> arrays = new TreeMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.sorted().toList()) {
        String name = f.getFileName().toString();
        if (name.endsWith(".bin")) {
          arrays.put(name, shape(f));
        }
      }
    }
    checkIteration(dir.resolve(ITERATION));
    Path model = dir.resolve("model.zip");
    if (Files.exists(model)) {
      return supervised(model);
    }
    return twoView(dir, arrays);
  }

  /** The shape of one array file written by {@code Nd4j.saveBinary}, with the file checked to hold exactly its data. */
  static long[] shape(Path f) throws IOException {
    try (InputStream in = Files.newInputStream(f)) {
      return shape(in);
    } catch (IOException | RuntimeException e) {
      throw damaged(f.toString(), Files.isRegularFile(f) ? Files.size(f) : 0, e);
    }
  }

  /**
   * Reads ND4J's binary format (1.0.0-M2.1): the shape-information buffer, then the data buffer, each an allocation
   * mode, a length, a data type and the elements; nothing may follow.
   */
  static long[] shape(InputStream raw) throws IOException {
    DataInputStream in = new DataInputStream(new BufferedInputStream(raw));
    long[] info = buffer(in, "shape information");
    if (info.length < 4 || info[0] < 0 || info[0] > MAX_RANK || info.length != 2 * info[0] + 4) {
      throw new IOException("shape information of " + info.length + " values is not that of an array");
    }
    long[] shape = Arrays.copyOfRange(info, 1, 1 + (int) info[0]);
    long elements = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IOException("negative dimension in shape " + Arrays.toString(shape));
      }
      elements = Math.multiplyExact(elements, d);
    }
    long length = header(in, "data");
    if (length != elements) {
      throw new IOException("shape " + Arrays.toString(shape) + " has " + elements + " elements, the data " + length);
    }
    in.skipNBytes(Math.multiplyExact(length, elementBytes(in.readUTF())));
    if (in.read() != -1) {
      throw new IOException("bytes after the array's data");
    }
    return shape;
  }

  /** A buffer of longs (the shape information). */
  private static long[] buffer(DataInputStream in, String what) throws IOException {
    long length = header(in, what);
    String type = in.readUTF();
    if (!type.equals("LONG") || length > 2 * MAX_RANK + 4) {
      throw new IOException(what + " buffer of " + length + " " + type + " values");
    }
    long[] values = new long[(int) length];
    for (int i = 0; i < values.length; i++) {
      values[i] = in.readLong();
    }
    return values;
  }

  /** A buffer's allocation mode and length. */
  private static long header(DataInputStream in, String what) throws IOException {
    String mode = in.readUTF();
    if (!ALLOCATION_MODES.contains(mode)) {
      throw new IOException(what + " buffer has allocation mode '" + mode + "'");
    }
    long length = in.readLong();
    if (length < 0) {
      throw new IOException(what + " buffer of negative length " + length);
    }
    return length;
  }

  private static int elementBytes(String type) throws IOException {
    Integer bytes = ELEMENT_BYTES.get(type);
    if (bytes == null) {
      throw new IOException("data type '" + type + "'");
    }
    return bytes;
  }

  private static IOException damaged(String file, long size, Throwable e) {
    String why = e instanceof EOFException ? "it ends early"
        : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return new IOException(file + " (" + size + " bytes) is not a readable ND4J array file (" + why + "); expected"
        + " the file a checkpoint writes: this checkpoint is damaged", e);
  }

  /** Adam's step count, when the checkpoint has the optimiser's state. */
  private static void checkIteration(Path f) throws IOException {
    if (!Files.exists(f)) {
      return;
    }
    String text = Files.readString(f).trim();
    try {
      if (Integer.parseInt(text) >= 0) {
        return;
      }
    } catch (NumberFormatException e) {
      // named below
    }
    throw new IOException(f + " holds '" + (text.length() > 20 ? text.substring(0, 20) + "..." : text) + "'; expected"
        + " the optimiser's step count, a whole number: this checkpoint is damaged");
  }

  /** The widths of SameDiff's variables {@code g0-enc<i>_w} ([in, out]), {@code conv<i>_w} ([kH, kW, in, out]), ... */
  private static Network twoView(Path dir, Map<String, long[]> arrays) throws IOException {
    Map<String, TreeMap<Integer, Integer>> layers = Map.of("enc", new TreeMap<>(), "conv", new TreeMap<>());
    for (var e : arrays.entrySet()) {
      Matcher m = LAYER.matcher(e.getKey());
      if (m.matches()) {
        long[] s = e.getValue();
        layers.get(m.group(1)).put(Integer.parseInt(m.group(2)), (int) s[s.length - 1]);
      }
    }
    for (String name : arrays.keySet()) {
      String pair = name.endsWith("_w.bin") ? name.replace("_w.bin", "_b.bin")
          : name.endsWith("_b.bin") ? name.replace("_b.bin", "_w.bin") : null;
      if (name.startsWith("g") && pair != null && !arrays.containsKey(pair)) {
        throw new IOException(dir.resolve(pair) + " missing (" + name + " is there); expected every layer's weights"
            + " and bias: this checkpoint is incomplete");
      }
      // Adam's moments of every trained variable, when the checkpoint has the optimiser's state
      if (name.startsWith("g0-") && Files.exists(dir.resolve(ITERATION))) {
        String variable = name.substring(3, name.length() - 4);
        for (String moment : List.of("M", "V")) {
          if (!arrays.containsKey("adam-" + variable + "-" + moment + ".bin")) {
            throw new IOException(dir.resolve("adam-" + variable + "-" + moment + ".bin") + " missing; expected the"
                + " optimiser's state of " + variable + ": this checkpoint is incomplete");
          }
        }
      }
    }
    long[] proj = arrays.get("g0-proj_w.bin");
    return new Network(consecutive(dir, "g0-enc", layers.get("enc")), proj == null ? -1 : (int) proj[proj.length - 1],
        consecutive(dir, "g0-conv", layers.get("conv")), arrays.containsKey("g0-pred0_w.bin"));
  }

  /** Widths by layer index, which must run 0, 1, 2, ... */
  private static List<Integer> consecutive(Path dir, String prefix, TreeMap<Integer, Integer> byIndex)
      throws IOException {
    List<Integer> widths = new ArrayList<>();
    for (var e : byIndex.entrySet()) {
      if (e.getKey() != widths.size()) {
        throw new IOException(dir.resolve(prefix + widths.size() + "_w.bin") + " missing (" + prefix + e.getKey()
            + "_w.bin is there); expected every layer's weights: this checkpoint is incomplete");
      }
      widths.add(e.getValue());
    }
    return widths;
  }

  /**
   * A DL4J {@code model.zip}: its configuration's layer widths ({@code nOut} of the convolution and dense layers, not
   * the output layer) and its arrays checked like the files of {@link #shape(Path)}.
   */
  private static Network supervised(Path model) throws IOException {
    try (ZipFile zip = new ZipFile(model.toFile())) {
      ZipEntry conf = zip.getEntry("configuration.json");
      ZipEntry coefficients = zip.getEntry("coefficients.bin");
      if (conf == null || coefficients == null) {
        throw new IOException("no " + (conf == null ? "configuration.json" : "coefficients.bin") + " in it");
      }
      for (ZipEntry e : List.of(coefficients, zip.getEntry("updaterState.bin"))) {
        if (e == null) {
          continue;
        }
        try (InputStream in = zip.getInputStream(e)) {
          shape(in);
        } catch (IOException | RuntimeException ex) {
          throw damaged(model + " entry " + e.getName(), e.getSize(), ex);
        }
      }
      List<Integer> hidden = new ArrayList<>();
      List<Integer> channels = new ArrayList<>();
      JsonNode root;
      try (InputStream in = zip.getInputStream(conf)) {
        root = JSON.readTree(in);
      }
      for (JsonNode c : root.path("confs")) {
        JsonNode layer = c.path("layer");
        String kind = layer.path("@class").asText();
        if (kind.endsWith(".ConvolutionLayer")) {
          channels.add(layer.path("nout").asInt());
        } else if (kind.endsWith(".DenseLayer")) {
          hidden.add(layer.path("nout").asInt());
        }
      }
      if (hidden.isEmpty()) {
        throw new IOException("its configuration.json names no dense layer");
      }
      return new Network(hidden, -1, channels, false);
    } catch (IOException | RuntimeException e) {
      if (e.getMessage() != null && e.getMessage().startsWith(model.toString())) {
        throw e;
      }
      throw new IOException(model + " (" + Files.size(model) + " bytes) is not a readable model file ("
          + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse(""))
          + "); expected the model.zip a supervised checkpoint writes: this checkpoint is damaged", e);
    }
  }
}
