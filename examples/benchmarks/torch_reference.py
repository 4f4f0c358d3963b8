"""Seed-style PyTorch references for the seed models: the same layers, trained as the seeds did.

The seeds (except 004, which used Keras) trained in PyTorch: an ``nn.Module`` per network, a
``DataLoader`` over in-memory tensors, ``Adam``, ``CrossEntropyLoss`` on logits,
``loss.backward()``, ``optimizer.step()`` and per-batch ``loss.item()`` / accuracy bookkeeping,
with PyTorch's default threads. ``train_speed.py`` times this loop against ferkit's ``fit`` on
the same architectures. Each network here mirrors the ferkit builder of the same name layer
for layer (see ``ferkit/models/``), so the trainable parameter counts match; PyTorch is
channels-first, so the flatten order differs, which changes nothing in the cost.

    python examples/benchmarks/torch_reference.py            # parameters of every network

PyTorch is a benchmark-only dependency (``pip install .[bench]``).
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import torch
from torch import nn

Shape = Sequence[int]  # (height, width, channels), ferkit's order


def _activation(kind: str, slope: float = 0.01) -> nn.Module:
    """The seed-000 activations; ``prelu`` learns one shared slope, as ``nn.PReLU()`` does."""
    layers = {"leaky_relu": lambda: nn.LeakyReLU(slope), "prelu": nn.PReLU,
              "sigmoid": nn.Sigmoid, "relu": nn.ReLU}
    if kind not in layers:
        raise ValueError(f"activation must be one of {sorted(layers)}, got {kind!r}")
    return layers[kind]()


def _same_padding(kernel: int, stride: int) -> int | str:
    """PyTorch's "same" only allows stride 1; k//2 gives Keras' output size for odd kernels."""
    return "same" if stride == 1 else kernel // 2


def _flat_features(features: nn.Module, shape: Shape) -> int:
    """How many numbers ``features`` leaves per image of ``shape`` (a dry run on zeros)."""
    height, width, channels = shape
    with torch.no_grad():
        return features(torch.zeros(1, channels, height, width)).numel()


def seed000_cnn(shape: Shape, classes: int, filters: Sequence[int], kernels: Sequence[int],
                strides: Sequence[int], pool_after: Sequence[bool], activation: str,
                dense_activation: str, dropout: float = 0.3, dense_units: int = 256) -> nn.Module:
    """Seed 000's layout: conv-BN-activation units, some pooled, dropout, two linear layers."""
    layers, channels = [], shape[2]
    for width, kernel, stride, pool in zip(filters, kernels, strides, pool_after):
        layers += [nn.Conv2d(channels, width, kernel, stride, _same_padding(kernel, stride)),
                   nn.BatchNorm2d(width), _activation(activation)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        channels = width
    features = nn.Sequential(*layers)
    flat = _flat_features(features, shape)
    return nn.Sequential(features, nn.Dropout(dropout), nn.Flatten(),
                         nn.Linear(flat, dense_units), _activation(dense_activation),
                         nn.Linear(dense_units, classes))


def seed001_cnn(shape: Shape, classes: int, filters: Sequence[int], kernels: Sequence[int],
                dropout: float = 0.1) -> nn.Module:
    """Seed 001's MainCnn family: conv(k//2)-BN-LeakyReLU-pool stages, dropout, one linear."""
    layers, channels = [], shape[2]
    for width, kernel in zip(filters, kernels):
        layers += [nn.Conv2d(channels, width, kernel, padding=kernel // 2), nn.BatchNorm2d(width),
                   nn.LeakyReLU(0.01), nn.MaxPool2d(2)]
        channels = width
    features = nn.Sequential(*layers)
    flat = _flat_features(features, shape)
    return nn.Sequential(features, nn.Flatten(), nn.Dropout(dropout), nn.Linear(flat, classes))


class ResBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus a shortcut, then ReLU (bias-free convolutions).

    The shortcut is the input itself (a one-channel input broadcasts onto every channel, as
    seed 002's first block does) unless the stride or a channel change needs a 1x1 projection.
    """

    def __init__(self, in_channels: int, channels: int, kernel: int, stride: int = 1):
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv2d(in_channels, channels, kernel, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, kernel, 1, pad, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels not in (1, channels):
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(channels))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def seed002_resnet(shape: Shape, classes: int, kernel: int = 5, channels: int = 16,
                   blocks: int = 8, fc_layers: int = 2, pool: int = 20) -> nn.Module:
    """Seed 002: ResBlocks at full resolution, adaptive average pool, FC layers as wide as it."""
    body = [ResBlock(shape[2], channels, kernel)]
    body += [ResBlock(channels, channels, kernel) for _ in range(blocks - 1)]
    width = channels * pool * pool
    head = []
    for _ in range(fc_layers):
        head += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*body, nn.AdaptiveAvgPool2d(pool), nn.Flatten(), *head,
                         nn.Linear(width, classes))


def seed004_resnet(shape: Shape, classes: int, filters: Sequence[int] = (64, 128, 256),
                   blocks: Sequence[int] = (3, 4, 6), stem: int = 64) -> nn.Module:
    """Seed 004's trunk: a stride-1 3x3 stem, stages of ResBlocks (each later stage halves),
    global average pool, the emotion layer (the AU head is left out on both sides)."""
    layers = [nn.Conv2d(shape[2], stem, 3, padding=1, bias=False), nn.BatchNorm2d(stem), nn.ReLU()]
    channels = stem
    for stage, (width, count) in enumerate(zip(filters, blocks)):
        for index in range(count):
            layers.append(ResBlock(channels, width, 3, 2 if stage and not index else 1))
            channels = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, classes))


class Bottleneck(nn.Module):
    """ResNet50's bottleneck as Keras builds it (v1): the stride sits on the first 1x1 conv and
    every convolution has a bias; torchvision (v1.5) puts the stride on the 3x3 instead."""

    def __init__(self, in_channels: int, width: int, stride: int, project: bool):
        super().__init__()
        out = 4 * width
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 1, stride), nn.BatchNorm2d(width, eps=1.001e-5), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width, eps=1.001e-5), nn.ReLU(),
            nn.Conv2d(width, out, 1), nn.BatchNorm2d(out, eps=1.001e-5))
        self.shortcut = nn.Identity()
        if project:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out, 1, stride),
                                          nn.BatchNorm2d(out, eps=1.001e-5))

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet50(shape: Shape, classes: int) -> nn.Module:
    """ResNet50 (3-4-6-3 bottlenecks, no pretrained weights), global average pool, linear.

    Written out here because torchvision is not a dependency; the layout follows
    ``keras.applications.ResNet50``, which ``seed003_resnet50`` uses.
    """
    layers = [nn.Conv2d(shape[2], 64, 7, 2, 3), nn.BatchNorm2d(64, eps=1.001e-5), nn.ReLU(),
              nn.MaxPool2d(3, 2, 1)]
    channels = 64
    for stage, (width, count) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3))):
        for index in range(count):
            layers.append(Bottleneck(channels, width, 2 if stage and not index else 1, not index))
            channels = 4 * width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, classes))


#: ferkit model name -> builder of the same network in PyTorch, given (shape, classes).
NETWORKS: dict[str, Callable[[Shape, int], nn.Module]] = {
    "seed000_main": lambda s, c: seed000_cnn(s, c, (32, 32, 64, 64, 128), (3,) * 5, (1,) * 5,
                                             (False, True, False, True, True), "leaky_relu",
                                             "relu"),
    "seed000_variant1": lambda s, c: seed000_cnn(s, c, (32, 64, 128, 128), (3,) * 4, (1, 1, 2, 1),
                                                 (False, True, False, True), "prelu", "prelu"),
    "seed000_variant2": lambda s, c: seed000_cnn(s, c, (32, 32, 64, 64, 128), (7, 5, 3, 3, 2),
                                                 (1,) * 5, (False, True, False, True, True),
                                                 "sigmoid", "sigmoid"),
    "seed001_main": lambda s, c: seed001_cnn(s, c, (16, 32, 64), (3, 5, 7)),
    "seed001_main_wide": lambda s, c: seed001_cnn(s, c, (32, 64, 128), (3, 5, 7)),
    "seed001_variant1": lambda s, c: seed001_cnn(s, c, (16, 32), (3, 5)),
    "seed001_variant2": lambda s, c: seed001_cnn(s, c, (16,), (3,)),
    "B16_N8_FC2_K5": lambda s, c: seed002_resnet(s, c, 5, 16, 8, 2),
    "seed003_resnet50": resnet50,
    "seed004_resnet": seed004_resnet,
}


def build(name: str, shape: Shape, classes: int) -> nn.Module:
    """The PyTorch network standing for ferkit model ``name``."""
    if name not in NETWORKS:
        raise ValueError(f"no PyTorch reference for {name!r}; have {', '.join(NETWORKS)}")
    return NETWORKS[name](tuple(shape), classes)


def trainable_parameters(model: nn.Module) -> int:
    """Trainable parameters (BatchNorm running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class SeedLoop:
    """A seed-style training loop whose steps can be timed in windows.

    The data are ``samples`` random images (channels-first) and labels held in memory; a
    ``DataLoader`` shuffles and batches them, epoch after epoch, as the seeds' loops did.
    """

    def __init__(self, model: nn.Module, shape: Shape, classes: int, batch_size: int,
                 samples: int, seed: int = 0):
        height, width, channels = shape
        generator = torch.Generator().manual_seed(seed)
        images = torch.rand(samples, channels, height, width, generator=generator)
        labels = torch.randint(0, classes, (samples,), generator=generator)
        self.loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(images, labels), batch_size=batch_size, shuffle=True,
            drop_last=True, generator=generator)
        self.model = model
        self.optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
        self.criterion = nn.CrossEntropyLoss()
        self._batches = iter(())
        self.running_loss, self.correct = 0.0, 0

    def _next_batch(self):
        try:
            return next(self._batches)
        except StopIteration:
            self._batches = iter(self.loader)
            return next(self._batches)

    def step(self) -> None:
        """One training step with the seeds' per-batch bookkeeping."""
        images, labels = self._next_batch()
        self.optimizer.zero_grad()
        outputs = self.model(images)
        loss = self.criterion(outputs, labels)
        loss.backward()
        self.optimizer.step()
        self.running_loss += loss.item()
        self.correct += (outputs.argmax(1) == labels).sum().item()

    def step_times(self, steps: int) -> list[float]:
        """Seconds of each of ``steps`` steps, from timestamps after consecutive steps."""
        self.model.train()
        ends = []
        for _ in range(steps + 1):
            self.step()
            ends.append(time.perf_counter())
        return [later - earlier for earlier, later in zip(ends, ends[1:])]


#: The input shape of each seed model (ferkit order), as in its seed.
SEED_SHAPES = {name: ((96, 96, 3) if name.startswith("seed000") else (48, 48, 1))
               for name in NETWORKS}


if __name__ == "__main__":
    for network in NETWORKS:
        built = build(network, SEED_SHAPES[network], 4)
        print(f"{network:18s} {trainable_parameters(built):>12,d} trainable parameters")
