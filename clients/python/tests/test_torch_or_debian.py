"""The examples' interpreter check: a one-line error, not a stack trace, when PyTorch cannot be imported."""

import os
import subprocess
import sys
import tempfile
import unittest

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
DEBIAN_HAS_TORCH = subprocess.call(["/usr/bin/python3", "-c", "import torch, numpy"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL) == 0 if os.path.exists("/usr/bin/python3") else False


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
        # a script, as the examples are: an interpreter without torch re-runs it with Debian's
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(d, "script.py")
            with open(script, "w") as f:
                f.write("import sys; sys.path.insert(0, %r); import _torch_or_debian; print('ok')\n" % EXAMPLES)
            r = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=120)
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertEqual("ok", r.stdout.strip())

    @unittest.skipUnless(DEBIAN_HAS_TORCH, "needs /usr/bin/python3 with torch to re-run with")
    def test_code_without_a_script_is_one_line_not_a_rerun(self):
        # python3 -c CODE (or stdin, a REPL) in an interpreter without torch: there is no script to re-run, and the
        # re-run got only '-c' ("Argument expected for the -c option" from python's usage) or read an empty stdin and
        # ended with exit code 0 having run nothing
        code = ("import sys; sys.modules['torch'] = None; sys.executable = '/nonexistent/python3';"
                " sys.path.insert(0, %r); import _torch_or_debian; print('ran')" % EXAMPLES)
        for argv, stdin in (([sys.executable, "-c", code], None), ([sys.executable, "-"], code)):
            r = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
            self.assertEqual(1, r.returncode, (argv[1], r.stdout, r.stderr))
            lines = r.stderr.strip().splitlines()
            self.assertEqual(1, len(lines), r.stderr)
            self.assertIn("cannot import torch", lines[0])
            self.assertIn("/usr/bin/python3", lines[0])
            self.assertIn("no script to re-run", lines[0])


if __name__ == "__main__":
    unittest.main()
