"""The ProxylessNAS chain space (Cai, Zhu, Han, ICLR 2019, section 4.1), sized for small images.

A stem convolution, a fixed 3x3 MBConv with expansion 1, then stages of searchable blocks.
Each block chooses among six MBConv ops (kernel 3/5/7 x expansion 3/6); a block that keeps its
resolution and width (every block of a stage but the first) also has ``zero``, which drops the
block and leaves its residual. The paper's ImageNet chain has 21 such blocks; on 8x8 to 32x32
inputs we use 6 to 12 so one search fits a CPU.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from raymlx.nas.mixed import MixedChoice, Supernet
from raymlx.nas.ops import MBCONV_OPS, ZERO_OP, MBConv, chain_op
from raymlx.nas.standardize import Standardize


def default_chain_size(input_shape: tuple[int, ...]) -> dict:
    """Stem width and (width, blocks, stride) per stage for the input's side."""
    side = min(input_shape[1:])
    if side < 16:
        return {"stem": 16, "first": 8, "stages": [[16, 2, 1], [24, 2, 2], [32, 2, 2]]}
    if side < 32:
        return {"stem": 16, "first": 8, "stages": [[16, 2, 1], [24, 3, 2], [40, 3, 2],
                                                   [64, 2, 2]]}
    return {"stem": 32, "first": 16, "stages": [[24, 2, 1], [40, 3, 2], [80, 3, 2],
                                                [96, 2, 1], [160, 2, 2]]}


def block_candidates(residual: bool) -> list[str]:
    return [*MBCONV_OPS, ZERO_OP] if residual else list(MBCONV_OPS)


def _blocks(stages: list[list[int]], first: int):
    """(index, c_in, c_out, stride, residual) for every searchable block."""
    c_in, i = first, 0
    for width, n_blocks, stride in stages:
        for b in range(n_blocks):
            s = stride if b == 0 else 1
            yield i, c_in, width, s, (s == 1 and c_in == width)
            c_in, i = width, i + 1


class _Block(nn.Module):
    def __init__(self, op: nn.Module, residual: bool):
        super().__init__()
        self.op, self.residual = op, residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.op(x) if self.residual else self.op(x)


def _stem(in_ch: int, stem: int, first: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, stem, 3, padding=1, bias=False),
                         nn.BatchNorm2d(stem), nn.ReLU6(inplace=False),
                         MBConv(stem, first, 3, 1, 1))


class ProxylessChainSupernet(Supernet):
    space = "proxyless-cnn"

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, stem: int, first: int,
                 stages: list[list[int]], mean: torch.Tensor, std: torch.Tensor, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.input_shape, self.num_classes = list(input_shape), num_classes
        self.stem_width, self.first, self.stages = stem, first, [list(s) for s in stages]
        self.norm = Standardize(mean, std)
        self.stem = _stem(input_shape[0], stem, first)
        blocks = []
        for i, c_in, c_out, stride, residual in _blocks(self.stages, first):
            names = block_candidates(residual)
            self.add_alpha(f"block{i:02d}", (len(names),), gen)
            choice = MixedChoice(f"block{i:02d}", [chain_op(n, c_in, c_out, stride)
                                                   for n in names],
                                 names, alpha_key=f"block{i:02d}", zero_ops=(ZERO_OP,))
            blocks.append(_Block(choice, residual))
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Linear(self.stages[-1][0], num_classes)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(self.norm(x)))
        return self.classifier(h.mean(dim=(2, 3)))

    def derive(self) -> dict:
        ops = []
        with torch.no_grad():
            for block in self.blocks:
                c: Any = block.op  # a MixedChoice
                ops.append(c.op_names[int(torch.argmax(self.alphas[c.alpha_key]))])
        return {"space": self.space, "input_shape": self.input_shape,
                "num_classes": self.num_classes, "stem": self.stem_width, "first": self.first,
                "stages": self.stages, "blocks": ops}


class ChainNetwork(nn.Module):
    """The network a chain genotype describes; a ``zero`` block is its residual alone."""

    def __init__(self, genotype: dict, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        stages = genotype["stages"]
        first = int(genotype["first"])
        self.norm = Standardize(mean, std)
        self.stem = _stem(int(genotype["input_shape"][0]), int(genotype["stem"]), first)
        blocks: list[nn.Module] = []
        for (i, c_in, c_out, stride, residual), name in zip(_blocks(stages, first),
                                                             genotype["blocks"]):
            if name == ZERO_OP:
                if not residual:
                    raise ValueError(f"block {i} cannot be zero: it changes shape")
                continue
            blocks.append(_Block(chain_op(name, c_in, c_out, stride), residual))
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Linear(int(stages[-1][0]), int(genotype["num_classes"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.blocks(self.stem(self.norm(x))).mean(dim=(2, 3)))


def chain_block_slots(stages: list[list[int]], first: int) -> list[list[str]]:
    """The candidate names of every searchable block, in order."""
    return [block_candidates(res) for _, _, _, _, res in _blocks(stages, first)]


def random_chain_genotype(input_shape: list[int], num_classes: int, rng, size: dict) -> dict:
    slots = chain_block_slots(size["stages"], size["first"])
    return {"space": "proxyless-cnn", "input_shape": list(input_shape),
            "num_classes": num_classes, "stem": size["stem"], "first": size["first"],
            "stages": [list(s) for s in size["stages"]],
            "blocks": [names[int(rng.integers(len(names)))] for names in slots]}
