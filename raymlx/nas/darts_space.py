"""The DARTS CNN cell space (Liu, Simonyan, Yang, ICLR 2019, section 2.1 and appendix A.1).

A cell has two input nodes (the outputs of the two previous cells), four intermediate nodes
and an output that concatenates the four. Node i sums one mixed op per earlier node, so a cell
has 2 + 3 + 4 + 5 = 14 edges. Normal cells share one 14x8 logit matrix and reduction cells
(at a third and two thirds of the depth, stride 2 on the edges from the inputs, channels
doubled) share another.

The genotype keeps, for every intermediate node, the two incoming edges with the strongest
non-``none`` op (softmax over all eight ops, ``none`` included), and on each edge that op.
Ties go to the lower index.
"""

from __future__ import annotations

import torch
from torch import nn

from raymlx.nas.mixed import MixedChoice, Supernet
from raymlx.nas.ops import DARTS_OPS, DropPath, FactorizedReduce, ReLUConvBN, darts_op
from raymlx.nas.standardize import Standardize

NODES = 4
EDGES = sum(range(2, 2 + NODES))  # 14


def default_darts_size(input_shape: tuple[int, ...]) -> dict:
    """Cells and channels that fit the input: 5 cells of 8 channels below 16 pixels a side,
    5 of 12 below 32, and the paper's 8 cells of 16 channels from 32x32 up."""
    side = min(input_shape[1:])
    if side < 16:
        return {"layers": 5, "channels": 8}
    if side < 32:
        return {"layers": 5, "channels": 12}
    return {"layers": 8, "channels": 16}


def reduction_layers(layers: int) -> tuple[int, int]:
    return layers // 3, 2 * layers // 3


def _skeleton(in_channels: int, channels: int, layers: int, stem_multiplier: int, make_cell
              ) -> tuple[nn.Module, nn.ModuleList, int]:
    """The stem and ``layers`` cells, channels doubled at each reduction; ``make_cell(i, c_pp,
    c_p, c, reduction, reduction_prev)`` returns a cell and its output channels. Shared by the
    search network and the derived network, so both have the same skeleton."""
    c_stem = stem_multiplier * channels
    stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c_stem))
    c_pp, c_p, c = c_stem, c_stem, channels
    cells, reduction_prev = [], False
    for i in range(layers):
        reduction = i in reduction_layers(layers)
        if reduction:
            c *= 2
        cell, c_out = make_cell(i, c_pp, c_p, c, reduction, reduction_prev)
        cells.append(cell)
        reduction_prev = reduction
        c_pp, c_p = c_p, c_out
    return stem, nn.ModuleList(cells), c_p


def _run_cells(stem: nn.Module, cells: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    """Each cell reads the outputs of the two cells before it; returns pooled features."""
    s0 = s1 = stem(x)
    for cell in cells:
        s0, s1 = s1, cell(s0, s1)
    return s1.mean(dim=(2, 3))


class _SearchCell(nn.Module):
    def __init__(self, index: int, c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.pre0 = (FactorizedReduce(c_pp, c, affine=False) if reduction_prev
                     else ReLUConvBN(c_pp, c, 1, 1, 0, affine=False))
        self.pre1 = ReLUConvBN(c_p, c, 1, 1, 0, affine=False)
        key = "reduce" if reduction else "normal"
        edges: list[nn.Module] = []
        for node in range(NODES):
            for j in range(2 + node):
                stride = 2 if reduction and j < 2 else 1
                e = len(edges)
                edges.append(MixedChoice(
                    f"cell{index}.edge{e}", [darts_op(o, c, stride, affine=False)
                                             for o in DARTS_OPS],
                    list(DARTS_OPS), alpha_key=key, row=e, zero_ops=("none",)))
        self.edges = nn.ModuleList(edges)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        offset = 0
        for _ in range(NODES):
            node = sum(self.edges[offset + j](h) for j, h in enumerate(states))
            offset += len(states)
            states.append(node)
        return torch.cat(states[-NODES:], dim=1)


class DartsCnnSupernet(Supernet):
    """The DARTS search network: stem, ``layers`` cells, global pooling, a linear classifier."""

    space = "darts-cnn"

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, layers: int,
                 channels: int, mean: torch.Tensor, std: torch.Tensor, seed: int = 0,
                 stem_multiplier: int = 3):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.input_shape, self.num_classes = list(input_shape), num_classes
        self.layers, self.channels = layers, channels
        self.add_alpha("normal", (EDGES, len(DARTS_OPS)), gen)
        self.add_alpha("reduce", (EDGES, len(DARTS_OPS)), gen)
        self.norm = Standardize(mean, std)
        self.stem, self.cells, c_p = _skeleton(
            input_shape[0], channels, layers, stem_multiplier,
            lambda i, c_pp, c_p, c, red, red_prev: (_SearchCell(i, c_pp, c_p, c, red, red_prev),
                                                    NODES * c))
        self.classifier = nn.Linear(c_p, num_classes)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(_run_cells(self.stem, self.cells, self.norm(x)))

    def derive(self) -> dict:
        with torch.no_grad():
            genes = {k: derive_cell(torch.softmax(self.alphas[k].float(), -1).cpu())
                     for k in ("normal", "reduce")}
        return {"space": self.space, "input_shape": self.input_shape,
                "num_classes": self.num_classes, "layers": self.layers,
                "channels": self.channels, "normal": genes["normal"],
                "normal_concat": list(range(2, 2 + NODES)), "reduce": genes["reduce"],
                "reduce_concat": list(range(2, 2 + NODES))}


def derive_cell(probs: torch.Tensor) -> list[list]:
    """[[op, input node], ...] two per intermediate node, strongest edge first."""
    none = DARTS_OPS.index("none")
    genes: list[list] = []
    start = 0
    for node in range(NODES):
        n_in = 2 + node
        rows = probs[start:start + n_in]
        masked = rows.clone()
        masked[:, none] = -1.0
        strength = masked.max(dim=1).values.tolist()
        best = sorted(range(n_in), key=lambda j: (-strength[j], j))[:2]
        for j in best:
            op = int(torch.argmax(masked[j]))  # first maximum: the lower index on ties
            genes.append([DARTS_OPS[op], j])
        start += n_in
    return genes


class _Cell(nn.Module):
    def __init__(self, genes: list[list], concat: list[int], c_pp: int, c_p: int, c: int,
                 reduction: bool, reduction_prev: bool, drop_path: float):
        super().__init__()
        self.pre0 = (FactorizedReduce(c_pp, c) if reduction_prev
                     else ReLUConvBN(c_pp, c, 1, 1, 0))
        self.pre1 = ReLUConvBN(c_p, c, 1, 1, 0)
        self.inputs = [int(j) for _, j in genes]
        self.concat = list(concat)
        ops = []
        for name, j in genes:
            op = darts_op(name, c, 2 if reduction and j < 2 else 1, affine=True)
            if not isinstance(op, nn.Identity) and drop_path > 0:
                op = nn.Sequential(op, DropPath(drop_path))
            ops.append(op)
        self.ops = nn.ModuleList(ops)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for node in range(len(self.ops) // 2):
            a, b = 2 * node, 2 * node + 1
            states.append(self.ops[a](states[self.inputs[a]])
                          + self.ops[b](states[self.inputs[b]]))
        return torch.cat([states[i] for i in self.concat], dim=1)


class DartsCnnNetwork(nn.Module):
    """The network a DARTS genotype describes: the same skeleton with one op per kept edge."""

    def __init__(self, genotype: dict, mean: torch.Tensor, std: torch.Tensor,
                 layers: int | None = None, channels: int | None = None,
                 drop_path: float = 0.0, stem_multiplier: int = 3):
        super().__init__()
        layers = int(layers or genotype["layers"])
        channels = int(channels or genotype["channels"])
        self.norm = Standardize(mean, std)

        def make_cell(i, c_pp, c_p, c, reduction, reduction_prev):
            kind = "reduce" if reduction else "normal"
            cell = _Cell(genotype[kind], genotype[f"{kind}_concat"], c_pp, c_p, c, reduction,
                         reduction_prev, drop_path)
            return cell, len(cell.concat) * c

        self.stem, self.cells, c_p = _skeleton(int(genotype["input_shape"][0]), channels,
                                               layers, stem_multiplier, make_cell)
        self.classifier = nn.Linear(c_p, int(genotype["num_classes"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(_run_cells(self.stem, self.cells, self.norm(x)))


def random_darts_genotype(input_shape: list[int], num_classes: int, rng, layers: int,
                          channels: int) -> dict:
    """Li & Talwalkar's baseline cell: per node two distinct inputs, ops uniform over the seven
    non-``none`` ops, for the normal and the reduction cell."""
    ops = [o for o in DARTS_OPS if o != "none"]

    def cell() -> list[list]:
        genes = []
        for node in range(NODES):
            for j in rng.choice(2 + node, size=2, replace=False):
                genes.append([ops[int(rng.integers(len(ops)))], int(j)])
        return genes

    return {"space": "darts-cnn", "input_shape": list(input_shape), "num_classes": num_classes,
            "layers": layers, "channels": channels, "normal": cell(),
            "normal_concat": list(range(2, 2 + NODES)), "reduce": cell(),
            "reduce_concat": list(range(2, 2 + NODES))}
