"""The converter against PyTorch's own forward pass, the .npz bodies, and the sending queue (no monitor needed).

Run with Debian's interpreter, which has python3-torch: /usr/bin/python3 -m unittest discover clients/python/tests
"""

import contextlib
import copy
import io
import json
import os
import sys
import unittest
import zipfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from splinewatch_client import UnsupportedModuleError, convert, layers_npz, regions_npz, run_npz  # noqa: E402
from splinewatch_client.convert import forward  # noqa: E402

try:
    import torch
    import torch.nn as nn
except ImportError:  # the converter tests need torch; the format tests do not
    torch = None


def cnn():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.BatchNorm2d(6), nn.Flatten(),
        nn.Linear(6 * 2 * 2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 5))
    with torch.no_grad():  # non-trivial running statistics, as after training
        for m in model:
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    return model.eval()


@unittest.skipIf(torch is None, "torch is not installed (apt-get install python3-torch)")
class ConverterTest(unittest.TestCase):
    def test_outputs_and_activation_patterns_match_pytorch(self):
        model = cnn()
        x = torch.rand(64, 1, 8, 8)
        signs = []
        hooks = [m.register_forward_hook(lambda mod, inp, out: signs.append((inp[0] > 0).reshape(len(x), -1).numpy()))
                 for m in model if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
        with torch.no_grad():
            expected = model(x).double().numpy()
        for h in hooks:
            h.remove()
        layers = convert(model)
        self.assertEqual([l["type"] for l in layers],
                         ["conv2d", "batchnorm", "relu", "avgpool2d", "conv2d", "leaky_relu", "batchnorm", "flatten",
                          "dense", "batchnorm", "relu", "dense"])
        out, ours = forward(layers, x.numpy())
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
        self.assertEqual(len(ours), len(signs))
        for a, b in zip(ours, signs):
            self.assertGreater(np.mean(a == b), 0.999)  # float32 vs float64: only ties at 0 may differ

    def test_linear_is_transposed_to_in_out_and_weights_are_copies(self):
        lin = nn.Linear(3, 2)
        layers = convert([lin, nn.ReLU()])
        self.assertEqual(layers[0]["weight"].shape, (3, 2))
        np.testing.assert_array_equal(layers[0]["weight"], lin.weight.detach().numpy().T)
        with torch.no_grad():
            lin.weight.add_(1.0)  # training goes on: the queued copy must not change
        self.assertFalse(np.allclose(layers[0]["weight"], lin.weight.detach().numpy().T))

    def test_the_training_thread_copies_each_float32_weight_once(self):
        # convert() runs on the training thread at every snapshot: a float32 weight was copied three times there
        # (to a CPU tensor, by astype to float32 and by the transpose of a Linear), which doubled the time snapshot()
        # took from the loop; the copy to C order for the body is the sending thread's (encode_npz)
        import tracemalloc
        model = nn.Sequential(nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 8))
        tracemalloc.start()  # numpy's allocations are traced, torch's are not: what numpy copies on top of the one
        try:
            convert(model, input_shape=(1024,))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 1024 * 1024, "numpy copied %d bytes of a 4 MiB network" % peak)
        layers = convert(model)
        body = layers_npz(layers, 0)
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            w = np.load(io.BytesIO(z.read("l0.weight.npy")))
        np.testing.assert_array_equal(w, model[0].weight.detach().numpy().T)
        self.assertTrue(w.flags.c_contiguous)

    def test_projector_is_marked(self):
        enc = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
        proj = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
        layers = convert(enc, projector=proj)
        self.assertTrue(layers[2].get("projector"))
        self.assertFalse(any(l.get("projector") for l in layers[:2] + layers[3:]))

    def test_weights_behind_weight_norm_spectral_norm_and_prune_hooks_are_the_ones_forward_uses(self):
        # these keep the weight the last forward pass computed in module.weight and recompute it in a forward
        # pre-hook: after optimizer.step() (or before any forward, for spectral norm) module.weight is stale
        import warnings
        import torch.nn.utils.prune as prune
        x = torch.randn(32, 8, generator=torch.Generator().manual_seed(2))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch 2.x deprecates nn.utils.weight_norm for parametrizations
            wrapped = {"weight_norm": lambda m: nn.utils.weight_norm(m),
                       "spectral_norm": lambda m: nn.utils.spectral_norm(m),
                       "prune": lambda m: prune.l1_unstructured(prune.l1_unstructured(m, "weight", amount=0.5), "bias",
                                                                amount=0.5)}
            for name, wrap in wrapped.items():
                torch.manual_seed(3)
                model = nn.Sequential(wrap(nn.Linear(8, 16)), nn.ReLU(), wrap(nn.Linear(16, 3)))
                for fresh in (True, False):
                    if not fresh:  # a few training steps: each changes the weight behind the hook after the forward
                        opt = torch.optim.SGD(model.parameters(), lr=0.5)
                        for _ in range(3):
                            model.train()
                            loss = model(x).pow(2).mean()
                            opt.zero_grad()
                            loss.backward()
                            opt.step()
                    model.eval()
                    out, _ = forward(convert(model), x.numpy())
                    with torch.no_grad():
                        expected = model(x).double().numpy()
                    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5,
                                               err_msg="%s, %s" % (name, "fresh" if fresh else "trained"))

    def test_data_parallel_and_module_list_are_their_modules(self):
        model = cnn()
        expected = [l["type"] for l in convert(model)]
        x = torch.rand(8, 1, 8, 8)
        for wrapped in (nn.DataParallel(model), nn.Sequential(nn.DataParallel(model[:4]), model[4:]),
                        nn.ModuleList(list(model))):
            layers = convert(wrapped)
            self.assertEqual([l["type"] for l in layers], expected)
            with torch.no_grad():
                np.testing.assert_allclose(forward(layers, x.numpy())[0], model(x).double().numpy(), rtol=1e-4,
                                           atol=1e-5)


    def test_a_module_used_twice_is_converted_at_each_place_forward_runs_it(self):
        # one nn.ReLU() object between every layer, and one nn.Linear applied twice (weight sharing): forward runs
        # each at every position, where named_children() yields a module once and the copy lost layers unnoticed
        torch.manual_seed(0)
        act, shared = nn.ReLU(), nn.Linear(8, 8)
        model = nn.Sequential(nn.Linear(4, 8), act, shared, act, shared, act, nn.Linear(8, 3)).eval()
        x = torch.rand(16, 4)
        with torch.no_grad():
            expected = model(x).double().numpy()
        for form in (model, nn.ModuleList(list(model)), list(model), nn.Sequential(model[:3], model[3:])):
            layers = convert(form, input_shape=(4,))
            self.assertEqual([l["type"] for l in layers], ["dense", "relu", "dense", "relu", "dense", "relu", "dense"])
            np.testing.assert_array_equal(layers[2]["weight"], layers[4]["weight"])
            np.testing.assert_allclose(forward(layers, x.numpy())[0], expected, rtol=1e-4, atol=1e-5)
    @unittest.skipUnless(hasattr(torch, "compile"), "torch.compile is torch 2.x's (this is torch %s)"
                         % (torch.__version__ if torch is not None else None))
    def test_compiled_module_is_its_original_module(self):
        model = cnn()
        expected = convert(model)
        compiled = torch.compile(model)  # an OptimizedModule; its state dict's keys start with _orig_mod.
        for wrapped in (compiled, nn.Sequential(torch.compile(model[:4]), model[4:]), nn.DataParallel(compiled)):
            layers = convert(wrapped)
            self.assertEqual([l["type"] for l in layers], [l["type"] for l in expected])
            for a, b in zip(layers, expected):
                for key in ("weight", "bias", "mean", "var"):
                    if key in a:
                        np.testing.assert_array_equal(a[key], b[key])

    def test_custom_modules_and_own_forwards_are_refused_not_misread(self):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1, self.act, self.fc2 = nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)

            def forward(self, x):
                return self.fc2(self.act(self.fc1(x)))

        class Residual(nn.Sequential):  # a forward of its own: the client cannot know what it adds
            def forward(self, x):
                return x + super().forward(x)

        class StandardizedConv(nn.Conv2d):  # weight standardisation: the weight is not the one forward uses
            def forward(self, x):
                w = (self.weight - self.weight.mean()) / self.weight.std()
                return nn.functional.conv2d(x, w, self.bias)

        net = Net()
        with self.assertRaises(UnsupportedModuleError) as e:
            convert(net)
        self.assertIn("module 0 (Net) has a forward of its own that the client cannot read; expected an"
                      " nn.Sequential or a list of its modules in the order forward runs them", str(e.exception))
        self.assertIn("where forward is only that chain (a residual add or a concatenation has no such list)",
                      str(e.exception))
        self.assertEqual(len(convert([net.fc1, net.act, net.fc2])), 3)
        for model, name in ((nn.Sequential(nn.Linear(4, 4), Residual(nn.Linear(4, 4), nn.ReLU())), "Residual"),
                            (nn.Sequential(StandardizedConv(1, 2, 3), nn.ReLU()), "StandardizedConv")):
            with self.assertRaises(UnsupportedModuleError) as e:
                convert(model)
            self.assertIn("(%s) has a forward of its own" % name, str(e.exception))

    def test_eval_mode_equivalents_are_converted(self):
        # every dropout is the identity in eval mode; SyncBatchNorm is BatchNorm in eval mode; padding 'valid' is 0
        # and 'same' with an odd kernel is (k - 1) / 2 on every side
        torch.manual_seed(4)
        drops = [getattr(nn, n)(0.3) for n in ("Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                               "FeatureAlphaDropout") if hasattr(nn, n)]
        bn = nn.BatchNorm2d(4)
        with torch.no_grad():
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
        sync = nn.SyncBatchNorm(4)
        sync.load_state_dict(bn.state_dict())
        modules = [nn.Conv2d(1, 4, 3, padding="same"), bn, nn.ReLU(), drops[1], nn.Conv2d(4, 3, 5, padding="same"),
                   nn.ReLU(), nn.Conv2d(3, 2, 3, padding="valid"), nn.Flatten(), *drops[:1], *drops[2:],
                   nn.Linear(2 * 4 * 4, 3)]
        model = nn.Sequential(*modules).eval()  # torch 1.13's SyncBatchNorm runs on a GPU only: BatchNorm2d's forward
        x = torch.rand(16, 1, 6, 6)
        layers = convert(nn.Sequential(*modules[:1], sync, *modules[2:]).eval())
        self.assertEqual([l["type"] for l in layers], ["conv2d", "batchnorm", "relu", "conv2d", "relu", "conv2d",
                                                       "flatten", "dense"])
        self.assertEqual([l["padding"] for l in layers if l["type"] == "conv2d"], [1, 2, 0])
        with torch.no_grad():
            np.testing.assert_allclose(forward(layers, x.numpy())[0], model(x).double().numpy(), rtol=1e-4,
                                       atol=1e-5)

    def test_modules_the_monitor_would_refuse_are_refused_at_once(self):
        # refused here, on the training loop's thread, not later as a snapshot the monitor answers 400
        for module, message in ((nn.LeakyReLU(1.5), "module 1 (LeakyReLU) has negative_slope 1.5; expected 0 <="
                                                     " slope < 1"),
                                (nn.LeakyReLU(-0.1), "negative_slope -0.1; expected 0 <= slope < 1"),
                                (nn.Conv2d(2, 2, 4, padding="same"), "module 1 (Conv2d) has padding 'same' with"
                                                                      " kernel (4, 4)"),
                                (nn.LazyLinear(3), "module 1 (LazyLinear) has uninitialized parameters")):
            with self.assertRaises(UnsupportedModuleError) as e:
                convert([nn.Linear(2, 2), module])
            self.assertIn(message, str(e.exception))
            self.assertEqual(len(str(e.exception).splitlines()), 1)

    def test_unsupported_module_is_named(self):
        with self.assertRaises(UnsupportedModuleError) as e:
            convert(nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2)))
        self.assertIn("module 1 (MaxPool2d) is not supported; expected Linear, Conv2d", str(e.exception))
        with self.assertRaises(UnsupportedModuleError) as e:
            convert([nn.Conv2d(2, 2, 3, groups=2)])
        self.assertIn("groups=1", str(e.exception))
        with self.assertRaises(UnsupportedModuleError):
            convert([nn.Linear(2, 2), nn.Sigmoid()])


    def test_what_is_not_a_module_is_named_not_an_attribute_error(self):
        # a list written from a forward that calls F.relu, the class nn.ReLU for nn.ReLU(), a state_dict, None:
        # each was an AttributeError or TypeError from deep in the converter ("... has no attribute 'children'")
        import torch.nn.functional as F
        for model, where, said in (
                ([nn.Linear(4, 4), F.relu, nn.Linear(4, 2)], "module 1", "the function relu, not an nn.Module"),
                ([nn.Linear(4, 4), torch.relu], "module 1", "the function relu, not an nn.Module"),
                ([nn.Linear(4, 4), nn.ReLU], "module 1",
                 "the class ReLU, not an nn.Module; expected an instance of it, ReLU()"),
                (nn.Sequential(nn.Linear(4, 4)).state_dict(), "the model", "a state_dict"),
                (None, "the model", "None, not an nn.Module"),
                (torch.zeros(3), "the model", "a Tensor, not an nn.Module")):
            with self.assertRaises(UnsupportedModuleError) as e:
                convert(model, input_shape=(4,))
            line = str(e.exception)
            self.assertEqual(1, len(line.splitlines()), line)
            self.assertTrue(line.startswith(where), line)
            self.assertIn(said, line)
        with self.assertRaises(UnsupportedModuleError) as e:
            convert(nn.Sequential(nn.Linear(4, 4)), projector=[nn.Linear(4, 4), F.relu])
        self.assertIn("projector module 1 is the function relu", str(e.exception))

    def test_a_module_whose_shape_does_not_chain_is_named_in_pytorchs_terms(self):
        # the monitor would refuse the snapshot in the format's terms ("l2.weight has shape [6, 2]; expected (8, out),
        # i.e. (in, out)"); refused here with the module as print(model) shows it, before anything is sent
        cases = (
            (nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(6, 2)), None,
             "module 2 (Linear(in_features=6, out_features=2, bias=True)) has in_features=6 (weight of shape (2, 6)),"
             " but receives 8 features from module 0 (Linear(in_features=4, out_features=8, bias=True)); expected"
             " in_features=8, a weight of shape (2, 8)"),
            (nn.Sequential(nn.Linear(5, 8)), (4,),
             "module 0 (Linear(in_features=5, out_features=8, bias=True)) has in_features=5 (weight of shape (8, 5)),"
             " but receives 4 features from the input (probes of shape (n, 4)); expected in_features=4"),
            (nn.Sequential(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()), nn.Sequential(nn.Conv2d(3, 2, 3))), None,
             "module 1.0 (Conv2d(3, 2, kernel_size=(3, 3), stride=(1, 1))) has in_channels=3 (weight of shape"
             " (2, 3, 3, 3)), but receives 4 channels from module 0.0 (Conv2d(1, 4, kernel_size=(3, 3), stride=(1,"
             " 1))); expected in_channels=4"),
            (nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(64, 2)), (1, 8, 8),
             "module 2 (Linear(in_features=64, out_features=2, bias=True)) has in_features=64 (weight of shape (2,"
             " 64)), but receives 144 features from module 1 (Flatten(start_dim=1, end_dim=-1)); expected"
             " in_features=144"),
            (nn.Sequential(nn.Conv2d(1, 4, 3), nn.Linear(36, 2)), (1, 5, 5),
             "module 1 (Linear(in_features=36, out_features=2, bias=True)) receives an image of shape (4, 3, 3) from"
             " module 0 (Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))); expected an nn.Flatten() before it"),
            (nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(6)), None,
             "module 1 (BatchNorm1d(6, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)) has"
             " num_features=6, but receives 8 features from module 0"),
            (nn.Sequential(nn.Conv2d(1, 2, 5)), (1, 4, 4),
             "module 0 (Conv2d(1, 2, kernel_size=(5, 5), stride=(1, 1))) has kernel_size=(5, 5), larger than its"
             " input of (4, 4) (padded) from the input (probes of shape (n, 1, 4, 4)); expected a kernel that fits"),
            # with stride 2 too: the monitor took (4 - 5) / 2 + 1 = 1 (Java rounds toward zero) and let it through
            (nn.Sequential(nn.Conv2d(1, 2, 5, stride=2)), (1, 4, 4),
             "module 0 (Conv2d(1, 2, kernel_size=(5, 5), stride=(2, 2))) has kernel_size=(5, 5), larger than its"
             " input of (4, 4) (padded) from the input (probes of shape (n, 1, 4, 4)); expected a kernel that fits"),
            (nn.Sequential(nn.Linear(4, 8), nn.Conv2d(8, 2, 1)), None,
             "module 1 (Conv2d(8, 2, kernel_size=(1, 1), stride=(1, 1))) receives flat features from module 0"),
        )
        for model, shape, message in cases:
            with self.assertRaises(ValueError) as e:
                convert(model, input_shape=shape)
            self.assertNotIsInstance(e.exception, UnsupportedModuleError)
            self.assertIn(message, str(e.exception))
            self.assertEqual(len(str(e.exception).splitlines()), 1)
            if shape is not None:  # PyTorch's own forward refuses the same networks
                with self.assertRaises(RuntimeError):
                    model.eval()(torch.zeros((2,) + shape))
        with self.assertRaises(ValueError) as e:
            convert(nn.Sequential(nn.Linear(4, 3)), projector=nn.Sequential(nn.Linear(2, 2)))
        self.assertIn("projector module 0 (Linear(in_features=2, out_features=2, bias=True)) has in_features=2",
                      str(e.exception))

    def test_the_shape_check_passes_what_pytorch_runs(self):
        # networks PyTorch's forward runs on inputs of the shape given are converted, with input_shape or without
        model = cnn()
        self.assertEqual(len(convert(model, input_shape=(1, 8, 8))), 12)
        self.assertEqual(len(convert(model)), 12)
        for modules, shape in (([nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.AvgPool2d(2, stride=1), nn.Flatten(),
                                 nn.Linear(4 * 3 * 3, 2)], (3, 8, 8)),
                               ([nn.Conv2d(1, 2, 7, padding=3), nn.AvgPool2d(5), nn.Flatten(), nn.Linear(2, 1)],
                                (1, 5, 5)),
                               ([nn.Flatten(), nn.Linear(12, 3), nn.Dropout(), nn.BatchNorm1d(3)], (3, 2, 2)),
                               ([nn.Conv2d(1, 1, 3), nn.Flatten()], (1, 3, 3))):
            model = nn.Sequential(*modules).eval()
            with torch.no_grad():
                model(torch.zeros((2,) + shape))
            layers = convert(model, input_shape=shape)
            self.assertEqual(len(layers), len([m for m in modules if not isinstance(m, nn.Dropout)]))

    def test_float64_weights_that_float32_rounds_to_0_are_named(self):
        model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.BatchNorm1d(2)).double()
        with torch.no_grad():
            model[0].weight[1, 2] = 1e-50
            model[0].weight[0, 0] = -3e-46  # below half of float32's least subnormal: 0
            model[0].weight[0, 1] = 1e-44  # a subnormal float32 keeps
            model[2].running_var[1] = 5e-300
        lines = []
        layers = convert(model, warn=lines.append)
        self.assertEqual(layers[0]["weight"].dtype, np.dtype("<f4"))
        self.assertEqual(lines, [
            "module 0 (Linear) weight: 2 nonzero values below float32's range read as 0 (the first -3e-46 at index"
            " (0, 0); float32's least is 1.4e-45): the monitor reads arrays as float32",
            "module 2 (BatchNorm1d) running_var: 1 nonzero value below float32's range read as 0 (the first 5e-300 at"
            " index 1; float32's least is 1.4e-45): the monitor reads arrays as float32"])
        with contextlib.redirect_stderr(io.StringIO()) as err:
            convert(model)  # printed on stderr without warn
            convert(copy.deepcopy(model).float())  # the values are 0 already: nothing to say
        self.assertEqual(err.getvalue().count("splinewatch: warning: module "), 2)


class _OneRank:
    """A gloo process group of one rank on this machine (a file store, no port), for FSDP on CPU; unittest.SkipTest
    where this torch cannot make one or cannot construct FSDP on CPU."""

    def __enter__(self):
        import tempfile
        try:
            import torch.distributed as dist
            from torch.distributed.fsdp import FullyShardedDataParallel
        except Exception as e:  # torch 1.13's fsdp package fails to import on Python 3.11 with a ValueError
            raise unittest.SkipTest("no FSDP in this torch (%s: %s)" % (type(e).__name__, str(e).splitlines()[0]))
        if not dist.is_available() or not dist.is_gloo_available():
            raise unittest.SkipTest("this torch has no gloo process groups")
        self.dist, self.fsdp = dist, FullyShardedDataParallel
        self.store = tempfile.NamedTemporaryFile(delete=False)
        self.store.close()
        dist.init_process_group("gloo", init_method="file://" + self.store.name, rank=0, world_size=1)
        try:
            self.fsdp(nn.Linear(2, 2), device_id=torch.device("cpu"))
        except Exception as e:  # e.g. torch 1.13's FSDP wants a GPU
            self.__exit__(None, None, None)
            raise unittest.SkipTest("FSDP cannot be constructed on CPU here: %s" % str(e).splitlines()[0])
        return self

    def __exit__(self, *exc):
        self.dist.destroy_process_group()
        os.unlink(self.store.name)


@unittest.skipIf(torch is None, "torch is not installed")
class FsdpTest(unittest.TestCase):
    def test_an_fsdp_sharded_model_is_refused_with_what_to_pass_instead(self):
        import warnings
        with warnings.catch_warnings(), _OneRank() as ranks:
            warnings.simplefilter("ignore")  # FSDP's deprecation of FullyShardedDataParallel for fully_shard
            torch.manual_seed(5)
            plain = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
            sharded = ranks.fsdp(plain, device_id=torch.device("cpu"))
            sharded(torch.rand(2, 4)).sum().backward()  # as in training
            for model in (sharded, nn.Sequential(sharded), [sharded]):
                with self.assertRaises(UnsupportedModuleError) as e:
                    convert(model)
                message = str(e.exception)
                self.assertTrue(message.startswith("FullyShardedDataParallel is sharded by FSDP: this rank holds"
                                                   " only its shard of the parameters"), message)
                self.assertIn("expected, on rank 0, an unwrapped copy of the network with the full parameters",
                              message)
                self.assertEqual(len(message.splitlines()), 1)
            try:
                from torch.distributed.fsdp import fully_shard  # FSDP2, torch 2.6 and later
                from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
            except ImportError:
                fully_shard = None
            if fully_shard is not None:
                plain2 = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
                expected = convert(plain2)
                sharded2 = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
                sharded2.load_state_dict(plain2.state_dict())
                fully_shard(sharded2[0])
                fully_shard(sharded2)  # its parameters are DTensors: read, numpy refused them
                for model, name in ((sharded2, "FSDPSequential"), ([sharded2[0]], "FSDPLinear")):
                    with self.assertRaises(UnsupportedModuleError) as e:
                        convert(model)
                    self.assertTrue(str(e.exception).startswith(name + " is sharded by FSDP"), str(e.exception))
                # what the line advises gives rank 0 the full parameters, which a plain copy converts
                full = get_model_state_dict(sharded2, options=StateDictOptions(full_state_dict=True,
                                                                               cpu_offload=True))
                copy = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
                copy.load_state_dict(full)
                for a, b in zip(convert(copy), expected):
                    for key in ("weight", "bias"):
                        if key in a:
                            np.testing.assert_array_equal(a[key], b[key])



class FormatTest(unittest.TestCase):
    def test_snapshot_body_is_an_npz_with_a_layer_list(self):
        layers = [{"type": "dense", "weight": np.ones((3, 2), "<f4"), "bias": np.zeros(2, "<f4")}, {"type": "relu"},
                  {"type": "dense", "weight": np.ones((2, 1), "<f4"), "bias": np.zeros(1, "<f4")}]
        body = layers_npz(layers, step=7, loss=float("nan"), learning_rate=0.1)
        with np.load(io.BytesIO(body)) as npz:
            self.assertEqual(npz["l0.weight"].shape, (3, 2))
            self.assertEqual(npz["l2.bias"].dtype, np.dtype("<f4"))
        doc = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("snapshot.json"))
        self.assertEqual(doc["step"], 7)
        self.assertEqual(doc["loss"], "NaN")
        self.assertEqual(doc["layers"][0], {"type": "dense", "weight": "l0.weight", "bias": "l0.bias"})

    def test_region_file_holds_the_layers_and_one_plane(self):
        layers = [{"type": "dense", "weight": np.ones((4, 2), "<f4"), "bias": np.zeros(2, "<f4")}, {"type": "relu"}]
        body = regions_npz(layers, anchors=np.eye(3, 4), pad=2.5)
        z = zipfile.ZipFile(io.BytesIO(body))
        doc = json.loads(z.read("network.json"))
        self.assertEqual((doc["pad"], doc["layers"][0]["weight"]), (2.5, "l0.weight"))
        with np.load(io.BytesIO(body)) as npz:
            self.assertEqual((npz["anchors"].shape, npz["anchors"].dtype), ((3, 4), np.dtype("<f4")))
        chart = regions_npz(layers, origin=np.zeros((1, 2, 2)), u=np.ones((1, 2, 2)), v=np.eye(2).reshape(1, 2, 2))
        with np.load(io.BytesIO(chart)) as npz:
            self.assertEqual(sorted(npz.files), ["l0.bias", "l0.weight", "network.json", "origin", "u", "v"])
            self.assertNotIn("pad", json.loads(zipfile.ZipFile(io.BytesIO(chart)).read("network.json")))
        for kwargs, message in (({}, "neither way"), ({"anchors": np.eye(3, 4), "origin": np.zeros(4)}, "both ways"),
                                ({"origin": np.zeros(4), "u": np.ones(4)}, "incompletely"),
                                ({"anchors": np.eye(2, 4)}, "expected (3, d) or (3, c, h, w)"),
                                ({"anchors": np.eye(3, 4), "pad": 0}, "pad is 0; expected a positive number"),
                                ({"origin": np.zeros(4), "u": np.ones(4), "v": np.ones(3)}, "expected one input shape")):
            with self.assertRaises(ValueError) as e:
                regions_npz(layers, **kwargs)
            self.assertIn(message, str(e.exception))

    def test_float64_probes_and_plane_values_that_float32_rounds_to_0_are_named(self):
        x = np.ones((20, 4))
        x[3, 2], x[5, 0] = 1e-50, -2e-46
        lines = []
        body = run_npz("r1", x, np.arange(20) % 2, 2, probe_pairs=x, fit=(x[:4], [0, 1, 0, 1]), warn=lines.append)
        with np.load(io.BytesIO(body)) as npz:
            self.assertEqual((npz["probes"].dtype, npz["probes"][3, 2]), (np.dtype("<f4"), 0))
        tail = " below float32's range read as 0 (the first 1e-50 at index (3, 2); float32's least is 1.4e-45): the" \
               " monitor reads arrays as float32"
        self.assertEqual(lines, ["probes: 2 nonzero values" + tail, "probe_pairs: 2 nonzero values" + tail,
                                 "fit inputs: 1 nonzero value" + tail])
        layers = [{"type": "dense", "weight": np.ones((4, 2), "<f4"), "bias": np.zeros(2, "<f4")}]
        anchors = np.eye(3, 4)
        anchors[2, 3] = 1e-300
        with contextlib.redirect_stderr(io.StringIO()) as err:
            regions_npz(layers, anchors=anchors)
            regions_npz(layers, origin=np.zeros(4), u=np.full(4, 1e-46), v=np.ones(4))
        self.assertEqual(err.getvalue(), "splinewatch: warning: anchors: 1 nonzero value below float32's range read"
                         " as 0 (the first 1e-300 at index (2, 3); float32's least is 1.4e-45): the monitor reads"
                         " arrays as float32\nsplinewatch: warning: u: 4 nonzero values below float32's range read"
                         " as 0 (the first 1e-46 at index 0; float32's least is 1.4e-45): the monitor reads arrays as"
                         " float32\n")
        # float32 arrays, and float64 ones whose values float32 keeps (subnormals included), say nothing
        lines.clear()
        run_npz("r1", x.astype(np.float32), np.arange(20) % 2, 2, warn=lines.append)
        run_npz("r1", np.full((20, 4), 1e-44), np.arange(20) % 2, 2, warn=lines.append)
        self.assertEqual(lines, [])

    def test_registration_body(self):
        body = run_npz("r1", np.zeros((20, 784)), np.arange(20) % 10, 10, method="simsiam", tags={"a": "b"})
        with np.load(io.BytesIO(body)) as npz:
            self.assertEqual(npz["probes"].dtype, np.dtype("<f4"))
            self.assertEqual(npz["probe_labels"].dtype, np.dtype("<i8"))
        doc = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("run.json"))
        self.assertEqual((doc["run_id"], doc["classes"], doc["method"]), ("r1", 10, "simsiam"))

    def test_settings_of_numpy_and_torch_scalars_are_plain_json(self):
        settings = {"lr": np.float32(0.5), "batch": np.int64(256), "stop_gradient": np.bool_(False),
                    "vicreg_coefficients": np.array([25.0, 25.0, 1.0]), "name": np.str_("a")}
        if torch is not None:
            settings["momentum"] = torch.tensor(0.25)
        body = run_npz("r1", np.zeros((20, 4)), np.arange(20) % 10, 10, settings=settings)
        doc = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("run.json"))
        self.assertEqual(doc["settings"], dict({"lr": 0.5, "batch": 256, "stop_gradient": False, "name": "a",
                                                "vicreg_coefficients": [25.0, 25.0, 1.0]},
                                               **({"momentum": 0.25} if torch is not None else {})))
        with self.assertRaises(ValueError) as e:
            run_npz("r1", np.zeros((20, 4)), np.arange(20) % 10, 10, settings={"f": object()})
        self.assertIn("settings['f'] is <object object", str(e.exception))
        self.assertIn("expected a number, boolean, string or list of numbers", str(e.exception))

    def test_non_integer_labels_are_refused_not_cast(self):
        y = np.arange(20) % 10
        with self.assertRaises(ValueError) as e:
            run_npz("r1", np.zeros((20, 784)), y + 0.5, 10)
        self.assertIn("probe_labels holds 0.5 at index 0 (20 such values); expected integer class labels from 0 to 9",
                      str(e.exception))
        for bad, index in ((np.where(y == 3, 10, y), 3), (y - 1, 0), (np.where(y == 5, np.nan, y), 5)):
            with self.assertRaises(ValueError) as e:
                run_npz("r1", np.zeros((20, 784)), bad, 10)
            self.assertIn("at index %d" % index, str(e.exception))
        with self.assertRaises(ValueError) as e:
            run_npz("r1", np.zeros((20, 784)), y, 10, fit=(np.zeros((4, 784)), [0, 1, 2.5, 3]))
        self.assertIn("fit_labels holds 2.5 at index 2", str(e.exception))
        with self.assertRaises(ValueError) as e:
            run_npz("r1", np.zeros((20, 784)), y, 10, plane_anchors=[[0, 1, 20]])
        self.assertIn("plane_anchors holds 20 at index 2 (1 such values); expected integer probe indices from 0 to 19",
                      str(e.exception))
        # whole numbers in a float array are labels, as for the monitor
        body = run_npz("r1", np.zeros((20, 784)), y.astype(np.float32), 10)
        with np.load(io.BytesIO(body)) as npz:
            np.testing.assert_array_equal(npz["probe_labels"], y)


if __name__ == "__main__":
    unittest.main()
