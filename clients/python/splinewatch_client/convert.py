"""Converting a PyTorch network into the snapshot format's layer list (weights copied to CPU float32)."""

import numpy as np

from .format import float32

SUPPORTED = ("Linear, Conv2d, AvgPool2d, BatchNorm1d/2d, SyncBatchNorm, ReLU, LeakyReLU, Flatten (Identity and every"
             " Dropout are skipped)")


class UnsupportedModuleError(ValueError):
    """A module the monitor's piecewise-linear networks cannot represent."""


def _cpu(t, name, warn):
    # detach and copy to host memory: training may go on (on any device) while the copy is encoded and sent; a
    # float64 tensor stays float64 until float32() names the values that float32 rounds to 0
    t = t.detach().to("cpu", copy=True)
    if str(t.dtype) != "torch.float64":
        t = t.float()
    return float32(t.numpy(), name, warn, copy=False)  # the copy above is the only one on the training thread


def _param(m, name):
    """``m``'s tensor ``name`` as its next forward pass uses it.

    nn.utils.weight_norm, nn.utils.spectral_norm and nn.utils.prune keep in ``m.weight`` what the last forward pass
    computed and recompute it in a forward pre-hook from the parameters the optimiser updates: after
    ``optimizer.step()`` (and, for spectral norm, before any forward) the attribute is stale. The hook's own
    computation gives the weight an eval-mode forward pass uses (spectral norm without a power iteration, as in
    eval mode). Parametrizations (torch.nn.utils.parametrizations) compute it on access and need nothing here.
    """
    import torch
    from torch.nn.utils.prune import BasePruningMethod
    from torch.nn.utils.spectral_norm import SpectralNorm
    from torch.nn.utils.weight_norm import WeightNorm
    with torch.no_grad():
        for hook in m._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                return hook.compute_weight(m)
            if isinstance(hook, SpectralNorm) and hook.name == name:
                return hook.compute_weight(m, do_power_iteration=False)
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                return hook.apply_mask(m)
    return getattr(m, name)


def _unwrap(m):
    """The module a wrapper runs: torch.compile's OptimizedModule (``_orig_mod``; its state dict's keys start with
    ``_orig_mod.``), DataParallel and DistributedDataParallel (``module``)."""
    import torch.nn as nn
    while True:
        if isinstance(m, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            m = m.module
        elif type(m).__name__ == "OptimizedModule" and isinstance(getattr(m, "_orig_mod", None), nn.Module):
            m = m._orig_mod  # torch._dynamo's class, named so as not to import torch._dynamo (slow, torch 2.x only)
        else:
            return m


def _fsdp(m):
    """Whether ``m`` is sharded by FSDP: wrapped in FullyShardedDataParallel, or a module fully_shard (FSDP2) made an
    FSDPModule, whose parameters are DTensors. Told by class name, so as not to import torch.distributed."""
    return any(c.__name__ in ("FullyShardedDataParallel", "FSDPModule")
               and c.__module__.startswith("torch.distributed") for c in type(m).__mro__)


def _modules(model, prefix=""):
    """``(name, module)`` of each module ``model`` runs, in order; a name as ``print(model)`` shows it, with the
    names of enclosing containers before it ("2", "1.0", "fc1"); a list's by position."""
    import torch.nn as nn
    model = _unwrap(model)
    if _fsdp(model):
        # each rank holds only its shard of the parameters (FullyShardedDataParallel's flat parameter, fully_shard's
        # DTensors): read here, a shard would be taken for the layer, or the copy fails inside numpy
        raise UnsupportedModuleError(
            "%s is sharded by FSDP: this rank holds only its shard of the parameters, which the client cannot read;"
            " expected, on rank 0, an unwrapped copy of the network with the full parameters loaded"
            " (get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True)) from"
            " torch.distributed.checkpoint.state_dict, called on every rank, gives them to rank 0)"
            % type(model).__name__)
    if isinstance(model, nn.Sequential) and type(model).forward is nn.Sequential.forward \
            or isinstance(model, (nn.ModuleList, list, tuple)):
        # _modules, as forward iterates it: named_children() yields a module once, and a module at two places (one
        # nn.ReLU() between every layer, an nn.Linear applied twice) lost its later ones
        children = model._modules.items() if isinstance(model, nn.Module) else enumerate(model)
        out = []
        for key, m in children:
            out.extend(_modules(m, "%s%s." % (prefix, key)))
        return out
    return [(prefix[:-1] or "0", model)]  # a Sequential with a forward of its own too: _layer refuses it


def _pair(v, what, index, name):
    if isinstance(v, (tuple, list)):
        if len(set(v)) != 1:
            raise UnsupportedModuleError("%s (%s) has %s %s; expected the same value for height and width"
                                         % (index, name, what, tuple(v)))
        return int(v[0])
    return int(v)


def convert(model, projector=None, input_shape=None, warn=None):
    """The layer list of ``model`` (an nn.Sequential, an nn.ModuleList or a list of modules), then ``projector``'s,
    marked as such. A torch.compile'd module, DataParallel and DistributedDataParallel are read as the module they
    wrap, at any depth; a module sharded by FSDP (FullyShardedDataParallel or fully_shard) is refused, as one rank
    holds only a shard of its parameters.

    Raises UnsupportedModuleError naming the first module that cannot be converted: one the monitor cannot compute,
    or one with a forward of its own (a custom nn.Module, an nn.Sequential or supported layer subclassed with its own
    forward), which the client cannot read.

    Raises ValueError naming the first module whose shape does not fit what the modules before it output (an
    nn.Linear whose in_features is not the previous layer's out_features, a Conv2d's in_channels, a BatchNorm's
    num_features, an nn.Linear on an image without nn.Flatten), as the monitor would refuse the snapshot.
    ``input_shape``, one input's shape ((d,) or (c, h, w): the probes' without n), lets it check the first module and
    every shape after an nn.Flatten; without it, what the modules alone determine is checked.

    Weights are sent as float32: nonzero values of a float64 network that float32 rounds to 0 are named in one line
    per tensor, passed to ``warn`` (default: printed on stderr).
    """
    return convert_named(model, projector, input_shape, warn)[0]


def convert_named(model, projector=None, input_shape=None, warn=None):
    """``convert``'s layer list and, for each layer, the PyTorch module it came from as the user wrote it
    ("model.4 (Linear)", "projector.0 (Linear)"): the monitor numbers the layers it was sent, and Identity and
    every Dropout are skipped, so its "layer 2" need not be the model's module 2."""
    _a_model(model, "the model")
    named = [("module " + n, "model.%s" % n, m) for n, m in _modules(model)]
    layers = [(_layer(m, where, warn), where, m, name) for where, name, m in named]
    layers = [l for l in layers if l[0] is not None]
    if projector is not None:
        _a_model(projector, "the projector")
        head = [(_layer(m, "projector module " + n, warn), "projector module " + n, m, "projector.%s" % n)
                for n, m in _modules(projector)]
        head = [l for l in head if l[0] is not None]
        if not head:
            raise UnsupportedModuleError("the projector holds no layer; expected at least one module")
        head[0][0]["projector"] = True
        layers.extend(head)
    if not layers:
        raise UnsupportedModuleError("the model holds no layer; expected at least one module")
    _check_shapes([l[:3] for l in layers], input_shape)
    return [l[0] for l in layers], ["%s (%s)" % (name, type(m).__name__) for _, _, m, name in layers]


def least_bytes(model, projector=None):
    """The bytes of float32 weights ``convert`` would copy from ``model`` (and ``projector``), from the modules'
    sizes alone, without reading a tensor: a snapshot body holds at least these. 0 for what convert would refuse,
    which it then names."""
    import torch.nn as nn
    total = 0
    for part in (model, projector):
        if part is None or not isinstance(part, (nn.Module, list, tuple)):
            continue
        try:
            modules = [m for _, m in _modules(part)]
        except UnsupportedModuleError:
            return 0
        for m in modules:
            if isinstance(m, nn.Linear):
                total += m.out_features * (m.in_features + 1)
            elif isinstance(m, nn.Conv2d) and m.groups == 1:
                total += m.out_channels * (m.in_channels * m.kernel_size[0] * m.kernel_size[1] + 1)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm)):
                total += 4 * m.num_features
    return 4 * total


def _check_shapes(layers, input_shape):
    """Follows one input's shape through ``(layer, where, module)`` as the monitor does (SnapshotFormat.layerList):
    a ValueError in PyTorch's terms at the first module that does not fit what comes before it. A size not known
    (no input_shape) is None and checked against nothing."""
    import torch.nn as nn
    shape = tuple(int(d) for d in input_shape) if input_shape is not None else None
    source = "the input (probes of shape (n, %s))" % ", ".join(map(str, shape)) if shape is not None else None
    for layer, where, m in layers:
        t = layer["type"]
        this = "%s (%r)" % (where, m)
        known = shape is not None and shape[0] is not None
        if t == "dense":
            o, i = layer["weight"].shape[1], layer["weight"].shape[0]  # the format's (in, out) is PyTorch's (out, in).T
            if shape is not None and len(shape) == 3:
                raise ValueError("%s receives an image of shape %s from %s; expected an nn.Flatten() before it"
                                 % (this, _tuple(shape), source))
            if known and shape[0] != i:
                raise ValueError("%s has in_features=%d (weight of shape (%d, %d)), but receives %d features from %s;"
                                 " expected in_features=%d, a weight of shape (%d, %d)"
                                 % (this, i, o, i, shape[0], source, shape[0], o, shape[0]))
            shape = (o,)
        elif t == "conv2d":
            w = layer["weight"].shape  # (out, in, kh, kw), as PyTorch's
            if shape is not None and len(shape) == 1:
                raise ValueError("%s receives flat features from %s; expected an image (c, h, w): probes of shape"
                                 " (n, c, h, w) and no nn.Flatten() before it" % (this, source))
            if known and shape[0] != w[1]:
                raise ValueError("%s has in_channels=%d (weight of shape %s), but receives %d channels from %s;"
                                 " expected in_channels=%d" % (this, w[1], _tuple(w), shape[0], source, shape[0]))
            hw = (None, None) if shape is None or shape[1] is None else \
                tuple(d + 2 * layer["padding"] for d in shape[1:])
            if hw[0] is not None and (hw[0] < w[2] or hw[1] < w[3]):
                raise ValueError("%s has kernel_size=%s, larger than its input of %s (padded) from %s; expected a"
                                 " kernel that fits" % (this, _tuple(w[2:]), _tuple(hw), source))
            shape = (w[0],) + tuple(None if d is None else (d - k) // layer["stride"] + 1 for d, k in zip(hw, w[2:]))
        elif t == "avgpool2d":
            k, s = layer["kernel"], layer["stride"]
            if shape is not None and len(shape) == 1:
                raise ValueError("%s receives flat features from %s; expected an image (c, h, w)" % (this, source))
            hw = (None, None) if shape is None else shape[1:]
            if hw[0] is not None and min(hw) < k:
                raise ValueError("%s has kernel_size=%d, larger than its input of %s from %s; expected a kernel that"
                                 " fits" % (this, k, _tuple(hw), source))
            shape = (shape[0] if shape is not None else None,) + tuple(None if d is None else (d - k) // s + 1
                                                                      for d in hw)
        elif t == "flatten":
            if shape is not None and len(shape) == 3:
                shape = (None if None in shape else shape[0] * shape[1] * shape[2],)
        elif t == "batchnorm":
            n = len(layer["gamma"])
            if known and shape[0] != n:
                raise ValueError("%s has num_features=%d, but receives %d %s from %s; expected num_features=%d"
                                 % (this, n, shape[0], "channels" if len(shape) == 3 else "features", source,
                                    shape[0]))
            if shape is None:
                shape = (n,) if isinstance(m, nn.BatchNorm1d) else (n, None, None) \
                    if isinstance(m, nn.BatchNorm2d) else None
        else:
            continue  # an activation keeps the shape
        source = this


def _tuple(shape):
    return "(%d,)" % shape[0] if len(shape) == 1 else "(%s)" % ", ".join(map(str, shape))


def _a_model(model, what):
    """An UnsupportedModuleError for a ``model`` that is neither a module nor a list of them (None, a state_dict, a
    tensor), which the converter read as a module: an AttributeError from deep inside it."""
    import torch.nn as nn
    if not isinstance(model, (nn.Module, list, tuple)):
        raise UnsupportedModuleError(_not_a_module(model, what))


def _not_a_module(m, where):
    """Says what ``m``, found where a module was expected, is instead, and what to pass."""
    import inspect
    import torch.nn as nn
    if inspect.isclass(m) and issubclass(m, nn.Module):
        return ("%s is the class %s, not an nn.Module; expected an instance of it, %s()"
                % (where, m.__name__, m.__name__))
    if callable(m) and not isinstance(m, type):
        # F.relu, torch.relu, a lambda: forward calls it, but it is no module the client can find and read
        name = getattr(m, "__name__", type(m).__name__)
        return ("%s is the function %s, not an nn.Module; expected a module in its place (nn.ReLU() for F.relu or"
                " torch.relu), one of %s" % (where, name, SUPPORTED))
    kind = "a state_dict" if isinstance(m, dict) else "None" if m is None else "a %s" % type(m).__name__
    return ("%s is %s, not an nn.Module; expected an nn.Sequential, an nn.ModuleList or a list of modules, each one"
            " of %s" % (where, kind, SUPPORTED))


def _layer(m, i, warn=None):
    import torch.nn as nn
    if not isinstance(m, nn.Module):
        raise UnsupportedModuleError(_not_a_module(m, i))
    name = type(m).__name__
    at = "%s (%s) " % (i, name)  # names the arrays in warnings
    base = next((b for b in _bases() if isinstance(m, b)), None)
    if base is not None and type(m).forward is not base.forward:
        # e.g. a weight-standardised Conv2d: its weight is not what forward uses, and the client cannot tell
        raise UnsupportedModuleError("%s (%s) has a forward of its own that the client cannot read (it"
                                     " subclasses %s); expected %s's own forward" % (i, name, base.__name__,
                                                                                    base.__name__))
    if getattr(m, "has_uninitialized_params", None) is not None and m.has_uninitialized_params():
        raise UnsupportedModuleError("%s (%s) has uninitialized parameters (a lazy module); expected a forward"
                                     " pass before the first snapshot" % (i, name))
    if isinstance(m, nn.Linear):
        # PyTorch: (out, in); the format: (in, out). A view: encode_npz, on the sending thread, writes it in C order
        w = _cpu(_param(m, "weight"), at + "weight", warn).T
        b = _cpu(_param(m, "bias"), at + "bias", warn) if m.bias is not None else np.zeros(w.shape[1], dtype="<f4")
        return {"type": "dense", "weight": w, "bias": b}
    if isinstance(m, nn.Conv2d):
        if m.groups != 1 or _pair(m.dilation, "dilation", i, name) != 1 or m.padding_mode != "zeros":
            raise UnsupportedModuleError("%s (Conv2d) uses groups, dilation or %s padding; expected groups=1,"
                                         " dilation=1, zero padding" % (i, m.padding_mode))
        padding = m.padding
        if padding == "valid":
            padding = 0
        elif padding == "same":  # stride 1 (PyTorch's rule): k - 1 in all, the odd one on the bottom and right
            if any(k % 2 == 0 for k in m.kernel_size):
                raise UnsupportedModuleError("%s (Conv2d) has padding 'same' with kernel %s, which pads one"
                                             " more on the bottom and right; expected an odd kernel or integer"
                                             " padding" % (i, tuple(m.kernel_size)))
            padding = tuple((k - 1) // 2 for k in m.kernel_size)
        elif isinstance(padding, str):
            raise UnsupportedModuleError("%s (Conv2d) has padding '%s'; expected an integer" % (i, padding))
        w = _cpu(_param(m, "weight"), at + "weight", warn)
        b = _cpu(_param(m, "bias"), at + "bias", warn) if m.bias is not None else np.zeros(w.shape[0], dtype="<f4")
        return {"type": "conv2d", "weight": w, "bias": b, "stride": _pair(m.stride, "stride", i, name),
                "padding": _pair(padding, "padding", i, name)}
    if isinstance(m, nn.AvgPool2d):
        if _pair(m.padding, "padding", i, name) != 0 or m.ceil_mode or m.divisor_override is not None:
            raise UnsupportedModuleError("%s (AvgPool2d) has padding, ceil_mode or divisor_override; expected"
                                         " none" % i)
        kernel = _pair(m.kernel_size, "kernel_size", i, name)
        stride = _pair(m.stride if m.stride is not None else kernel, "stride", i, name)
        return {"type": "avgpool2d", "kernel": kernel, "stride": stride}
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm)):  # SyncBatchNorm: BatchNorm in eval mode
        if m.running_mean is None or m.running_var is None:
            raise UnsupportedModuleError("%s (%s) keeps no running statistics; expected"
                                         " track_running_stats=True (the monitor folds eval-mode batch norm)"
                                         % (i, name))
        n = m.num_features
        gamma = _cpu(_param(m, "weight"), at + "weight", warn) if m.weight is not None else np.ones(n, dtype="<f4")
        beta = _cpu(_param(m, "bias"), at + "bias", warn) if m.bias is not None else np.zeros(n, dtype="<f4")
        return {"type": "batchnorm", "gamma": gamma, "beta": beta,
                "mean": _cpu(m.running_mean, at + "running_mean", warn),
                "var": _cpu(m.running_var, at + "running_var", warn), "eps": float(m.eps)}
    if isinstance(m, nn.ReLU):
        return {"type": "relu"}
    if isinstance(m, nn.LeakyReLU):
        slope = float(m.negative_slope)
        if not 0 <= slope < 1:  # the format's rule (docs/snapshot-format.md); the monitor would answer 400
            raise UnsupportedModuleError("%s (LeakyReLU) has negative_slope %s; expected 0 <= slope < 1"
                                         % (i, slope))
        return {"type": "leaky_relu", "negative_slope": slope}
    if isinstance(m, nn.Flatten):
        if m.start_dim != 1 or m.end_dim != -1:
            raise UnsupportedModuleError("%s (Flatten) flattens dims %d..%d; expected start_dim=1, end_dim=-1"
                                         % (i, m.start_dim, m.end_dim))
        return {"type": "flatten"}
    if isinstance(m, (nn.Identity,) + _dropouts()):  # the identity in eval mode
        return None
    if isinstance(m, nn.Sequential) or any(True for _ in m.children()):
        raise UnsupportedModuleError("%s (%s) has a forward of its own that the client cannot read; expected an"
                                     " nn.Sequential or a list of its modules in the order forward runs them (e.g."
                                     " [model.fc1, model.act, model.fc2]), each one of %s, where forward is only"
                                     " that chain (a residual add or a concatenation has no such list)"
                                     % (i, name, SUPPORTED))
    raise UnsupportedModuleError("%s (%s) is not supported; expected %s" % (i, name, SUPPORTED))


def _bases():
    """The supported module classes, whose own forward the converter knows."""
    import torch.nn as nn
    return (nn.Linear, nn.Conv2d, nn.AvgPool2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm, nn.ReLU,
            nn.LeakyReLU, nn.Flatten, nn.Identity) + _dropouts()


def _dropouts():
    import torch.nn as nn
    return tuple(getattr(nn, n) for n in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                          "FeatureAlphaDropout") if hasattr(nn, n))


def forward(layers, x):
    """The converted network's output and hidden pre-activation signs on ``x`` (numpy, float64): used by tests."""
    h = np.asarray(x, dtype=np.float64)
    signs = []
    for l in layers:
        t = l["type"]
        if t == "dense":
            h = h @ l["weight"].astype(np.float64) + l["bias"]
        elif t == "conv2d":
            h = _conv(h, l["weight"].astype(np.float64), l["bias"], l["stride"], l["padding"])
        elif t == "avgpool2d":
            k, s = l["kernel"], l["stride"]
            n, c, hh, ww = h.shape
            oh, ow = (hh - k) // s + 1, (ww - k) // s + 1
            out = np.zeros((n, c, oh, ow))
            for a in range(k):
                for b in range(k):
                    out += h[:, :, a:a + s * oh:s, b:b + s * ow:s]
            h = out / (k * k)
        elif t == "flatten":
            h = h.reshape(h.shape[0], -1)
        elif t == "batchnorm":
            shape = (1, -1, 1, 1) if h.ndim == 4 else (1, -1)
            scale = l["gamma"] / np.sqrt(l["var"].astype(np.float64) + l["eps"])
            h = (h - l["mean"].reshape(shape)) * scale.reshape(shape) + l["beta"].reshape(shape)
        elif t in ("relu", "leaky_relu"):
            signs.append((h > 0).reshape(h.shape[0], -1))
            h = np.where(h > 0, h, h * (0.0 if t == "relu" else l["negative_slope"]))
    return h, signs


def _conv(x, w, b, stride, pad):
    n, c, hh, ww = x.shape
    oc, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (hh + 2 * pad - kh) // stride + 1, (ww + 2 * pad - kw) // stride + 1
    out = np.zeros((n, oc, oh, ow))
    for a in range(kh):
        for bb in range(kw):
            patch = xp[:, :, a:a + stride * oh:stride, bb:bb + stride * ow:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, a, bb])
    return out + b.reshape(1, -1, 1, 1)
