#!/usr/bin/env python3
"""The client's cost to a PyTorch loop, and the monitor's ingestion throughput.

    python3 clients/python/examples/bench_client.py --monitor http://127.0.0.1:9464 [--blocks 10]

1. One process trains the example's supervised MLP (784-256-256-10, batch 256, Adam, MNIST) in blocks of
   --snapshot-every steps (default 100, the example's default interval), alternating blocks without and with the
   client (a block with the client ends with monitor.snapshot, as the example does every 100 steps). Alternating
   blocks in one process keeps a busy machine's drifts out of the ratio. Prints the median steps/s of each kind and
   their ratio; registration (sending the probes once) is timed apart.
2. Ingestion: snapshots of that network posted back to back for --ingest-seconds by one client; prints
   snapshots/s. A snapshot is answered once it is parsed and queued (analysis is asynchronous, drop-oldest), so
   this is what the endpoint accepts, not what the analyzers finish.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _torch_or_debian  # noqa: E402,F401  (re-runs with Debian's python3 where only it has torch)

import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_mnist  # noqa: E402
from splinewatch_client import Monitor, convert, layers_npz  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--monitor", required=True)
    p.add_argument("--token-file", default=os.path.join("runs", "control-token"))
    p.add_argument("--data-dir")
    p.add_argument("--blocks", type=int, default=10, help="blocks of each kind (default 10)")
    p.add_argument("--snapshot-every", type=int, default=100)
    p.add_argument("--ingest-seconds", type=float, default=20)
    a = p.parse_args()
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    tr_x, tr_y, te_x, te_y = train_mnist.load(train_mnist.data_dir(a.data_dir))
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t = time.perf_counter()
    mon = Monitor(a.monitor, "bench-client-%d" % os.getpid(), token_file=a.token_file,
                  probes=(te_x[:1024].numpy(), te_y[:1024].numpy()), classes=10,
                  labels={"method": "supervised", "dataset": "mnist", "tags": {"bench": "client"}}, classifier=True,
                  early_stop="warn")
    print("registration (1,024 probes): %.2f s" % (time.perf_counter() - t), flush=True)
    rates = {False: [], True: []}
    step = 0
    for b in range(2 * a.blocks + 1):
        with_client = b % 2 == 1
        start = time.perf_counter()
        for _ in range(a.snapshot_every):
            idx = torch.randint(0, len(tr_x), (256,), generator=gen)
            loss = F.cross_entropy(model(tr_x[idx]), tr_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        if with_client:
            mon.snapshot(model, step, loss=loss.item(), learning_rate=1e-3)
            mon.should_stop
        rate = a.snapshot_every / (time.perf_counter() - start)
        if b > 0:  # the first block warms up
            rates[with_client].append(rate)
            print("block %2d %-14s %.2f steps/s" % (b, "with client" if with_client else "without client", rate),
                  flush=True)
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    print("median steps/s: without client %.2f, with client %.2f, ratio %.3f (%d blocks of %d steps each;"
          " snapshots recorded %d, lost %d, dropped %d)" % (off, on, on / off, a.blocks, a.snapshot_every, mon.sent,
                                                            mon.lost_snapshots, mon.dropped))
    mon.flush(120)
    body = layers_npz(convert(model), step=0, loss=1.0)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < a.ingest_seconds:
        mon._post("/api/v1/runs/%s/snapshots" % mon.run_id, layers_npz(convert(model), step=step + n, loss=1.0))
        n += 1
    elapsed = time.perf_counter() - start
    print("ingestion: %d snapshots in %.1f s = %.2f snapshots/s (784-256-256-10, %.2f MB each, one client,"
          " sequential requests, conversion and encoding in the client included)"
          % (n, elapsed, n / elapsed, len(body) / 1e6))
    print("finish:", mon.close("done"))


if __name__ == "__main__":
    main()
