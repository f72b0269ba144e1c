"""agop and snapshot against PyTorch autograd.

agop: the patch AGOP computed in torch with the layer's input patches as variables
(F.unfold of the layer input, the layer applied as W @ P, the gradient taken w.r.t.
P), gradients of every class logit summed over images, eval mode, every layer of a
model in one set of 10 passes; several layers of both models, count not a
multiple of the batch.  snapshot: torch's relu(conv1(x)) and friends."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# the models from the user-facing module (tools/python/featevo.py), so that the
# classes users load checkpoints into are the ones these tests check
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                                "python"))
import featevo as ft  # noqa: E402

BIN = os.environ.get("BIN", "bin")
torch.set_num_threads(1)
rng = np.random.default_rng(11)
failures = []


def run(*args):
    return subprocess.run([os.path.join(BIN, args[0]), *args[1:]], check=True,
                          capture_output=True).stdout


def torch_agops(model, x, layer_names):
    """AGOP of each layer with its input patches as variables of their own: the
    patches P (F.unfold of the layer input) feed the layer as W @ P, and the
    gradient of every class logit w.r.t. P (autograd.grad to that tensor) is
    d logit / d patch with the patches as independent inputs.  One pass of the 10
    classes serves every layer: gradients still flow back through P to the layers
    before it (it is not detached)."""
    mods = dict(model.named_modules())
    acc, n = {l: None for l in layer_names}, x.shape[0]
    store = {}

    def hook_for(name):
        def forward_hook(m, inp, out):
            a = inp[0]
            if isinstance(m, nn.Conv2d):
                P = F.unfold(a, m.kernel_size, padding=m.padding, stride=m.stride)   # [N, d, L]
                z = torch.einsum("od,ndl->nol", m.weight.reshape(m.out_channels, -1), P)
                if m.bias is not None:
                    z = z + m.bias[None, :, None]
                store[name] = P
                return z.reshape(out.shape)
            P = a * 1.0                                       # linear: one position
            store[name] = P
            return F.linear(P, m.weight, m.bias)
        return forward_hook

    hooks = [mods[l].register_forward_hook(hook_for(l)) for l in layer_names]
    for c in range(10):
        out = model(x)
        grads = torch.autograd.grad(out[:, c].sum(), [store[l] for l in layer_names])
        for l, g in zip(layer_names, grads):
            g = g.double()
            if g.dim() == 2:
                g = g[:, :, None]
            term = torch.einsum("ndl,nel->de", g, g)
            acc[l] = term if acc[l] is None else acc[l] + term
    for h in hooks:
        h.remove()
    return {l: (a / n).numpy() for l, a in acc.items()}


def case(model_name, init, layers, count, batch):
    with tempfile.TemporaryDirectory() as tmp:
        imgs = (rng.random((count, 28, 28)) ** 3 * 255).astype(np.uint8)
        labels = rng.integers(0, 10, count).astype(np.uint8)
        np.save(f"{tmp}/x.npy", imgs)
        np.save(f"{tmp}/y.npy", labels)
        # one short epoch so BN running statistics are not the trivial 0/1
        run("train", "--model", model_name, "--images", f"{tmp}/x.npy", "--labels",
            f"{tmp}/y.npy", "--out", f"{tmp}/run", "--epochs", "1", "--batch", "8",
            "--optimizer", "sgd", "--lr", "0.05", "--init", init, "--seed", "5",
            "--val-split", "0", "--threads", "1", "--quiet")
        ckpt = f"{tmp}/run/epoch-001.npz"
        model = ft.make(model_name).double()
        model.load_state_dict(ft.state_dict(ckpt), strict=True)
        model = model.double().eval()
        x = ft.normalise(imgs).double().requires_grad_(True)   # so conv1's patches carry grad
        refs = torch_agops(model, x, layers)
        x = x.detach()
        for layer in layers:
            run("agop", "--ckpt", ckpt, "--images", f"{tmp}/x.npy", "--layer", layer, "--count",
                str(count), "--batch", str(batch), "--threads", "1", "--quiet", "-o",
                f"{tmp}/a.npy")
            ours = np.load(f"{tmp}/a.npy")
            ref = refs[layer]
            err = np.linalg.norm(ours - ref) / np.linalg.norm(ref)
            ok = ours.shape == ref.shape and err < 1e-4
            print(f"  agop {model_name:8s} {layer:22s} {ours.shape}: relative error {err:.1e} "
                  f"{'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(f"agop {model_name} {layer}: {err:.2e}")
        # snapshot: post-activation maps for one image
        taps = {}
        if model_name == "lenet5":
            with torch.no_grad():
                model(x[3:4], taps)
            for layer in ("conv1", "conv2"):
                ours = np.load(__import__("io").BytesIO(run(
                    "snapshot", "--ckpt", ckpt, "--images", f"{tmp}/x.npy", "--index", "3",
                    "--layer", layer)))
                ref = taps[layer][0].numpy()
                err = np.abs(ours - ref).max()
                ok = ours.shape == ref.shape and err < 1e-5
                print(f"  snapshot {model_name} {layer} {ours.shape}: max error {err:.1e} "
                      f"{'ok' if ok else 'FAIL'}")
                if not ok:
                    failures.append(f"snapshot {model_name} {layer}: {err:.2e}")
        else:
            with torch.no_grad():
                ref = F.relu(model.bn1(model.conv1(x[3:4])))[0].numpy()
                b = model.layer1[0]
                ref2 = F.relu(b.bn1(b.conv1(torch.from_numpy(ref)[None])))[0].numpy()
            for layer, r in (("conv1", ref), ("layer1.0.conv1", ref2)):
                ours = np.load(__import__("io").BytesIO(run(
                    "snapshot", "--ckpt", ckpt, "--images", f"{tmp}/x.npy", "--index", "3",
                    "--layer", layer)))
                err = np.abs(ours - r).max() / np.abs(r).max()
                ok = ours.shape == r.shape and err < 1e-5
                print(f"  snapshot {model_name} {layer} {ours.shape}: relative max error "
                      f"{err:.1e} {'ok' if ok else 'FAIL'}")
                if not ok:
                    failures.append(f"snapshot {model_name} {layer}: {err:.2e}")


case("lenet5", "default", ["conv1", "conv2", "fc1", "fc3"], 10, 4)
case("resnet18", "default", ["conv1", "layer1.0.conv2", "layer2.0.shortcut.0", "layer3.1.conv1",
                             "layer4.0.conv1", "linear"], 6, 4)
if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("agop and snapshot match torch")
