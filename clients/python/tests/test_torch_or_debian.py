"""The examples' interpreter check: a one-line error, not a stack trace, when PyTorch cannot be imported."""

import os
import subprocess
import sys
import unittest

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")


class TorchOrDebianTest(unittest.TestCase):
    def run_with_torch_blocked(self):
        # torch made unimportable in this interpreter; it is Debian's python3 itself here, so nothing to re-run with
        code = ("import sys; sys.modules['torch'] = None; sys.path.insert(0, %r); import _torch_or_debian"
                % EXAMPLES)
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    @unittest.skipUnless(os.path.realpath(sys.executable) == os.path.realpath("/usr/bin/python3"),
                         "checks the no-fallback path, which runs under Debian's /usr/bin/python3")
    def test_missing_torch_is_one_line_naming_what_to_install(self):
        r = self.run_with_torch_blocked()
        self.assertEqual(1, r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(1, len(lines), r.stderr)
        self.assertTrue(lines[0].startswith("error: ") and "cannot import torch" in lines[0], lines[0])
        self.assertIn("apt-get install python3-torch python3-numpy", lines[0])

    def test_with_torch_it_returns_quietly(self):
        code = "import sys; sys.path.insert(0, %r); import _torch_or_debian; print('ok')" % EXAMPLES
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertEqual("ok", r.stdout.strip())


if __name__ == "__main__":
    unittest.main()
