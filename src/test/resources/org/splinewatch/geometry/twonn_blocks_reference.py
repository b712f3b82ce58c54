"""numpy reference of the TwoNN block analysis (metrics.md 5.1) for TwoNnBlockTest.blocksMatchTheNumpyReference.

The points and the split come from a 64-bit LCG that the test reproduces exactly, so both sides see the same
doubles; prints the expected (b, floor(n/b), mean, std) rows. Run: python3 twonn_blocks_reference.py
"""
import numpy as np

MASK = (1 << 64) - 1


class Lcg:
    def __init__(self, seed):
        self.s = seed & MASK

    def step(self):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) & MASK
        return self.s

    def next_double(self):
        return (self.step() >> 11) * 2.0 ** -53

    def next_int(self, bound):
        return (self.step() >> 33) % bound


def twonn(x):
    """metrics.md 5.1: r1 = 0 and r1 = r2 dropped, top 10 % of mu discarded, slope through the origin."""
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    s = np.sort(d2, axis=1)
    r1, r2 = s[:, 0], s[:, 1]
    good = (r1 > 0) & (r2 > r1)
    mu = np.sort(np.sqrt(r2[good] / r1[good]))
    n = mu.size
    if n < 20:
        return np.nan
    keep = min(int(np.floor(0.9 * n)), n - 1)
    lx = np.log(mu[:keep])
    ly = -np.log(1 - np.arange(1, keep + 1) / n)
    return (lx * ly).sum() / (lx * lx).sum()


def main(n=600, dim=50, intrinsic=3, blocks=(1, 2, 4, 8, 16, 20, 40), seed=42):
    r = Lcg(seed)
    a = [[r.next_double() for _ in range(intrinsic)] for _ in range(n)]
    q = [[r.next_double() - 0.5 for _ in range(intrinsic)] for _ in range(dim)]
    x = np.empty((n, dim))
    for i in range(n):
        for j in range(dim):
            t = 0.0
            for k in range(intrinsic):
                t += a[i][k] * q[j][k]
            x[i, j] = t
    for b in blocks:
        p = list(range(n))
        for j in range(n - 1, 0, -1):
            k = r.next_int(j + 1)
            p[j], p[k] = p[k], p[j]
        m = n // b
        if m < 20:
            print(b, m, "nan", "nan")
            continue
        ids = np.array([twonn(x[p[k * m:(k + 1) * m]]) for k in range(b)])
        print(b, m, repr(float(ids.mean())), repr(float(ids.std())))


if __name__ == "__main__":
    main()
