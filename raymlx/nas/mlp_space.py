"""The MLP space for tabular data: per layer a width, an activation and whether to add a skip.

Each layer of the supernet is one choice among width x activation x skip. The candidates share
one linear map per layer and use its first ``width`` outputs (weight sharing across widths in
the manner of FBNetV2's channel masking); every candidate pads its output with zeros to the
widest width, so the next layer sees one shape. The skip is parameter-free: the layer's input
cut or zero-padded to the layer's width, added after the activation. Padding makes the
supernet's candidate compute exactly what the derived layer computes.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from raymlx.nas.mixed import MixedChoice, Supernet
from raymlx.nas.ops import ACTIVATIONS, fit_width
from raymlx.nas.standardize import Standardize


def default_mlp_size(input_shape: tuple[int, ...]) -> dict:
    d = int(input_shape[0])
    widths = [16, 32, 64, 128] if d <= 16 else [32, 64, 128, 256]
    return {"n_layers": 3, "widths": widths, "activations": ["relu", "tanh", "gelu"]}


def layer_candidates(widths: list[int], activations: list[str]) -> list[dict]:
    return [{"width": int(w), "activation": a, "skip": s}
            for w, a, s in itertools.product(widths, activations, (False, True))]


def candidate_name(c: dict) -> str:
    return f"w{c['width']}_{c['activation']}_{'skip' if c['skip'] else 'noskip'}"


class _Candidate(nn.Module):
    def __init__(self, shared: nn.Linear, width: int, activation: str, skip: bool,
                 out_width: int):
        super().__init__()
        self.shared = shared
        self.width, self.activation, self.skip, self.out_width = width, activation, skip, \
            out_width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = ACTIVATIONS[self.activation](self.shared(x)[..., :self.width])
        if self.skip:
            y = y + fit_width(x, self.width)
        return fit_width(y, self.out_width)


class MlpSupernet(Supernet):
    space = "mlp"

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, n_layers: int,
                 widths: list[int], activations: list[str], mean: torch.Tensor,
                 std: torch.Tensor, seed: int = 0):
        super().__init__()
        for a in activations:
            if a not in ACTIVATIONS:
                raise ValueError(f"unknown activation {a!r}; choose from {sorted(ACTIVATIONS)}")
        gen = torch.Generator().manual_seed(seed)
        self.input_shape, self.num_classes = list(input_shape), num_classes
        self.n_layers, self.widths, self.activations = n_layers, list(widths), list(activations)
        self.norm = Standardize(mean, std)
        w_max, d_in = max(widths), int(input_shape[0])
        cands = layer_candidates(self.widths, self.activations)
        self.shared = nn.ModuleList()
        layers = []
        for i in range(n_layers):
            shared = nn.Linear(d_in if i == 0 else w_max, w_max)
            self.shared.append(shared)
            self.add_alpha(f"layer{i}", (len(cands),), gen)
            layers.append(MixedChoice(
                f"layer{i}", [_Candidate(shared, c["width"], c["activation"], c["skip"], w_max)
                              for c in cands],
                [candidate_name(c) for c in cands], alpha_key=f"layer{i}"))
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(w_max, num_classes)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.layers(self.norm(x)))

    def derive(self) -> dict:
        cands = layer_candidates(self.widths, self.activations)
        with torch.no_grad():
            chosen = [cands[int(torch.argmax(self.alphas[f"layer{i}"]))]
                      for i in range(self.n_layers)]
        return {"space": self.space, "input_shape": self.input_shape,
                "num_classes": self.num_classes, "layers": chosen}


class MlpNetwork(nn.Module):
    def __init__(self, genotype: dict, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.norm = Standardize(mean, std)
        d = int(genotype["input_shape"][0])
        self.linears = nn.ModuleList()
        self.spec = []
        for layer in genotype["layers"]:
            w = int(layer["width"])
            if layer["activation"] not in ACTIVATIONS:
                raise ValueError(f"unknown activation {layer['activation']!r}")
            self.linears.append(nn.Linear(d, w))
            self.spec.append((w, layer["activation"], bool(layer["skip"])))
            d = w
        self.classifier = nn.Linear(d, int(genotype["num_classes"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        for linear, (w, act, skip) in zip(self.linears, self.spec):
            y = ACTIVATIONS[act](linear(h))
            h = y + fit_width(h, w) if skip else y
        return self.classifier(h)


def random_mlp_genotype(input_shape: list[int], num_classes: int, rng, size: dict) -> dict:
    cands = layer_candidates(size["widths"], size["activations"])
    return {"space": "mlp", "input_shape": list(input_shape), "num_classes": num_classes,
            "layers": [cands[int(rng.integers(len(cands)))] for _ in range(size["n_layers"])]}
