"""The Monitor: registers a run, streams snapshots on a background thread, reports whether to stop."""

import collections
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

from .format import layers_npz, run_npz


class MonitorError(RuntimeError):
    """The monitor refused a request; the message is its one-line answer."""

    def __init__(self, status, message):
        super().__init__("HTTP %d: %s" % (status, message))
        self.status = status


class Monitor:
    """A run streaming to ``./monitor serve`` at ``url`` (for example http://127.0.0.1:9464).

    ``probes`` is ``(x, y)``: held-out inputs of shape (n, d) or (n, c, h, w) and their integer labels, sent once.
    ``labels`` may hold ``method``, ``dataset`` and ``tags`` (a dict of strings); ``settings`` (numbers, booleans,
    strings) go to the run's config.json, e.g. ``{"stop_gradient": False}`` for ./monitor detection. The token comes from ``token``,
    else ``token_file``, else $SPLINEWATCH_CONTROL_TOKEN. Snapshots wait in a queue of ``queue_size``; when it is
    full the oldest is dropped (counted in ``dropped``), so ``snapshot`` never waits for the network.
    """

    def __init__(self, url, run_id, token=None, probes=None, labels=None, classes=None, token_file=None,
                 plane_anchors=None, probe_pairs=None, fit=None, classifier=None, early_stop="stop", planes=2,
                 queue_size=2, timeout=60.0, seed=42, settings=None):
        if probes is None:
            raise ValueError("probes=(x, y) is required: held-out inputs and their labels")
        import numpy as np
        x, y = np.asarray(probes[0], dtype=np.float32), np.asarray(probes[1])
        if token is None and token_file is not None:
            with open(token_file) as f:
                token = f.read().strip()
        if token is None:
            token = os.environ.get("SPLINEWATCH_CONTROL_TOKEN")
        if not token:
            raise ValueError("no token: pass token=, token_file= (the monitor's <out>/control-token) or set"
                             " SPLINEWATCH_CONTROL_TOKEN")
        self.url = url.rstrip("/")
        self.run_id = run_id
        self.timeout = timeout
        self._token = token
        labels = dict(labels or {})
        self._stop = False
        self._reason = None
        self.alerts = []
        self.dropped = 0
        self.sent = 0
        self.errors = []
        self._queue = collections.deque()
        self._queue_size = max(1, int(queue_size))
        self._cv = threading.Condition()
        self._busy = False
        self._closed = False
        body = run_npz(run_id, x, y, classes if classes is not None else int(y.max()) + 1,
                       method=labels.get("method", "external"), dataset=labels.get("dataset", "external"),
                       tags=labels.get("tags"), probe_pairs=probe_pairs, plane_anchors=plane_anchors, planes=planes,
                       fit=fit, classifier=classifier, early_stop=early_stop, seed=seed, settings=settings)
        self.registration = self._post("/api/v1/runs", body)
        self._thread = threading.Thread(target=self._send_loop, name="splinewatch-client", daemon=True)
        self._thread.start()

    # -- the training loop's side ------------------------------------------------------------------------------

    def snapshot(self, model, step, loss=None, epoch=0, learning_rate=None, projector=None):
        """Copies ``model``'s weights to CPU now and queues them for sending; returns at once."""
        from .convert import convert
        layers = convert(model, projector=projector)
        self.snapshot_layers(layers, step, loss=loss, epoch=epoch, learning_rate=learning_rate)

    def snapshot_layers(self, layers, step, loss=None, epoch=0, learning_rate=None):
        """Queues an already converted layer list (see ``convert``)."""
        item = (layers, int(step), int(epoch), loss, learning_rate)
        with self._cv:
            if self._closed:
                raise RuntimeError("monitor is closed")
            self._queue.append(item)
            while len(self._queue) > self._queue_size:
                self._queue.popleft()
                self.dropped += 1
            self._cv.notify_all()

    @property
    def should_stop(self):
        """True once the monitor has asked the run to stop (a stop-on alert or a stop through the control API)."""
        return self._stop

    @property
    def stop_reason(self):
        return self._reason

    def flush(self, timeout=None):
        """Waits until every queued snapshot has been sent (or ``timeout`` seconds pass)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self._queue or self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def close(self, status=None, reason=None):
        """Sends what is queued, then ends the run: status done, stopped (default when asked to stop) or failed."""
        if status is None:
            status = "stopped" if self._stop else "done"
        if reason is None and status == "stopped":
            reason = self._reason
        self.flush(self.timeout)
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._thread.join(self.timeout)
        body = json.dumps({"status": status, "reason": reason}).encode()
        return self._post("/api/v1/runs/%s/finish" % self.run_id, body, content_type="application/json",
                          timeout=max(self.timeout, 300))

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        self.close("failed" if kind is not None else None, None if kind is None else repr(value))
        return False

    # -- the sending thread ------------------------------------------------------------------------------------

    def _send_loop(self):
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if not self._queue:
                    return
                layers, step, epoch, loss, lr = self._queue.popleft()
                self._busy = True
            try:
                body = layers_npz(layers, step, epoch=epoch, loss=loss, learning_rate=lr)
                answer = self._post("/api/v1/runs/%s/snapshots" % self.run_id, body)
                self.sent += 1
                self.alerts = answer.get("alerts", [])
                if answer.get("stop"):
                    self._reason = answer.get("reason")
                    self._stop = True
            except Exception as e:  # the loop must not die: record, warn once, go on
                if not self.errors:
                    print("splinewatch: snapshot of step %d not accepted: %s" % (step, e), file=sys.stderr)
                self.errors.append(str(e))
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def _post(self, path, body, content_type="application/octet-stream", timeout=None):
        req = urllib.request.Request(self.url + path, data=body, method="POST", headers={
            "Authorization": "Bearer " + self._token, "Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as r:
                text = r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            raise MonitorError(e.code, e.read().decode("utf-8", "replace").strip()) from None
        return json.loads(text) if text.strip().startswith("{") else {"message": text.strip()}
