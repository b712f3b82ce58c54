"""Writes a converted PyTorch network (as a snapshot body and as a region file) and PyTorch's own outputs and
activation signs on random inputs, for the Java side to check that the monitor computes the same network
(PyTorchClientTest). Usage: export_fixture.py OUT_DIR"""

import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from splinewatch_client import convert, encode_npz, layers_npz, regions_npz  # noqa: E402
from test_convert import cnn  # noqa: E402


def main(out):
    model = cnn()
    x = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    pre = []
    for m in model:
        if isinstance(m, (nn.ReLU, nn.LeakyReLU)):
            m.register_forward_hook(lambda mod, inp, o: pre.append(inp[0].reshape(len(x), -1).numpy().copy()))
    with torch.no_grad():
        y = model(x).numpy()
    with open(os.path.join(out, "snapshot.npz"), "wb") as f:
        f.write(layers_npz(convert(model), step=5, loss=0.25))
    with open(os.path.join(out, "regions.npz"), "wb") as f:  # the plane through the first three inputs
        f.write(regions_npz(convert(model), anchors=x[:3].numpy()))
    with open(os.path.join(out, "expected.npz"), "wb") as f:
        f.write(encode_npz({"inputs": x.numpy(), "outputs": y, "pre": np.concatenate(pre, axis=1)}, {}))


if __name__ == "__main__":
    main(sys.argv[1])
