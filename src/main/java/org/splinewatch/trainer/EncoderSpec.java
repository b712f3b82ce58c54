package org.splinewatch.trainer;

import java.util.List;

/**
 * The encoder of the self-supervised trainers: {@code mlp} (dense {@code hidden} layers) or {@code cnn} (a 3×3
 * convolution + ReLU + 2×2 average pooling per entry of {@code channels}, then the dense {@code hidden} layers).
 */
public record EncoderSpec(String kind, int[] channels, int[] hidden) {
  public static final List<String> KINDS = List.of("mlp", "cnn");

  public EncoderSpec {
    if (!KINDS.contains(kind)) {
      throw new IllegalArgumentException("unknown encoder '" + kind + "'; expected one of: mlp, cnn");
    }
  }

  public static EncoderSpec mlp(int... hidden) {
    return new EncoderSpec("mlp", new int[0], hidden);
  }
}
