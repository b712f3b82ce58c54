"""The Monitor: registers a run, streams snapshots on a background thread, reports whether to stop."""

import atexit
import collections
import html
import http.client
import json
import numbers
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import weakref

from .format import host, layers_npz, number, run_npz, with_resume_key

# answers after which the monitor takes no more of the run until the client registers it again with its resume key:
# 401 (its token changed), 404 (it restarted), 410 (it ended the run: its idle timeout, or it was stopping)
_LOST = (401, 404, 410)


class MonitorError(RuntimeError):
    """The monitor refused a request; the message is its one-line answer.

    ``answer`` is the refusal's JSON document when it sent one (a snapshot refused for NaN or infinite weights:
    ``{"error", "stop", "reason", "alerts", "step"}``), else None.
    """

    def __init__(self, status, message, answer=None):
        super().__init__("HTTP %d: %s" % (status, message))
        self.status = status
        self.message = message
        self.answer = answer


class MonitorUnreachableError(MonitorError, ConnectionError):
    """No answer could be had from the monitor at all: the connection was refused, reset or the host unknown.

    A ``MonitorError`` (``status`` None, ``answer`` None) whose one line names the run, the URL and what to check;
    also a ``ConnectionError`` (an OSError), as the urllib error it replaces was.
    """

    def __init__(self, message, transient=False):
        RuntimeError.__init__(self, message)
        self.status = None
        self.message = message
        self.answer = None
        # the connection was reset or closed mid-request (not refused): sending the request again is sound
        self.transient = transient

    def __str__(self):
        return self.args[0]


class Monitor:
    """A run streaming to ``./monitor serve`` at ``url`` (for example http://127.0.0.1:9464).

    ``probes`` is ``(x, y)``: held-out inputs of shape (n, d) or (n, c, h, w) and their integer labels, sent once
    (numpy arrays or torch tensors, on any device, bfloat16 or requiring grad included; so are ``probe_pairs`` and
    ``fit``).
    ``labels`` may hold ``method``, ``dataset`` and ``tags`` (a dict of strings); ``settings`` (numbers, booleans,
    strings) go to the run's config.json, e.g. ``{"stop_gradient": False}`` for ./monitor detection. The token comes
    from ``token``, else ``token_file``, else the file $SPLINEWATCH_CONTROL_TOKEN_FILE names (the deployment token file
    the trainer, ./monitor serve and relay read; it wins over the token there too), else $SPLINEWATCH_CONTROL_TOKEN; an
    empty variable counts as unset. On POSIX systems a token file that others than its owner may read is refused with
    a ValueError of one line naming it, its mode and ``chmod 600``, by the Java side's rule (a file of root may also be
    readable by its group for a client not running as root). Snapshots wait in a queue of ``queue_size``; when it is
    full the oldest is dropped (counted in ``dropped``; the first one and, at close(), their number are named on
    stderr), so ``snapshot`` never waits for the network.

    ``timeout`` is one deadline for each request, from its first try: the registration, a snapshot (on the sending
    thread) and the finish request each end within ``timeout`` seconds, all their tries, the resume of the run they may
    need and the waits between them included (each try waits only for what is left; each used to wait a whole
    ``timeout``, the resume too, so one request could take several). So ``Monitor(...)`` returns or raises within
    ``timeout``, ``snapshot`` never waits, and ``close()`` within twice ``timeout``. At the deadline the request is
    given up: a snapshot is lost, recorded in ``errors`` as one the monitor may still have taken (no answer) or as not
    sent (``timeout`` ran out while the client resumed the run, or before a repeat could be sent); the registration and
    the finish request raise TimeoutError, one line saying which and whether the request was sent. Every snapshot the
    sending thread takes is counted either in ``sent`` (the monitor recorded it) or in ``lost_snapshots``, with why in
    ``missed`` (a Counter: "answered HTTP 500", "no answer within 60 s (the monitor may still have taken it)", ...), and
    the lost ones are named with their reasons in one line on stderr at close() (or at a resume). ``errors`` (an
    ``ErrorList``, a list) keeps the first 100 and the last 100 error lines of a run, counting those dropped between in
    ``errors.omitted``. A snapshot answered 500, 502, 503, 504 or 408, or whose connection was reset mid-request, is
    sent again on the sending thread, at most 3 times after 0.5, 1 and 2 s, within ``timeout``; a repeat answered 409
    "already received" this step was recorded by an earlier try. The finish request is sent again the same way; a repeat
    answered 409 "has finished" was ended by an earlier try. So is the registration: it carries the run's resume key,
    drawn here, so a repeat after a try that registered the run takes that run over. When the monitor answers a snapshot
    or the finish request with 404 (it restarted), 410 (it ended the run: its idle timeout, or it was being stopped) or
    401 (its token is no longer this client's: a restarted ./monitor serve keeps the one on its --out, so its
    control-token was deleted or rotated, its deployment token changed, or the URL now reaches another monitor; the
    client reads the token again from its file, ``token_file`` or $SPLINEWATCH_CONTROL_TOKEN_FILE), the client
    registers the run again with the ``resume_key`` the monitor answered to the first registration (it keeps the
    registration body for that) and sends the request again: the run goes on in the same run directory, its steps
    after the last one recorded (``resumes`` counts this). One line on stderr then says how many snapshots were lost
    meanwhile (sent while the monitor was unreachable, stopping or restarting; ``lost_snapshots`` counts them all).
    Where the monitor cannot take the run back (one without resume keys, a token from ``token=`` or
    $SPLINEWATCH_CONTROL_TOKEN that it no longer accepts, a refused resume) the run is
    ``lost``: one warning on stderr, later snapshots are dropped, and ``close`` reports it, and how many snapshots were
    lost, instead of raising; a resume answered 503, 500, 502, 504 or 408 is no refusal: it is sent again with the
    request that needed it. Such a resume, one cut off mid-request and one not answered in time may have registered the
    run all the same: the next request of the run that the monitor takes then says the resume, once, in the same line
    ("... it streams there again (its resume, answered HTTP 500: ..., registered it all the same); N snapshot(s) ...
    were lost: ..."), and ``resumes`` counts it. A refused snapshot may still carry the stop state (the monitor refuses
    NaN or infinite weights with 400 and, the run having diverged, may ask it to stop): ``should_stop`` heeds it as in
    an accepted snapshot's answer. The monitor reads arrays as float32, and the client sends them so: nonzero float64
    values (probes, probe_pairs, fit inputs, a float64 network's weights) so small that float32 rounds them to 0 are
    named once per array and run in ``warnings`` and on stderr.
    """

    def __init__(self, url, run_id, token=None, probes=None, labels=None, classes=None, token_file=None,
                 plane_anchors=None, probe_pairs=None, fit=None, classifier=None, early_stop="stop", planes=2,
                 queue_size=2, timeout=60.0, seed=42, settings=None):
        if probes is None:
            raise ValueError("probes=(x, y) is required: held-out inputs and their labels")
        import numpy as np
        x, y = np.asarray(host(probes[0])), np.asarray(host(probes[1]))  # x is made float32 by run_npz
        if x.ndim < 2 or len(x) == 0 or y.ndim != 1 or len(y) != len(x):
            raise ValueError("probes=(x, y) holds x of shape %s and y of shape %s; expected one or more inputs (n, ...)"
                             " and their n labels" % (x.shape, y.shape))
        if isinstance(queue_size, bool) or not isinstance(queue_size, numbers.Integral) or queue_size < 1:
            # taken as 1 without a word, queue_size=0 ("no queue", "unbounded") dropped all but the latest snapshot
            raise ValueError("queue_size=%r; expected a whole number of snapshots, 1 or more, that may wait for the"
                             " monitor (the oldest is dropped beyond it)" % (queue_size,))
        if not timeout or not 0 < timeout < float("inf"):  # NaN failed no comparison; inf overflows the socket's
            raise ValueError("timeout=%r; expected seconds to wait for each answer, more than 0" % (timeout,))
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            # ./trainer --monitor takes HOST:PORT; urllib would call that an "unknown url type"
            raise ValueError("url %r is not an http:// URL; expected the monitor's HTTP address, e.g."
                             " http://127.0.0.1:9464 (the port of /metrics, not the cluster port)" % (url,))
        source = "token="
        named_by = "token_file"  # what named the token file: token_file= or the deployment's variable
        if token is None and token_file is None and os.environ.get("SPLINEWATCH_CONTROL_TOKEN_FILE"):
            # the deployment token file the trainer, ./monitor serve and relay read; it wins over the token, as there
            token_file = os.environ["SPLINEWATCH_CONTROL_TOKEN_FILE"]
            named_by = "$SPLINEWATCH_CONTROL_TOKEN_FILE"
        if token is None and token_file is not None:
            source = "%s '%s'" % (named_by, token_file)
            refusal = _token_file_refusal(token_file, source)
            if refusal is not None:
                raise ValueError(refusal)
            try:
                with open(token_file) as f:
                    token = f.read().strip()
            except OSError as e:
                if named_by == "token_file":
                    # token_file= wins over both variables: setting one would not help here
                    raise ValueError("cannot read token_file '%s' (%s); expected the monitor's <out>/control-token,"
                                     " or pass token= instead" % (token_file, e.strerror or e))
                raise ValueError("cannot read $SPLINEWATCH_CONTROL_TOKEN_FILE '%s' (%s); expected the deployment"
                                 " token file the monitor reads (splinewatch.control.token-file), or pass token= or"
                                 " token_file=" % (token_file, e.strerror or e)) from None
            if not token:
                raise ValueError("%s is empty; expected a file holding the monitor's control token" % source)
        if token is None:
            token = os.environ.get("SPLINEWATCH_CONTROL_TOKEN")
            source = "$SPLINEWATCH_CONTROL_TOKEN"
        if not token:
            raise ValueError("no token: pass token=, token_file= (the monitor's <out>/control-token) or set"
                             " SPLINEWATCH_CONTROL_TOKEN_FILE or SPLINEWATCH_CONTROL_TOKEN")
        self.url = url.rstrip("/")
        self.run_id = run_id
        # a token read from a file is read again after a 401: a rotated or deployment token is written there
        self._token_file = token_file if source.startswith(named_by) else None
        self._token_source = source
        self.timeout = timeout
        self._token = token
        labels = dict(labels or {})
        self._stop = False
        self._reason = None
        self.alerts = []
        self.dropped = 0
        self.sent = 0
        self.errors = ErrorList()
        self.warnings = []
        self.lost_snapshots = 0
        self.missed = collections.Counter()  # why each snapshot in lost_snapshots was lost: reason -> count
        self.resumes = 0
        # the snapshots lost since the last line that named them: reason -> count, and their lowest and highest step
        # (counts, not a list: a monitor down for days loses a snapshot at every interval)
        self._missed = collections.Counter()
        self._missed_steps = None
        # the last line of each reason "answered HTTP 409" since the last such line: a 409's meaning is in its line
        self._missed_said = {}
        self._highest_step = -1  # the highest step of a snapshot queued: close(step=) may not go back before it
        self._queued = 0  # snapshots queued
        # why the last snapshot sent was lost when the monitor was not taking any (unreachable, stopping, no answer in
        # time), else None: a queue that overflows meanwhile is not the monitor being slow
        self._away = None
        self._unsent = None  # (count, lowest step, highest step) of those dropped unsent: a full queue, close() late
        self._resume_lock = threading.Lock()
        self._generation = 0  # registrations of the run after the first: a request sent before one is sent again
        # (why the monitor had lost the run, what became of the resume) of a resume that got no answer saying whether
        # it registered the run (a 500, a reset, no answer in time): said as a resume when a request of the run is
        # next taken, which only a registered run is
        self._unconfirmed_resume = None
        # until when (time.monotonic()) the monitor may still be registering that resume (sent, then no answer in time,
        # or a 500, 502 or 504): a snapshot answered 404 or 410 meanwhile waits for it and is sent again, rather than
        # sending another resume (probes and all) that the monitor would register after it (six in one run under load)
        self._resume_registering_until = None
        self._warned = set()
        self._input_shape = x.shape[1:]
        self._queue = collections.deque()
        self._queue_size = int(queue_size)
        self._cv = threading.Condition()
        self._busy = False
        self._in_flight = None  # the step of the snapshot the sending thread is sending
        self._abandoned = False  # close() counted that snapshot lost: its late outcome is not counted again
        self._close_interrupted = False  # a Ctrl-C cut close() short
        self._closed = False
        self._lost = None
        self._lost_why = None
        self._close_lock = threading.Lock()
        self._close_called = False
        self._close_answer = None
        self._pid = os.getpid()
        body = run_npz(run_id, x, y, classes if classes is not None else int(y.max()) + 1,
                       method=labels.get("method", "external"), dataset=labels.get("dataset", "external"),
                       tags=labels.get("tags"), probe_pairs=probe_pairs, plane_anchors=plane_anchors, planes=planes,
                       fit=fit, classifier=classifier, early_stop=early_stop, seed=seed, settings=settings,
                       warn=self._warning)
        # the run's resume key, chosen here and sent with the first registration (the monitor keeps a new run's key):
        # a registration sent again after its answer was lost takes over the run an earlier try created, not a 409
        body = with_resume_key(body, secrets.token_hex(16))
        try:
            self.registration = self._register(body)
        except _Timeout:
            raise TimeoutError("no answer within %g s from the monitor at %s to the registration of run '%s' (POST"
                               " /api/v1/runs); it may still have registered the run, and then refuses a rerun with"
                               " this run id; expected an answer within timeout=%g: check that ./monitor serve is"
                               " running there, or pass a larger timeout= for a busy monitor"
                               % (self.timeout, self.url, run_id, self.timeout)) from None
        except MonitorError as e:
            if e.status == 401:  # which token was refused: a file or a variable left from an earlier monitor
                raise MonitorError(401, "%s; this client's token came from %s" % (e.message, source)) from None
            if e.status not in (404, 405):
                raise
            # the real monitor answers its registration route with neither: the URL names something else (it has a
            # path such as /metrics, or the port is another server's), or ingestion is off there
            raise MonitorError(e.status, "%s (POST %s/api/v1/runs); expected url to be the address of ./monitor"
                               " serve's HTTP port without a path, e.g. http://127.0.0.1:9464 (not .../metrics), on a"
                               " monitor with splinewatch.ingest.enabled = true" % (e.message, self.url)) from None
        key = self.registration.get("resume_key") if isinstance(self.registration, dict) else None
        # a monitor without resume keys (an older release) answers none: a run it loses stays lost
        self._resume_body = with_resume_key(body, key) if isinstance(key, str) and key else None
        del body
        for w in self.registration.get("warnings") or []:  # arrays it read as float64 (the client sends float32)
            self._warning(w)
        self._thread = threading.Thread(target=self._send_loop, name="splinewatch-client", daemon=True)
        self._thread.start()
        _OPEN.add(self)

    def _register(self, body):
        """The monitor's answer to the registration, sent again as a snapshot is (``_retried``). A repeat is safe as
        the body holds this client's resume key: where an earlier try registered the run, the monitor hands it to the
        holder of that key only, answered as a resume of it."""
        return self._retried(lambda deadline: self._post("/api/v1/runs", body, deadline=deadline))

    def _retried(self, send, taken_before=None, pause=None, deadline=None):
        """``send(deadline)``'s answer, sent again after an answer that says the monitor did not take it, or may have
        (_worth_retrying: a 5xx or 408, a connection reset mid-request): at most _RETRIES times, after 0.5, 1, 2 s; a
        refused resume is not sent again. One ``deadline`` (default: ``timeout`` from now) bounds every try, the resume
        a try may need and the waits between them: ``send`` waits only for what is left of it (a _Timeout then), and
        no try starts after it. ``taken_before(e)``: for a repeat's MonitorError, ``(answer,)`` when it says an earlier
        try was taken (the answer to give then), else None. ``pause(seconds)``: waits between tries, true when no more
        tries are to be made (default: time.sleep)."""
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        tries = 0
        while True:
            try:
                return send(deadline)
            except MonitorError as e:
                earlier = taken_before(e) if tries and taken_before is not None else None
                if earlier is not None:
                    return earlier[0]
                wait = 0.5 * 2 ** tries
                if (isinstance(e, _ResumeRefused) or not _worth_retrying(e) or tries == _RETRIES
                        or time.monotonic() + wait > deadline):
                    raise
                if pause(wait) if pause is not None else time.sleep(wait):
                    raise
            tries += 1

    # -- the training loop's side ------------------------------------------------------------------------------

    def snapshot(self, model, step, loss=None, epoch=0, learning_rate=None, projector=None):
        """Copies ``model``'s weights to CPU now and queues them for sending; returns at once.

        Raises UnsupportedModuleError for a module the client cannot convert, and ValueError naming the first module
        whose shape does not fit what comes before it (from the probes' shape on), as the monitor would refuse the
        snapshot: nothing is sent. Once the run is ``lost`` nothing is copied: the snapshot is counted in ``dropped``. A
        network whose weights alone are over the ``max_snapshot_bytes`` the monitor announced is not copied either: an
        error in ``errors``, as the sending thread records a body over it. A refusal that names a layer by the
        monitor's number ("layer 2") names the module of ``model`` it came from too ("layer 2 (model.4 (Linear))").
        """
        self._same_process("snapshot()")
        if self._lost is not None:
            self.snapshot_layers(None, step)
            return
        step = number(step, "step", whole=True)
        self._forward(step)  # before the copy of the network
        from .convert import convert_named, least_bytes
        # a network over the monitor's limit is told from its modules' sizes: its copy would only be dropped
        if self._over_limit(least_bytes(model, projector), step):
            return
        layers, modules = convert_named(model, projector=projector, input_shape=self._input_shape,
                                        warn=self._warning)
        self._enqueue(layers, step, loss, epoch, learning_rate, modules)

    def snapshot_layers(self, layers, step, loss=None, epoch=0, learning_rate=None):
        """Queues an already converted layer list (see ``convert``).

        ``step`` and ``epoch`` are whole numbers, ``loss`` and ``learning_rate`` numbers (numpy or torch scalars and
        one-element tensors too), read now: anything else is a ValueError here, not a lost snapshot later; so is a
        step not after the last one queued, which the monitor would refuse (steps only go forward).
        """
        self._same_process("snapshot()")
        self._enqueue(layers, step, loss, epoch, learning_rate, None)

    def _enqueue(self, layers, step, loss, epoch, learning_rate, modules):
        """Queues a snapshot; ``modules`` names the PyTorch module of each layer (None: not known), for the
        monitor's refusals, which number the layers."""
        item = (layers, number(step, "step", whole=True), number(epoch, "epoch", whole=True), number(loss, "loss"),
                number(learning_rate, "learning_rate"), modules)
        with self._cv:
            if self._closed:
                raise RuntimeError("run '%s' is closed: close() ended it on the monitor, which takes no more of its"
                                   " snapshots; register a new Monitor with another run id to send more" % self.run_id)
            if self._lost is not None:
                self.dropped += 1
                self._miss(item[1], _RUN_LOST)
                return
            self._forward(item[1])
            self._queue.append(item)
            self._queued += 1
            self._highest_step = max(self._highest_step, item[1])
            pushed_out = []
            while len(self._queue) > self._queue_size:
                pushed_out.append(self._queue.popleft()[1])
                self.dropped += 1
            first = pushed_out and self._unsent is None
            away = self._away
            self._count_unsent(pushed_out)
            self._cv.notify_all()
        if first:  # said once: a loop that snapshots every step would print a line per step
            if away is not None:  # a monitor stopping, restarting or unreachable: fewer snapshots would not help
                why = ("while the monitor was not taking them (the last one lost: %s); the client goes on sending the"
                       " newest ones as the monitor takes them again" % away)
            else:
                why = ("waiting for the monitor, which takes them slower than this loop makes them; expected"
                       " snapshots less often, or a larger queue_size")
            print("splinewatch: run '%s': the snapshot of step %d was dropped unsent: the queue already held"
                  " queue_size=%d snapshots %s (later drops are counted in monitor.dropped and named at close())"
                  % (self.run_id, pushed_out[0], self._queue_size, why), file=sys.stderr)

    def _forward(self, step):
        """A ValueError for a step the monitor would refuse (409: steps only go forward), once per snapshot, on the
        training thread: sent, each such snapshot was lost, and the loop heard of the first one only."""
        if step <= self._highest_step or step < 0:
            raise ValueError("step %d is not after step %d, which run '%s' has already queued; expected steps that"
                             " only go forward (a count of steps over all epochs, not the batch index within one)"
                             % (step, self._highest_step, self.run_id) if self._highest_step >= 0 else
                             "step %d is negative; expected a training step, 0 or more" % step)

    @property
    def should_stop(self):
        """True once the monitor has asked the run to stop (a stop-on alert or a stop through the control API)."""
        return self._stop

    @property
    def stop_reason(self):
        return self._reason

    def flush(self, timeout=None):
        """Waits until every queued snapshot has been sent (or ``timeout`` seconds pass)."""
        self._same_process("flush()")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self._queue or self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def close(self, status=None, reason=None, step=None):
        """Sends what is queued, then ends the run; returns the monitor's answer to the finish request.

        ``status``: done, stopped (the default when the monitor asked the run to stop), failed, or interrupted (the
        user stopped the loop, e.g. Ctrl-C; a monitor that does not accept it records the run as failed with
        "interrupted" in its reason, and the answer's ``status`` says which was recorded).

        ``step``: the step the training loop reached, when it went on after its last snapshot (a Ctrl-C between
        snapshots); the run's ``steps`` in ``run_finished``. None: the last snapshot's step. A step before a snapshot
        this run queued is a ValueError here (nothing is sent; close() may be called again). An older monitor that
        does not take it ends the run at its last snapshot's step.

        Takes at most twice ``timeout``: up to ``timeout`` for the queued snapshots (any still queued then are
        dropped, counted in ``dropped``), then up to ``timeout`` for the finish request, its repeats, the resume of
        the run it may need and an older monitor's fallbacks together. The monitor answers that request at once and
        drains the run's analyses afterwards, so close() does not wait for analysis. When no answer comes in time it
        raises TimeoutError (an OSError): the monitor may still have finished the run; where the time ran out while
        the client resumed the run for it, the line says that the finish request was not sent. A wait
        of over a second for the queue is said on stderr; a Ctrl-C in it drops the queue and sends the finish request.
        A snapshot still in flight when close() stops waiting (a Ctrl-C, or out of time) is counted lost then, before
        close() names the lost snapshots, as "in flight when Ctrl-C interrupted close()" (or "... when close() ran out
        of time"; the monitor may still have taken it): what close() prints is final, and the monitor's late answer
        to it is not counted.
        When the monitor cannot be reached at all (connection refused or reset) it raises MonitorUnreachableError, a
        MonitorError naming the run and the URL.

        When the monitor no longer takes the run (``lost``: it restarted, or ended the run after its idle timeout),
        nothing is sent and the answer is ``{"run", "status", "lost": True, "message"}``.

        Only the first call does anything: later ones (and the context manager's exit after one) return its answer,
        or None if it raised.
        """
        self._same_process("close()")
        with self._close_lock:
            if self._close_called:
                return self._close_answer
            if step is not None:
                step = number(step, "step", whole=True)
                if step < max(0, self._highest_step):
                    raise ValueError("step %d is before step %d of a snapshot run '%s' queued; expected the step the"
                                     " loop reached, at least %d, or None" % (step, max(0, self._highest_step),
                                                                              self.run_id, max(0, self._highest_step)))
            self._close_called = True
            self._close_answer = self._close(status, reason, step)
            return self._close_answer

    def _close(self, status, reason, step):
        if status is None:
            status = "stopped" if self._stop else "done"
        if reason is None and status == "stopped":
            reason = self._reason
        try:
            return self._close_run(status, reason, step)
        except KeyboardInterrupt:
            self._close_interrupted = True
            raise
        finally:
            self._abandon_in_flight()
            self._name_missed()
            self._name_unsent()

    def _abandon_in_flight(self):
        """Counts lost the snapshot still in flight when close() stops waiting for it (a Ctrl-C, or out of time), so
        that the line close() prints and ``lost_snapshots``, ``missed`` and ``errors`` are final: its late outcome,
        whatever the monitor answers, is not counted (it used to be, after that line, as a 404 to a finished run)."""
        with self._cv:
            if self._in_flight is None or self._abandoned:
                return
            self._abandoned = True
            if self._close_interrupted:
                why, error = _INTERRUPTED, "in flight when Ctrl-C interrupted close()"
            else:
                why, error = _OUT_OF_TIME, "in flight when close() ran out of time (timeout=%g s)" % self.timeout
            self.errors.append("snapshot of step %d: %s; no answer waited for (the monitor may still have taken it)"
                               % (self._in_flight, error))
            self._miss(self._in_flight, why)

    def _count_unsent(self, steps):
        """Counts snapshots dropped unsent (called holding _cv): a count and a range, not a list that grows."""
        if steps:
            n, low, high = self._unsent or (0, min(steps), max(steps))
            self._unsent = (n + len(steps), min(low, *steps), max(high, *steps))

    def _name_unsent(self):
        """One line on stderr naming the snapshots the client dropped unsent (none: nothing is printed)."""
        with self._cv:
            unsent, queued = self._unsent, self._queued
        if unsent is not None:
            n, low, high = unsent
            print("splinewatch: run '%s': %d of %d snapshots were dropped unsent (%s), the queue full (queue_size=%d)"
                  " or close() out of time to send them; the monitor did not see them" % (
                      self.run_id, n, queued, "step %d" % low if n == 1 else "steps %d to %d" % (low, high),
                      self._queue_size), file=sys.stderr)

    def _close_run(self, status, reason, step):
        deadline = time.monotonic() + self.timeout
        skipped = False
        if self._lost is None:
            try:
                if not self.flush(min(1.0, self.timeout)):
                    # a slow monitor: the wait would be silent, and a Ctrl-C in it left the run unfinished there
                    with self._cv:
                        waiting = len(self._queue) + (1 if self._busy else 0)
                    print("splinewatch: run '%s': sending %d queued snapshot(s) to the monitor at %s before ending the"
                          " run (up to %g s; Ctrl-C skips them and ends the run now)"
                          % (self.run_id, waiting, self.url, self.timeout), file=sys.stderr)
                    self.flush(max(0.0, deadline - time.monotonic()))
            except KeyboardInterrupt:
                skipped = self._close_interrupted = True
                print("splinewatch: run '%s': Ctrl-C: skipped the queued snapshots; ending the run now"
                      % self.run_id, file=sys.stderr)
        with self._cv:
            self._closed = True
            self.dropped += len(self._queue)
            self._count_unsent([item[1] for item in self._queue])  # still queued after timeout, or skipped
            self._queue.clear()
            self._cv.notify_all()
        if not skipped:  # else the snapshot in flight is not waited for either
            self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._lost is not None:
            return self._lost_answer(status)
        # the finish request's own deadline: its tries, the resume they may need and an older monitor's fallbacks
        return self._finish_as_taken(status, reason, step, time.monotonic() + self.timeout)

    def _finish_as_taken(self, status, reason, step, deadline):
        """The finish request, sent again in the words of an older monitor where it refuses the first."""
        try:
            return self._finish(status, reason, step, deadline)
        except MonitorError as e:
            if e.status == 400 and step is not None and "has the key 'step'" in str(e):
                # a monitor that takes only status and reason: the run ends at its last snapshot's step
                return self._finish_as_taken(status, reason, None, deadline)
            if e.status == 400 and status == "interrupted" and "finish status" in str(e):
                # a monitor that knows only done, stopped and failed: the closest is failed (not a complete run)
                return self._finish("failed", "interrupted" + (": " + reason if reason else ""), step, deadline)
            raise

    def _finish(self, status, reason, step, deadline):
        said = {"status": status, "reason": reason}
        if step is not None:
            said["step"] = step
        body = json.dumps(said).encode()
        try:
            return self._send_finish(body, status, deadline)
        except _ResumeRefused as e:
            self._mark_lost(e.cause, "the finish request", e)
            return self._lost_answer(status)
        except MonitorError as e:
            if e.status not in _LOST:
                raise
            self._mark_lost(e, "the finish request")
            return self._lost_answer(status)
        except _Timeout as e:
            if e.sent:
                raise TimeoutError("no answer within %g s to the finish request of run '%s'; the monitor may still"
                                   " have finished it" % (self.timeout, self.run_id)) from None
            if isinstance(e, _ResumeTimeout):
                what = "while the client resumed the run for the finish request (%s)" % e.state("the finish request")
            else:
                what = "before the finish request could be sent again after the resume of the run"
            raise TimeoutError("run '%s' was not ended on the monitor: timeout=%g s ran out %s; the finish request was"
                               " not sent, so the run stays open there until splinewatch.ingest.idle-timeout; expected"
                               " an answer within timeout=%g: pass a larger timeout= for a busy monitor"
                               % (self.run_id, self.timeout, what, self.timeout)) from None

    def _send_finish(self, body, status, deadline):
        """The monitor's answer to the finish request, sent again as a snapshot is (``_retried``). A repeat is safe:
        the monitor ends a run once, and answers a later finish 409 "has finished (or is finishing)", which after a
        try whose answer was lost means that try ended the run."""
        def taken_before(e):
            if e.status == 409 and "has finished (or is finishing)" in e.message:
                return ({"run": self.run_id, "status": status, "finishing": True,
                         "message": "an earlier try of the finish request, whose answer was lost, ended the run"
                                    " (the monitor answered the repeat: %s)" % e.message},)
            return None
        path = "/api/v1/runs/%s/finish" % self.run_id
        return self._retried(lambda d: self._post_run(path, body, content_type="application/json", deadline=d),
                             taken_before, deadline=deadline)

    @property
    def lost(self):
        """None, or why the monitor no longer takes this run (its 404, 410 or 401 answer, or its refusal to resume
        the run): snapshots are no longer sent."""
        return self._lost

    def _why_gone(self, error):
        """Why the monitor no longer takes the run, from its 401, 404 or 410 answer ``error``."""
        if error.status == 401:  # the token registration was accepted with: the monitor's token is another one now
            # a restarted monitor keeps its token (<out>/control-token), so this is no plain restart
            return ("no longer accepts this client's token (its token changed: its <out>/control-token was deleted or"
                    " rotated, or its deployment token changed, or the URL now reaches another monitor; %s)" % (
                        "pass token_file= or set SPLINEWATCH_CONTROL_TOKEN_FILE to that monitor's token file to"
                        " follow it" if self._token_file is None else
                        _token_file_refusal(self._token_file, self._token_source) or  # its token is not read
                        "%s holds no token it accepts: expected that monitor's token file" % self._token_source))
        if error.status == 410:
            return ("ended run '%s' itself (its idle timeout passed without a snapshot, or the monitor was stopped)"
                    % self.run_id)
        return "no longer knows run '%s' (it restarted)" % self.run_id

    def _mark_lost(self, error, what, refused=None):
        why = self._why_gone(error)
        if refused is not None:
            why += " and refused to resume it (%s)" % refused
        older = ""
        if refused is None and error.status in (404, 410) and self._resume_body is None:
            older = ": it answered no resume_key at registration (an older monitor), so the run cannot be resumed"
        with self._cv:
            if self._lost is not None:
                return
            self._lost = str(refused if refused is not None else error)
            self._lost_why = why
            self.dropped += len(self._queue)
            for item in self._queue:
                self._miss(item[1], _RUN_LOST)
            self._queue.clear()
            self._cv.notify_all()
        print("splinewatch: the monitor %s and refused %s; later snapshots of run '%s' are dropped and the end of the"
              " run cannot be recorded%s (%s)" % (why, what, self.run_id, older, error), file=sys.stderr)

    def _miss(self, step, reason):
        """Counts a snapshot the monitor did not record (or, timed out, may not have), and why."""
        with self._cv:
            self.lost_snapshots += 1
            self.missed[reason] += 1
            self._missed[reason] += 1
            low, high = self._missed_steps or (step, step)
            self._missed_steps = (min(low, step), max(high, step))

    def _name_missed(self, after=None):
        """One line on stderr naming the snapshots lost since the last such line (none: nothing is printed)."""
        with self._cv:
            missed, span, said = self._missed, self._missed_steps, self._missed_said
            self._missed, self._missed_steps, self._missed_said = collections.Counter(), None, {}
            kept = ("" if not self.errors.omitted else " (monitor.errors keeps the first %d and the last %d of the"
                    " run's %d errors)" % (_ERRORS_KEPT, _ERRORS_KEPT, self.errors.total))
        if not missed and after is None:
            return
        count = sum(missed.values())
        steps = ("" if span is None else "step %d" % span[0] if span[0] == span[1] else "steps %d to %d" % span)
        why = ", ".join("%d %s%s" % (n, reason, " (the last: %s)" % said[reason] if reason in said else "")
                        for reason, n in missed.items())
        if self._lost is not None and after is None:
            print("splinewatch: run '%s' lost %d snapshot(s) (%s; %s): the monitor %s%s" % (
                self.run_id, count, steps, why, self._lost_why, kept), file=sys.stderr)
            return
        lost = ("%d snapshot(s) (%s) were lost: %s" % (count, steps, why) if missed else "no snapshot was lost")
        if after is None:
            print("splinewatch: run '%s': %s%s" % (self.run_id, lost, kept), file=sys.stderr)
        else:
            print("splinewatch: %s; %s" % (after, lost), file=sys.stderr)

    def _post_run(self, path, body, content_type="application/octet-stream", deadline=None):
        """``_post`` of a request about the run; when the monitor answers that it lost the run (404, 410, 401) the run
        is registered again with its resume key and the request sent again, both before ``deadline``. A refused resume
        is a _ResumeRefused; a monitor that cannot take the run now (unreachable, stopping, starting, or a resume
        answered 500, 502, 504 or 408) is its MonitorError, which the caller's retries send again; a resume without an
        answer before the deadline is a _ResumeTimeout."""
        generation = self._generation
        try:
            answer = self._post(path, body, content_type, deadline)
        except MonitorError as e:
            if e.status not in _LOST or self._resume_body is None or (self._closed and path.endswith("/snapshots")):
                raise
            registering = self._resume_registering_until
            if (e.status != 401 and path.endswith("/snapshots") and registering is not None
                    and time.monotonic() < registering):
                raise _ResumeRegistering(e, self._unconfirmed_resume) from None
            self._resume(e, generation, deadline)
            answer = self._post(path, body, content_type, deadline)
        self._confirm_resume()
        return answer

    def _resume_unclear(self, why, how, may_still_register=True):
        """Keeps a resume whose answer did not say whether it registered the run (``why`` the monitor had lost it,
        ``how`` the resume ended): said as a resume when a request of the run is next taken (_confirm_resume); while
        the monitor may still be registering it, a snapshot answered 404 or 410 is sent again, not with another resume
        (_post_run)."""
        self._unconfirmed_resume = (why, how)
        if may_still_register:
            self._resume_registering_until = time.monotonic() + self._registration_bound()

    def _confirm_resume(self):
        """Says the resume that got no clear answer (``_unconfirmed_resume``) as a resume, once: a request of the run
        was just taken, so it registered the run (the line names the snapshots lost meanwhile, as a resume's does)."""
        if self._unconfirmed_resume is None:
            return
        # not waited for: the thread that holds the lock is resuming the run, and says so itself
        if not self._resume_lock.acquire(blocking=False):
            return
        try:
            if self._unconfirmed_resume is None:
                return
            why, how = self._unconfirmed_resume
            self._unconfirmed_resume = None
            self._resume_registering_until = None
            self._generation += 1
            self.resumes += 1
            self._name_missed("run '%s' resumed on the monitor at %s, which %s; it streams there again (its resume, %s,"
                              " registered it all the same)" % (self.run_id, self.url, why, how))
        finally:
            self._resume_lock.release()

    def _resume(self, error, generation, deadline=None):
        """Registers the run again with its resume key after the monitor answered ``error`` (404, 410 or 401) to a
        request sent at ``generation``, before ``deadline``; returns once it is registered (or was, by another thread,
        meanwhile)."""
        with self._resume_lock:
            if self._generation != generation:
                return  # resumed by the other thread after this request was sent
            why = self._why_gone(error)
            if error.status == 401:
                token = (_read(self._token_file) if self._token_file is not None
                         and _token_file_refusal(self._token_file, self._token_source) is None else None)
                if not token or token == self._token:
                    raise error
                self._token = token
                why = ("took another control token (its control-token was deleted or rotated, or its deployment"
                       " token changed), read again from %s" % self._token_source)
            try:
                answer = self._post("/api/v1/runs", self._resume_body, deadline=deadline)
            except _Timeout as e:
                if e.sent:  # the monitor may register the run after the deadline
                    self._resume_unclear(why, "unanswered within timeout=%g s" % self.timeout)
                raise _ResumeTimeout(self.timeout, why, e.sent) from None
            except MonitorError as e:
                if e.status is None:
                    if getattr(e, "transient", False):  # cut off mid-request: it may have registered the run
                        self._resume_unclear(why, "cut off mid-request")
                    raise  # unreachable: the next request tries again
                if _worth_retrying(e):
                    # it may have registered the run all the same: said when a request of the run is next taken
                    self._resume_unclear(why, "answered HTTP %d: %s" % (e.status, e.message), _may_still_register(e))
                    # stopping or starting (503), or transient (a 500 when the route's ask timed out while the
                    # metrics node was slow, which may go on registering the run; a proxy's 502 or 504; a 408): the
                    # request is sent again (_send_snapshot, _send_finish), and the resume with it; a 500 was taken
                    # for a refusal and the run dropped for good. The answer alone ("register the run with a monitor
                    # that runs") read as the request's own refusal
                    raise MonitorError(e.status, "the monitor %s and answered its registration to resume it: %s; the"
                                       " client registers the run again with its resume_key at its next request"
                                       % (why, e.message), e.answer) from None
                if e.status != 409 or "already streaming" not in e.message or "resume_key" in e.message:
                    self._unconfirmed_resume = self._resume_registering_until = None  # refused: the run is lost
                    raise _ResumeRefused(error, e) from None
                # an older monitor, which answers a resume of a run streaming there 409 whatever its key (a newer one
                # takes the run over for its key and answers as a resume, and names the resume_key it refuses): the
                # run streams there again, an earlier resume that it answered after this client's timeout took it
                # back (only the resume key, this client's, does that for a run the monitor lost)
                answer = None
            self._unconfirmed_resume = self._resume_registering_until = None  # this resume's line says it
            self._generation += 1
            self.resumes += 1
            if answer is None:
                after = ("run '%s' resumed on the monitor at %s, which %s; it streams there again (an earlier resume,"
                         " whose answer did not come in time, took it back)" % (self.run_id, self.url, why))
            elif answer.get("resumed"):
                self.registration = answer
                last = answer.get("last_step")
                after = ("run '%s' resumed on the monitor at %s, which %s; its directory there holds the run up to"
                         " %s" % (self.run_id, self.url, why, "step %d" % last if isinstance(last, int)
                                  else "no step"))
            else:
                self.registration = answer
                after = ("run '%s' registered again on the monitor at %s, which %s and holds no directory of it"
                         " (another --out?): the run starts anew there" % (self.run_id, self.url, why))
            self._name_missed(after)

    def _lost_answer(self, status):
        return {"run": self.run_id, "status": status, "lost": True,
                "message": "the monitor %s; its end was not recorded (%s)" % (self._lost_why, self._lost)}

    def _same_process(self, what):
        if os.getpid() != self._pid:
            # a forked process (a DataLoader worker) has a copy of the queue but not the sending thread: a snapshot
            # queued here would never be sent, and flush() would wait for it
            raise RuntimeError("%s of run '%s' in process %d, but the run streams from process %d, which registered"
                               " it; a forked process (a DataLoader worker) has no sending thread and its snapshots"
                               " would never be sent: expected the Monitor used only in the training process"
                               % (what, self.run_id, os.getpid(), self._pid))

    def __reduce__(self):
        # pickle's own error ("cannot pickle '_thread.RLock' object") does not say what was being pickled
        raise TypeError("a Monitor (run '%s') cannot be pickled or sent to another process (a DataLoader worker"
                        " started with spawn or forkserver): its sending thread and the run stay in the process that"
                        " registered it; expected the Monitor kept out of datasets, collate_fn and worker_init_fn,"
                        " and used only in the training process" % self.run_id)

    def _close_at_exit(self):
        """At interpreter exit, ends a run that close() did not: as the context manager would, from the uncaught
        exception that ended the program (``sys.last_value``; Ctrl-C: interrupted, another: failed), else with
        close()'s default status (done, with a reason saying so; stopped when told to stop). One line on stderr says
        so. SIGTERM's default action ends Python without exit handlers: nothing is sent then."""
        if os.getpid() != self._pid or self._close_called:
            return
        error = getattr(sys, "last_value", None)
        status = reason = None
        if isinstance(error, KeyboardInterrupt):
            status, reason = "interrupted", "KeyboardInterrupt: the program ended without monitor.close()"
        elif isinstance(error, BaseException):
            status, reason = "failed", "%r: the program ended without monitor.close()" % (error,)
        elif not self._stop:  # the client cannot tell a forgotten close() from sys.exit(1): the reason says so
            reason = "the program ended without monitor.close()"
        try:
            answer = self.close(status, reason)
        except KeyboardInterrupt:
            print("splinewatch: run '%s' was not closed and Ctrl-C stopped ending it at exit; the monitor ends it"
                  " after splinewatch.ingest.idle-timeout" % self.run_id, file=sys.stderr)
            return
        except Exception as e:
            print("splinewatch: run '%s' was not closed and could not be ended at exit: %s" % (self.run_id, e),
                  file=sys.stderr)
            return
        if not answer.get("lost"):  # a lost run was reported when the monitor refused it
            print("splinewatch: run '%s' was not closed; ended it on the monitor at exit as %s: call monitor.close()"
                  " when training ends, or use the Monitor as a context manager"
                  % (self.run_id, answer.get("status", status)), file=sys.stderr)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.close()
            return False
        status = "interrupted" if issubclass(kind, KeyboardInterrupt) else "failed"
        try:
            self.close(status, repr(value))
        except Exception as e:  # the exception that ended the block matters more; say why the run was not finished
            print("splinewatch: could not record the end of run '%s': %s" % (self.run_id, e), file=sys.stderr)
        return False

    # -- the sending thread ------------------------------------------------------------------------------------

    def _send_loop(self):
        _leave_signals_to_other_threads()
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if not self._queue:
                    return
                layers, step, epoch, loss, lr, modules = self._queue.popleft()
                self._busy = True
                self._in_flight = step
            try:
                body = layers_npz(layers, step, epoch=epoch, loss=loss, learning_rate=lr)
                self._check_size(body)
                answer = self._send_snapshot(step, body, modules) or {}
                if not self._outcome(step):
                    continue  # close() counted it lost meanwhile
                if answer:  # else recorded by an earlier try, whose answer did not come back
                    self._stop_state(answer)
                for w in answer.get("warnings") or []:  # float64 values float32 rounds to 0: once per array and run
                    self._warning(w)
            except _ResumeRefused as e:
                if self._outcome(step, e, _answered(e.cause)) and not self._closed:
                    self._mark_lost(e.cause, "the snapshot of step %d" % step, e)
            except MonitorError as e:
                # not recorded: whatever the answer, the run lacks this step
                if not self._outcome(step, e, _answered(e)):
                    continue
                if e.answer is not None:
                    # a refusal that carries the stop state (NaN weights: the run diverged) is still heeded
                    self._stop_state(e.answer)
                if e.status in _LOST and not self._closed and not isinstance(e, _ResumeRegistering):
                    # the monitor lost the run and cannot take it back (no resume key, a token it no longer accepts):
                    # every later snapshot would be refused too (after close() began, a 404 is a late snapshot of a
                    # finished run)
                    self._mark_lost(e, "the snapshot of step %d" % step)
                elif len(self.errors) == 1 and not self._closed:  # closed: one in flight when close() gave up on it
                    self._warn(self.errors[0])
            except _Timeout as e:
                if isinstance(e, _ResumeTimeout):  # the snapshot waited for the resume, and was not sent
                    said = self._outcome(step, "not sent: %s" % e, "not sent: timeout ran out resuming the run")
                elif not e.sent:  # its tries and the resume they needed took the whole timeout
                    said = self._outcome(step, "not sent: %s (its tries and the resume of the run took it)" % e,
                                         "not sent: timeout ran out")
                else:  # the request may have reached the monitor, which may have queued the snapshot: no way to tell
                    said = self._outcome(step, "no answer within %g s (timed out); the monitor may still have taken it"
                                         % self.timeout, "no answer within %g s (the monitor may still have taken it)"
                                         % self.timeout)
                if said and len(self.errors) == 1:
                    self._warn(self.errors[0])
            except Exception as e:  # the loop must not die: record, warn once, go on
                if (self._outcome(step, e, _TOO_LARGE if isinstance(e, _TooLarge) else
                                  "not sent: %s" % type(e).__name__) and len(self.errors) == 1):
                    self._warn(self.errors[0])
            finally:
                with self._cv:
                    self._busy = False
                    self._in_flight = None
                    self._abandoned = False
                    self._cv.notify_all()

    def _outcome(self, step, error=None, reason=None):
        """Counts how the snapshot of ``step`` in flight ended: in ``sent`` (``error`` None), else in ``errors`` and
        as lost for ``reason``. False, counting nothing, when close() has already counted it lost (and said so)."""
        with self._cv:
            if self._abandoned:
                return False
            if error is None:
                self.sent += 1
            else:
                self.errors.append("snapshot of step %d: %s" % (step, error))
                self._miss(step, reason)
                if isinstance(error, MonitorError) and error.status == 409 and reason == _answered(error):
                    self._missed_said[reason] = error.message  # not a refused resume's: its reason is the cause's
            self._away = reason if error is not None and _not_taking(error) else None
            return True

    def _send_snapshot(self, step, body, modules):
        """The monitor's answer to the snapshot of ``step``, sent again after an answer that says the monitor did not
        record it (or may have, and then refuses the repeat as a step it already received): at most _RETRIES times,
        after 0.5, 1, 2 s, within ``timeout`` of the first try, and not once close() has given up on the queue.
        None when a repeat was answered that this step was already received (an earlier try was recorded)."""
        def until_closed(seconds):  # true once close() gave up on the queue: no more tries
            with self._cv:  # the training thread never waits for this: its snapshots queue meanwhile
                return self._cv.wait_for(lambda: self._closed, seconds)
        path = "/api/v1/runs/%s/snapshots" % self.run_id
        try:
            return self._retried(lambda deadline: self._post_run(path, body, deadline=deadline),
                                 lambda e: (None,) if e.status == 409 and _already_received(e.message, step) else None,
                                 until_closed)
        except MonitorError as e:
            if modules is not None and e.status == 400 and not isinstance(e, _ResumeRefused):
                raise _named_modules(e, modules) from None
            raise

    def _warning(self, line):
        """Keeps and prints a line saying float32 rounds nonzero values of an array to 0: once per array and run (the
        client's lines for the arrays it converts, the monitor's for float64 arrays it reads)."""
        array = re.match(r"(.*?): \d+ nonzero values? below float32's range", line)
        with self._cv:
            if array is not None and array.group(1) in self._warned:
                return
            if array is not None:
                self._warned.add(array.group(1))
            self.warnings.append(line)
        print("splinewatch: warning: %s" % line, file=sys.stderr)

    def _registration_bound(self):
        """Seconds a registration may still register the run on the monitor: its ``max_registration_seconds`` (from
        its route's wait and its answer-timeout), else _RESUME_REGISTERING for an older monitor that announces none."""
        bound = self.registration.get("max_registration_seconds") if isinstance(self.registration, dict) else None
        if isinstance(bound, numbers.Real) and not isinstance(bound, bool) and 0 < bound < float("inf"):
            return float(bound)
        return _RESUME_REGISTERING

    def _max_snapshot_bytes(self):
        limit = self.registration.get("max_snapshot_bytes") if isinstance(self.registration, dict) else None
        return limit if isinstance(limit, int) and not isinstance(limit, bool) else None

    @staticmethod
    def _too_large(size, limit, least=""):
        return ("its body of %s%d bytes is over the monitor's limit of %d bytes (splinewatch.ingest.max-snapshot-bytes)"
                " and was not sent; expected a smaller network, or raise splinewatch.ingest.max-snapshot-bytes in a"
                " --config file of ./monitor serve" % (least, size, limit))

    def _check_size(self, body):
        """A ValueError for a body over the limit the monitor announced at registration: one far over it is refused
        unread, and the client would see only a reset connection ("cannot reach the monitor")."""
        limit = self._max_snapshot_bytes()
        if limit is not None and len(body) > limit:
            raise _TooLarge(self._too_large(len(body), limit))

    def _over_limit(self, least, step):
        """Whether a snapshot of step ``step`` whose body holds at least ``least`` bytes is over the announced limit:
        then it is recorded in ``errors`` as the sending thread records one (and said if it is the first error),
        before its weights are copied."""
        limit = self._max_snapshot_bytes()
        if limit is None or least <= limit:
            return False
        with self._cv:
            if self._closed or self._lost is not None:
                return False  # refused or dropped as any snapshot is then
            self._highest_step = max(self._highest_step, step)  # as if queued: steps still only go forward
            self.errors.append("snapshot of step %d: %s" % (step, self._too_large(least, limit, "at least ")))
            self._miss(step, _TOO_LARGE)
            first = len(self.errors) == 1
        if first:
            self._warn(self.errors[0])
        return True

    def _stop_state(self, answer):
        self.alerts = answer.get("alerts") or []
        if answer.get("stop"):
            self._reason = answer.get("reason")
            self._stop = True

    @staticmethod
    def _warn(error):
        print("splinewatch: %s (later errors are only counted in monitor.errors)" % error, file=sys.stderr)

    def _post(self, path, body, content_type="application/octet-stream", deadline=None):
        """The answer to a POST (JSON); MonitorError for an HTTP error, _Timeout when no answer came before
        ``deadline`` (default: ``timeout`` from now; the deadline of the call it is part of), or none was left to send
        it in.

        A 503 with ``Retry-After`` (the monitor holds too many request bodies at once) is sent again after that
        many seconds (at most 5), while the deadline allows; a 503 without it (too many runs, the monitor stopping)
        is an error at once.
        """
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout(self.timeout, path, sent=False)
            req = urllib.request.Request(self.url + path, data=body, method="POST", headers={
                "Authorization": "Bearer " + self._token, "Content-Type": content_type})
            try:
                return self._answer(req, path, min(left, self.timeout))
            except urllib.error.HTTPError as e:
                message, answer = _refusal(e.read().decode("utf-8", "replace").strip())
                wait = _retry_after(e) if e.code == 503 else None
                if wait is None or time.monotonic() + wait > deadline:
                    raise MonitorError(e.code, message, answer) from None
                time.sleep(wait)

    def _answer(self, req, path, seconds):
        try:
            with urllib.request.urlopen(req, timeout=seconds) as r:
                text = r.read().decode("utf-8")
        except urllib.error.HTTPError:
            raise  # an answer: _post decides
        except urllib.error.URLError as e:
            if not isinstance(e.reason, socket.timeout):
                raise self._unreachable(path, e.reason, len(req.data or b"")) from None
            raise _Timeout(self.timeout, path) from None
        except socket.timeout:
            raise _Timeout(self.timeout, path) from None
        except (OSError, http.client.HTTPException) as e:  # reset or closed mid-answer, a garbled answer
            raise self._unreachable(path, e, len(req.data or b"")) from None
        return json.loads(text) if text.strip().startswith("{") else {"message": text.strip()}

    def _unreachable(self, path, why, size=0):
        """The one-line error for a request that got no HTTP answer: the run, the URL, the cause, what to check."""
        cut = isinstance(why, (BrokenPipeError, ConnectionResetError)) and size > _CUT_BODY
        if cut:
            # the monitor answers 413 to a body declared over 4 times its limit without reading it and closes the
            # connection: urllib, still sending, sees only the closed connection
            setting, less = (("max-snapshot-bytes", "a smaller network") if path.endswith("/snapshots") else
                             ("max-run-bytes", "fewer or smaller probes (and probe_pairs, fit)"))
            return MonitorUnreachableError(
                "the monitor at %s closed the connection while run '%s' sent a body of %d bytes (POST %s: %s);"
                " expected a body within splinewatch.ingest.%s (64 MiB by default; one over 4 times it is refused"
                " unread): %s, or raise it in a --config file of ./monitor serve; or check that the monitor is still"
                " running" % (self.url, self.run_id, size, path, " ".join(str(why).split()), setting, less))
        transient = isinstance(why, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError,
                                     http.client.RemoteDisconnected, http.client.IncompleteRead))
        why = str(why).strip() or type(why).__name__
        return MonitorUnreachableError(
            "cannot reach the monitor at %s for run '%s' (POST %s: %s); check that ./monitor serve is running and"
            " listening there and that the URL is right" % (self.url, self.run_id, path, " ".join(why.split())),
            transient)


_MONITOR_LAYER = re.compile(r"\blayer (\d+)(?=[:,;) ])")


def _named_modules(error, modules):
    """``error`` (the monitor's 400 to a snapshot) with each "layer N" it names followed by the PyTorch module that
    layer came from, ``modules[N]`` ("layer 2 (model.4 (Linear))"), in its message and its document's error and
    reason (a divergence alert names the non-finite number)."""
    def name(text):
        if not isinstance(text, str):
            return text
        return _MONITOR_LAYER.sub(lambda m: "layer %s (%s)" % (m.group(1), modules[int(m.group(1))])
                                  if int(m.group(1)) < len(modules) else m.group(0), text)
    answer = error.answer
    if isinstance(answer, dict):
        answer = dict(answer, **{k: name(answer[k]) for k in ("error", "reason") if k in answer})
    return MonitorError(error.status, name(error.message), answer)


# how often a snapshot is sent again after an answer that says retrying is sound (_worth_retrying)
_RETRIES = 3
# how long a monitor that does not say (an older one: a newer one answers max_registration_seconds to the registration)
# may still register a resume it gave no clear answer to: ./monitor serve's route waits 40 s for the registration
# (then answers 500), and the run's metrics node may take its answer-timeout (30 s) after it
_RESUME_REGISTERING = 60.0
# the reasons of lost snapshots the client did not send
_RUN_LOST = "not sent: the run was lost"
_TOO_LARGE = "not sent: over max_snapshot_bytes"
# ... of a snapshot still in flight when close() stopped waiting for it
_INTERRUPTED = "in flight when Ctrl-C interrupted close() (the monitor may still have taken it)"
_OUT_OF_TIME = "in flight when close() ran out of time (the monitor may still have taken it)"
# monitor.errors keeps this many of the first and of the last error lines
_ERRORS_KEPT = 100


class ErrorList(list):
    """``monitor.errors``: a list of the run's error lines, oldest first, bounded for a run that loses snapshots for
    days: it keeps the first and the last ``_ERRORS_KEPT`` (100) lines and drops those in between as new ones come,
    counting them in ``omitted``; ``total`` is the number of errors there were. ``monitor.missed`` counts every lost
    snapshot by its reason, without a bound."""

    def __init__(self):
        super().__init__()
        self.omitted = 0

    @property
    def total(self):
        return len(self) + self.omitted

    def append(self, line):
        super().append(line)
        if len(self) > 2 * _ERRORS_KEPT:
            del self[_ERRORS_KEPT]  # the oldest of the last ones: the first ones stay
            self.omitted += 1


def _worth_retrying(error):
    """Whether a snapshot so answered may be sent again: 503 (the monitor busy, starting, or past its request
    timeout), 502 and 504 (a proxy's), 500 (the run's actor did not answer in time; the snapshot may still be
    recorded: a repeat is then refused as a step already received), 408 (its body stalled), a connection reset or
    closed mid-request, a 404 or 410 while the monitor may still be registering the run's resume. Not 4xx refusals
    (the same body is refused again) nor a refused connection (the next snapshot tries again)."""
    if isinstance(error, _ResumeRegistering):
        return True
    if error.status is None:
        return getattr(error, "transient", False)
    return error.status in (408, 500, 502, 503, 504)


def _not_taking(error):
    """Whether a snapshot so lost says the monitor takes none now: no answer (unreachable, timed out: ``error`` is
    then a line) or one that retrying was for (_worth_retrying: stopping, starting, overloaded)."""
    if isinstance(error, str):
        return True
    return isinstance(error, MonitorError) and (error.status is None or _worth_retrying(error))


def _already_received(message, step):
    """Whether the monitor's 409 says the run already received this very step (IngestedRun's "has already received
    step N"): an earlier try of it was recorded."""
    m = re.search(r"has already received step (\d+)\b", message or "")
    return m is not None and int(m.group(1)) == step


def _may_still_register(error):
    """Whether a resume answered ``error`` may still register the run: a 500 (the monitor's route stopped waiting for
    it), a proxy's 502 or 504, or Pekko's 503 past its request-timeout; not the monitor's own 503 refusals (stopping,
    too many runs, the run still ending) nor a 408 (the body stalled, never read)."""
    return error.status in (500, 502, 504) or (error.status == 503 and "timely response" in error.message)


def _answered(error):
    """Why a snapshot answered ``error`` was lost, in a few words."""
    if isinstance(error, _ResumeRegistering):
        return "answered HTTP %d while the monitor may still register the run's resume" % error.status
    return "answered HTTP %d" % error.status if error.status is not None else "sent while the monitor was unreachable"


class _TooLarge(ValueError):
    """A snapshot body over the monitor's announced max_snapshot_bytes: not sent."""


class _ResumeRegistering(MonitorError):
    """The monitor answered ``cause`` (404, 410) to a snapshot while the resume this client sent without a clear answer
    (``unconfirmed``: why the monitor had lost the run, what became of the resume) may still be registering the run
    there: the snapshot is sent again (_worth_retrying), and no other resume with it."""

    def __init__(self, cause, unconfirmed):
        how = unconfirmed[1] if unconfirmed is not None else "unanswered"
        super().__init__(cause.status, "%s; the client's resume of the run (%s) may still be registering it there, so"
                         " the snapshot is sent again rather than another resume" % (cause.message, how),
                         cause.answer)
        self.cause = cause


class _ResumeRefused(MonitorError):
    """The monitor refused to take back a run it had lost (``cause``: its 404, 410 or 401 to the run's request)."""

    def __init__(self, cause, refusal):
        super().__init__(refusal.status, "the monitor refused to resume the run: %s" % refusal.message,
                         refusal.answer)
        self.cause = cause


# whether token files have POSIX permissions to judge (not on Windows, where the Java side skips the rule too)
_POSIX_MODES = os.name == "posix"


def _token_file_refusal(path, named, process_uid=None):
    """The one line that refuses token file ``path`` (``named``: "token_file '...'" or the variable's), or None.

    The rule the trainer, ./monitor serve and relay apply to the deployment token file (OwnerOnlyFiles on the Java
    side, listed by its OwnerOnlyFilesTest; the lines are its own, the secret named as the client's): a file owned by a
    user other than root must be owner-only (rw------- or less); one owned by root may also be readable by its group
    (rw-r----- or less) when this process runs as another user (a Kubernetes secret volume with defaultMode 0440 and
    the pod's fsGroup); others may never have a permission. A link is judged by the file it leads to. None on Windows,
    and when the file cannot be looked at (it then fails where it is read, with its own line). ``process_uid``: the
    user this runs as (the effective one), the seam a test runs "as".
    """
    if not _POSIX_MODES:
        return None
    try:
        status = os.stat(path)  # of a link's target: the file that is read
        target = os.path.realpath(path) if os.path.islink(path) else path
    except (OSError, ValueError):
        return None
    if process_uid is None:
        process_uid = os.geteuid()
    permissions = status.st_mode & 0o777  # Java's PosixFilePermissions: setuid, setgid and sticky are not among them
    mode = "".join(c if permissions & (0o400 >> i) else "-" for i, c in enumerate("rwxrwxrwx"))
    if target != path:
        named += " (a link to '%s')" % target
    secret = "the monitor's control token, which stops any run"
    if status.st_uid == 0 and process_uid != 0:
        if permissions & 0o037 == 0:  # the owner's, and reading for its group
            return None
        return ("%s is owned by root and open to others or writable by its group (mode %s), so they may read %s;"
                " expected rw-r----- at most (a file owned by root may also be readable by its group when this runs as"
                " another user): chmod 640 %s for the group this runs in, or give it to the user this runs as and chmod"
                " 600; on Kubernetes, a secret volume's defaultMode: 0440 with the pod's fsGroup"
                % (named, mode, secret, path))
    if permissions & 0o077 == 0:
        return None
    return ("%s is open to others than its owner (mode %s), so they may read %s; expected an owner-only file"
            " (rw-------): chmod 600 %s (the rule for a file owned by %s; only a file owned by root may also be"
            " readable by its group (rw-r-----), for a process of another user: on Kubernetes, a secret volume's"
            " defaultMode: 0400, or 0440 with the pod's fsGroup for a pod not running as root)"
            % (named, mode, secret, path, "root when this runs as root" if status.st_uid == 0
               else "%s, not root" % _user_name(status.st_uid)))


def _user_name(uid):
    """The name of user ``uid``, else the number (as Java names an owner that has no name)."""
    import pwd
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _read(path):
    """The token in file ``path``, stripped; None when it cannot be read."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _refusal(text):
    """(message, document) of an error answer: a JSON one's ``error`` and the document, else the text as one line and
    None. An HTML page (another server's error page: the URL is not the monitor's) is told by its title."""
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("error"), str):
            return doc["error"], doc
    if re.match(r"\s*<(!doctype\s+html|html|head|body|title|h1)\b", text, re.I):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.I | re.S)
        what = title or heading
        text = "an HTML page%s, not an answer of ./monitor serve" % (
            " '%s'" % html.unescape(re.sub(r"<[^>]+>", "", what.group(1))) if what else "")
    return " ".join(text.split()), None


def _retry_after(error):
    """Seconds from an answer's ``Retry-After`` (at most 5), or None when it has none."""
    value = error.headers.get("Retry-After") if error.headers is not None else None
    try:
        return min(5.0, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None


# Signals a process gets from outside (Ctrl-C's SIGINT, SIGTERM, ...), as opposed to those a fault raises in the
# thread that caused it
_FAULTS = {getattr(signal, n) for n in ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS", "SIGABRT",
                                        "SIGKILL", "SIGSTOP") if hasattr(signal, n)}


def _leave_signals_to_other_threads():
    """Blocks the outside signals in the calling (sending) thread. A kernel may hand a signal sent to the process to
    any thread that does not block it; taken in the sending thread, Python's handler only sets a flag, and a training
    loop waiting in a blocking call (time.sleep, a DataLoader's queue) is not woken: Ctrl-C then does nothing until
    that call returns. Blocked here, it goes to the training thread."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals() - _FAULTS)


# a body over this cut off by the monitor is likely one over its size limit (the smallest it allows is 1 KiB, the
# default 64 MiB; a cut smaller body is a monitor that went away)
_CUT_BODY = 4 * 1024 * 1024

# Monitors not closed yet: ended at interpreter exit (a Ctrl-C or an exception in a loop without close() would
# otherwise leave the run streaming on the monitor until its idle timeout, and refuse a rerun with its id)
_OPEN = weakref.WeakSet()


@atexit.register
def _close_open_runs():
    for m in list(_OPEN):
        m._close_at_exit()


class _Timeout(TimeoutError):
    """No answer within the client's timeout: the request may or may not have reached the monitor; ``sent`` False:
    the call's deadline had passed before it could be sent (after the resume it needed, say)."""

    def __init__(self, timeout, path, sent=True):
        super().__init__("no answer within %g s to POST %s (timed out); the monitor may still have handled it"
                         % (timeout, path) if sent else
                         "timeout=%g s ran out before POST %s could be sent" % (timeout, path))
        self.sent = sent


class _ResumeTimeout(_Timeout):
    """The call's deadline passed while the resume its request needed waited for an answer (``resume_sent``: it may
    still have registered the run), or before the resume could be sent: the request was not sent again. ``why``: why
    the monitor had lost the run."""

    def __init__(self, timeout, why, resume_sent=True):
        self.sent = False
        self.why = why
        self.resume_sent = resume_sent
        TimeoutError.__init__(self, "timeout=%g s ran out while the client resumed the run (%s)" % (
            timeout, self.state("the request")))

    def state(self, request):
        """Why the monitor had lost the run and what became of the resume that ``request`` needed."""
        return "the monitor %s; %s" % (self.why, "no answer to the resume in time: it may still have registered the run"
                                      if self.resume_sent else "the resume was not sent: %s's tries took the time"
                                      % request)
