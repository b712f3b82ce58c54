"""The Monitor against a small in-process stand-in for the ingestion API (no ./monitor serve needed): closing twice,
close()'s time bound, timed-out snapshots, a run the monitor no longer knows (resumed with its resume key, or lost
where the monitor answered none), Ctrl-C in the example.

The stand-in answers as IngestRoutes does: 401 for another token, 201 for a registration (with a resume key when
``key`` is set, and ``resumed`` for a registration that sends it back), 202 for snapshots and finish, 404 "unknown
run" once a run is finished or the monitor "restarted", 400 for a finish status other than done, stopped or failed.
"""

import contextlib
import http.server
import importlib
import io
import json
import os
import pickle
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import unittest.mock
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from splinewatch_client import Monitor, MonitorError  # noqa: E402
from splinewatch_client import monitor as monitor_module  # noqa: E402

try:
    import torch  # noqa: F401
except ImportError:
    torch = None

# why a snapshot still in flight when a Ctrl-C cut close() short is counted lost
INTERRUPTED = "in flight when Ctrl-C interrupted close() (the monitor may still have taken it)"
LAYERS = [{"type": "dense", "weight": np.ones((4, 2), "<f4"), "bias": np.zeros(2, "<f4")}]


class FakeMonitor:
    """Records requests; ``known`` False answers 404 as after a restart; ``hang`` holds answers to those paths."""

    def __init__(self, statuses=("done", "stopped", "failed"), port=0):
        self.requests = []
        self.known = set()
        self.token = "t"
        self.statuses = statuses
        self.hang = ()
        self.busy = 0
        self.refuse = None  # a JSON document: snapshots are refused with 400 and it (as for NaN weights)
        self.warnings = []  # lines of the next accepted snapshot's answer (float64 values float32 rounds to 0)
        self.registration_warnings = []  # lines of the registration's answer
        self.gone = set()  # runs the monitor ended after its idle timeout: answered 410
        self.page = None  # (status, content type, body): every request is answered with it (another server)
        self.max_snapshot_bytes = None  # announced in the registration answer, as ./monitor serve does
        # how long a registration may take on this monitor, announced in the registration answer (None: an older
        # monitor, which announces none)
        self.max_registration_seconds = None
        self.cut = None  # a body declared longer is answered 413 unread and the connection closed, as IngestRoutes
        self.key = None  # the resume key answered to registrations (None: an older monitor, which answers none)
        # whether the run directory holds the run: the first registration (with a key) is a new run, which keeps the
        # client's resume key as the monitor does; later ones resume it
        self.holds = False
        # answers to the next registrations, in order: (status, recorded), as ``finish_failures``
        self.register_failures = []
        self.last_step = None  # what a resumed registration is told the run directory holds
        self.resume_refusal = None  # (status, line): registrations that resume the run are refused with it
        self.registrations = []  # run.json of each registration, when the fake answers resume keys
        self.finish_keys = None  # the keys a finish request may have (None: any), as an older monitor refuses others
        # answers to the next snapshots, in order: (status, line, headers, recorded); recorded: the monitor took the
        # snapshot all the same (a 500 after its ask timed out, the message handled later); status None: the
        # connection reset after the body was read
        self.failures = []
        # answers to the next finish requests, in order: (status, recorded), as ``failures``; a run whose finish was
        # recorded is answered 409 "has finished" from then on, as FinishedRuns does
        self.finish_failures = []
        self.finished = set()
        self.forward_only = False  # a snapshot of a step already taken is answered 409, as IngestedRun does
        self.taken = []  # steps of the snapshots the run took
        self.release = threading.Event()
        # a monitor slow to answer: path suffix -> seconds each request to it waits before it is handled (a number),
        # or a list of such waits, one per request in order (none left: no wait)
        self.slow = {}
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                if fake.cut is not None and int(self.headers.get("Content-Length", 0)) > fake.cut:
                    self.close_connection = True
                    return self.answer(413, "registration body is over the limit")
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests.append((self.path, body))
                if fake.page is not None:
                    return self.answer(fake.page[0], fake.page[2], {"Content-Type": fake.page[1]})
                if not self.path.startswith("/api/v1/runs"):  # Pekko's answer for a path no route takes
                    return self.answer(404, "The requested resource could not be found.")
                if self.headers.get("Authorization") != "Bearer " + fake.token:
                    return self.answer(401, "missing or wrong bearer token; expected Authorization: Bearer <token>")
                if any(self.path.endswith(h) for h in fake.hang):
                    fake.release.wait(30)
                for suffix, wait in fake.slow.items():
                    if self.path.endswith(suffix):
                        wait = wait if not isinstance(wait, list) else wait.pop(0) if wait else 0
                        fake.release.wait(wait)
                parts = self.path.strip("/").split("/")  # api v1 runs [id kind]
                if len(parts) == 3:
                    resume = None
                    if fake.key is not None:
                        doc = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("run.json"))
                        fake.registrations.append(doc)
                        resume = doc.get("resume_key")
                        if not fake.holds:  # a new run
                            fake.holds = True
                            fake.key = resume or fake.key
                            resume = None
                        elif resume is not None and fake.resume_refusal is not None:
                            if "already streaming" in fake.resume_refusal[1]:
                                fake.known.add("r1")  # an earlier resume, unanswered in time, took the run back
                            return self.answer(*fake.resume_refusal)
                        if resume not in (None, fake.key):
                            return self.answer(409, "run 'r1' was registered with another resume_key")
                    fake.known.add("r1")
                    if fake.register_failures:
                        failure, recorded = fake.register_failures.pop(0)
                        if not recorded:
                            fake.known.discard("r1")
                            if resume is None:  # a refused resume leaves the run in its directory
                                fake.holds = False
                        if failure is None:
                            return self.reset()
                        return self.answer(failure, "the monitor could not handle the request")
                    answer = {"run": "r1", "metrics": "http://x/metrics"}
                    if fake.key is not None:
                        answer.update(resume_key=fake.key, resumed=resume is not None,
                                      last_step=fake.last_step if resume is not None else None)
                    if fake.max_snapshot_bytes is not None:
                        answer["max_snapshot_bytes"] = fake.max_snapshot_bytes
                    if fake.max_registration_seconds is not None:
                        answer["max_registration_seconds"] = fake.max_registration_seconds
                    if fake.registration_warnings:
                        answer["warnings"] = fake.registration_warnings
                    return self.answer(201, answer)
                run, kind = parts[3], parts[4]
                if run in fake.gone:
                    return self.answer(410, "run '%s' was ended by this monitor (no snapshot or finish request for"
                                            " 16 s (splinewatch.ingest.idle-timeout)); it takes no more snapshots"
                                            " until it is registered again with its resume_key (the Python client"
                                            " does so), or register a new run with another run id to send more"
                                            % run)
                if run in fake.finished:
                    return self.answer(409, "run '%s' has finished (or is finishing) on this monitor; expected"
                                            " snapshots and finish requests only between registration and finish:"
                                            " register a new run with another run id to send more" % run)
                if run not in fake.known:
                    return self.answer(404, "unknown run '%s'; register it first with POST /api/v1/runs (runs"
                                            " streaming here: none)" % run)
                if kind == "snapshots" and fake.busy > 0:
                    fake.busy -= 1  # the monitor holds too many bodies: come back in a moment
                    return self.answer(503, "this monitor holds too many request bodies; retry", {"Retry-After": "0"})
                if kind == "snapshots" and fake.refuse is not None:
                    return self.answer(400, fake.refuse)
                step = (json.loads(zipfile.ZipFile(io.BytesIO(body)).read("snapshot.json"))["step"]
                        if kind == "snapshots" else None)
                if kind == "snapshots" and fake.forward_only and fake.taken and step <= fake.taken[-1]:
                    return self.answer(409, "snapshot of step %d: run '%s' has already received step %d; expected a"
                                            " step after %d (steps only go forward)"
                                       % (step, run, fake.taken[-1], fake.taken[-1]))
                if kind == "snapshots" and fake.failures:
                    status, line, headers, recorded = fake.failures.pop(0)
                    if recorded:
                        fake.taken.append(step)
                    if status is None:  # killed mid-request: the client sees "Connection reset by peer"
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.close_connection = True
                        self.connection.close()
                        return
                    return self.answer(status, line, headers)
                if kind == "snapshots":
                    fake.taken.append(step)
                    doc = {"stop": False, "reason": None, "alerts": [], "step": 0}
                    if fake.warnings:
                        doc["warnings"], fake.warnings = fake.warnings, []
                    return self.answer(202, doc)
                said = json.loads(body or b"{}")
                extra = sorted(set(said) - set(fake.finish_keys or said))
                if extra:
                    return self.answer(400, "finish request has the key '%s'; expected only status and reason"
                                       % extra[0])
                status = said.get("status", "done")
                if status not in fake.statuses:
                    return self.answer(400, "finish status '%s'; expected done, stopped or failed" % status)
                fake.known.discard(run)
                if fake.finish_failures:
                    failure, recorded = fake.finish_failures.pop(0)
                    if recorded:
                        fake.finished.add(run)
                    else:
                        fake.known.add(run)
                    if failure is None:
                        return self.reset()
                    return self.answer(failure, "the monitor could not handle the request")
                return self.answer(202, {"stop": False, "run": run, "status": status, "finishing": True})

            def reset(self):
                """Closes the connection without an answer: the client sees "Connection reset by peer"."""
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def answer(self, code, doc, headers=None):
                text = (json.dumps(doc) if isinstance(doc, dict) else doc) + "\n"
                data = text.encode()
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self, kind):
        return [p for p, _ in self.requests if p.endswith("/" + kind)]

    def paths_bodies(self, kind):
        return [b for p, b in self.requests if p.endswith("/" + kind)]

    def finishes(self):
        return [json.loads(b) for p, b in self.requests if p.endswith("/finish")]

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


_TOKEN_VARIABLES = ("SPLINEWATCH_CONTROL_TOKEN_FILE", "SPLINEWATCH_CONTROL_TOKEN")
_saved_environment = {}


def setUpModule():
    # the tests (and the examples they start) choose the token sources themselves: a deployment's variable exported
    # where they run would be taken before the token they set
    for name in _TOKEN_VARIABLES:
        if name in os.environ:
            _saved_environment[name] = os.environ.pop(name)


def tearDownModule():
    os.environ.update(_saved_environment)


@contextlib.contextmanager
def environment(**values):
    """os.environ with ``values`` set (None: unset) within the block, as it was after it."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        _set_environment(values)
        yield
    finally:
        _set_environment(saved)


def _set_environment(values):
    """Sets each variable of ``values`` in os.environ, or unsets it where its value is None."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def token_file_holding(directory, token):
    """``directory``/control-token holding ``token``, owner-only as ./monitor serve writes it (the client refuses a
    token file that others may read)."""
    path = os.path.join(directory, "control-token")
    with open(path, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)
    return path


class MonitorTest(unittest.TestCase):
    def setUp(self):
        self.fake = FakeMonitor()
        self.addCleanup(self.fake.stop)

    def monitor(self, **kw):
        return Monitor(self.fake.url, "r1", token="t", probes=(np.zeros((20, 4)), np.arange(20) % 2), classes=2,
                       **kw)

    def test_a_queue_size_below_1_is_a_value_error_before_anything_is_sent(self):
        # it was taken as 1 without a word: queue_size=0 (meant as "no queue" or "unbounded") dropped snapshots
        for size in (0, -3, 2.5, "2"):
            with self.assertRaises(ValueError) as e:
                self.monitor(queue_size=size)
            self.assertIn("queue_size=%r; expected a whole number of snapshots, 1 or more" % (size,), str(e.exception))
        self.assertEqual(self.fake.requests, [])

    def test_a_url_without_http_is_a_value_error_before_anything_is_sent(self):
        with self.assertRaises(ValueError) as e:
            Monitor(self.fake.url[len("http://"):], "r1", token="t", probes=(np.zeros((20, 4)), np.arange(20) % 2))
        self.assertIn("is not an http:// URL; expected the monitor's HTTP address, e.g. http://127.0.0.1:9464",
                      str(e.exception))
        self.assertEqual(self.fake.requests, [])

    def test_a_snapshot_after_close_names_the_run_and_sends_nothing(self):
        m = self.monitor()
        m.close()
        with self.assertRaises(RuntimeError) as e:
            m.snapshot_layers(LAYERS, 2)
        self.assertIn("run 'r1' is closed: close() ended it on the monitor", str(e.exception))
        self.assertEqual(self.fake.paths("snapshots"), [])

    def test_close_twice_returns_the_first_answer_and_finishes_once(self):
        m = self.monitor()
        m.snapshot_layers(LAYERS, 1)
        first = m.close()
        self.assertEqual((first["status"], first["finishing"]), ("done", True))
        self.assertIs(m.close(), first)
        self.assertIs(m.close("failed", "again"), first)
        with self.monitor() as m2:  # the context manager's exit after an explicit close
            m2.close("stopped", "enough")
        self.assertEqual([f["status"] for f in self.fake.finishes()], ["done", "stopped"])

    def test_loss_learning_rate_and_step_are_read_on_the_calling_thread(self):
        # numpy and torch scalars and one-element arrays are numbers; anything else is a ValueError at once, not a
        # snapshot lost later on the sending thread (numpy 2 refuses float() of a one-element array)
        m = self.monitor()
        m.snapshot_layers(LAYERS, np.int64(1), loss=np.array([0.5]), learning_rate=np.float32(0.25))
        if torch is not None:
            m.snapshot_layers(LAYERS, torch.tensor(2), loss=torch.tensor([0.75], requires_grad=True) * 1,
                              learning_rate=torch.tensor(0.125))
        for kwargs, message in (({"loss": np.array([0.5, 0.25])}, "loss has shape (2,); expected a number"),
                                ({"learning_rate": "0.1"}, "learning_rate is '0.1'; expected a number"),
                                ({"step": 3.5}, "step is 3.5; expected a whole number"),
                                ({"epoch": np.float64(0.5)}, "epoch is 0.5; expected a whole number")):
            with self.assertRaises(ValueError) as e:
                m.snapshot_layers(LAYERS, **dict({"step": 3}, **kwargs))
            self.assertIn(message, str(e.exception))
        self.assertTrue(m.flush(5))
        m.close()
        self.assertEqual(m.errors, [])
        docs = [json.loads(zipfile.ZipFile(io.BytesIO(b)).read("snapshot.json")) for p, b in self.fake.requests
                if p.endswith("/snapshots")]
        self.assertEqual([(d["step"], d["loss"], d["learning_rate"]) for d in docs],
                         [(1, 0.5, 0.25)] + ([(2, 0.75, 0.125)] if torch is not None else []))

    def test_a_step_that_does_not_go_forward_is_a_value_error_before_anything_is_queued(self):
        # the batch index within an epoch passed as the step: the monitor refuses every snapshot of the second epoch
        # (409), which the loop heard of once, on stderr, while it trained on
        m = self.monitor(queue_size=4)
        m.snapshot_layers(LAYERS, 0)
        m.snapshot_layers(LAYERS, 4, epoch=0)
        for step in (4, 0):
            with self.assertRaises(ValueError) as e:
                m.snapshot_layers(LAYERS, step, epoch=1)
            self.assertIn("step %d is not after step 4, which run 'r1' has already queued; expected steps that only go"
                          " forward (a count of steps over all epochs, not the batch index within one)" % step,
                          str(e.exception))
        if torch is not None:  # snapshot() says it before the network is copied
            with self.assertRaises(ValueError) as e:
                m.snapshot(torch.nn.Sequential(torch.nn.Linear(4, 2)), 2)
            self.assertIn("step 2 is not after step 4", str(e.exception))
        with self.assertRaises(ValueError) as e:
            m.snapshot_layers(LAYERS, -1)
        self.assertIn("step -1 is not after step 4", str(e.exception))
        m.snapshot_layers(LAYERS, 5)
        m.close()
        self.assertEqual((self.steps(), m.errors, m.dropped), ([0, 4, 5], [], 0))

    def test_a_busy_monitor_is_retried_after_its_retry_after(self):
        m = self.monitor()
        self.fake.busy = 2  # two 503s with Retry-After, then the snapshot is taken
        m.snapshot_layers(LAYERS, 1)
        m.close()
        self.assertEqual(len(self.fake.paths("snapshots")), 3)
        self.assertEqual((m.sent, m.errors), (1, []))

    # the answers ./monitor serve may give a snapshot that it did not (or may not) have recorded, after which sending it
    # again is sound: a 500 after the run's actor did not answer within 10 s (its ask timed out; the snapshot may
    # still be handled), Pekko's 503 after its request-timeout, a 408 for a stalled body, a reset connection
    ASK_TIMEOUT = ("the monitor could not handle the request: org.apache.pekko.pattern.AskTimeoutException: Ask timed"
                   " out on [Actor[pekko://splinewatch/user/ingest#1]] after [10000 ms]")

    def test_a_snapshot_answered_500_is_sent_again_and_recorded(self):
        # it was counted neither recorded (sent) nor lost: only an entry in errors, and close() did not name it
        self.fake.failures = [(500, self.ASK_TIMEOUT, None, False)]
        m = self.monitor()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            started = time.monotonic()
            m.snapshot_layers(LAYERS, 1)
            self.assertLess(time.monotonic() - started, 0.5)  # the training loop does not wait for the retry
            m.close()
        self.assertEqual(self.steps(), [1, 1])
        self.assertEqual((m.sent, m.lost_snapshots, m.errors, dict(m.missed)), (1, 0, [], {}))
        self.assertEqual(err.getvalue(), "")

    def test_a_500_for_a_snapshot_the_monitor_recorded_after_all_is_counted_recorded(self):
        # the run's actor handled the snapshot after the ask timed out: sent again, it is answered 409 "already
        # received step 1", which is this very snapshot recorded, not a refusal
        self.fake.forward_only = True
        self.fake.failures = [(500, self.ASK_TIMEOUT, None, True)]
        m = self.monitor()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(10))
            m.snapshot_layers(LAYERS, 2)
            m.close()
        self.assertEqual(self.steps(), [1, 1, 2])
        self.assertEqual(self.fake.taken, [1, 2])
        self.assertEqual((m.sent, m.lost_snapshots, m.errors), (2, 0, []))
        self.assertEqual(err.getvalue(), "")

    def test_a_reset_connection_and_a_503_without_retry_after_are_sent_again(self):
        self.fake.failures = [(None, None, None, False), (503, "The server was not able to produce a timely response"
                                                                " to your request. Please try again in a short while!",
                                                          None, False)]
        m = self.monitor()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(10))  # sent again after 0.5 s, then 1 s
            m.close()
        self.assertEqual(self.steps(), [1, 1, 1])
        self.assertEqual((m.sent, m.lost_snapshots, m.errors), (1, 0, []))
        self.assertEqual(err.getvalue(), "")

    def test_a_finish_request_whose_connection_was_reset_is_sent_again(self):
        # seen on a loaded machine: ./monitor serve reset the finish request's connection, and the run stayed open
        # there until its idle timeout. Not recorded: the repeat ends the run
        self.fake.finish_failures = [(None, False)]
        m = self.monitor()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            answer = m.close("stopped", "KeyboardInterrupt")
        self.assertEqual([f["status"] for f in self.fake.finishes()], ["stopped", "stopped"])
        self.assertEqual((answer["status"], answer.get("lost")), ("stopped", None))
        self.assertEqual(err.getvalue(), "")

    def test_a_finish_recorded_before_its_connection_was_reset_counts_as_recorded_at_the_repeats_409(self):
        # the monitor ended the run, then the answer was lost; the repeat is answered 409 "has finished": that try
        self.fake.finish_failures = [(None, True)]
        m = self.monitor()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            answer = m.close()
        self.assertEqual(len(self.fake.finishes()), 2)
        self.assertEqual((answer["status"], answer.get("lost"), answer["finishing"]), ("done", None, True))
        self.assertIn("an earlier try of the finish request, whose answer was lost, ended the run", answer["message"])
        self.assertEqual(err.getvalue(), "")

    def test_a_finish_answered_500_is_sent_again_and_a_first_409_is_still_an_error(self):
        self.fake.finish_failures = [(500, False), (503, False)]
        answer = self.monitor().close()
        self.assertEqual((len(self.fake.finishes()), answer["status"]), (3, "done"))
        # a finish whose first try is answered 409 was not this client's: an error, not sent again
        m = self.monitor()
        self.fake.finished.add("r1")
        with self.assertRaises(MonitorError) as e:
            m.close()
        self.assertEqual((e.exception.status, len(self.fake.finishes())), (409, 4))

    def test_a_snapshot_still_answered_500_is_counted_lost_with_its_reason_and_named_at_close(self):
        self.fake.failures = [(500, self.ASK_TIMEOUT, None, False)] * 20
        m = self.monitor(timeout=2)
        with contextlib.redirect_stderr(io.StringIO()) as err:
            started = time.monotonic()
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(10))
            elapsed = time.monotonic() - started
            self.fake.failures = []
            m.snapshot_layers(LAYERS, 2)
            m.close()
        self.assertLess(elapsed, 2.5, "the retries took %.1f s with timeout=2" % elapsed)
        tries = self.steps().count(1)
        self.assertTrue(2 <= tries <= 4, self.steps())  # sent again after a bounded backoff, within timeout
        self.assertEqual((m.sent, m.lost_snapshots, dict(m.missed)), (1, 1, {"answered HTTP 500": 1}))
        self.assertEqual(m.errors, ["snapshot of step 1: HTTP 500: " + self.ASK_TIMEOUT])
        lines = err.getvalue().splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertIn("snapshot of step 1: HTTP 500: the monitor could not handle the request", lines[0])
        self.assertEqual(lines[1], "splinewatch: run 'r1': 1 snapshot(s) (step 1) were lost: 1 answered HTTP 500")

    def test_refused_and_timed_out_snapshots_are_counted_lost_each_with_its_reason(self):
        # a 400 (another network than the run's) is not sent again; a snapshot without an answer within timeout may
        # have been taken, and is counted lost with that said
        self.fake.failures = [(400, "snapshot has 2 layers; run 'r1' has 1", None, False)]
        m = self.monitor(timeout=0.5)
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(10))
            self.fake.hang = ("/snapshots",)
            m.snapshot_layers(LAYERS, 2)
            self.assertTrue(m.flush(10))
            self.fake.hang = ()
            self.fake.release.set()
            m.snapshot_layers(LAYERS, 3)
            m.close()
        self.assertEqual(self.steps().count(1), 1)
        self.assertEqual((m.sent, m.lost_snapshots), (1, 2))
        self.assertEqual(dict(m.missed), {"answered HTTP 400": 1,
                                          "no answer within 0.5 s (the monitor may still have taken it)": 1})
        self.assertEqual(err.getvalue().splitlines()[-1], "splinewatch: run 'r1': 2 snapshot(s) (steps 1 to 2) were"
                         " lost: 1 answered HTTP 400, 1 no answer within 0.5 s (the monitor may still have taken it)")

    def test_a_snapshot_lost_to_a_409_says_what_the_409_said_in_the_lost_line(self):
        # a 409's meaning is in its line (a run finishing, a step already received): a lost snapshot was counted
        # "answered HTTP 409" only, its line kept in monitor.errors but printed nowhere when an earlier error had been
        # the one printed
        registering = "run 'r1' is finishing; expected snapshots between registration and finish"
        self.fake.failures = [(400, "snapshot has 2 layers; run 'r1' has 1", None, False),
                              (409, registering, None, False)]
        m = self.monitor()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            for step in (1, 2, 3):
                m.snapshot_layers(LAYERS, step)
                self.assertTrue(m.flush(10))
            m.close()
        self.assertEqual(dict(m.missed), {"answered HTTP 400": 1, "answered HTTP 409": 1})
        self.assertEqual(m.errors[1], "snapshot of step 2: HTTP 409: " + registering)
        self.assertEqual(err.getvalue().splitlines()[-1], "splinewatch: run 'r1': 2 snapshot(s) (steps 1 to 2) were"
                         " lost: 1 answered HTTP 400, 1 answered HTTP 409 (the last: " + registering + ")")

    def test_close_is_bounded_by_the_timeout_against_a_silent_monitor(self):
        m = self.monitor(timeout=0.5)
        self.fake.hang = ("/snapshots", "/finish")  # a SIGSTOPped monitor: connections accepted, nothing answered
        m.snapshot_layers(LAYERS, 1)
        m.snapshot_layers(LAYERS, 2)
        start = time.monotonic()
        with self.assertRaises(TimeoutError) as e, contextlib.redirect_stderr(io.StringIO()):
            m.close()
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 2.5, "close() took %.1f s with timeout=0.5" % elapsed)
        self.assertIn("finish request of run 'r1'; the monitor may still have finished it", str(e.exception))
        self.assertIsNone(m.close())  # nothing more is sent

    def test_ctrl_c_while_close_sends_the_queue_skips_it_and_still_ends_the_run(self):
        # a slow monitor: close() waits up to timeout for the queued snapshots, silently; the Ctrl-C a user then
        # pressed raised out of close() before the finish request, and the run stayed streaming on the monitor until
        # its idle timeout (a rerun with its id refused meanwhile)
        self.fake.statuses = ("done", "stopped", "failed", "interrupted")
        m = self.monitor(timeout=20)
        self.fake.hang = ("/snapshots",)
        m.snapshot_layers(LAYERS, 1)
        deadline = time.monotonic() + 5
        while not self.fake.paths("snapshots") and time.monotonic() < deadline:
            time.sleep(0.01)  # step 1 is in a request the monitor does not answer; 2 and 3 wait in the queue
        m.snapshot_layers(LAYERS, 2)
        m.snapshot_layers(LAYERS, 3)
        # Python's Ctrl-C handler, as in a terminal: a process started in the background without job control (a CI
        # runner's) has SIGINT ignored, or blocked, and Python then installs no KeyboardInterrupt for it
        self.addCleanup(signal.signal, signal.SIGINT, signal.signal(signal.SIGINT, signal.default_int_handler))
        self.addCleanup(signal.pthread_sigmask, signal.SIG_SETMASK,
                        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}))
        timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        self.addCleanup(timer.cancel)
        start = time.monotonic()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            answer = m.close("interrupted", "Ctrl-C at step 3", step=3)
            elapsed = time.monotonic() - start
            said = err.getvalue()
            counted = (m.sent, m.lost_snapshots, dict(m.missed), list(m.errors), m.dropped)
            # the snapshot in flight is answered after the end (404: the run is finished); it was counted lost only
            # then, after close() had printed its summary, and the line and the counts disagreed
            self.fake.release.set()
            m._thread.join(5)
        self.assertFalse(m._thread.is_alive())
        self.assertEqual(err.getvalue(), said, "printed after close() returned")
        self.assertEqual((m.sent, m.lost_snapshots, dict(m.missed), list(m.errors), m.dropped), counted,
                         "counted after close() printed its summary")
        self.assertEqual(counted[:3], (0, 1, {INTERRUPTED: 1}))
        self.assertEqual(counted[3], ["snapshot of step 1: in flight when Ctrl-C interrupted close(); no answer"
                                      " waited for (the monitor may still have taken it)"])
        self.assertLess(elapsed, 6, "close() took %.1f s after Ctrl-C" % elapsed)
        self.assertEqual(answer["status"], "interrupted")
        self.assertEqual([(f["status"], f["step"]) for f in self.fake.finishes()], [("interrupted", 3)])
        lines = err.getvalue().splitlines()
        self.assertIn("splinewatch: run 'r1': sending 3 queued snapshot(s) to the monitor at %s before ending the"
                      " run (up to 20 s; Ctrl-C skips them and ends the run now)" % self.fake.url, lines)
        self.assertIn("splinewatch: run 'r1': Ctrl-C: skipped the queued snapshots; ending the run now", lines)
        self.assertTrue(any("2 of 3 snapshots were dropped unsent (steps 2 to 3)" in l for l in lines), lines)
        self.assertIn("splinewatch: run 'r1': 1 snapshot(s) (step 1) were lost: 1 " + INTERRUPTED,
                      lines)
        self.assertEqual(m.dropped, 2)
        self.assertEqual(len(lines), 4, lines)

    def test_errors_keep_the_first_and_the_last_while_every_lost_snapshot_is_counted(self):
        # a monitor that refuses every snapshot for days: errors held one line per lost snapshot, without a bound
        from splinewatch_client import monitor as module
        self.addCleanup(setattr, module, "_ERRORS_KEPT", module._ERRORS_KEPT)
        module._ERRORS_KEPT = 3  # at each end
        self.fake.refuse = {"error": "snapshot has 2 layers; run 'r1' has 1"}
        m = self.monitor()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            for step in range(20):
                m.snapshot_layers(LAYERS, step)
                self.assertTrue(m.flush(10))
            m.close()
        self.assertIsInstance(m.errors, list)
        self.assertEqual([e.split(":")[0] for e in m.errors],
                         ["snapshot of step %d" % s for s in (0, 1, 2, 17, 18, 19)])
        self.assertEqual((m.errors.omitted, m.errors.total), (14, 20))
        self.assertEqual((m.lost_snapshots, dict(m.missed)), (20, {"answered HTTP 400": 20}))
        lines = err.getvalue().splitlines()
        self.assertEqual(len(lines), 2, lines)  # the first error, and the summary with the exact count
        self.assertIn("snapshot of step 0: HTTP 400", lines[0])
        self.assertEqual(lines[1], "splinewatch: run 'r1': 20 snapshot(s) (steps 0 to 19) were lost: 20 answered"
                         " HTTP 400 (monitor.errors keeps the first 3 and the last 3 of the run's 20 errors)")

    def test_a_registration_without_an_answer_in_time_names_the_run_the_url_and_the_timeout(self):
        # a monitor too busy to answer (or stopped): the error said only "no answer within 0.5 s to POST
        # /api/v1/runs (timed out)", neither which monitor nor what to do
        self.fake.hang = ("/runs",)
        start = time.monotonic()
        with self.assertRaises(TimeoutError) as e:
            self.monitor(timeout=0.5)
        self.assertLess(time.monotonic() - start, 3)
        line = str(e.exception)
        self.assertEqual(1, len(line.splitlines()), line)
        self.assertIn("no answer within 0.5 s from the monitor at %s to the registration of run 'r1' (POST"
                      " /api/v1/runs); it may still have registered the run, and then refuses a rerun with this run id;"
                      " expected an answer within timeout=0.5: check that"
                      " ./monitor serve is running there, or pass a larger timeout= for a busy monitor"
                      % self.fake.url, line)

    def test_a_timed_out_snapshot_is_an_error_that_the_monitor_may_still_have_taken(self):
        m = self.monitor(timeout=0.3)
        self.fake.hang = ("/snapshots",)
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 7)
            self.assertTrue(m.flush(5))
            self.assertIn("may still have taken it", err.getvalue())
            m.close()
        self.assertEqual(len(m.errors), 1)
        self.assertIn("snapshot of step 7: no answer within 0.3 s (timed out); the monitor may still have taken it",
                      m.errors[0])
        self.assertEqual((m.sent, m.lost_snapshots), (0, 1))
        self.assertEqual(err.getvalue().splitlines()[-1], "splinewatch: run 'r1': 1 snapshot(s) (step 7) were lost: 1 no"
                         " answer within 0.3 s (the monitor may still have taken it)")

    def test_snapshots_dropped_from_a_full_queue_are_said_at_the_first_and_counted_at_close(self):
        # a loop that snapshots faster than the monitor answers: drop-oldest keeps it from waiting, and says so
        m = self.monitor(queue_size=2)
        self.fake.hang = ("/snapshots",)
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 0)
            deadline = time.monotonic() + 5
            while not self.fake.paths("snapshots") and time.monotonic() < deadline:
                time.sleep(0.01)  # the sending thread holds step 0 in a request the monitor has not answered
            for step in range(1, 6):
                m.snapshot_layers(LAYERS, step)  # 1 and 2 wait; 3, 4 and 5 push out 1, 2 and 3
            self.assertEqual(m.dropped, 3)
            lines = err.getvalue().splitlines()
            self.fake.release.set()
            m.close()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("splinewatch: run 'r1': the snapshot of step 1 was dropped unsent: the queue already held"
                      " queue_size=2 snapshots waiting for the monitor", lines[0])
        self.assertIn("expected snapshots less often, or a larger queue_size", lines[0])
        docs = [json.loads(zipfile.ZipFile(io.BytesIO(b)).read("snapshot.json")) for b in
                self.fake.paths_bodies("snapshots")]
        self.assertEqual([d["step"] for d in docs], [0, 4, 5])
        self.assertIn("splinewatch: run 'r1': 3 of 6 snapshots were dropped unsent (steps 1 to 3), the queue full",
                      err.getvalue().splitlines()[-1])

    def test_snapshots_dropped_while_the_monitor_is_stopping_are_not_blamed_on_a_slow_monitor(self):
        # seen against a real ./monitor serve stopped mid-run: the drop line said the monitor "takes them slower than
        # this loop makes them" and advised fewer snapshots or a larger queue_size, while it was not taking any
        m = self.monitor(queue_size=2, timeout=5)
        stopping = "this monitor is stopping (SIGTERM); register the run with a monitor that runs"
        self.fake.failures = [(503, stopping, {}, False)] * 12
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 0)
            deadline = time.monotonic() + 10
            while not m.lost_snapshots and time.monotonic() < deadline:
                time.sleep(0.01)  # step 0 tried 4 times, over 3.5 s, then lost
            for step in range(1, 6):
                m.snapshot_layers(LAYERS, step)
            drop = [l for l in err.getvalue().splitlines() if "dropped unsent" in l]
            self.fake.failures = []
            m.close()
        self.assertEqual(len(drop), 1, err.getvalue())
        self.assertRegex(drop[0], r"the snapshot of step \d was dropped unsent: the queue already held queue_size=2"
                         r" snapshots while the monitor was not taking them \(the last one lost: answered HTTP 503\)")
        self.assertNotIn("expected snapshots less often", drop[0])

    def test_a_run_the_monitor_no_longer_knows_is_reported_once_and_no_longer_sent(self):
        m = self.monitor()
        m.snapshot_layers(LAYERS, 1)
        self.assertTrue(m.flush(5))
        self.fake.known.clear()  # the monitor restarted
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 2)
            self.assertTrue(m.flush(5))
            for step in (3, 4, 5):
                m.snapshot_layers(LAYERS, step)
            self.assertTrue(m.flush(5))
            answer = m.close()
        lines = err.getvalue().splitlines()
        # one line when the run is lost, one at close naming the snapshots it lost
        self.assertEqual(len(lines), 2, err.getvalue())
        self.assertIn("the monitor no longer knows run 'r1' (it restarted) and refused the snapshot of step 2; later"
                      " snapshots of run 'r1' are dropped", lines[0])
        self.assertIn("it answered no resume_key at registration (an older monitor), so the run cannot be resumed",
                      lines[0])
        self.assertEqual("splinewatch: run 'r1' lost 4 snapshot(s) (steps 2 to 5; 1 answered HTTP 404, 3 not sent: the"
                         " run was lost): the monitor no longer knows run 'r1' (it restarted)", lines[1])
        self.assertEqual(dict(m.missed), {"answered HTTP 404": 1, "not sent: the run was lost": 3})
        self.assertEqual(m.lost_snapshots, 4)
        self.assertIn("HTTP 404: unknown run 'r1'", m.lost)
        self.assertEqual(len(self.fake.paths("snapshots")), 2)  # steps 1 and 2; 3 to 5 were not sent
        self.assertEqual((m.sent, m.dropped, len(m.errors)), (1, 3, 1))
        self.assertEqual(self.fake.finishes(), [])
        self.assertTrue(answer["lost"])
        self.assertIn("the monitor no longer knows run 'r1' (it restarted); its end was not recorded", answer["message"])

    def test_a_monitor_restarted_with_a_new_token_loses_the_run(self):
        m = self.monitor()
        self.fake.known.clear()
        self.fake.token = "new"  # its control-token was deleted before the restart (a monitor keeps it otherwise)
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(5))
            m.snapshot_layers(LAYERS, 2)
            answer = m.close()
        self.assertEqual(len(err.getvalue().splitlines()), 2, err.getvalue())
        # token= cannot follow a new token: the line says why the token changed (a restart alone keeps it) and what
        # follows it
        self.assertIn("no longer accepts this client's token (its token changed: its <out>/control-token was deleted"
                      " or rotated, or its deployment token changed, or the URL now reaches another monitor; pass"
                      " token_file= or set SPLINEWATCH_CONTROL_TOKEN_FILE to that monitor's token file to follow it)"
                      " and refused", err.getvalue())
        self.assertNotIn("restarted with a new", err.getvalue())
        self.assertIn("run 'r1' lost 2 snapshot(s) (steps 1 to 2; 1 answered HTTP 401, 1 not sent: the run was lost)",
                      err.getvalue().splitlines()[1])
        self.assertIn("HTTP 401", m.lost)
        self.assertEqual((len(self.fake.paths("snapshots")), m.dropped), (1, 1))
        self.assertTrue(answer["lost"])

    def test_a_token_file_that_still_holds_the_refused_token_names_itself_and_loses_the_run(self):
        # the monitor's token changed but the client's token_file was not rewritten (another file than the monitor's)
        token_file = token_file_holding(tempfile.mkdtemp(), "t")
        self.fake.key = self.KEY
        m = Monitor(self.fake.url, "r1", token_file=token_file, probes=(np.zeros((20, 4)), np.arange(20) % 2),
                    classes=2, timeout=5)
        self.fake.token = "rotated"
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(5))
            answer = m.close()
        self.assertIn("no longer accepts this client's token (its token changed: its <out>/control-token was deleted"
                      " or rotated, or its deployment token changed, or the URL now reaches another monitor; token_file"
                      " '%s' holds no token it accepts: expected that monitor's token file)" % token_file,
                      err.getvalue())
        self.assertNotIn("restarted with a new", err.getvalue())
        self.assertEqual((m.resumes, len(self.fake.registrations)), (0, 1))  # the same token is not sent again
        self.assertIn("HTTP 401", m.lost)
        self.assertTrue(answer["lost"])

    def test_a_run_the_monitor_timed_out_is_lost_and_close_reports_it(self):
        m = self.monitor(queue_size=3)  # room for steps 2 to 4: none is dropped from a full queue (a line of its own)
        m.snapshot_layers(LAYERS, 1)
        self.assertTrue(m.flush(5))
        self.fake.gone.add("r1")  # the client was away longer than the monitor's idle timeout
        with contextlib.redirect_stderr(io.StringIO()) as err:
            for step in (2, 3, 4):
                m.snapshot_layers(LAYERS, step)
            self.assertTrue(m.flush(5))
            answer = m.close()
        self.assertEqual(len(err.getvalue().splitlines()), 2, err.getvalue())
        self.assertIn("the monitor ended run 'r1' itself (its idle timeout passed without a snapshot, or the monitor"
                      " was stopped) and refused the"
                      " snapshot of step ", err.getvalue())
        self.assertIn("run 'r1' lost %d snapshot(s)" % m.lost_snapshots, err.getvalue().splitlines()[1])
        self.assertIn("HTTP 410: run 'r1' was ended by this monitor", m.lost)
        self.assertEqual(len(self.fake.paths("snapshots")), 2)  # step 1 and the first one refused; no more sent
        self.assertEqual(self.fake.finishes(), [])
        self.assertTrue(answer["lost"])
        self.assertIn("the monitor ended run 'r1' itself (its idle timeout passed without a snapshot, or the monitor"
                      " was stopped); its end was not"
                      " recorded (HTTP 410", answer["message"])

    KEY = "0123456789abcdef" * 2

    def steps(self, fake=None):
        return [json.loads(zipfile.ZipFile(io.BytesIO(b)).read("snapshot.json"))["step"]
                for p, b in (fake or self.fake).requests if p.endswith("/snapshots")]

    def test_a_restarted_monitor_takes_the_run_back_with_its_resume_key_and_the_steps_go_on(self):
        # restarted with the same token: 404. The client registers the run again with the key the monitor answered
        # to its registration, sends the refused snapshot again, and the run goes on
        self.fake.key = self.KEY
        m = self.monitor()
        m.snapshot_layers(LAYERS, 1)
        self.assertTrue(m.flush(5))
        self.fake.known.clear()
        self.fake.last_step = 1
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 2)
            self.assertTrue(m.flush(5))
            m.snapshot_layers(LAYERS, 3)
            answer = m.close()
        first, again = self.fake.registrations
        # the key the client chose at the first registration, which the monitor kept and answered
        key = m.registration["resume_key"]
        self.assertRegex(key, "^[0-9a-f]{32}$")
        self.assertEqual((first, again["resume_key"]), (again, key))  # the same registration
        self.assertEqual(self.steps(), [1, 2, 2, 3])  # step 2 refused with 404, then sent again: nothing lost
        self.assertEqual((m.resumes, m.lost, m.lost_snapshots, m.errors, m.sent), (1, None, 0, [], 3))
        self.assertEqual(err.getvalue().splitlines(), ["splinewatch: run 'r1' resumed on the monitor at %s, which no"
                         " longer knows run 'r1' (it restarted); its directory there holds the run up to step 1; no"
                         " snapshot was lost" % self.fake.url])
        self.assertEqual((answer["status"], answer.get("lost")), ("done", None))
        self.assertEqual([f["status"] for f in self.fake.finishes()], ["done"])

    def test_a_resume_refused_by_a_stopping_monitor_says_the_run_was_ended_and_is_resumed_later(self):
        # seen against a real ./monitor serve stopped mid-run: the snapshot's 410 led to a resume, answered 503 "this
        # monitor is stopping ...; register the run with a monitor that runs", and that alone was the line the user
        # saw, as if the snapshot itself were refused and the user had to register the run
        self.fake.key = self.KEY
        m = self.monitor(timeout=2)
        m.snapshot_layers(LAYERS, 1)
        self.assertTrue(m.flush(5))
        self.fake.gone.add("r1")
        self.fake.register_failures = [(503, False)] * 5
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 2)
            self.assertTrue(m.flush(10))
            self.fake.register_failures = []
            self.fake.gone.clear()
            m.close()
        self.assertEqual(m.missed["answered HTTP 503"], 1, m.missed)
        self.assertIn("snapshot of step 2: HTTP 503: the monitor ended run 'r1' itself (its idle timeout passed"
                      " without a snapshot, or the monitor was stopped) and answered its registration to resume it: the"
                      " monitor could not handle the request; the client registers the run again with its resume_key"
                      " at its next request", m.errors[0])
        self.assertIn(m.errors[0], err.getvalue())

    def test_a_monitor_killed_and_restarted_with_a_new_token_takes_the_run_back_and_names_what_was_lost(self):
        # kill -9 and a restart on the same port with a new control-token (the old one deleted): connections refused
        # meanwhile, then 401, the new token read again from its token_file, then 404 and the resume
        token_file = token_file_holding(tempfile.mkdtemp(), "t")
        self.fake.key = self.KEY
        m = Monitor(self.fake.url, "r1", token_file=token_file, probes=(np.zeros((20, 4)), np.arange(20) % 2),
                    classes=2, timeout=5)
        m.snapshot_layers(LAYERS, 10)
        self.assertTrue(m.flush(5))
        port = int(self.fake.url.rsplit(":", 1)[1])
        self.fake.stop()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            for step in (20, 30):
                m.snapshot_layers(LAYERS, step)
                self.assertTrue(m.flush(10))
            restarted = FakeMonitor(port=port)
            self.addCleanup(restarted.stop)
            # its directory holds the run, registered with the client's key
            restarted.key, restarted.holds = m.registration["resume_key"], True
            restarted.token, restarted.last_step = "new", 10
            with open(token_file, "w") as f:
                f.write("new\n")
            m.snapshot_layers(LAYERS, 40)
            self.assertTrue(m.flush(10))
            answer = m.close()
        lines = err.getvalue().splitlines()
        self.assertEqual(len(lines), 2, err.getvalue())
        self.assertIn("splinewatch: snapshot of step 20: cannot reach the monitor at %s for run 'r1'" % self.fake.url,
                      lines[0])
        self.assertEqual(lines[1], "splinewatch: run 'r1' resumed on the monitor at %s, which took another control"
                         " token (its control-token was deleted or rotated, or its deployment token changed), read"
                         " again from token_file '%s'; its directory there holds the run up to"
                         " step 10; 2 snapshot(s) (steps 20 to 30) were lost: 2 sent while the monitor was"
                         " unreachable" % (self.fake.url, token_file))
        self.assertEqual((m.lost_snapshots, m.resumes, m.lost, m.sent), (2, 1, None, 2))
        self.assertEqual([r["resume_key"] for r in restarted.registrations], [m.registration["resume_key"]])
        self.assertEqual(self.steps(restarted), [40, 40])  # refused with 401, then sent again in the resumed run
        self.assertEqual([f["status"] for f in restarted.finishes()], ["done"])
        self.assertEqual(answer["status"], "done")

    def test_a_registration_whose_connection_was_reset_after_it_registered_the_run_takes_the_run_over(self):
        # seen on a loaded machine: ./monitor serve reset a registration's connection; the run was not sent again,
        # and a rerun with its id was refused (409) as the run the lost try had created. The repeat carries the
        # client's resume key, to which the monitor hands the run (answered as a resume): the same run goes on
        self.fake.key = self.KEY
        self.fake.register_failures = [(None, True)]
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m = self.monitor()
            m.snapshot_layers(LAYERS, 1)
            answer = m.close()
        first, again = self.fake.registrations
        self.assertEqual(first, again)
        self.assertEqual((m.registration["resumed"], m.registration["resume_key"]), (True, first["resume_key"]))
        self.assertEqual((m.sent, m.errors, m.resumes, answer["status"]), (1, [], 0, "done"))
        self.assertEqual(err.getvalue(), "")

    def test_a_registration_answered_500_or_503_is_sent_again_and_registers_the_run(self):
        self.fake.key = self.KEY
        self.fake.register_failures = [(500, False), (503, False)]
        m = self.monitor()
        self.assertEqual((len(self.fake.registrations), m.registration["resumed"]), (3, False))
        m.snapshot_layers(LAYERS, 1)
        self.assertEqual((m.close()["status"], m.sent), ("done", 1))

    def test_a_resume_answered_500_is_sent_again_and_the_run_goes_on(self):
        # the route's ask timed out while the metrics node was slow: the resume's 500 was taken for a refusal, and
        # the client dropped the run for good (later snapshots, its end) while the monitor went on registering it
        self.fake.key = self.KEY
        m = self.monitor(timeout=10)
        m.snapshot_layers(LAYERS, 1)
        self.assertTrue(m.flush(5))
        self.fake.known.clear()
        self.fake.register_failures = [(500, True)]  # answered 500, and registered all the same
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 2)
            self.assertTrue(m.flush(10))
            m.snapshot_layers(LAYERS, 3)
            answer = m.close()
        self.assertEqual((m.lost, m.lost_snapshots, m.errors, m.sent), (None, 0, [], 3))
        self.assertEqual(self.steps(), [1, 2, 2, 3])  # step 2 refused with 404, sent again once the run was back
        self.assertEqual((answer["status"], answer.get("lost")), ("done", None))
        self.assertEqual([f["status"] for f in self.fake.finishes()], ["done"])
        # the resume that registered the run is said once, when the repeat is taken: it was said nowhere, and the
        # user never learnt that the monitor had lost the run and what was lost meanwhile
        self.assertEqual(err.getvalue().splitlines(), ["splinewatch: run 'r1' resumed on the monitor at %s, which no"
                         " longer knows run 'r1' (it restarted); it streams there again (its resume, answered HTTP 500:"
                         " the monitor could not handle the request, registered it all the same); no snapshot was lost"
                         % self.fake.url])
        self.assertEqual(m.resumes, 1)

    def test_a_resume_whose_answer_was_lost_after_it_registered_the_run_is_said_once_with_what_was_lost(self):
        # the resume's connection reset after the monitor registered the run, and the repeat of the snapshot that
        # needed it was refused (a NaN network): the next snapshot is taken, and that is when the resume is said
        self.fake.key = self.KEY
        m = self.monitor(timeout=10)
        m.snapshot_layers(LAYERS, 1)
        self.assertTrue(m.flush(5))
        self.fake.known.clear()
        self.fake.register_failures = [(None, True)]
        self.fake.refuse = {"error": "snapshot: layer 0 weight holds NaN"}
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 2)
            self.assertTrue(m.flush(10))
            self.fake.refuse = None
            for step in (3, 4):
                m.snapshot_layers(LAYERS, step)
                self.assertTrue(m.flush(10))
            m.close()
        lines = err.getvalue().splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertIn("snapshot of step 2: HTTP 400: snapshot: layer 0 weight holds NaN", lines[0])
        self.assertEqual(lines[1], "splinewatch: run 'r1' resumed on the monitor at %s, which no longer knows run 'r1'"
                         " (it restarted); it streams there again (its resume, cut off mid-request, registered it all"
                         " the same); 1 snapshot(s) (step 2) were lost: 1 answered HTTP 400" % self.fake.url)
        self.assertEqual((m.resumes, m.sent, m.lost), (1, 3, None))

    def test_a_resume_for_the_finish_request_answered_504_is_sent_again_and_the_end_is_recorded(self):
        self.fake.key = self.KEY
        m = self.monitor(timeout=10)
        m.snapshot_layers(LAYERS, 1)
        self.assertTrue(m.flush(5))
        self.fake.known.clear()
        self.fake.register_failures = [(504, True)]  # a proxy's: the monitor registered the run behind it
        with contextlib.redirect_stderr(io.StringIO()) as err:
            answer = m.close("stopped", "enough")
        self.assertEqual((answer["status"], answer.get("lost"), m.lost), ("stopped", None, None))
        self.assertEqual([f["status"] for f in self.fake.finishes()], ["stopped", "stopped"])  # 404, then recorded
        self.assertEqual(err.getvalue().splitlines(), ["splinewatch: run 'r1' resumed on the monitor at %s, which no"
                         " longer knows run 'r1' (it restarted); it streams there again (its resume, answered HTTP 504:"
                         " the monitor could not handle the request, registered it all the same); no snapshot was lost"
                         % self.fake.url])
        self.assertEqual(m.resumes, 1)

    # One deadline per call: each request's tries, the resume they need and the waits between them share the
    # client's timeout; each try used to wait the whole timeout, the resume too, so a call took several timeouts

    def test_a_snapshot_that_needs_a_resume_from_a_slow_monitor_is_given_up_at_its_timeout(self):
        # each answer takes 1.5 s: the snapshot's 404, the resume, the repeat took 4.5 s with timeout=2
        self.fake.key = self.KEY
        m = self.monitor(timeout=2)
        self.fake.known.clear()
        self.fake.slow = {"/snapshots": 1.5, "/runs": 1.5}
        with contextlib.redirect_stderr(io.StringIO()) as err:
            started = time.monotonic()
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(10))
            elapsed = time.monotonic() - started
            self.fake.slow = {}
            deadline = time.monotonic() + 5
            while "r1" not in self.fake.known and time.monotonic() < deadline:
                time.sleep(0.01)  # the monitor registers the run after the client stopped waiting for the resume
            m.snapshot_layers(LAYERS, 2)
            m.close()
        self.assertLess(elapsed, 3.0, "the snapshot took %.1f s with timeout=2" % elapsed)
        self.assertEqual(m.errors, ["snapshot of step 1: not sent: timeout=2 s ran out while the client resumed the"
                                    " run (the monitor no longer knows run 'r1' (it restarted); no answer to the resume"
                                    " in time: it may still have registered the run)"])
        self.assertEqual(dict(m.missed), {"not sent: timeout ran out resuming the run": 1})
        lines = err.getvalue().splitlines()
        self.assertEqual(lines[0], "splinewatch: " + m.errors[0] + " (later errors are only counted in"
                         " monitor.errors)")
        # the late resume registered the run: the next snapshot is taken, and the resume said with the lost one
        self.assertEqual(lines[1], "splinewatch: run 'r1' resumed on the monitor at %s, which no longer knows run 'r1'"
                         " (it restarted); it streams there again (its resume, unanswered within timeout=2 s,"
                         " registered it all the same); 1 snapshot(s) (step 1) were lost: 1 not sent: timeout ran out"
                         " resuming the run" % self.fake.url)
        self.assertEqual(len(lines), 2, lines)
        self.assertEqual((m.sent, m.resumes, self.fake.taken), (1, 1, [2]))

    def test_snapshots_answered_404_while_the_monitor_still_registers_the_resume_send_no_other_resume(self):
        # seen against a loaded ./monitor serve restarted mid-run: the resume went unanswered within timeout, and each
        # snapshot answered 404 meanwhile sent another resume, probes and all (about 6 in one run), each registered
        # again after the first
        self.fake.key = self.KEY
        m = self.monitor(timeout=2, queue_size=4)
        self.fake.known.clear()
        self.fake.slow = {"/runs": [5]}  # the resume is registered (and answered) 5 s after it was sent
        with contextlib.redirect_stderr(io.StringIO()) as err:
            for step in (1, 2, 3, 4):
                m.snapshot_layers(LAYERS, step)
            self.assertTrue(m.flush(30))
            m.close()
        self.assertEqual(len(self.fake.paths("runs")), 2, "the registration and one resume")
        self.assertEqual(m.resumes, 1)
        self.assertEqual(self.fake.taken[-1], 4)
        self.assertEqual(m.errors[0], "snapshot of step 1: not sent: timeout=2 s ran out while the client resumed the"
                         " run (the monitor no longer knows run 'r1' (it restarted); no answer to the resume in time:"
                         " it may still have registered the run)")
        for error in m.errors[1:]:
            self.assertIn(": HTTP 404: unknown run 'r1'; register it first with POST /api/v1/runs (runs streaming"
                          " here: none); the client's resume of the run (unanswered within timeout=2 s) may still be"
                          " registering it there, so the snapshot is sent again rather than another resume", error)
        resumed = [line for line in err.getvalue().splitlines() if "resumed on the monitor" in line]
        self.assertEqual(len(resumed), 1, err.getvalue())
        self.assertIn("(its resume, unanswered within timeout=2 s, registered it all the same)", resumed[0])

    def test_the_window_for_a_resume_still_registering_is_the_one_the_monitor_announced(self):
        # a monitor that registers a run within 1 s (its answer-timeout) says so: once 1 s has passed after a resume
        # answered 500 that did not register the run, a snapshot answered 404 resumes the run again. The client
        # assumed 60 s whatever the monitor, and lost the snapshot after its tries, sending no other resume
        self.fake.key = self.KEY
        self.fake.max_registration_seconds = 1.0
        m = self.monitor(timeout=10)
        m.snapshot_layers(LAYERS, 1)
        self.assertTrue(m.flush(5))
        self.fake.known.clear()
        self.fake.last_step = 1
        self.fake.register_failures = [(500, False)]  # answered 500, and not registered
        with contextlib.redirect_stderr(io.StringIO()) as err:
            started = time.monotonic()
            m.snapshot_layers(LAYERS, 2)
            self.assertTrue(m.flush(15))
            elapsed = time.monotonic() - started
            registrations, steps = len(self.fake.paths("runs")), self.steps()
            m.close()
        # 404 and the resume answered 500; after 0.5 s a 404 within the window (sent again); after 1 s more a 404
        # past it: another resume, which registers the run, and the snapshot sent again is taken
        self.assertEqual((registrations, steps), (3, [1, 2, 2, 2, 2]), "the registration and two resumes")
        self.assertEqual((m.resumes, m.lost, m.lost_snapshots, m.errors, m.sent), (1, None, 0, [], 2))
        self.assertLess(elapsed, 3.0, "the snapshot took %.1f s" % elapsed)
        self.assertEqual(err.getvalue().splitlines(), ["splinewatch: run 'r1' resumed on the monitor at %s, which no"
                         " longer knows run 'r1' (it restarted); its directory there holds the run up to step 1; no"
                         " snapshot was lost" % self.fake.url])

    def test_a_finish_that_needs_a_resume_from_a_slow_monitor_raises_at_its_timeout_naming_the_resume(self):
        self.fake.key = self.KEY
        m = self.monitor(timeout=2)
        self.fake.known.clear()
        self.fake.slow = {"/finish": 1.5, "/runs": 1.5}
        started = time.monotonic()
        with self.assertRaises(TimeoutError) as e, contextlib.redirect_stderr(io.StringIO()):
            m.close()
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 3.0, "close() took %.1f s with timeout=2 and no snapshot queued" % elapsed)
        self.assertEqual(str(e.exception), "run 'r1' was not ended on the monitor: timeout=2 s ran out while the client"
                         " resumed the run for the finish request (the monitor no longer knows run 'r1' (it"
                         " restarted); no answer to the resume in time: it may still have registered the run); the"
                         " finish request was not sent, so the run stays open there until"
                         " splinewatch.ingest.idle-timeout; expected an answer within timeout=2: pass a larger"
                         " timeout= for a busy monitor")
        self.assertEqual(len(self.fake.finishes()), 1)  # the first, answered 404

    def test_a_registration_sent_again_is_given_up_at_its_timeout(self):
        # answered 500 twice at once, then the third try (after 0.5 + 1 s) is not answered: it waited a whole
        # timeout more, 3.5 s with timeout=2
        self.fake.key = self.KEY
        self.fake.register_failures = [(500, False), (500, False)]
        self.fake.slow = {"/runs": [0, 0, 30]}
        started = time.monotonic()
        with self.assertRaises(TimeoutError) as e:
            self.monitor(timeout=2)
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 2.8, "the registration took %.1f s with timeout=2" % elapsed)
        self.assertIn("no answer within 2 s from the monitor at %s to the registration of run 'r1'" % self.fake.url,
                      str(e.exception))
        self.assertEqual(len(self.fake.paths("runs")), 3)

    def monitor_after_restart(self, status, message):
        """A run registered with KEY on a monitor that then restarted: it no longer knows the run, and answers its
        resume with status and message."""
        self.fake.key = self.KEY
        m = self.monitor()
        self.fake.known.clear()
        self.fake.resume_refusal = (status, message)
        return m

    def test_a_resume_the_monitor_refuses_loses_the_run_with_one_line_and_its_count_at_close(self):
        m = self.monitor_after_restart(409, "run 'r1' in runs/r1 was registered with settings.lr 0.1, this registration"
                                       " has 0.2; expected the run's own registration to resume it")
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(5))
            m.snapshot_layers(LAYERS, 2)
            answer = m.close()
        lines = err.getvalue().splitlines()
        self.assertEqual(len(lines), 2, err.getvalue())
        self.assertIn("the monitor no longer knows run 'r1' (it restarted) and refused to resume it (HTTP 409: the"
                      " monitor refused to resume the run: run 'r1' in runs/r1 was registered with settings.lr 0.1",
                      lines[0])
        self.assertIn("run 'r1' lost 2 snapshot(s) (steps 1 to 2; 1 answered HTTP 404, 1 not sent: the run was lost):"
                      " the monitor no longer knows run 'r1'", lines[1])
        self.assertIn("HTTP 409", m.lost)
        self.assertTrue(answer["lost"])
        self.assertEqual(self.fake.finishes(), [])

    def test_a_resume_answered_already_streaming_was_taken_by_an_earlier_resume_and_goes_on(self):
        # a busy monitor registered an earlier resume after the client's timeout; the next resume was answered 409
        # "already streaming", and the client took that for a refusal and lost the run (seen with ./monitor serve
        # restarted mid-run on a loaded machine: every later snapshot dropped, the end not recorded)
        m = self.monitor_after_restart(409, "run 'r1' is already streaming to this monitor; finish it or choose another"
                                       " run id")
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(5))
            m.snapshot_layers(LAYERS, 2)
            answer = m.close()
        lines = err.getvalue().splitlines()
        self.assertEqual(len(lines), 1, err.getvalue())
        self.assertIn("splinewatch: run 'r1' resumed on the monitor at %s, which no longer knows run 'r1' (it restarted)"
                      "; it streams there again (an earlier resume, whose answer did not come in time, took it back);"
                      " no snapshot was lost" % self.fake.url, lines[0])
        self.assertEqual((m.resumes, m.lost, m.errors, answer["status"]), (1, None, [], "done"))
        self.assertEqual(self.steps(self.fake), [1, 1, 2])  # refused with 404, sent again, then the next

    def test_a_resume_refused_as_already_streaming_under_another_resume_key_loses_the_run(self):
        # a monitor that takes a streaming run over with its resume key answers 409 "already streaming" only to
        # another key: not this client's run, and not resumed
        m = self.monitor_after_restart(409, "run 'r1' is already streaming to this monitor and this registration's"
                                       " resume_key is not the run's; only the client that registered it can"
                                       " resume it: finish it or choose another run id")
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(5))
            answer = m.close()
        self.assertEqual((m.resumes, answer["status"], answer.get("lost")), (0, "done", True))
        self.assertIn("refused to resume it (HTTP 409: the monitor refused to resume the run: run 'r1' is already"
                      " streaming to this monitor and this registration's resume_key is not the run's", err.getvalue())

    def test_a_monitor_still_starting_takes_the_run_back_at_the_next_snapshot(self):
        m = self.monitor_after_restart(503, "the monitor is still starting; try again in a moment")
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(5))
            self.fake.resume_refusal = None
            m.snapshot_layers(LAYERS, 2)
            answer = m.close()
        lines = err.getvalue().splitlines()
        self.assertEqual(len(lines), 2, err.getvalue())
        self.assertIn("snapshot of step 1: HTTP 503: the monitor no longer knows run 'r1' (it restarted) and answered"
                      " its registration to resume it: the monitor is still starting", lines[0])
        self.assertTrue(lines[1].endswith("; 1 snapshot(s) (step 1) were lost: 1 answered HTTP 503"), lines[1])
        self.assertEqual((m.resumes, m.lost, answer["status"]), (1, None, "done"))

    def test_a_monitor_restarted_before_the_finish_request_records_the_end_of_the_resumed_run(self):
        self.fake.key = self.KEY
        m = self.monitor()
        m.snapshot_layers(LAYERS, 1)
        self.assertTrue(m.flush(5))
        self.fake.known.clear()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            answer = m.close("stopped", "enough")
        self.assertEqual((answer["status"], answer.get("lost"), m.resumes), ("stopped", None, 1))
        self.assertEqual([f["status"] for f in self.fake.finishes()], ["stopped", "stopped"])  # 404, then recorded
        self.assertIn("resumed on the monitor", err.getvalue())

    def test_a_404_to_the_finish_request_reports_the_run_as_lost(self):
        m = self.monitor()
        self.fake.known.clear()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            answer = m.close()
        self.assertTrue(answer["lost"])
        self.assertIn("refused the finish request", err.getvalue())

    def test_a_refused_snapshot_that_says_stop_stops_the_run(self):
        # NaN weights: the monitor refuses them (400) and, the run having diverged, asks it to stop in the same answer
        line = "snapshot: layer W0: array W0 holds NaN at flat index 0; expected finite numbers"
        reason = "collapse alert divergence: the weights became non-finite at step 10 (" + line.split(";")[0] + ")"
        self.fake.refuse = {"error": line, "stop": True, "reason": reason, "alerts": ["divergence"], "step": 10}
        m = self.monitor()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            started = time.monotonic()
            m.snapshot_layers(LAYERS, 10, loss=float("nan"))
            self.assertLess(time.monotonic() - started, 1.0)  # the training loop never waits for the answer
            self.assertTrue(m.flush(10))
        self.assertTrue(m.should_stop)
        self.assertEqual(m.stop_reason, reason)
        self.assertEqual(m.alerts, ["divergence"])
        self.assertEqual(m.errors, ["snapshot of step 10: HTTP 400: " + line])
        self.assertIn(line, err.getvalue())
        self.assertNotIn("{", err.getvalue())
        with contextlib.redirect_stderr(io.StringIO()) as err:
            answer = m.close()
        # the monitor recorded its step and loss, not its weights: the snapshot is counted lost, with why
        self.assertEqual(err.getvalue(), "splinewatch: run 'r1': 1 snapshot(s) (step 10) were lost: 1 answered HTTP"
                                         " 400\n")
        self.assertEqual(answer["status"], "stopped")
        self.assertEqual(self.fake.finishes(), [{"status": "stopped", "reason": reason}])

    def test_the_monitors_warnings_are_printed_and_kept(self):
        # float64 weights float32 rounds to 0: the monitor names each array once per run in a snapshot's answer
        line = ("snapshot: array l0.weight: 2 nonzero values below float32's range read as 0 (the first 1e-50 at flat"
                " index 1; float32's least is 1.4E-45): arrays are read as float32")
        self.fake.warnings = [line]
        m = self.monitor()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 10)
            m.snapshot_layers(LAYERS, 20)
            self.assertTrue(m.flush(10))
        self.assertEqual(m.warnings, [line])
        self.assertEqual(err.getvalue(), "splinewatch: warning: " + line + "\n")
        self.assertEqual(m.errors, [])
        m.close()
        # the registration's answer names float64 arrays the monitor read (the client sends float32 itself)
        line = line.replace("snapshot: array l0.weight", "run registration: array probes")
        self.fake.registration_warnings = [line]
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m = self.monitor()
        self.assertEqual((m.warnings, err.getvalue()), ([line], "splinewatch: warning: " + line + "\n"))
        m.close()

    def test_float64_probes_and_weights_that_float32_rounds_to_0_are_named_once_per_array(self):
        # the client sends float32: it names what it rounds to 0, as the monitor does for a float64 array it reads
        x = np.ones((20, 4))
        x[1, 3] = 1e-50
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m = Monitor(self.fake.url, "r1", token="t", probes=(x, np.arange(20) % 2), classes=2)
        probes = ("probes: 1 nonzero value below float32's range read as 0 (the first 1e-50 at index (1, 3); float32's"
                  " least is 1.4e-45): the monitor reads arrays as float32")
        self.assertEqual((m.warnings, err.getvalue()), ([probes], "splinewatch: warning: " + probes + "\n"))
        with zipfile.ZipFile(io.BytesIO(self.fake.paths_bodies("runs")[0])) as z:
            self.assertEqual(np.load(io.BytesIO(z.read("probes.npy"))).dtype, np.dtype("<f4"))
        if torch is not None:
            model = torch.nn.Sequential(torch.nn.Linear(4, 2)).double()
            with torch.no_grad():
                model[0].weight[1, 0] = 1e-46
            with contextlib.redirect_stderr(io.StringIO()) as err:
                m.snapshot(model, 1)
                m.snapshot(model, 2)  # the same array again: not named again
                self.assertTrue(m.flush(10))
            weight = ("module 0 (Linear) weight: 1 nonzero value below float32's range read as 0 (the first 1e-46 at"
                      " index (1, 0); float32's least is 1.4e-45): the monitor reads arrays as float32")
            self.assertEqual(m.warnings, [probes, weight])
            self.assertEqual(err.getvalue(), "splinewatch: warning: " + weight + "\n")
            self.assertEqual(len(self.fake.paths("snapshots")), 2)
        m.close()

    @unittest.skipIf(torch is None, "torch is not installed")
    def test_a_network_whose_shapes_do_not_chain_is_a_value_error_before_anything_is_sent(self):
        nn = torch.nn
        m = self.monitor()  # probes of shape (20, 4)
        for model, message in ((nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(6, 2)),
                                "module 2 (Linear(in_features=6, out_features=2, bias=True)) has in_features=6 (weight"
                                " of shape (2, 6)), but receives 8 features from module 0 (Linear(in_features=4,"
                                " out_features=8, bias=True)); expected in_features=8, a weight of shape (2, 8)"),
                               (nn.Sequential(nn.Linear(3, 2)),
                                "module 0 (Linear(in_features=3, out_features=2, bias=True)) has in_features=3 (weight"
                                " of shape (2, 3)), but receives 4 features from the input (probes of shape (n, 4))")):
            with self.assertRaises(ValueError) as e:
                m.snapshot(model, 1)
            self.assertIn(message, str(e.exception))
        self.assertTrue(m.flush(10))
        self.assertEqual((self.fake.paths("snapshots"), m.errors, m.dropped), ([], [], 0))
        m.snapshot(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), 1)
        self.assertTrue(m.flush(10))
        self.assertEqual(len(self.fake.paths("snapshots")), 1)
        m.close()

    def test_interrupted_falls_back_to_failed_where_the_monitor_does_not_accept_it(self):
        m = self.monitor()
        answer = m.close("interrupted", "Ctrl-C at step 5")
        self.assertEqual(answer["status"], "failed")
        self.assertEqual(self.fake.finishes(), [{"status": "interrupted", "reason": "Ctrl-C at step 5"},
                                                {"status": "failed", "reason": "interrupted: Ctrl-C at step 5"}])
        self.fake.statuses = ("done", "stopped", "failed", "interrupted")
        with self.assertRaises(KeyboardInterrupt):
            with self.monitor():
                raise KeyboardInterrupt()
        self.assertEqual(self.fake.finishes()[2:], [{"status": "interrupted", "reason": "KeyboardInterrupt()"}])

    def test_close_says_the_step_the_loop_reached_and_an_older_monitor_ends_the_run_without_it(self):
        m = self.monitor()
        m.snapshot_layers(LAYERS, 50)
        self.assertTrue(m.flush(10))
        for bad, message in ((49, "step 49 is before step 50 of a snapshot run 'r1' queued; expected the step the"
                                  " loop reached, at least 50, or None"),
                             (5.5, "step is 5.5; expected a whole number"), ("59", "step is '59'; expected a number")):
            with self.assertRaises(ValueError) as e:
                m.close("interrupted", "Ctrl-C", step=bad)
            self.assertEqual(str(e.exception), message)
        self.assertEqual(self.fake.finishes(), [])  # nothing sent: close() can still end the run
        self.assertEqual(m.close("failed", "out of memory at step 59", step=59)["status"], "failed")
        self.assertEqual(self.fake.finishes(), [{"status": "failed", "reason": "out of memory at step 59", "step": 59}])
        # a monitor that takes only status and reason: the run ends without the step (at its last snapshot's)
        self.fake.finish_keys = ("status", "reason")
        old = self.monitor()
        self.assertEqual(old.close("done", None, step=np.int64(7))["status"], "done")
        self.assertEqual(self.fake.finishes()[1:], [{"status": "done", "reason": None, "step": 7},
                                                    {"status": "done", "reason": None}])

    def test_an_unreachable_monitor_is_a_monitor_error_naming_the_run_and_the_url(self):
        # the monitor went away during training (stopped, crashed): connections are refused
        m = self.monitor(timeout=5)
        self.fake.stop()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(10))
        self.assertEqual(len(m.errors), 1)
        self.assertIn("cannot reach the monitor at %s" % self.fake.url, m.errors[0])
        self.assertIn("cannot reach the monitor", err.getvalue())
        with self.assertRaises(MonitorError) as e:
            m.close()
        text = str(e.exception)
        for part in ("run 'r1'", self.fake.url, "/api/v1/runs/r1/finish", "./monitor serve"):
            self.assertIn(part, text)
        self.assertEqual(len(text.splitlines()), 1, text)
        self.assertIsNone(e.exception.status)
        self.assertIsNone(e.exception.__cause__)
        self.assertTrue(e.exception.__suppress_context__)  # the traceback shows this line, not urllib's
        self.assertIsNone(m.close())

    def test_registration_and_the_context_manager_against_an_unreachable_monitor(self):
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            url = "http://127.0.0.1:%d" % s.getsockname()[1]
        with self.assertRaises(MonitorError) as e:
            Monitor(url, "r9", token="t", probes=(np.zeros((20, 4)), np.arange(20) % 2), classes=2)
        for part in ("run 'r9'", url, "/api/v1/runs", "./monitor serve"):
            self.assertIn(part, str(e.exception))
        # registered, then the monitor went away: a failing block prints one line, its exception goes on
        m = self.monitor(timeout=5)
        self.fake.stop()
        with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(ValueError):
            with m:
                raise ValueError("boom")
        lines = [l for l in err.getvalue().splitlines() if "could not record the end of run 'r1'" in l]
        self.assertEqual(len(lines), 1, err.getvalue())
        self.assertIn(self.fake.url, lines[0])
        # a block that ends normally raises the MonitorError
        other = FakeMonitor()
        self.addCleanup(other.stop)
        m = Monitor(other.url, "r1", token="t", probes=(np.zeros((20, 4)), np.arange(20) % 2), classes=2, timeout=5)
        other.stop()
        with self.assertRaises(MonitorError) as e:
            with m:
                pass
        self.assertIn("run 'r1'", str(e.exception))

    def test_a_wrong_url_is_one_line_naming_the_url_and_what_was_expected(self):
        # the URL of /metrics (as ./monitor serve prints it), or another server's port answering with an HTML page
        probes = (np.zeros((20, 4)), np.arange(20) % 2)
        with self.assertRaises(MonitorError) as e:
            Monitor(self.fake.url + "/metrics", "r1", token="t", probes=probes, classes=2)
        self.assertEqual(str(e.exception), "HTTP 404: The requested resource could not be found. (POST"
                         " %s/metrics/api/v1/runs); expected url to be the address of ./monitor serve's HTTP port"
                         " without a path, e.g. http://127.0.0.1:9464 (not .../metrics), on a monitor with"
                         " splinewatch.ingest.enabled = true" % self.fake.url)
        self.fake.page = (404, "text/html", "<!DOCTYPE html>\n<html>\n<head><title>404 Not Found</title></head>\n"
                          "<body>\n<h1>Not Found</h1>\n<p>The requested URL was not found.</p>\n</body>\n</html>")
        with self.assertRaises(MonitorError) as e:
            Monitor(self.fake.url, "r1", token="t", probes=probes, classes=2)
        text = str(e.exception)
        self.assertEqual(len(text.splitlines()), 1, text)
        self.assertTrue(text.startswith("HTTP 404: an HTML page '404 Not Found', not an answer of ./monitor serve"
                                        " (POST %s/api/v1/runs); expected url to be the address of" % self.fake.url),
                        text)
        self.fake.page = (502, "text/plain", "Bad gateway:\n  upstream\n  closed")  # a proxy: any line, one line
        with self.assertRaises(MonitorError) as e:
            Monitor(self.fake.url, "r1", token="t", probes=probes, classes=2)
        self.assertEqual(str(e.exception), "HTTP 502: Bad gateway: upstream closed")

    def test_a_refused_token_names_where_it_came_from(self):
        # a $SPLINEWATCH_CONTROL_TOKEN left from an earlier monitor is used before any file, and 401 did not say so
        probes = (np.zeros((20, 4)), np.arange(20) % 2)
        with tempfile.TemporaryDirectory() as d:
            path = token_file_holding(d, "old")
            for kwargs, source in (({"token": "old"}, "token="), ({"token_file": path}, "token_file '%s'" % path)):
                with self.assertRaises(MonitorError) as e:
                    Monitor(self.fake.url, "r1", probes=probes, classes=2, **kwargs)
                self.assertEqual(str(e.exception), "HTTP 401: missing or wrong bearer token; expected Authorization:"
                                 " Bearer <token>; this client's token came from " + source)
        old = os.environ.get("SPLINEWATCH_CONTROL_TOKEN")
        os.environ["SPLINEWATCH_CONTROL_TOKEN"] = "old"
        try:
            with self.assertRaises(MonitorError) as e:
                Monitor(self.fake.url, "r1", probes=probes, classes=2)
        finally:
            if old is None:
                del os.environ["SPLINEWATCH_CONTROL_TOKEN"]
            else:
                os.environ["SPLINEWATCH_CONTROL_TOKEN"] = old
        self.assertTrue(str(e.exception).endswith("; this client's token came from $SPLINEWATCH_CONTROL_TOKEN"))
        self.assertEqual(e.exception.status, 401)

    def test_a_body_refused_unread_names_its_size_and_the_limit_not_an_unreachable_monitor(self):
        # ./monitor serve answers a body declared over 4 times its limit with 413 without reading it and closes the
        # connection; urllib, still sending, saw only "Broken pipe", reported as a monitor that is not running
        self.fake.cut = 1 << 20
        x = np.random.default_rng(0).random((20, 1 << 20), dtype=np.float32)  # 80 MiB of probes
        with self.assertRaises(MonitorError) as e:
            Monitor(self.fake.url, "r1", token="t", probes=(x, np.arange(20) % 2), classes=2)
        text = str(e.exception)
        self.assertEqual(len(text.splitlines()), 1, text)
        self.assertRegex(text, r"^the monitor at %s closed the connection while run 'r1' sent a body of \d{8} bytes"
                               r" \(POST /api/v1/runs: .*\); expected a body within splinewatch.ingest.max-run-bytes"
                               r" \(64 MiB by default; one over 4 times it is refused unread\): fewer or smaller"
                               r" probes \(and probe_pairs, fit\), or raise it in a --config file of ./monitor serve;"
                               % self.fake.url)

    def test_a_snapshot_over_the_announced_limit_is_an_error_and_not_sent(self):
        # one far over it is refused unread by ./monitor serve: the client saw only "Broken pipe", called unreachable
        self.fake.max_snapshot_bytes = 4096
        m = self.monitor()
        big = [{"type": "dense", "weight": np.ones((4, 1000), "<f4"), "bias": np.zeros(1000, "<f4")}]
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(big, 1)
            self.assertTrue(m.flush(5))
            m.snapshot_layers(LAYERS, 2)
            m.close()
        self.assertEqual(len(m.errors), 1)
        self.assertRegex(m.errors[0], r"^snapshot of step 1: its body of \d+ bytes is over the monitor's limit of 4096"
                                      r" bytes \(splinewatch.ingest.max-snapshot-bytes\) and was not sent; expected a"
                                      r" smaller network, or raise splinewatch.ingest.max-snapshot-bytes in a --config"
                                      r" file of ./monitor serve$")
        self.assertIn(m.errors[0], err.getvalue())
        self.assertEqual(len(self.fake.paths("snapshots")), 1)  # only step 2's
        self.assertEqual(m.sent, 1)

    @unittest.skipUnless(torch is not None, "needs torch")
    def test_a_network_over_the_announced_limit_is_not_copied_on_the_training_thread(self):
        # its weights were copied to CPU at every snapshot (0.5 s for a 134 MB network) for the sending thread to
        # drop them: the parameters' shapes tell it first
        import torch.nn as nn
        from unittest import mock
        conversion = importlib.import_module("splinewatch_client.convert")  # the package's convert is the function
        self.fake.max_snapshot_bytes = 4096
        m = self.monitor()
        copies = []
        real = conversion._cpu
        with mock.patch.object(conversion, "_cpu", lambda t, *a: copies.append(t.shape) or real(t, *a)):
            with contextlib.redirect_stderr(io.StringIO()) as err:
                m.snapshot(nn.Sequential(nn.Linear(4, 1000), nn.ReLU()), 1)
                self.assertEqual(copies, [])
                self.assertTrue(m.flush(5))
                m.snapshot(nn.Sequential(nn.Linear(4, 2)), 2)
                m.close()
        self.assertEqual(len(copies), 2)  # the small network's weight and bias only
        self.assertEqual(len(m.errors), 1)
        self.assertRegex(m.errors[0], r"^snapshot of step 1: its body of at least 20000 bytes is over the monitor's"
                                      r" limit of 4096 bytes \(splinewatch.ingest.max-snapshot-bytes\) and was not"
                                      r" sent; expected a smaller network, or raise splinewatch.ingest.max-snapshot-bytes"
                                      r" in a --config file of ./monitor serve$")
        self.assertIn(m.errors[0], err.getvalue())
        self.assertEqual(self.steps(self.fake), [2])
        self.assertEqual(m.sent, 1)

    @unittest.skipUnless(torch is not None, "needs torch")
    def test_a_refusal_naming_a_layer_names_the_pytorch_module(self):
        # the monitor numbers the layers it was sent: Dropout and Identity are skipped, so its "layer 2" was not the
        # model's module 2
        import torch.nn as nn
        line = "snapshot: layer 2: array l2.weight holds NaN at flat index 0; expected finite numbers"
        reason = "collapse alert divergence: the weights became non-finite at step 10 (" + line.split(";")[0] + ")"
        self.fake.refuse = {"error": line, "stop": True, "reason": reason, "alerts": ["divergence"], "step": 10}
        m = self.monitor()
        model = nn.Sequential(nn.Dropout(), nn.Linear(4, 3), nn.ReLU(), nn.Identity(), nn.Linear(3, 2))
        with contextlib.redirect_stderr(io.StringIO()):
            m.snapshot(model, 10)
            self.assertTrue(m.flush(10))
            self.assertEqual(m.stop_reason, reason.replace("layer 2:", "layer 2 (model.4 (Linear)):"))
            m.snapshot_layers(LAYERS, 20)  # layers converted by the caller: the monitor's words as they are
            self.assertTrue(m.flush(10))
            m.close()
        named = line.replace("layer 2:", "layer 2 (model.4 (Linear)):")
        self.assertEqual(m.errors, ["snapshot of step 10: HTTP 400: " + named, "snapshot of step 20: HTTP 400: " + line])

    @unittest.skipUnless(os.path.isdir("/proc/self/task"), "no /proc/self/task to read a thread's signal mask from")
    def test_the_sending_thread_leaves_ctrl_c_to_the_training_thread(self):
        # a kernel may give a signal sent to the process to any thread not blocking it; taken in the sending thread,
        # Ctrl-C would not wake a training loop waiting in time.sleep or a DataLoader's queue
        def blocked(tid):
            with open("/proc/self/task/%d/status" % tid) as f:
                mask = int(next(l for l in f if l.startswith("SigBlk:")).split()[1], 16)
            return {s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGSEGV) if mask >> (s - 1) & 1}

        before = blocked(threading.get_native_id())  # empty at a terminal; what a runner's mask holds elsewhere
        m = self.monitor()
        m.snapshot_layers(LAYERS, 1)
        self.assertEqual(blocked(m._thread.native_id), {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
        self.assertEqual(blocked(threading.get_native_id()), before)  # this (training) thread's mask is its own
        m.close()
        self.assertEqual((m.sent, m.errors), (1, []))

    def test_a_forked_process_cannot_queue_snapshots_that_would_never_be_sent(self):
        # a DataLoader worker (fork) has a copy of the Monitor but not its sending thread: its snapshot was queued
        # in the copy and lost without a word
        m = self.monitor()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report what snapshot_layers did, then leave without running any cleanup
            try:
                m.snapshot_layers(LAYERS, 5)
                outcome = "queued"
            except RuntimeError as e:
                outcome = str(e)
            os.write(write, outcome.encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as f:
            outcome = f.read()
        os.waitpid(pid, 0)
        self.assertIn("snapshot() of run 'r1' in process %d, but the run streams from process %d, which registered"
                      " it" % (pid, os.getpid()), outcome)
        self.assertIn("expected the Monitor used only in the training process", outcome)
        with self.assertRaises(TypeError) as e:  # a DataLoader worker started with spawn: the Monitor is pickled
            pickle.dumps(m)
        self.assertIn("a Monitor (run 'r1') cannot be pickled or sent to another process", str(e.exception))
        m.snapshot_layers(LAYERS, 6)  # the training process goes on as before
        m.close()
        self.assertEqual((m.sent, m.errors), (1, []))


def interruptible():
    """In a child before it runs: SIGINT as at a terminal's foreground job, even where this test runs with it ignored
    (a background job without job control) or blocked (a signal mask, which a child inherits); SIGUSR1 for
    faulthandler's stacks when a child does not end."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGUSR1})


def what_a_hung_child_does(p):
    """Each thread's state and signal masks, then every thread's Python stack (the child registered faulthandler on
    SIGUSR1), for the failure message of a child that did not end."""
    states = []
    for tid in sorted(os.listdir("/proc/%d/task" % p.pid)) if os.path.isdir("/proc/%d/task" % p.pid) else []:
        try:
            with open("/proc/%d/task/%s/status" % (p.pid, tid)) as f:
                states.append(" ".join(l.strip() for l in f if l.split(":")[0] in (
                    "Name", "State", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")))
        except OSError:
            pass
    p.send_signal(signal.SIGUSR1)
    time.sleep(1)
    p.kill()
    _, err = p.communicate()
    return "threads: %s; stderr: %s" % (states, err)


class ExitWithoutCloseTest(unittest.TestCase):
    """A training loop as docs/pytorch.md shows it (no context manager) that ends without monitor.close(): Ctrl-C,
    an exception, or a forgotten close(). The run used to stay streaming on the monitor until its idle timeout."""

    SCRIPT = """import sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import faulthandler, signal
faulthandler.register(signal.SIGUSR1, all_threads=True)
from splinewatch_client import Monitor
m = Monitor(sys.argv[2], "r1", token="t", probes=(np.zeros((20, 4)), np.arange(20) % 2), classes=2)
m.snapshot_layers([{"type": "dense", "weight": np.ones((4, 2), "<f4"), "bias": np.zeros(2, "<f4")}], 1)
print("training", flush=True)
if sys.argv[3] == "ctrl-c":
    for _ in range(300):  # a training loop: Python code runs between its waits
        time.sleep(0.2)
elif sys.argv[3] == "error":
    raise ValueError("boom")
"""

    def end(self, how):
        fake = FakeMonitor(statuses=("done", "stopped", "failed", "interrupted"))
        self.addCleanup(fake.stop)
        p = subprocess.Popen([sys.executable, "-c", self.SCRIPT, os.path.join(HERE, ".."), fake.url, how],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=interruptible)
        try:
            self.assertEqual(p.stdout.readline(), "training\n")
            if how == "ctrl-c":
                p.send_signal(signal.SIGINT)
            try:
                _, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self.fail("the program did not end within 30 s: %s" % what_a_hung_child_does(p))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        lines = [l for l in err.splitlines() if l.startswith("splinewatch:")]
        self.assertEqual(len(lines), 1, err)
        self.assertEqual(len(fake.paths("snapshots")), 1)  # the queued snapshot was sent first
        return fake.finishes(), lines[0]

    def test_ctrl_c_ends_the_run_as_interrupted(self):
        finishes, line = self.end("ctrl-c")
        self.assertEqual(finishes, [{"status": "interrupted",
                                     "reason": "KeyboardInterrupt: the program ended without monitor.close()"}])
        self.assertEqual(line, "splinewatch: run 'r1' was not closed; ended it on the monitor at exit as interrupted:"
                               " call monitor.close() when training ends, or use the Monitor as a context manager")

    def test_an_exception_ends_the_run_as_failed(self):
        finishes, line = self.end("error")
        self.assertEqual(finishes, [{"status": "failed",
                                     "reason": "ValueError('boom'): the program ended without monitor.close()"}])
        self.assertIn("ended it on the monitor at exit as failed", line)

    def test_a_forgotten_close_ends_the_run_as_close_would(self):
        finishes, line = self.end("normal")
        self.assertEqual(finishes, [{"status": "done", "reason": "the program ended without monitor.close()"}])
        self.assertIn("ended it on the monitor at exit as done", line)


def write_idx(path, array):
    dims = array.ndim
    with open(path, "wb") as f:
        f.write(struct.pack(">I", 0x0800 | dims) + struct.pack(">" + "I" * dims, *array.shape))
        f.write(array.astype(np.uint8).tobytes())


@unittest.skipIf(torch is None, "torch is not installed (apt-get install python3-torch)")
class TensorProbeTest(unittest.TestCase):
    def test_probes_labels_views_and_fit_as_tensors_of_any_kind_are_registered(self):
        # what a PyTorch loop has at hand: a batch that requires grad, bfloat16 (numpy has no such dtype), int32 or
        # uint8 labels, a tensor on the training device
        fake = FakeMonitor()
        self.addCleanup(fake.stop)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        x = torch.rand(20, 1, 4, 4, requires_grad=True)
        probes = (x.to(device), torch.arange(20, dtype=torch.int32).to(device) % 10)
        m = Monitor(fake.url, "r1", token="t", probes=probes, classes=10, probe_pairs=(x * 2).bfloat16().to(device),
                    fit=(x.detach().to(torch.bfloat16), (torch.arange(20) % 10).to(torch.uint8)),
                    plane_anchors=torch.tensor([[0, 1, 2]]))
        m.close()
        with np.load(io.BytesIO(fake.requests[0][1])) as npz:
            np.testing.assert_array_equal(npz["probes"], x.detach().numpy())
            np.testing.assert_array_equal(npz["probe_labels"], np.arange(20) % 10)
            np.testing.assert_array_equal(npz["probe_pairs"], (x * 2).bfloat16().float().detach().numpy())
            np.testing.assert_array_equal(npz["fit_inputs"], x.detach().bfloat16().float().numpy())
            self.assertEqual((npz["probe_pairs"].dtype, npz["fit_labels"].dtype), (np.dtype("<f4"), np.dtype("<i8")))
            np.testing.assert_array_equal(npz["plane_anchors"], [[0, 1, 2]])


@unittest.skipIf(torch is None, "torch is not installed (apt-get install python3-torch)")
class TokenFileTest(unittest.TestCase):
    def test_a_token_file_that_cannot_be_read_is_one_clear_error_before_anything_is_sent(self):
        with tempfile.TemporaryDirectory() as d:
            missing = os.path.join(d, "control-token")
            with self.assertRaises(ValueError) as caught:
                Monitor("http://127.0.0.1:9", "r1", token_file=missing, probes=(np.zeros((20, 4)), np.arange(20) % 2),
                        classes=2)
        message = str(caught.exception)
        self.assertIn("cannot read token_file '%s' (No such file or directory); expected the monitor's"
                      " <out>/control-token, or pass token= instead" % missing, message)
        # token_file= wins over $SPLINEWATCH_CONTROL_TOKEN(_FILE): the line does not suggest setting one
        self.assertNotIn("SPLINEWATCH_CONTROL_TOKEN", message)

    def test_an_empty_token_file_is_named(self):
        # it said "no token: pass token=, token_file= ... or set SPLINEWATCH_CONTROL_TOKEN", as if none was passed
        with tempfile.TemporaryDirectory() as d:
            empty = token_file_holding(d, "")
            with self.assertRaises(ValueError) as caught:
                Monitor("http://127.0.0.1:9", "r1", token_file=empty, probes=(np.zeros((20, 4)), np.arange(20) % 2),
                        classes=2)
        self.assertEqual(str(caught.exception), "token_file '%s' is empty; expected a file holding the monitor's"
                         " control token" % empty)


class TokenFileCase(unittest.TestCase):
    """A fake monitor and a directory for token files, removed after each test."""

    PROBES = (np.zeros((20, 4)), np.arange(20) % 2)

    def setUp(self):
        self.fake = FakeMonitor()
        self.addCleanup(self.fake.stop)
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir, True)


class DeploymentTokenFileTest(TokenFileCase):
    """$SPLINEWATCH_CONTROL_TOKEN_FILE, the deployment token file the trainer, ./monitor serve and relay read: taken
    after token= and token_file=, before $SPLINEWATCH_CONTROL_TOKEN (the file wins over the token there too)."""

    def test_the_variable_alone_registers_the_run_streams_and_finishes_it(self):
        # it was ignored: "no token: pass token=, token_file= ... or set SPLINEWATCH_CONTROL_TOKEN"
        path = token_file_holding(self.dir, "t")
        with environment(SPLINEWATCH_CONTROL_TOKEN_FILE=path, SPLINEWATCH_CONTROL_TOKEN=None):
            m = Monitor(self.fake.url, "r1", probes=self.PROBES, classes=2)
        m.snapshot_layers(LAYERS, 1)
        answer = m.close()
        self.assertEqual((answer["status"], self.fake.taken, m.sent, m.errors), ("done", [1], 1, []))
        self.assertEqual([f["status"] for f in self.fake.finishes()], ["done"])

    def test_a_file_the_variable_names_that_cannot_be_read_is_one_line_naming_the_variable_and_the_path(self):
        missing = os.path.join(self.dir, "none")
        for path, why in ((missing, "No such file or directory"), (self.dir, "Is a directory")):
            with environment(SPLINEWATCH_CONTROL_TOKEN_FILE=path, SPLINEWATCH_CONTROL_TOKEN="t"):
                with self.assertRaises(ValueError) as caught:
                    Monitor(self.fake.url, "r1", probes=self.PROBES, classes=2)
            self.assertEqual(str(caught.exception), "cannot read $SPLINEWATCH_CONTROL_TOKEN_FILE '%s' (%s); expected"
                             " the deployment token file the monitor reads (splinewatch.control.token-file), or pass"
                             " token= or token_file=" % (path, why))
        empty = token_file_holding(self.dir, "")
        with environment(SPLINEWATCH_CONTROL_TOKEN_FILE=empty, SPLINEWATCH_CONTROL_TOKEN="t"):
            with self.assertRaises(ValueError) as caught:
                Monitor(self.fake.url, "r1", probes=self.PROBES, classes=2)
        self.assertEqual(str(caught.exception), "$SPLINEWATCH_CONTROL_TOKEN_FILE '%s' is empty; expected a file"
                         " holding the monitor's control token" % empty)
        self.assertEqual(self.fake.requests, [])  # nothing was sent

    def test_token_and_token_file_win_over_the_variable(self):
        stale = os.path.join(self.dir, "stale")
        with open(stale, "w") as f:
            f.write("stale\n")
        path = token_file_holding(self.dir, "t")
        for kwargs in ({"token": "t"}, {"token_file": path}):
            with environment(SPLINEWATCH_CONTROL_TOKEN_FILE=stale, SPLINEWATCH_CONTROL_TOKEN=None):
                m = Monitor(self.fake.url, "r1", probes=self.PROBES, classes=2, **kwargs)
            self.assertEqual(m.close()["status"], "done")
        self.assertEqual(len(self.fake.paths("runs")), 2)  # both registered with the token given, not the stale one

    def test_the_variable_wins_over_the_inline_token_and_an_empty_one_counts_as_unset(self):
        path = token_file_holding(self.dir, "t")
        with environment(SPLINEWATCH_CONTROL_TOKEN_FILE=path, SPLINEWATCH_CONTROL_TOKEN="stale"):
            m = Monitor(self.fake.url, "r1", probes=self.PROBES, classes=2)
        self.assertEqual(m.close()["status"], "done")
        self.fake.token = "rotated"  # a refused token names the variable and its file
        with environment(SPLINEWATCH_CONTROL_TOKEN_FILE=path, SPLINEWATCH_CONTROL_TOKEN="rotated"):
            with self.assertRaises(MonitorError) as e:
                Monitor(self.fake.url, "r1", probes=self.PROBES, classes=2)
        self.assertTrue(str(e.exception).endswith("; this client's token came from $SPLINEWATCH_CONTROL_TOKEN_FILE"
                                                  " '%s'" % path), str(e.exception))
        with environment(SPLINEWATCH_CONTROL_TOKEN_FILE="", SPLINEWATCH_CONTROL_TOKEN="rotated"):
            m = Monitor(self.fake.url, "r1", probes=self.PROBES, classes=2)
        self.assertEqual(m.close()["status"], "done")

    def test_a_401_reads_the_file_the_variable_names_again(self):
        # the deployment token rotated: written to the file the variable names, as token_file's is read again
        path = token_file_holding(self.dir, "t")
        self.fake.key = MonitorTest.KEY
        with environment(SPLINEWATCH_CONTROL_TOKEN_FILE=path, SPLINEWATCH_CONTROL_TOKEN=None):
            m = Monitor(self.fake.url, "r1", probes=self.PROBES, classes=2, timeout=5)
        m.snapshot_layers(LAYERS, 1)
        self.assertTrue(m.flush(5))
        self.fake.token = "rotated"
        token_file_holding(self.dir, "rotated")
        self.fake.last_step = 1
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 2)
            self.assertTrue(m.flush(5))
            answer = m.close()
        self.assertEqual(err.getvalue().splitlines(), ["splinewatch: run 'r1' resumed on the monitor at %s, which took"
                         " another control token (its control-token was deleted or rotated, or its deployment token"
                         " changed), read again from $SPLINEWATCH_CONTROL_TOKEN_FILE '%s'; its directory there holds"
                         " the run up to step 1; no snapshot was lost" % (self.fake.url, path)])
        self.assertEqual((m.resumes, m.lost, m.lost_snapshots, self.fake.taken), (1, None, 0, [1, 2]))
        self.assertEqual(answer["status"], "done")


def open_to_others(named, path, mode, owner):
    """The line that refuses token file ``path`` (named ``named``) of ``mode`` owned by ``owner`` (a name, or "root
    when this runs as root"): the Java side's OwnerOnlyFiles line (OwnerOnlyFilesTest), with the client's secret."""
    return ("%s is open to others than its owner (mode %s), so they may read the monitor's control token, which stops"
            " any run; expected an owner-only file (rw-------): chmod 600 %s (the rule for a file owned by %s; only a"
            " file owned by root may also be readable by its group (rw-r-----), for a process of another user: on"
            " Kubernetes, a secret volume's defaultMode: 0400, or 0440 with the pod's fsGroup for a pod not running as"
            " root)" % (named, mode, path, owner))


def this_user_as_owner():
    """How open_to_others names the owner of a file this process made."""
    import pwd
    return "root when this runs as root" if os.geteuid() == 0 else "%s, not root" % pwd.getpwuid(os.geteuid()).pw_name


@unittest.skipUnless(os.name == "posix", "file modes are POSIX's")
class TokenFileModeTest(TokenFileCase):
    """A token file that others than its owner may read is refused, by the rule the trainer, ./monitor serve and relay
    apply to the deployment token file (OwnerOnlyFiles on the Java side; its OwnerOnlyFilesTest lists the rule): it
    was read at any mode, so a copy that lost its mode went unnoticed while anyone on the machine could read it."""

    def test_a_file_others_may_read_is_one_line_naming_it_its_mode_and_the_fix_before_anything_is_sent(self):
        path = token_file_holding(self.dir, "t")
        os.chmod(path, 0o644)  # a copy under umask 022
        with self.assertRaises(ValueError) as caught:
            Monitor(self.fake.url, "r1", token_file=path, probes=self.PROBES, classes=2)
        self.assertEqual(str(caught.exception), open_to_others("token_file '%s'" % path, path, "rw-r--r--",
                                                               this_user_as_owner()))
        # the variable's file too, though $SPLINEWATCH_CONTROL_TOKEN is set: the file wins over it, as on the Java side
        os.chmod(path, 0o604)
        with environment(SPLINEWATCH_CONTROL_TOKEN_FILE=path, SPLINEWATCH_CONTROL_TOKEN="t"):
            with self.assertRaises(ValueError) as caught:
                Monitor(self.fake.url, "r1", probes=self.PROBES, classes=2)
        self.assertEqual(str(caught.exception), open_to_others("$SPLINEWATCH_CONTROL_TOKEN_FILE '%s'" % path, path,
                                                               "rw----r--", this_user_as_owner()))
        # a link is judged by the file it leads to, and named with it
        link = os.path.join(self.dir, "token-link")
        os.symlink(path, link)
        os.chmod(path, 0o660)
        with self.assertRaises(ValueError) as caught:
            Monitor(self.fake.url, "r1", token_file=link, probes=self.PROBES, classes=2)
        self.assertEqual(str(caught.exception), open_to_others("token_file '%s' (a link to '%s')" % (link, path), link,
                                                               "rw-rw----", this_user_as_owner()))
        self.assertEqual(self.fake.requests, [])  # nothing was sent

    def test_an_owner_only_file_is_read_whether_named_by_token_file_or_the_variable(self):
        path = token_file_holding(self.dir, "t")
        for mode in (0o600, 0o400, 0o700):
            os.chmod(path, mode)
            self.assertEqual(Monitor(self.fake.url, "r1", token_file=path, probes=self.PROBES, classes=2)
                             .close()["status"], "done")
            with environment(SPLINEWATCH_CONTROL_TOKEN_FILE=path, SPLINEWATCH_CONTROL_TOKEN=None):
                m = Monitor(self.fake.url, "r1", probes=self.PROBES, classes=2)
            self.assertEqual(m.close()["status"], "done")
        self.assertEqual(len(self.fake.paths("runs")), 6)

    def test_token_wins_without_the_files_being_looked_at(self):
        path = token_file_holding(self.dir, "stale")
        os.chmod(path, 0o644)
        with environment(SPLINEWATCH_CONTROL_TOKEN_FILE=path, SPLINEWATCH_CONTROL_TOKEN=None):
            m = Monitor(self.fake.url, "r1", token="t", probes=self.PROBES, classes=2)
        self.assertEqual(m.close()["status"], "done")

    def test_where_modes_mean_nothing_the_file_is_read_at_any_mode(self):
        # Windows: no POSIX permissions, as the Java side skips a file system without them
        path = token_file_holding(self.dir, "t")
        os.chmod(path, 0o644)
        with unittest.mock.patch.object(monitor_module, "_POSIX_MODES", False):
            m = Monitor(self.fake.url, "r1", token_file=path, probes=self.PROBES, classes=2)
        self.assertEqual(m.close()["status"], "done")

    @unittest.skipUnless(os.geteuid() == 0, "the files are given to root and to nobody")
    def test_a_file_of_root_may_also_be_readable_by_its_group_for_a_process_of_another_user(self):
        # a Kubernetes secret volume: defaultMode 0440, owner root, group the pod's fsGroup, read by a pod not running
        # as root; the process's user goes through the process_uid seam, as OwnerOnlyFilesTest's does
        nobody = 65534
        path = token_file_holding(self.dir, "t")
        refusal = monitor_module._token_file_refusal
        os.chmod(path, 0o440)
        self.assertIsNone(refusal(path, "token_file '%s'" % path, process_uid=nobody))
        self.assertEqual(refusal(path, "token_file '%s'" % path, process_uid=0),
                         open_to_others("token_file '%s'" % path, path, "r--r-----", "root when this runs as root"))
        for mode, text in ((0o644, "rw-r--r--"), (0o660, "rw-rw----"), (0o650, "rw-r-x---"), (0o404, "r-----r--")):
            os.chmod(path, mode)
            self.assertEqual(refusal(path, "token_file '%s'" % path, process_uid=nobody),
                             "token_file '%s' is owned by root and open to others or writable by its group (mode %s),"
                             " so they may read the monitor's control token, which stops any run; expected rw-r----- at"
                             " most (a file owned by root may also be readable by its group when this runs as another"
                             " user): chmod 640 %s for the group this runs in, or give it to the user this runs as and"
                             " chmod 600; on Kubernetes, a secret volume's defaultMode: 0440 with the pod's fsGroup"
                             % (path, text, path), mode)
        # a file of another user than root must be owner-only, whoever this runs as
        os.chown(path, nobody, -1)
        os.chmod(path, 0o640)
        import pwd
        for uid in (nobody, 0):
            self.assertEqual(refusal(path, "token_file '%s'" % path, process_uid=uid),
                             open_to_others("token_file '%s'" % path, path, "rw-r-----",
                                            "%s, not root" % pwd.getpwuid(nobody).pw_name))
        os.chmod(path, 0o600)
        self.assertIsNone(refusal(path, "token_file '%s'" % path, process_uid=nobody))
        self.assertIsNone(refusal(path, "token_file '%s'" % path, process_uid=0))

    def test_a_token_file_read_again_after_a_401_that_others_may_now_read_is_named_as_the_run_is_lost(self):
        path = token_file_holding(self.dir, "t")
        self.fake.key = MonitorTest.KEY
        m = Monitor(self.fake.url, "r1", token_file=path, probes=self.PROBES, classes=2, timeout=5)
        self.fake.token = "rotated"
        token_file_holding(self.dir, "rotated")
        os.chmod(path, 0o644)  # rewritten as a copy that lost its mode: its token is not taken
        with contextlib.redirect_stderr(io.StringIO()) as err:
            m.snapshot_layers(LAYERS, 1)
            self.assertTrue(m.flush(5))
            answer = m.close()
        self.assertIn("no longer accepts this client's token (its token changed: its <out>/control-token was deleted"
                      " or rotated, or its deployment token changed, or the URL now reaches another monitor; %s)"
                      % open_to_others("token_file '%s'" % path, path, "rw-r--r--", this_user_as_owner()),
                      err.getvalue())
        self.assertEqual((m.resumes, len(self.fake.registrations)), (0, 1))
        self.assertTrue(answer["lost"])


class ArgumentTest(unittest.TestCase):
    def test_empty_probes_and_a_zero_timeout_are_one_clear_error(self):
        with self.assertRaises(ValueError) as caught:
            Monitor("http://127.0.0.1:9", "r1", token="t", probes=(np.zeros((0, 4)), np.zeros(0)), classes=2)
        self.assertIn("probes=(x, y) holds x of shape (0, 4) and y of shape (0,); expected one or more inputs",
                      str(caught.exception))
        with self.assertRaises(ValueError) as caught:
            Monitor("http://127.0.0.1:9", "r1", token="t", probes=(np.zeros((20, 4)), np.arange(20) % 2), classes=2,
                    timeout=0)
        self.assertIn("timeout=0; expected seconds to wait for each answer, more than 0", str(caught.exception))
        for bad in (float("nan"), float("inf")):  # NaN passed, then failed in the socket: "Invalid value NaN"
            with self.assertRaises(ValueError) as caught:
                Monitor("http://127.0.0.1:9", "r1", token="t", probes=(np.zeros((20, 4)), np.arange(20) % 2),
                        classes=2, timeout=bad)
            self.assertIn("timeout=%r; expected seconds" % bad, str(caught.exception))


def synthetic_mnist(d):
    rng = np.random.default_rng(0)
    write_idx(os.path.join(d, "train-images-idx3-ubyte"), rng.integers(0, 256, (64, 28, 28)))
    write_idx(os.path.join(d, "train-labels-idx1-ubyte"), np.arange(64) % 10)
    write_idx(os.path.join(d, "t10k-images-idx3-ubyte"), rng.integers(0, 256, (20, 28, 28)))
    write_idx(os.path.join(d, "t10k-labels-idx1-ubyte"), np.arange(20) % 10)


class ExampleInterruptTest(unittest.TestCase):
    def test_a_monitor_that_is_not_running_is_one_line_that_does_not_say_refused(self):
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            url = "http://127.0.0.1:%d" % s.getsockname()[1]
        with tempfile.TemporaryDirectory() as d:
            synthetic_mnist(d)
            p = subprocess.run([sys.executable, os.path.join(HERE, "..", "examples", "train_mnist.py"), "--monitor",
                                url, "--run-id", "r1", "--steps", "1", "--data-dir", d],
                               capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, SPLINEWATCH_CONTROL_TOKEN="t", OMP_NUM_THREADS="1"))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertTrue(p.stderr.startswith("error: cannot reach the monitor at %s for run 'r1'" % url), p.stderr)

    def test_a_bad_url_or_token_file_is_a_usage_error_of_one_line_and_exit_code_2(self):
        # nothing was sent: a wrong argument, as argparse's errors (exit code 2); it was exit code 1, as a monitor
        # that refused the run
        with tempfile.TemporaryDirectory() as d:
            synthetic_mnist(d)
            open_token = token_file_holding(d, "t")
            os.chmod(open_token, 0o644)
            for args, said in ((["--monitor", "127.0.0.1:9464"], "error: url '127.0.0.1:9464' is not an http:// URL"),
                               (["--monitor", "http://127.0.0.1:9", "--token-file", os.path.join(d, "none")],
                                "error: cannot read token_file '%s'" % os.path.join(d, "none")),
                               (["--monitor", "http://127.0.0.1:9", "--token-file", open_token], "error: token_file"
                                " '%s' is open to others than its owner (mode rw-r--r--)" % open_token)):
                p = subprocess.run([sys.executable, os.path.join(HERE, "..", "examples", "train_mnist.py"), "--run-id",
                                    "r1", "--steps", "1", "--data-dir", d] + args, capture_output=True, text=True,
                                   timeout=120, env=dict(os.environ, SPLINEWATCH_CONTROL_TOKEN="t", OMP_NUM_THREADS="1"))
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
                self.assertTrue(p.stderr.startswith(said), p.stderr)

    def test_the_file_the_deployment_variable_names_is_the_default_token_file(self):
        # a deployment that exports only SPLINEWATCH_CONTROL_TOKEN_FILE: the example fell back to runs/control-token,
        # which is not written there ("cannot read token_file 'runs/control-token'", exit code 2)
        fake = FakeMonitor()
        self.addCleanup(fake.stop)
        example = os.path.join(HERE, "..", "examples", "train_mnist.py")
        with tempfile.TemporaryDirectory() as d:
            synthetic_mnist(d)
            missing = os.path.join(d, "none")
            args = [sys.executable, example, "--monitor", fake.url, "--run-id", "r1", "--steps", "2",
                    "--snapshot-every", "2", "--batch-size", "8", "--data-dir", d]
            # run in d: no runs/control-token there
            streamed, unreadable = (subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=d,
                                                   env=dict(os.environ, SPLINEWATCH_CONTROL_TOKEN_FILE=path,
                                                            OMP_NUM_THREADS="1"))
                                    for path in (token_file_holding(d, "t"), missing))
            usage = subprocess.run([sys.executable, example, "--help"], capture_output=True, text=True, timeout=120)
        self.assertEqual(streamed.returncode, 0, streamed.stderr)
        self.assertEqual(self.steps(fake), [0, 2])
        self.assertEqual([f["status"] for f in fake.finishes()], ["done"])
        self.assertEqual(unreadable.returncode, 2, unreadable.stderr)
        self.assertEqual(unreadable.stderr.splitlines(), ["error: cannot read $SPLINEWATCH_CONTROL_TOKEN_FILE '%s' (No"
                         " such file or directory); expected the deployment token file the monitor reads"
                         " (splinewatch.control.token-file), or pass token= or token_file=" % missing])
        self.assertIn("bearer token file (default: $SPLINEWATCH_CONTROL_TOKEN_FILE, else the token in"
                      " $SPLINEWATCH_CONTROL_TOKEN, else runs/control-token)", " ".join(usage.stdout.split()))

    def test_timeout_is_passed_to_the_monitor_and_a_bad_one_is_a_usage_error(self):
        fake = FakeMonitor()
        self.addCleanup(fake.stop)
        fake.hang = ("/runs",)  # a registration never answered: the error names the timeout it waited
        example = os.path.join(HERE, "..", "examples", "train_mnist.py")
        env = dict(os.environ, SPLINEWATCH_CONTROL_TOKEN="t", OMP_NUM_THREADS="1")
        with tempfile.TemporaryDirectory() as d:
            synthetic_mnist(d)
            base = [sys.executable, example, "--monitor", fake.url, "--run-id", "r1", "--steps", "1", "--data-dir", d]
            p = subprocess.run(base + ["--timeout", "0.5"], capture_output=True, text=True, timeout=120, env=env)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("no answer within 0.5 s from the monitor at %s to the registration" % fake.url, p.stderr)
            for bad in ("0", "-1", "nan", "inf"):
                p = subprocess.run(base + ["--timeout", bad], capture_output=True, text=True, timeout=120, env=env)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(p.stderr.splitlines()[-1], "train_mnist.py: error: --timeout %s; expected seconds to"
                                 " wait for each answer of the monitor, more than 0" % float(bad))

    def test_ctrl_c_finishes_the_run_with_one_line_and_exit_code_130(self):
        fake = FakeMonitor()
        self.addCleanup(fake.stop)
        with tempfile.TemporaryDirectory() as d:
            synthetic_mnist(d)
            env = dict(os.environ, SPLINEWATCH_CONTROL_TOKEN="t", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
            p = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "examples", "train_mnist.py"),
                                  "--monitor", fake.url, "--run-id", "r1", "--steps", "1000000", "--data-dir", d,
                                  "--batch-size", "8", "--snapshot-every", "5"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
                                 # SIGINT as at a terminal, even where this test runs with it ignored (a background job)
                                 preexec_fn=interruptible)
            try:
                first = p.stdout.readline()
                self.assertIn("splinewatch run r1 streaming", first)
                deadline = time.monotonic() + 60
                while len(fake.paths("snapshots")) < 2 and time.monotonic() < deadline:
                    time.sleep(0.05)  # the loop is running
                p.send_signal(signal.SIGINT)
                out, err = p.communicate(timeout=60)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        self.assertEqual(p.returncode, 130, err)
        # the summary of a normal end: it printed nothing of the snapshots after a Ctrl-C
        summary = re.fullmatch(r"steps \d+, [\d.]+ steps/s, loss [\d.]+, snapshots recorded (\d+), lost 0, dropped"
                               r" unsent 0\n", out)
        self.assertIsNotNone(summary, out)
        self.assertEqual(int(summary.group(1)), len(fake.taken))
        self.assertNotIn("Traceback", err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertRegex(err, r"^interrupted at step \d+; run r1 ended on the monitor as failed\n$")
        finishes = fake.finishes()
        self.assertEqual([f["status"] for f in finishes], ["interrupted", "failed"])
        self.assertRegex(finishes[1]["reason"], r"^interrupted: Ctrl-C at step \d+$")

    def test_the_summary_counts_a_snapshot_the_monitor_answered_500_as_lost(self):
        # it printed "snapshots dropped 0" and nothing of the snapshot a 500 had lost
        fake = FakeMonitor()
        self.addCleanup(fake.stop)
        ask_timeout = "the monitor could not handle the request: AskTimeoutException: Ask timed out after [10000 ms]"
        fake.failures = [(500, ask_timeout, None, False)] * 4  # step 0, sent 4 times
        with tempfile.TemporaryDirectory() as d:
            synthetic_mnist(d)
            p = subprocess.run([sys.executable, os.path.join(HERE, "..", "examples", "train_mnist.py"), "--monitor",
                                fake.url, "--run-id", "r1", "--steps", "2", "--snapshot-every", "2", "--data-dir", d,
                                "--batch-size", "8"], capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, SPLINEWATCH_CONTROL_TOKEN="t", OMP_NUM_THREADS="1"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.steps(fake), [0, 0, 0, 0, 2])
        self.assertIn("splinewatch: run 'r1': 1 snapshot(s) (step 0) were lost: 1 answered HTTP 500", p.stderr)
        self.assertIn("warning: 1 snapshot(s) were not recorded by the monitor (1 answered HTTP 500); first error:"
                      " snapshot of step 0: HTTP 500: " + ask_timeout, p.stderr)
        self.assertRegex(p.stdout, r"snapshots recorded 1, lost 1, dropped unsent 0\n$")

    @staticmethod
    def steps(fake):
        return [json.loads(zipfile.ZipFile(io.BytesIO(b)).read("snapshot.json"))["step"]
                for b in fake.paths_bodies("snapshots")]


if __name__ == "__main__":
    unittest.main()
