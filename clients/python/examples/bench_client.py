#!/usr/bin/env python3
"""The client's cost to a PyTorch loop, and the monitor's ingestion throughput.

    python3 clients/python/examples/bench_client.py --monitor http://127.0.0.1:9464 [--rounds 3] [--steps 300]

1. Steps/s of train_mnist.py's loop (784-256-256-10 MLP, batch 256) without and with the client, alternated
   --rounds times, at --snapshot-every (default 100, the example's default); prints each pair and the ratio of the
   medians.
2. Ingestion: snapshots of the default 784-256-256 network (the 10-way head included) posted back to back for
   --ingest-seconds; prints snapshots/s and the body size. Each answer comes once the body is parsed and queued
   (analysis is asynchronous, drop-oldest), so this is what the endpoint accepts, not what the analyzers finish.
"""

import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_mnist  # noqa: E402
from splinewatch_client import Monitor, convert, layers_npz  # noqa: E402


def timed(args):
    start = time.perf_counter()
    code = train_mnist.main(args)
    if code not in (0,):
        raise SystemExit("training run failed with exit code %d" % code)
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--monitor", required=True)
    p.add_argument("--token-file")
    p.add_argument("--data-dir")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--snapshot-every", type=int, default=100)
    p.add_argument("--ingest-seconds", type=float, default=20)
    a = p.parse_args()
    common = ["--monitor", a.monitor, "--steps", str(a.steps), "--snapshot-every", str(a.snapshot_every)]
    if a.token_file:
        common += ["--token-file", a.token_file]
    if a.data_dir:
        common += ["--data-dir", a.data_dir]
    without, with_ = [], []
    for r in range(a.rounds):
        t0 = timed(common + ["--run-id", "bench-off-%d" % r, "--no-monitor"])
        t1 = timed(common + ["--run-id", "bench-on-%d-%d" % (r, os.getpid())])
        without.append(a.steps / t0)
        with_.append(a.steps / t1)
        print("round %d: without client %.2f steps/s, with client %.2f steps/s (ratio %.3f)"
              % (r, without[-1], with_[-1], with_[-1] / without[-1]), flush=True)
    print("median steps/s: without %.2f, with %.2f, ratio %.3f (wall time per run, start-up included)"
          % (statistics.median(without), statistics.median(with_),
             statistics.median(with_) / statistics.median(without)))

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    x = torch.rand(1024, 784)
    y = torch.arange(1024) % 10
    token = open(a.token_file).read().strip() if a.token_file else None
    mon = Monitor(a.monitor, "bench-ingest-%d" % os.getpid(), token=token,
                  token_file=None if token else os.path.join("runs", "control-token"),
                  probes=(x.numpy(), y.numpy()), classes=10, labels={"method": "supervised", "dataset": "bench"},
                  classifier=True, queue_size=1)
    body = layers_npz(convert(net), step=0, loss=1.0)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < a.ingest_seconds:
        mon._post("/api/v1/runs/%s/snapshots" % mon.run_id, layers_npz(convert(net), step=n * 100, loss=1.0))
        n += 1
    elapsed = time.perf_counter() - start
    print("ingestion: %d snapshots in %.1f s = %.2f snapshots/s (784-256-256-10, %.2f MB each, one client,"
          " sequential requests; conversion and encoding in the client included)"
          % (n, elapsed, n / elapsed, len(body) / 1e6))
    mon.close("done")


if __name__ == "__main__":
    main()
