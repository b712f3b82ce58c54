#!/usr/bin/env python3
"""Train a PyTorch MLP on MNIST and stream it to a splinewatch monitor (./monitor serve).

    python3 clients/python/examples/train_mnist.py --monitor http://127.0.0.1:9464 --run-id torch1 --steps 600

MNIST is read from the four IDX files that ./trainer caches (--data-dir, else $SPLINEWATCH_CACHE/mnist, else
~/.cache/splinewatch/mnist; plain or .gz). Every --snapshot-every steps the network is copied to CPU and queued for
the monitor; the loop stops when the monitor says so (exit code 3), as ./trainer --early-stop stop does. Ctrl-C
ends the run on the monitor (as interrupted, or failed where the monitor does not know that status) and exits with
code 130, after the same summary line as a normal end (snapshots recorded, lost, dropped unsent). --timeout is how
long each request to the monitor may take, its repeats and the resume of the run included (the Monitor's timeout=;
raise it for a busy monitor).
"""

import argparse
import gzip
import math
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _torch_or_debian  # noqa: E402,F401  (re-runs with Debian's python3 where only it has torch)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from splinewatch_client import Monitor, MonitorError, MonitorUnreachableError  # noqa: E402

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def read_idx(path):
    opener = open
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path, opener = path + ".gz", gzip.open
    if not os.path.exists(path):
        raise FileNotFoundError("%s: not found (nor .gz); expected the four MNIST IDX files %s" % (path, ", ".join(FILES)))
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xff
    if magic >> 8 != 0x08 or dims not in (1, 3):
        raise ValueError("%s: not an IDX file of unsigned bytes (magic %#x)" % (path, magic))
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    n = int(np.prod(shape))
    if len(data) != 4 + 4 * dims + n:
        raise ValueError("%s: %d bytes; expected %d for shape %s" % (path, len(data), 4 + 4 * dims + n, shape))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def data_dir(arg):
    if arg:
        return arg
    cache = os.environ.get("SPLINEWATCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "splinewatch")
    return os.path.join(cache, "mnist")


def load(directory):
    tr_x, tr_y, te_x, te_y = (read_idx(os.path.join(directory, f)) for f in FILES)
    flat = lambda x: torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)
    return flat(tr_x), torch.from_numpy(tr_y.astype(np.int64)), flat(te_x), torch.from_numpy(te_y.astype(np.int64))


def augment(x, gen):
    # cheap two-view augmentation for 28x28 digits: a random shift of up to 2 pixels and Gaussian noise
    b = x.shape[0]
    img = x.view(b, 1, 28, 28)
    dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=gen))
    img = torch.roll(img, shifts=(dy, dx), dims=(2, 3))
    return (img.view(b, -1) + 0.05 * torch.randn(x.shape, generator=gen)).clamp(0, 1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--monitor", help="URL of ./monitor serve's HTTP port, e.g. http://127.0.0.1:9464 (required"
                   " unless --no-monitor)")
    p.add_argument("--run-id", help="the run's id on the monitor (required unless --no-monitor)")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--data-dir", help="directory with the four MNIST IDX files (default: the ./trainer cache)")
    p.add_argument("--method", choices=("supervised", "simsiam"), default="supervised")
    p.add_argument("--no-stop-gradient", action="store_true", help="simsiam without stop-gradient (collapses)")
    p.add_argument("--token-file", help="bearer token file (default: $SPLINEWATCH_CONTROL_TOKEN_FILE, else the token in"
                   " $SPLINEWATCH_CONTROL_TOKEN, else runs/control-token)")
    p.add_argument("--snapshot-every", type=int, default=100, help="steps between snapshots (default 100)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--probe-size", type=int, default=1024)
    p.add_argument("--collapse-at", type=int, default=0,
                   help="inject a collapse at this step: every unit of the representation switched off (a test)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="seconds each request to the monitor may take, its repeats included (default 60; more for a"
                        " busy monitor)")
    p.add_argument("--no-monitor", action="store_true", help="train without the client (overhead baseline)")
    a = p.parse_args(argv)
    if a.steps < 1 or a.snapshot_every < 1 or a.batch_size < 1:
        p.error("--steps, --snapshot-every and --batch-size must be at least 1")
    if not (a.timeout > 0 and math.isfinite(a.timeout)):
        p.error("--timeout %s; expected seconds to wait for each answer of the monitor, more than 0" % a.timeout)
    if not a.no_monitor and (not a.monitor or not a.run_id):
        p.error("--monitor URL and --run-id ID are required (or --no-monitor to train without the client)")
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    try:
        tr_x, tr_y, te_x, te_y = load(data_dir(a.data_dir))
    except (OSError, ValueError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2

    encoder = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU())
    if a.method == "supervised":
        head = nn.Linear(256, 10)
        params = list(encoder.parameters()) + list(head.parameters())
    else:
        head = nn.Sequential(nn.Linear(256, 128), nn.BatchNorm1d(128))  # projector: z = BN(W h)
        predictor = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 128))
        params = list(encoder.parameters()) + list(head.parameters()) + list(predictor.parameters())
    opt = torch.optim.Adam(params, lr=a.lr)

    monitor = None
    if not a.no_monitor:
        token_file = a.token_file
        # neither variable set (or empty): the token of a monitor serving --out runs; else the Monitor reads them
        if token_file is None and not (os.environ.get("SPLINEWATCH_CONTROL_TOKEN_FILE")
                                       or os.environ.get("SPLINEWATCH_CONTROL_TOKEN")):
            token_file = os.path.join("runs", "control-token")
        try:
            monitor = Monitor(a.monitor, a.run_id, token_file=token_file, timeout=a.timeout,
                              probes=(te_x[:a.probe_size].numpy(), te_y[:a.probe_size].numpy()), classes=10,
                              labels={"method": a.method, "dataset": "mnist",
                                      "tags": {"framework": "pytorch", "torch": torch.__version__}},
                              classifier=a.method == "supervised", seed=a.seed,
                              settings={"stop_gradient": not a.no_stop_gradient, "predictor": True,
                                        "batch_size": a.batch_size, "learning_rate": a.lr, "max_steps": a.steps,
                                        "snapshot_every": a.snapshot_every, "collapse_at": a.collapse_at})
        except MonitorUnreachableError as e:  # no answer at all: nothing refused the run
            print("error: %s" % e, file=sys.stderr)
            return 1
        except MonitorError as e:
            print("error: the monitor refused the run: %s" % e, file=sys.stderr)
            return 1
        except ValueError as e:  # a --monitor that is no URL, a token file that cannot be read or that others
            # may read: nothing was sent
            print("error: %s" % e, file=sys.stderr)
            return 2  # a usage error, as argparse's
        except OSError as e:  # no answer in time (TimeoutError): the monitor may have registered the run
            print("error: %s" % e, file=sys.stderr)
            return 1
        print("splinewatch run %s streaming to %s (metrics: %s)" % (a.run_id, a.monitor,
                                                                   monitor.registration.get("metrics")))

    def snapshot(step, loss):
        if monitor is None:
            return
        if a.method == "supervised":
            monitor.snapshot(nn.Sequential(encoder, head), step, loss=loss, learning_rate=a.lr)
        else:
            monitor.snapshot(encoder, step, loss=loss, learning_rate=a.lr, projector=head)

    n = tr_x.shape[0]
    start = time.perf_counter()
    step = 0
    loss_value = float("nan")
    stopped = None
    try:
        snapshot(0, None)
        while step < a.steps:
            idx = torch.randint(0, n, (a.batch_size,), generator=gen)
            x = tr_x[idx]
            if a.method == "supervised":
                loss = F.cross_entropy(head(encoder(x)), tr_y[idx])
            else:
                z1, z2 = head(encoder(augment(x, gen))), head(encoder(augment(x, gen)))
                p1, p2 = predictor(z1), predictor(z2)
                t1, t2 = (z1, z2) if a.no_stop_gradient else (z1.detach(), z2.detach())
                loss = -(F.cosine_similarity(p1, t2).mean() + F.cosine_similarity(p2, t1).mean()) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            loss_value = loss.item()
            if a.collapse_at and step == a.collapse_at:
                with torch.no_grad():  # every ReLU of the representation layer off: a dead representation
                    encoder[2].weight.zero_()
                    encoder[2].bias.fill_(-10.0)
            if step % a.snapshot_every == 0 or step == a.steps:
                encoder.eval()
                head.eval()
                snapshot(step, loss_value)
                encoder.train()
                head.train()
            if monitor is not None and monitor.should_stop:
                stopped = monitor.stop_reason
                break
    except KeyboardInterrupt:
        # Ctrl-C: end the run on the monitor (else it stays streaming until its idle timeout and a rerun with this
        # run id is refused), one line, exit code 130 as for SIGINT
        ended = ""
        if monitor is not None:
            ended = "; " + end_run(monitor, "interrupted", "Ctrl-C at step %d" % step, step)[1]
        print("interrupted at step %d%s" % (step, ended), file=sys.stderr)
        summary(monitor, step, time.perf_counter() - start, loss_value)  # it said nothing of the lost snapshots
        return 130
    elapsed = time.perf_counter() - start
    if monitor is not None:
        recorded, outcome = end_run(monitor, "stopped" if stopped else "done", stopped, step)
        if not recorded:
            print("warning: %s" % outcome, file=sys.stderr)
    summary(monitor, step, elapsed, loss_value)
    if stopped:
        print("stopped early at step %d: %s" % (step, stopped))
        return 3
    return 0


def summary(monitor, step, elapsed, loss_value):
    """Prints the run's last line (steps, rate, loss, what became of the snapshots), after a warning naming why
    snapshots were lost, if some were."""
    if monitor is not None and monitor.lost_snapshots:  # every snapshot sent is recorded or lost, with its reason
        print("warning: %d snapshot(s) were not recorded by the monitor (%s)%s" % (
            monitor.lost_snapshots, ", ".join("%d %s" % (n, why) for why, n in monitor.missed.items()),
            "; first error: %s" % monitor.errors[0] if monitor.errors else ""), file=sys.stderr)
    counts = (0, 0, 0)
    if monitor is not None:  # a lost run's snapshots are dropped unsent and counted lost: counted here once, as lost
        counts = (monitor.sent, monitor.lost_snapshots, monitor.dropped - monitor.missed["not sent: the run was lost"])
    rate = step / elapsed if elapsed > 0 else 0.0
    print("steps %d, %.2f steps/s, loss %.4f, snapshots recorded %d, lost %d, dropped unsent %d"
          % ((step, rate, loss_value) + counts))


def end_run(monitor, status, reason, step=None):
    """Finishes the run on the monitor at the loop's ``step``: whether the monitor recorded its end, and how it ended
    there in words."""
    try:
        answer = monitor.close(status, reason, step)
    except (MonitorError, OSError) as e:
        return False, "could not record the end of the run: %s" % e
    if answer.get("lost"):
        return False, answer["message"]
    return True, "run %s ended on the monitor as %s" % (monitor.run_id, answer.get("status", status))


def run(argv=None):
    try:
        return main(argv)
    except KeyboardInterrupt:  # before the loop (loading, registration) or while the run was being finished
        print("interrupted", file=sys.stderr)
        return 130

if __name__ == "__main__":
    sys.exit(run())
