"""PyTorch reference models with the paper's state_dict names (test oracle only).

LeNet5 and ResNet18 as described in ../shared/reference/seed-setup.md; used by the
tests in this folder to check featevo's C tools against torch itself."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self):
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


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
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


class ResNet18(nn.Module):
    def __init__(self):
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


def make(name):
    return {"lenet5": LeNet5, "resnet18": ResNet18}[name]()


def load_npz(model, path):
    z = np.load(path)
    sd = {k: torch.from_numpy(z[k].copy()) for k in z.files}
    model.load_state_dict(sd, strict=True)
    return sd


def normalise(images_u8, mean=0.1307, std=0.3081):
    x = torch.from_numpy(images_u8.astype(np.float32) / np.float32(255.0))
    return ((x - mean) / std).unsqueeze(1)
