"""The user-facing module tools/python/featevo.py: the README's snippet, run verbatim.

A tiny LeNet-5 run of bin/train (10 epochs of 256 synthetic images, 300 test images)
is laid out as the pipeline lays out the paper's run (runs/mnist/lenet5/,
data/mnist/, tools/ a link to the checkout's), and SNIPPET, the README's example,
runs there in a fresh python3: the test accuracy it computes for epoch 10 must be
the one metrics.tsv recorded, to its 3 printed decimals.  Then, in this process,
every epoch's checkpoint: test_acc exactly and test_loss within 2e-6 (6 printed
decimals); the hand-written load_state_dict call of the module's docstring gives
the same weights; read_metrics against the file.  ResNet-18 (left out with
FE_SKIP_RESNET=1): a one-epoch run on 32 images, strict loading (the model's
state_dict keys and shapes are the checkpoint's members), test_acc and test_loss of
epochs 0 and 1 on 16 test images; a torchvision-layout checkpoint and a checkpoint
of the other model are refused.  Without torch, read_metrics and read_images still
work.  Once README.md shows `featevo.load(`, SNIPPET must appear in it verbatim
(fenced, or indented by 4 spaces).

Run by tests/run-tests.sh with BIN set to the directory holding the built tools."""
import os
import re
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.environ.get("FE_ROOT", os.path.join(HERE, "..", "..")))
BIN = os.path.abspath(os.environ.get("BIN", os.path.join(ROOT, "bin")))
sys.path.insert(0, os.path.join(ROOT, "tools", "python"))
import featevo  # noqa: E402

torch.set_num_threads(1)
failures = []

# The README's example (from the repository root, after `make all`), verbatim.
SNIPPET = """\
import sys; sys.path.insert(0, "tools/python")
import featevo
model = featevo.load("runs/mnist/lenet5/epoch-010.npz")
loss, acc = featevo.evaluate(model, "data/mnist/test-images.npy", "data/mnist/test-labels.npy")
m = featevo.read_metrics("runs/mnist/lenet5/metrics.tsv")
print(f"test accuracy {acc:.3f}%, metrics.tsv: {m['test_acc'][10]:.3f}%")
"""


def check(ok, what):
    print(f"  {what}: {'ok' if ok else 'FAIL'}")
    if not ok:
        failures.append(what)


def synthetic(rng, n, templates):
    """MNIST-like images a small net learns part of in a few epochs: a class template,
    shifted by up to 2 pixels, plus dark noise."""
    labels = rng.integers(0, 10, n).astype(np.uint8)
    imgs = np.empty((n, 28, 28), np.float64)
    for i, c in enumerate(labels):
        dy, dx = rng.integers(-2, 3, 2)
        imgs[i] = np.roll(templates[c], (dy, dx), (0, 1))
    imgs = 0.6 * imgs + 0.9 * rng.random((n, 28, 28)) ** 4
    return (np.clip(imgs, 0, 1) * 255).astype(np.uint8), labels


def train(tmp, model, out, epochs, batch, n_train, n_test):
    rng = np.random.default_rng(29)
    templates = (rng.random((10, 28, 28)) < 0.15).astype(np.float64)
    data = os.path.join(tmp, "data", "mnist")
    os.makedirs(data, exist_ok=True)
    for part, n in (("train", n_train), ("test", n_test)):
        x, y = synthetic(rng, n, templates)
        np.save(f"{data}/{part}-images.npy", x)
        np.save(f"{data}/{part}-labels.npy", y)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    subprocess.run([os.path.join(BIN, "train"), "--model", model,
                    "--images", f"{data}/train-images.npy", "--labels", f"{data}/train-labels.npy",
                    "--test-images", f"{data}/test-images.npy",
                    "--test-labels", f"{data}/test-labels.npy", "--val-split", "0.2",
                    "--out", out, "--epochs", str(epochs), "--batch", str(batch),
                    "--optimizer", "adam", "--lr", "1e-3", "--seed", "0", "--threads", "1",
                    "--quiet"], check=True)
    return data


def check_epochs(name, run, data, epochs):
    """Every epoch's checkpoint against its metrics.tsv row: test_acc to the printed
    digits, test_loss within 2e-6."""
    tsv = open(f"{run}/metrics.tsv").read().splitlines()
    met = featevo.read_metrics(f"{run}/metrics.tsv")
    for e in epochs:
        model = featevo.load(f"{run}/epoch-{e:03d}.npz")
        loss, acc = featevo.evaluate(model, f"{data}/test-images.npy", f"{data}/test-labels.npy")
        printed = tsv[1 + e].split("\t")                 # the file's own text
        check(f"{acc:.3f}" == printed[6] and abs(loss - float(printed[5])) <= 2e-6,
              f"{name} epoch {e}: test_acc {acc:.3f} (metrics.tsv {printed[6]}), "
              f"test_loss {loss:.6f} (metrics.tsv {printed[5]})")
        check(met["test_acc"][e] == float(printed[6]) and met["epoch"][e] == e,
              f"{name} epoch {e}: read_metrics row {e} is epoch {e}, test_acc {met['test_acc'][e]}")
    return met


def lenet5():
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "runs", "mnist", "lenet5")
        data = train(tmp, "lenet5", run, 10, 32, 256, 300)
        os.symlink(os.path.join(ROOT, "tools"), os.path.join(tmp, "tools"))
        # the snippet, verbatim, in a fresh interpreter, from the laid-out "root"
        p = subprocess.run([sys.executable, "-c", SNIPPET], cwd=tmp, capture_output=True,
                           text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
        print("  README snippet printed: " + p.stdout.strip() + p.stderr.strip())
        got = re.fullmatch(r"test accuracy (\S+)%, metrics.tsv: (\S+)%\n", p.stdout)
        check(p.returncode == 0 and got is not None and got[1] == got[2],
              "README snippet: epoch 10's test accuracy is metrics.tsv's")
        recorded = open(f"{run}/metrics.tsv").read().splitlines()[11].split("\t")[6]
        check(got is not None and got[2] == recorded, f"the snippet read metrics.tsv's {recorded}")

        met = check_epochs("lenet5", run, data, range(11))
        check(np.isnan(met["train_loss"][0]) and not np.isnan(met["train_loss"][1])
              and list(met) == open(f"{run}/metrics.tsv").readline().split()
              and np.array_equal(met["epoch"], np.arange(11)),
              "read_metrics: every column by name, epoch 0's empty train_loss NaN")

        # the docstring's load_state_dict call, run as written, gives load()'s weights
        line = "model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(path).items()})"
        ckpt = f"{run}/epoch-010.npz"
        scope = {"model": featevo.LeNet5(), "torch": torch, "np": np, "path": ckpt}
        exec(line, scope)
        ref = featevo.load(ckpt).state_dict()
        check(line in featevo.__doc__ and line in featevo.load.__doc__
              and all(torch.equal(v, ref[k]) for k, v in scope["model"].state_dict().items())
              and not hasattr(torch, "load_state_dict"),
              "the docstring's load_state_dict call loads load()'s weights "
              "(there is no torch.load_state_dict)")

        # a checkpoint of the other model, or in torchvision's layout, is refused
        sd = featevo.state_dict(ckpt)
        try:
            featevo.ResNet18().load_state_dict(sd)
            refused = False
        except RuntimeError:
            refused = True
        check(refused, "a LeNet-5 checkpoint does not load into ResNet18")

        # numpy only: read_metrics and read_images work, a model names what is missing
        code = ("import sys; sys.modules['torch'] = None; sys.path.insert(0, sys.argv[1])\n"
                "import featevo\n"
                "m = featevo.read_metrics(sys.argv[2]); x = featevo.read_images(sys.argv[3], 5)\n"
                "print(type(x).__name__, x.shape, x.dtype, m['test_acc'][10])\n"
                "import numpy; numpy.save(sys.argv[4], x)\n"
                "featevo.LeNet5()\n")
        p = subprocess.run([sys.executable, "-c", code, os.path.join(ROOT, "tools", "python"),
                            f"{run}/metrics.tsv", f"{data}/test-images.npy", f"{tmp}/x5.npy"],
                           capture_output=True, text=True)
        x = featevo.read_images(f"{data}/test-images.npy", 5).numpy()
        check(p.stdout == f"ndarray (5, 1, 28, 28) float32 {met['test_acc'][10]}\n"
              and np.allclose(np.load(f"{tmp}/x5.npy"), x, rtol=0, atol=1e-6)
              and "ImportError: featevo: the models need PyTorch" in p.stderr,
              f"without torch: read_metrics and read_images work, LeNet5() says what is "
              f"missing ({p.stdout.strip()}; {p.stderr.strip().splitlines()[-1]})")


def resnet18():
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "runs", "mnist", "resnet18")
        data = train(tmp, "resnet18", run, 1, 16, 32, 16)
        model = featevo.load(f"{run}/epoch-001.npz")
        z = np.load(f"{run}/epoch-001.npz")
        sd = model.state_dict()
        check(type(model) is featevo.ResNet18 and not model.training
              and sorted(sd) == sorted(z.files)
              and all(tuple(sd[k].shape) == z[k].shape for k in z.files),
              f"resnet18: load() gives an eval-mode ResNet18 whose {len(sd)} state_dict keys and "
              "shapes are the checkpoint's members")
        check_epochs("resnet18", run, data, range(2))
        tv = {k.replace("shortcut", "downsample").replace("linear", "fc"): v for k, v in z.items()}
        try:
            featevo.arch(tv)
            refused = False
        except ValueError as e:
            refused = "torchvision" in str(e)
        check(refused, "a torchvision-layout ResNet-18 is refused, naming torchvision")


lenet5()
if os.environ.get("FE_SKIP_RESNET"):
    print("  skipped (FE_SKIP_RESNET set): the ResNet-18 checks")
else:
    resnet18()

readme = open(os.path.join(ROOT, "README.md")).read()
if "featevo.load(" in readme:
    check(SNIPPET in readme or textwrap.indent(SNIPPET, "    ") in readme,
          "README.md shows SNIPPET verbatim (or indented by 4 spaces, as a code block)")
else:
    print("  README.md has no featevo.load( example yet: not compared")
if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("the user module loads featevo's checkpoints and reproduces their test accuracy")
