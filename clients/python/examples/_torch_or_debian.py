"""Makes the examples runnable as `python3 examples/...` on a machine whose `python3` lacks PyTorch.

Debian's PyTorch (`apt-get install python3-torch python3-numpy`) serves only Debian's interpreter, /usr/bin/python3,
while the `python3` first on PATH may be a pyenv or venv one without it. Importing this module before torch either
returns (torch importable), re-runs the script with /usr/bin/python3 when that interpreter has torch, or exits with
a one-line error saying what to install (or, for code that is no script: `-c`, stdin, a REPL, which interpreter to use).
"""

import os
import subprocess
import sys

DEBIAN_PYTHON = "/usr/bin/python3"


def ensure_torch():
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
        return
    except ImportError as e:
        missing = e.name or "torch"
    here = os.path.realpath(sys.executable)
    # only a script can be re-run: under `python3 -c CODE`, stdin or a REPL, sys.argv[0] is '-c', '-' or '' (the
    # re-run got python's usage error, or an empty stdin that ran nothing and exited 0)
    script = os.path.isfile(sys.argv[0]) if sys.argv and sys.argv[0] else False
    if here != os.path.realpath(DEBIAN_PYTHON) and os.path.exists(DEBIAN_PYTHON):
        ok = subprocess.call([DEBIAN_PYTHON, "-c", "import torch, numpy"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) == 0
        if ok and script:
            os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)
        if ok:
            sys.exit(f"error: {sys.executable} cannot import {missing}, and there is no script to re-run with "
                     f"{DEBIAN_PYTHON}, which can; expected this code run by {DEBIAN_PYTHON}")
    sys.exit(f"error: {sys.executable} cannot import {missing}; expected PyTorch and numpy for this interpreter "
             f"(Debian: apt-get install python3-torch python3-numpy, then run with {DEBIAN_PYTHON})")


ensure_torch()
