package org.splinewatch.trainer;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The self-supervised losses as SameDiff graphs over two views' embeddings ({@code n × d}, rows = samples), written as
 * in the methods' reference implementations.
 */
final class SslLosses {
  /** Added to norms and variances for numerical safety. */
  static final double EPS = 1e-8;

  private SslLosses() {
  }

  /**
   * Rows divided by their l2 norm, computed as {@code sqrt(Σ z² + ε²)}: a zero row stays zero and, unlike
   * {@code z / (‖z‖ + ε)}, has a finite gradient. ND4J's {@code norm2} back-propagates {@code z / ‖z‖}, which is
   * {@code 0/0 = NaN} on a zero row; one zero row of a predictor output or target made every gradient, then every
   * weight, NaN on the first step (SslLossesTest).
   */
  static SDVariable normalize(SDVariable z) {
    SDVariable squared = z.mul(z).sum(true, 1).add(EPS * EPS);
    return z.div(z.getSameDiff().math().sqrt(squared));
  }

  /**
   * SimCLR's NT-Xent (Chen et al. 2020): with {@code 2n} normalised embeddings and {@code s_ij = ⟨ẑ_i, ẑ_j⟩/τ}, the
   * diagonal masked out, {@code −(1/2n) Σ_i log softmax_j(s_ij)[pos(i)]}, {@code pos(i)} the other view.
   */
  static SDVariable ntXent(SameDiff sd, SDVariable z1, SDVariable z2, int n, double temperature) {
    SDVariable zn = normalize(sd.concat(0, z1, z2));
    int n2 = 2 * n;
    INDArray diag = Nd4j.eye(n2).castTo(DataType.FLOAT).muli(1e9);
    INDArray pos = Nd4j.zeros(DataType.FLOAT, n2, n2);
    for (int i = 0; i < n; i++) {
      pos.putScalar(i, i + n, 1f);
      pos.putScalar(i + n, i, 1f);
    }
    SDVariable sim = zn.mmul(zn.permute(1, 0)).div(temperature).sub(sd.constant(diag));
    // log-softmax over rows, shifted by the row maximum: logp = sim − m − log Σ_j exp(sim_j − m)
    SDVariable shifted = sim.sub(sim.max(true, 1));
    SDVariable logp = shifted.sub(sd.math.log(sd.math.exp(shifted).sum(true, 1)));
    return logp.mul(sd.constant(pos)).sum().neg().div(n2);
  }

  /**
   * Batch normalisation without affine parameters, in training mode: each column centred and scaled by its batch
   * standard deviation (biased, {@code ε = 1e-5}), as SimSiam's projector output layer.
   */
  static SDVariable batchStandardize(SameDiff sd, SDVariable z) {
    SDVariable c = z.sub(z.mean(true, 0));
    return c.div(sd.math.sqrt(c.mul(c).mean(true, 0).add(1e-5)));
  }

  /** Mean cosine similarity of matching rows, negated (SimSiam's {@code D(p, z)}). */
  static SDVariable negativeCosine(SDVariable p, SDVariable t) {
    return normalize(p).mul(normalize(t)).sum(1).mean().neg();
  }

  /** BYOL's loss for one direction: {@code mean_i ‖p̂_i − t̂_i‖² = 2 − 2·cos(p_i, t_i)}. */
  static SDVariable byol(SDVariable p, SDVariable t) {
    return negativeCosine(p, t).mul(2).add(2);
  }

  /**
   * VICReg (Bardes et al. 2022, reference implementation): {@code λ·mse(z1, z2)} (mean over all entries)
   * {@code + μ·(mean_j relu(1 − std_j(z1)) + mean_j relu(1 − std_j(z2)))/2} with {@code std = sqrt(var + 1e-4)}
   * (unbiased) {@code + ν·(Σ_{i≠j} C(z1)_ij² + Σ_{i≠j} C(z2)_ij²)/d}, {@code C} the unbiased covariance.
   */
  static SDVariable vicreg(SameDiff sd, SDVariable z1, SDVariable z2, int n, int d, double inv, double var,
      double cov) {
    SDVariable[] t = vicregTerms(sd, z1, z2, n, d);
    return t[0].mul(inv).add(t[1].mul(var)).add(t[2].mul(cov));
  }

  /** As above with coefficients that are graph scalars (switched by {@code --ablate-from}). */
  static SDVariable vicreg(SameDiff sd, SDVariable z1, SDVariable z2, int n, int d, SDVariable inv, SDVariable var,
      SDVariable cov) {
    SDVariable[] t = vicregTerms(sd, z1, z2, n, d);
    return t[0].mul(inv).add(t[1].mul(var)).add(t[2].mul(cov));
  }

  /** VICReg's invariance, variance (mean of the two views) and covariance (sum of the two) terms, uncoefficiented. */
  private static SDVariable[] vicregTerms(SameDiff sd, SDVariable z1, SDVariable z2, int n, int d) {
    SDVariable diff = z1.sub(z2);
    SDVariable invariance = diff.mul(diff).mean();
    SDVariable offDiagonal = sd.constant(Nd4j.ones(DataType.FLOAT, d, d).subi(Nd4j.eye(d).castTo(DataType.FLOAT)));
    SDVariable[] variance = new SDVariable[2];
    SDVariable[] covariance = new SDVariable[2];
    SDVariable[] zs = {z1, z2};
    for (int k = 0; k < 2; k++) {
      SDVariable c = zs[k].sub(zs[k].mean(true, 0));
      SDVariable v = c.mul(c).sum(0).div(n - 1);
      SDVariable std = sd.math.sqrt(v.add(1e-4));
      variance[k] = sd.nn.relu(std.rsub(1), 0).mean();
      SDVariable cm = c.permute(1, 0).mmul(c).div(n - 1).mul(offDiagonal);
      covariance[k] = cm.mul(cm).sum().div(d);
    }
    return new SDVariable[] {invariance, variance[0].add(variance[1]).div(2), covariance[0].add(covariance[1])};
  }
}
