"""featevo.py - featevo's checkpoints, images and metrics.tsv in PyTorch and numpy.

A checkpoint (runs/.../epoch-NNN.npz) is a numpy .npz whose members are the
PyTorch state_dict of one of two models, defined here with the very names
train writes:

  LeNet5    conv1, conv2 (5x5, 6 and 16 channels), fc1, fc2, fc3
  ResNet18  CIFAR-style, one input channel: a 3x3 stem without max-pool,
            layer1..layer4 of BasicBlocks whose projections are called
            `shortcut`, and a `linear` head.  torchvision's resnet18 (7x7
            stem, max-pool, `downsample`, `fc`, 3 channels) does not fit.

Usage, from the repository root (or with PYTHONPATH=tools/python, or
PREFIX/share/featevo/python after `make install`):

    import sys; sys.path.insert(0, "tools/python")
    import featevo
    model = featevo.load("runs/mnist/lenet5/epoch-010.npz")     # LeNet5, eval mode
    loss, acc = featevo.evaluate(model, "data/mnist/test-images.npy",
                                 "data/mnist/test-labels.npy")  # as train's test_loss, test_acc
    featevo.read_metrics("runs/mnist/lenet5/metrics.tsv")["test_acc"][10]   # the same acc

There is no `torch.load_state_dict`, and `torch.load` does not read .npz.  By
hand, into a model of the right class:

    model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(path).items()})

which is what load() does (strict: every key present, none extra, same shapes).
Runs of `make quick` test on the first 500 images only (TEST_LIMIT): pass
limit=500 to evaluate() to reproduce their test_acc.

Only numpy is needed for read_metrics() and read_images(); the models, load()
and evaluate() need PyTorch.  featevo's C tools and `make` never import this
module; tests/torch uses it as the oracle for train, agop and snapshot.
"""
import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    _Module = nn.Module
except ImportError:     # numpy-only use: read_metrics, read_images
    torch = nn = F = None
    _Module = object

__all__ = ["LeNet5", "ResNet18", "BasicBlock", "MODELS", "make", "arch", "state_dict", "load",
           "read_images", "normalise", "evaluate", "read_metrics", "MEAN", "STD"]

MEAN, STD = 0.1307, 0.3081      # train's --mean and --std defaults (MNIST)


def _need_torch():
    if torch is None:
        raise ImportError("featevo: the models need PyTorch (Debian: apt-get install "
                          "python3-torch; else pip install torch); read_metrics and "
                          "read_images need only numpy")


class LeNet5(_Module):
    """LeNet-5 for 1x28x28 inputs: conv1 5x5 pad 2 -> relu -> maxpool 2 -> conv2 5x5
    -> relu -> maxpool 2 -> fc1 400-120 -> relu -> fc2 120-84 -> relu -> fc3 84-10.
    forward(x, taps): taps (a dict) receives the post-ReLU maps "conv1" and "conv2",
    as `featevo snapshot --layer conv1|conv2` writes them."""

    def __init__(self):
        _need_torch()
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x, taps=None):
        x = F.relu(self.conv1(x))
        if taps is not None:
            taps["conv1"] = x
        x = F.max_pool2d(x, 2)
        x = F.relu(self.conv2(x))
        if taps is not None:
            taps["conv2"] = x
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class BasicBlock(_Module):
    """Two 3x3 convs with batch norm; a 1x1 conv + BN `shortcut` where the shape changes."""

    def __init__(self, cin, cout, stride):
        _need_torch()
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(_Module):
    """CIFAR-style ResNet-18 for 1x28x28 inputs: conv1 3x3 (64) + bn1 + relu, no
    max-pool; layer1..layer4 (64, 128, 256, 512 channels, two BasicBlocks each, stride
    2 at the start of layer2..4); global average pool; linear 512-10."""

    def __init__(self):
        _need_torch()
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        cin, layers = 64, []
        for i, w in enumerate([64, 128, 256, 512]):
            blocks = []
            for j in range(2):
                s = 2 if (i > 0 and j == 0) else 1
                blocks.append(BasicBlock(cin, w, s))
                cin = w
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = nn.Linear(512, 10)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


MODELS = {"lenet5": LeNet5, "resnet18": ResNet18}


def make(name):
    """A new, randomly initialised model: make("lenet5") or make("resnet18")."""
    return MODELS[name]()


def arch(keys):
    """"lenet5" or "resnet18" from a checkpoint's member names (as train and
    snapshot tell them apart); ValueError for anything else."""
    keys = set(keys)
    if "layer1.0.conv1.weight" in keys and "linear.weight" in keys:
        return "resnet18"
    if "conv1.weight" in keys and "fc3.weight" in keys:
        return "lenet5"
    if "fc.weight" in keys or "layer1.0.downsample.0.weight" in keys:
        raise ValueError("a torchvision-layout checkpoint, not featevo's: featevo's ResNet-18 "
                         "has `shortcut` and `linear` (featevo.ResNet18)")
    raise ValueError("not a featevo lenet5 or resnet18 checkpoint (no conv1.weight + fc3.weight "
                     "or layer1.0.conv1.weight + linear.weight)")


def state_dict(path):
    """A checkpoint's members as a {name: tensor} state_dict (float32 weights, BN running
    statistics, int64 num_batches_tracked)."""
    _need_torch()
    with np.load(path) as z:
        return {k: torch.from_numpy(v) for k, v in z.items()}


def load(path):
    """The model a featevo checkpoint (.npz) holds: LeNet5 or ResNet18, chosen from its
    keys, every weight loaded strictly, in eval mode (BN uses the running statistics,
    as train's evaluation and agop/snapshot do).  Equivalent to

        model = featevo.ResNet18()      # or LeNet5(), matching the run
        model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(path).items()})
        model.eval()
    """
    sd = state_dict(path)
    model = make(arch(sd))
    model.load_state_dict(sd, strict=True)
    return model.eval()


def normalise(images_u8, mean=MEAN, std=STD):
    """uint8 images [N, 28, 28] -> float32 tensor [N, 1, 28, 28], scaled to [0, 1] and
    normalised as train does: (x / 255 - mean) / std."""
    _need_torch()
    x = torch.from_numpy(np.asarray(images_u8).astype(np.float32) / np.float32(255.0))
    return ((x - mean) / std).unsqueeze(1)


def read_images(path, limit=None, mean=MEAN, std=STD):
    """featevo's image file (data/mnist/*-images.npy, uint8 [N, 28, 28]), first `limit`
    images (train --limit / --test-limit), normalised as train does: a float32 tensor
    [N, 1, 28, 28], or a numpy array when PyTorch is absent."""
    u8 = np.load(path)
    if u8.dtype != np.uint8 or u8.ndim != 3:
        raise ValueError(f"{path}: expected uint8 [N, 28, 28] images, got {u8.dtype} {u8.shape}")
    if limit:
        u8 = u8[:limit]
    if torch is None:
        x = u8.astype(np.float32) / np.float32(255.0)
        return ((x - np.float32(mean)) / np.float32(std))[:, None]
    return normalise(u8, mean, std)


def evaluate(model, images, labels, limit=None, batch=256):
    """(mean cross-entropy loss, accuracy in percent) of `model` on featevo's image and
    label files (paths) or on an already normalised tensor and label array; the first
    `limit` images only if given.  Eval mode, no gradients: train's test_loss and
    test_acc for a checkpoint of that epoch, test_acc exactly to its 3 printed decimals."""
    _need_torch()
    x = read_images(images, limit) if isinstance(images, str) else images
    y = np.load(labels) if isinstance(labels, str) else np.asarray(labels)
    y = torch.from_numpy(y[:len(x)].astype(np.int64))
    if len(y) != len(x):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    was_training = model.training
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(x), batch):
            out = model(x[s:s + batch])
            loss += F.cross_entropy(out.double(), y[s:s + batch], reduction="sum").item()
            correct += int((out.argmax(1) == y[s:s + batch]).sum())
    model.train(was_training)
    return loss / len(x), 100.0 * correct / len(x)


def read_metrics(path):
    """A run's metrics.tsv as {column name: numpy array}, one entry per row: row i is
    epoch i (epoch 0: the initial weights, before any training).  Empty fields (epoch
    0's training columns; val_* without --val-split; test_* without --test-images)
    are NaN; "epoch" is an int array.  np.loadtxt cannot read the file because of
    those empty fields.  Columns: epoch train_loss train_acc val_loss val_acc test_loss
    test_acc seconds images_per_s train_acc_batchmean (accuracies in percent)."""
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    cols = {}
    for i, name in enumerate(header):
        vals = [r[i] if i < len(r) else "" for r in rows]
        if name == "epoch":
            cols[name] = np.array([int(v) for v in vals], dtype=np.int64)
        else:
            cols[name] = np.array([float(v) if v != "" else np.nan for v in vals])
    return cols
