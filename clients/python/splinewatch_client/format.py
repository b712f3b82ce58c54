"""Writing the .npz bodies of the ingestion API: numpy arrays (.npy, version 1.0, C order) plus one JSON entry."""

import io
import json
import numbers
import sys
import zipfile

import numpy as np


def host(a):
    """``a`` where numpy can read it: a torch tensor on any device, requiring grad or of a floating dtype numpy lacks
    (bfloat16) is detached, copied to the CPU and, for such a dtype, made float32; anything else is returned as is."""
    if hasattr(a, "detach") and hasattr(a, "cpu") and hasattr(a, "is_floating_point"):  # a torch tensor
        a = a.detach().cpu()
        if a.is_floating_point() and str(a.dtype) not in ("torch.float16", "torch.float32", "torch.float64"):
            a = a.float()
        return a.numpy()
    return a


def float32(a, name, warn=None, copy=True):
    """``a`` (see ``host``) as a little-endian float32 array, the dtype the monitor reads. Nonzero float64 values that
    float32 rounds to 0 (below half of its least subnormal, 1.4e-45) would vanish without a word: they are counted in
    one line naming ``name``, passed to ``warn`` (default: printed on stderr), as the monitor does for a float64 array
    it reads ("snapshot: array l0.weight: 2 nonzero values below float32's range read as 0 (...)"). ``copy=False``
    returns ``a`` itself where it is little-endian float32 already."""
    a = np.asarray(host(a))
    out = a.astype("<f4", copy=copy)  # copy=False: ``a`` is a copy already (a weight converted on the training thread)
    if a.dtype.kind in "fc" and a.dtype.itemsize > 4 and a.size:
        vanished = (out == 0) & (a != 0)
        count = int(np.count_nonzero(vanished))
        if count:
            first = np.unravel_index(int(np.argmax(vanished)), a.shape)
            index = first[0] if len(first) == 1 else tuple(int(i) for i in first)
            (warn or _print_warning)(
                "%s: %d nonzero %s below float32's range read as 0 (the first %r at index %s; float32's least is"
                " 1.4e-45): the monitor reads arrays as float32" % (name, count, "value" if count == 1 else "values",
                                                                    float(a[first]), index))
    return out


def _print_warning(line):
    print("splinewatch: warning: %s" % line, file=sys.stderr)


def plain(v):
    """A torch tensor or a numpy array or scalar as Python values (a number, a boolean or a list); others as they are."""
    v = host(v)
    if isinstance(v, (np.ndarray, np.generic)):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def number(v, name, whole=False):
    """``v`` as a Python float (an int where ``whole``): a number, a numpy or torch scalar, or a one-element array or
    tensor; else a ValueError naming ``name``. None stays None unless ``whole``."""
    if v is None and not whole:
        return None
    p = plain(v)
    while isinstance(p, list) and len(p) == 1:
        p = p[0]
    if isinstance(p, list):
        raise ValueError("%s has shape %s; expected a number" % (name, np.shape(p)))
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise ValueError("%s is %r; expected a number" % (name, p))
    if not whole:
        return float(p)
    if isinstance(p, numbers.Integral):
        return int(p)
    if p != p or p in (float("inf"), float("-inf")) or p != int(p):
        raise ValueError("%s is %s; expected a whole number" % (name, p))
    return int(p)


def encode_npz(arrays, documents):
    """An uncompressed .npz: ``arrays`` (name -> ndarray) as NAME.npy, ``documents`` (name -> dict) as NAME.json."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, doc in documents.items():
            z.writestr(name + ".json", json.dumps(doc, allow_nan=True))
        for name, a in arrays.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.ascontiguousarray(a), version=(1, 0), allow_pickle=False)
            z.writestr(name + ".npy", npy.getvalue())
    return buf.getvalue()


def layers_npz(layers, step, epoch=0, loss=None, learning_rate=None):
    """A snapshot body from ``convert``'s layer list: arrays named in the layer entries, plus snapshot.json."""
    arrays, specs = _layer_arrays(layers)
    doc = {"format": "splinewatch-snapshot", "version": 1, "step": int(step), "epoch": int(epoch),
           "loss": _number(loss), "learning_rate": _number(learning_rate), "layers": specs}
    return encode_npz(arrays, {"snapshot": doc})


def regions_npz(layers, anchors=None, origin=None, u=None, v=None, pad=None, warn=None):
    """A region file for ``./monitor regions --model FILE [--tiled]`` (docs/snapshot-format.md, "Region files").

    ``layers`` is ``convert``'s list. The plane is either ``anchors``, three inputs of the network's input shape
    (array (3, d) or (3, c, h, w)): SplineCam's plane through them, domain |s| + |t| <= ``pad`` (None: 1.5 times the
    anchors' extent, as the monitor's live planes), or ``origin``, ``u``, ``v``, each of the input shape: the points
    origin + a*u + b*v for a, b in [-1, 1]. A layer marked as the projector's first is where partitioning stops, as
    live. Raises ValueError when the plane is given neither or both ways, or its shapes disagree. The plane is
    written as float32: nonzero float64 values that float32 rounds to 0 are named in one line per array, passed to
    ``warn`` (default: printed on stderr).
    """
    arrays, specs = _layer_arrays(layers)
    doc = {"format": "splinewatch-regions", "version": 1, "layers": specs}
    chart = (origin, u, v)
    if (anchors is None) == all(c is None for c in chart) or (anchors is None and any(c is None for c in chart)):
        raise ValueError("the plane is given %s; expected either anchors (3 inputs) or origin, u and v"
                         % ("both ways" if anchors is not None else "incompletely" if any(c is not None for c in chart)
                            else "neither way"))
    if anchors is not None:
        a = float32(anchors, "anchors", warn)
        if a.ndim not in (2, 4) or a.shape[0] != 3:
            raise ValueError("anchors have shape %s; expected (3, d) or (3, c, h, w)" % (a.shape,))
        arrays["anchors"] = a
        if pad is not None:
            if not float(pad) > 0:
                raise ValueError("pad is %s; expected a positive number or None" % pad)
            doc["pad"] = float(pad)
    else:
        o, du, dv = (float32(c, n, warn) for c, n in zip(chart, ("origin", "u", "v")))
        if o.ndim not in (1, 3) or du.shape != o.shape or dv.shape != o.shape:
            raise ValueError("origin, u, v have shapes %s, %s, %s; expected one input shape, (d,) or (c, h, w)"
                             % (o.shape, du.shape, dv.shape))
        arrays.update({"origin": o, "u": du, "v": dv})
    return encode_npz(arrays, {"network": doc})


def _layer_arrays(layers):
    """``convert``'s layers as entries naming their arrays, and the arrays by those names."""
    arrays = {}
    specs = []
    for spec in layers:
        entry = {}
        for key, value in spec.items():
            if isinstance(value, np.ndarray):
                arrays[value_name(len(specs), key)] = value
                entry[key] = value_name(len(specs), key)
            else:
                entry[key] = value
        specs.append(entry)
    return arrays, specs


def value_name(index, key):
    return "l%d.%s" % (index, key)


def run_npz(run_id, probes, probe_labels, classes, method="external", dataset="external", tags=None,
            probe_pairs=None, plane_anchors=None, planes=2, fit=None, classifier=None, early_stop=None, seed=42,
            settings=None, warn=None):
    """A registration body: run.json plus probes (n, d) or (n, c, h, w) float32 and their integer labels.

    Arrays may be numpy arrays or torch tensors (on any device, requiring grad, bfloat16: see ``host``).

    Raises ValueError, as the monitor would answer 400, when labels are not integer class labels 0..classes-1 or
    plane anchors are not integer probe indices (a float array of whole numbers is accepted, as by the monitor).
    Nonzero float64 values of probes, probe_pairs or fit inputs that float32 rounds to 0 are named in one line per
    array, passed to ``warn`` (default: printed on stderr).
    """
    classes = int(classes)
    arrays = {"probes": float32(probes, "probes", warn),
              "probe_labels": integers(probe_labels, classes, "probe_labels", "integer class labels")}
    if probe_pairs is not None:
        arrays["probe_pairs"] = float32(probe_pairs, "probe_pairs", warn)
    if plane_anchors is not None:
        arrays["plane_anchors"] = integers(plane_anchors, len(arrays["probes"]), "plane_anchors",
                                           "integer probe indices")
    if fit is not None:
        arrays["fit_inputs"] = float32(fit[0], "fit inputs", warn)
        arrays["fit_labels"] = integers(fit[1], classes, "fit_labels", "integer class labels")
    doc = {"run_id": run_id, "method": method, "dataset": dataset, "tags": dict(tags or {}), "classes": classes,
           "planes": int(planes), "seed": int(seed),
           "settings": {k: _setting(k, v) for k, v in dict(settings or {}).items()}}
    if classifier is not None:
        doc["classifier"] = bool(classifier)
    if early_stop is not None:
        doc["early_stop"] = early_stop
    return encode_npz(arrays, {"run": doc})


def with_resume_key(body, key):
    """The registration ``body`` (``run_npz``'s) with ``resume_key`` in its run.json: it registers the run again,
    appended to its directory on the monitor, which answered ``key`` to the first registration."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(body)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "run.json":
                doc = json.loads(data)
                doc["resume_key"] = key
                data = json.dumps(doc, allow_nan=True).encode()
            dst.writestr(info.filename, data)
    return out.getvalue()


def _setting(key, value):
    """A settings value as JSON: numpy and torch scalars and arrays become numbers, booleans and lists."""
    v = plain(value)
    ok = isinstance(v, (bool, numbers.Real, str)) or v is None or (
        isinstance(v, list) and all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in v))
    if not ok:
        raise ValueError("settings[%r] is %r; expected a number, boolean, string or list of numbers" % (key, value))
    return v


def integers(values, bound, name, what):
    """``values`` as int64 after checking that each is a whole number in [0, bound), else a ValueError naming it."""
    a = np.asarray(host(values))
    if not (a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ValueError("%s has dtype %s; expected %s from 0 to %d" % (name, a.dtype, what, bound - 1))
    if a.size:
        flat = a.reshape(-1)
        bad = ~np.isfinite(flat) | (flat != np.round(flat)) if np.issubdtype(a.dtype, np.floating) \
            else np.zeros(flat.shape, dtype=bool)
        bad |= (flat < 0) | (flat >= bound)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError("%s holds %s at index %d (%d such values); expected %s from 0 to %d"
                             % (name, flat[i], i, int(bad.sum()), what, bound - 1))
    return a.astype("<i8")


def _number(x):
    if x is None:
        return None
    x = float(x)
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    return x
