"""train against PyTorch: from the same initial checkpoint, repeated optimiser steps of
both models with both optimisers must give the same weights, BN running statistics and
num_batches_tracked as torch.

The reference is torch run in float64 from the same float32 start.  The error of a run
is |w - w_float64| / |w_float64 - w_init| over all parameters and BN running statistics
(the update's relative error).  Ours must be within 1e-3, or no more than 3x torch's own
float32 error where float32 itself cannot reach 1e-3: in ResNet-18 a handful of
pre-ReLU values lie within float32 rounding of zero, and a mask bit that flips there
moves the BatchNorm gradients of that channel in any float32 implementation, torch's
too.  Both numbers, and our worst single tensor, are printed.

Run by tests/run-tests.sh with BIN set to the directory holding the built tools."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

# the models from the user-facing module (tools/python/featevo.py), so that the
# classes users load checkpoints into are the ones these tests check
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                                "python"))
import featevo as ft  # noqa: E402

BIN = os.environ.get("BIN", "bin")
torch.set_num_threads(1)
rng = np.random.default_rng(7)
failures = []


def dataset(tmp, n):
    shared = os.path.join(os.environ.get("FE_ROOT", "."), "..", "shared", "mnist")
    imgs = (rng.random((n, 28, 28)) ** 3 * 255).astype(np.uint8)   # MNIST-like: mostly dark
    labels = rng.integers(0, 10, n).astype(np.uint8)
    np.save(os.path.join(tmp, "x.npy"), imgs)
    np.save(os.path.join(tmp, "y.npy"), labels)
    return imgs, labels


def rel(a, b, ref):
    """|a - b| relative to the size of the update |a - ref|."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a - ref), 1e-30))


def check(model_name, opt, lr, wd, init, n, batch, epochs, tol=1e-3, fresh=False):
    with tempfile.TemporaryDirectory() as tmp:
        imgs, labels = dataset(tmp, n)
        out = os.path.join(tmp, "run")
        cmd = [os.path.join(BIN, "train"), "--model", model_name, "--images", f"{tmp}/x.npy",
               "--labels", f"{tmp}/y.npy", "--out", out, "--epochs", str(epochs), "--batch",
               str(batch), "--optimizer", opt, "--lr", str(lr), "--weight-decay", str(wd),
               "--momentum", "0.9", "--init", init, "--seed", "3", "--val-split", "0",
               "--no-shuffle", "--threads", "1", "--quiet"]
        cmd += ["--fresh-optimizer"] if fresh else []
        subprocess.run(cmd, check=True)
        runs = {dt: torch_run(model_name, out, imgs, labels, opt, lr, wd, batch, epochs, dt, fresh)
                for dt in (torch.float32, torch.float64)}
        sd0 = dict(np.load(f"{out}/epoch-000.npz"))
        for epoch in range(1, epochs + 1):
            ours = np.load(f"{out}/epoch-{epoch:03d}.npz")
            ref, t32 = runs[torch.float64][epoch - 1], runs[torch.float32][epoch - 1]
            num = {"ours": 0.0, "torch": 0.0}
            den, worst, where = 0.0, 0.0, ""
            for k, v in t32.items():
                a, b = ours[k], v.numpy()
                if a.shape != b.shape or a.dtype != b.dtype:
                    failures.append(f"{model_name}/{opt} {k}: shape/dtype {a.shape}{a.dtype} "
                                    f"vs {b.shape}{b.dtype}")
                    continue
                if k.endswith("num_batches_tracked"):
                    if int(a) != int(b):
                        failures.append(f"{model_name}/{opt} {k}: {int(a)} vs {int(b)}")
                    continue
                r, exact = sd0[k].astype(np.float64), ref[k].numpy()
                num["ours"] += float(np.sum((a - exact) ** 2))
                num["torch"] += float(np.sum((b - exact) ** 2))
                den += float(np.sum((exact - r) ** 2))
                e = rel(exact, a, r)
                if e > worst:
                    worst, where = e, k
            ours_e, torch_e = (np.sqrt(num[w] / den) for w in ("ours", "torch"))
            ok = ours_e <= max(tol, 3.0 * torch_e)
            tag = opt + ("+fresh" if fresh else "")
            print(f"  {model_name:8s} {tag:10s} init={init:12s} epoch {epoch}: update error vs "
                  f"float64 torch: ours {ours_e:.1e}, torch float32 {torch_e:.1e}; worst tensor "
                  f"(ours) {worst:.1e} {where}  {'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(f"{model_name}/{opt} epoch {epoch}: {ours_e:.2e}")


def torch_run(model_name, out, imgs, labels, opt, lr, wd, batch, epochs, dtype, fresh):
    """The same run in torch; returns the state_dict after each epoch.  fresh: a new
    optimiser every epoch, as the report's Table 1 notebook built one per call."""
    model = ft.make(model_name)
    model.load_state_dict(ft.state_dict(f"{out}/epoch-000.npz"), strict=True)
    model = model.to(dtype)
    model.train()

    def new_optimiser():
        if opt == "sgd":
            return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
        return torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8,
                                weight_decay=wd)
    o = new_optimiser()
    x_all, y_all = ft.normalise(imgs).to(dtype), torch.from_numpy(labels.astype(np.int64))
    n, states = len(labels), []
    for _ in range(epochs):
        if fresh:
            o = new_optimiser()
        for s in range(0, n, batch):
            o.zero_grad()
            loss = F.cross_entropy(model(x_all[s:s + batch]), y_all[s:s + batch])
            loss.backward()
            o.step()
        states.append({k: v.detach().clone() for k, v in model.state_dict().items()})
    return states


check("lenet5", "adam", 1e-3, 0.0, "default", 64, 32, 2)
check("lenet5", "sgd", 1e-2, 1e-4, "default", 64, 32, 2)
check("lenet5", "adam", 1e-3, 1e-4, "default", 40, 16, 1)      # partial last batch
check("resnet18", "sgd", 1e-3, 1e-4, "default", 32, 16, 2)
check("resnet18", "sgd", 1e-4, 1e-4, "normal:1e-4", 32, 16, 1)   # the paper's settings
check("resnet18", "adam", 1e-3, 0.0, "default", 24, 16, 1)
# --fresh-optimizer: momentum (SGD) and moments and step count (Adam) restart each epoch
check("lenet5", "sgd", 1e-2, 1e-4, "default", 64, 32, 3, fresh=True)
check("lenet5", "adam", 1e-3, 0.0, "default", 64, 32, 3, fresh=True)
check("resnet18", "sgd", 1e-7, 1e-4, "normal:1e-4", 16, 8, 2, fresh=True)   # Table 1's run
if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("train matches torch")
