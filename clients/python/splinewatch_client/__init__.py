"""Client of splinewatch's HTTP ingestion API (docs/snapshot-format.md).

``Monitor`` registers a run with a running ``./monitor serve``, converts a PyTorch network into the snapshot
format (``convert``), sends snapshots on a background thread with a drop-oldest queue, and reports whether the
monitor asks the run to stop. ``regions_npz`` writes a network and a plane for ``./monitor regions`` (exact region
counts offline). numpy is required; torch only for ``convert``.
"""

from .format import encode_npz, layers_npz, regions_npz, run_npz
from .convert import UnsupportedModuleError, convert
from .monitor import Monitor, MonitorError, MonitorUnreachableError

__all__ = ["Monitor", "MonitorError", "MonitorUnreachableError", "UnsupportedModuleError", "convert", "encode_npz", "layers_npz", "regions_npz", "run_npz"]
