"""The three search spaces by name: supernets, derived networks and random genotypes.

``darts-cnn`` (DARTS cells), ``proxyless-cnn`` (the ProxylessNAS MBConv chain) and ``mlp``
(tabular layers). Sizes follow the input (see each space's ``default_*_size``) and can be
overridden with keyword options; the genotype records the sizes it was searched at.
"""

from __future__ import annotations

import json

import numpy as np
import torch
from torch import nn

from raymlx.errors import InputError
from raymlx.nas.chain_space import (
    ChainNetwork,
    ProxylessChainSupernet,
    chain_block_slots,
    default_chain_size,
    random_chain_genotype,
)
from raymlx.nas.darts_space import (
    NODES,
    DartsCnnNetwork,
    DartsCnnSupernet,
    default_darts_size,
    random_darts_genotype,
)
from raymlx.nas.mixed import Supernet
from raymlx.nas.mlp_space import (
    MlpNetwork,
    MlpSupernet,
    default_mlp_size,
    layer_candidates,
    random_mlp_genotype,
)
from raymlx.nas.ops import DARTS_OPS

SPACES = ("darts-cnn", "proxyless-cnn", "mlp")


def check_space(space: str, input_shape: tuple[int, ...]) -> None:
    if space not in SPACES:
        raise InputError(f"unknown NAS space {space!r}; choose one of {', '.join(SPACES)}")
    image = space != "mlp"
    if image and len(input_shape) != 3:
        raise InputError(f"space {space!r} needs images as an NCHW array (4-D); got "
                         f"{len(input_shape) + 1}-D input")
    if not image and len(input_shape) != 1:
        raise InputError(f"space 'mlp' needs a 2-D table (rows x features); got "
                         f"{len(input_shape) + 1}-D input")


def space_size(space: str, input_shape: tuple[int, ...], options: dict | None = None) -> dict:
    """The space's default sizes for this input, updated with ``options``."""
    size = {"darts-cnn": default_darts_size, "proxyless-cnn": default_chain_size,
            "mlp": default_mlp_size}[space](input_shape)
    unknown = set(options or {}) - set(size)
    if unknown:
        raise InputError(f"unknown option(s) {sorted(unknown)} for space {space!r}; "
                         f"it takes {sorted(size)}")
    size.update(options or {})
    return size


def build_supernet(space: str, input_shape: tuple[int, ...], num_classes: int,
                   mean: torch.Tensor, std: torch.Tensor, seed: int = 0,
                   options: dict | None = None) -> Supernet:
    check_space(space, input_shape)
    size = space_size(space, input_shape, options)
    if space == "darts-cnn":
        return DartsCnnSupernet(input_shape, num_classes, size["layers"], size["channels"],
                                mean, std, seed=seed)
    if space == "proxyless-cnn":
        return ProxylessChainSupernet(input_shape, num_classes, size["stem"], size["first"],
                                      size["stages"], mean, std, seed=seed)
    return MlpSupernet(input_shape, num_classes, size["n_layers"], size["widths"],
                       size["activations"], mean, std, seed=seed)


def build_network(genotype: dict, mean: torch.Tensor, std: torch.Tensor,
                  **overrides) -> nn.Module:
    """The standalone network of a genotype (DARTS takes ``layers``, ``channels`` and
    ``drop_path`` overrides, as DARTS' evaluation network is deeper and wider than its
    search network)."""
    validate_genotype(genotype)
    space = genotype["space"]
    if space == "darts-cnn":
        return DartsCnnNetwork(genotype, mean, std, **overrides)
    if overrides:
        raise InputError(f"space {space!r} takes no network overrides; got {sorted(overrides)}")
    if space == "proxyless-cnn":
        return ChainNetwork(genotype, mean, std)
    return MlpNetwork(genotype, mean, std)


def random_genotype(space: str, input_shape: tuple[int, ...], num_classes: int,
                    rng: np.random.Generator, options: dict | None = None) -> dict:
    """A uniformly drawn architecture of the space (the random-search baseline)."""
    check_space(space, input_shape)
    size = space_size(space, input_shape, options)
    if space == "darts-cnn":
        return random_darts_genotype(list(input_shape), num_classes, rng, size["layers"],
                                     size["channels"])
    if space == "proxyless-cnn":
        return random_chain_genotype(list(input_shape), num_classes, rng, size)
    return random_mlp_genotype(list(input_shape), num_classes, rng, size)


def validate_genotype(genotype: dict) -> None:
    """Raises ``InputError`` with one line if ``genotype`` is not a usable architecture."""
    if not isinstance(genotype, dict) or genotype.get("space") not in SPACES:
        raise InputError("a genotype is a dict with 'space' one of "
                         f"{', '.join(SPACES)} (as returned by nas.search)")
    for key in ("input_shape", "num_classes"):
        if key not in genotype:
            raise InputError(f"genotype for {genotype['space']!r} lacks {key!r}")
    try:
        json.dumps(genotype)
    except TypeError as exc:
        raise InputError(f"genotype is not JSON-serialisable: {exc}") from None
    space = genotype["space"]
    if space == "darts-cnn":
        for kind in ("normal", "reduce"):
            genes = genotype.get(kind)
            if not isinstance(genes, list) or len(genes) != 2 * NODES:
                raise InputError(f"darts-cnn genotype needs {2 * NODES} [op, input] pairs in "
                                 f"{kind!r}")
            for i, (op, j) in enumerate(genes):
                if op not in DARTS_OPS or op == "none":
                    raise InputError(f"unknown op {op!r} in {kind!r}")
                if not 0 <= int(j) < 2 + i // 2:
                    raise InputError(f"edge {i} of {kind!r} reads node {j}, which is not "
                                     "an earlier node")
    elif space == "proxyless-cnn":
        slots = chain_block_slots(genotype.get("stages", []), int(genotype.get("first", 0)))
        blocks = genotype.get("blocks", [])
        if len(blocks) != len(slots):
            raise InputError(f"proxyless-cnn genotype has {len(blocks)} blocks; its stages "
                             f"hold {len(slots)}")
        for i, (name, allowed) in enumerate(zip(blocks, slots)):
            if name not in allowed:
                raise InputError(f"block {i} cannot be {name!r}; allowed: {allowed}")
    else:
        layers = genotype.get("layers")
        if not isinstance(layers, list) or not layers:
            raise InputError("mlp genotype needs a non-empty list 'layers'")
        for layer in layers:
            if set(layer) != {"width", "activation", "skip"} or int(layer["width"]) < 1:
                raise InputError(f"mlp layer {layer!r} needs width >= 1, activation, skip")


def space_choices(space: str, input_shape: tuple[int, ...], options: dict | None = None
                  ) -> dict[str, list]:
    """The discrete decisions of a space, name -> candidates (what Tune's searchers see)."""
    check_space(space, input_shape)
    size = space_size(space, input_shape, options)
    if space == "darts-cnn":
        ops = [o for o in DARTS_OPS if o != "none"]
        out: dict[str, list] = {}
        for kind in ("normal", "reduce"):
            for node in range(NODES):
                pairs = [f"{a}-{b}" for a in range(2 + node) for b in range(a + 1, 2 + node)]
                out[f"{kind}_node{node}_inputs"] = pairs
                out[f"{kind}_node{node}_op0"] = list(ops)
                out[f"{kind}_node{node}_op1"] = list(ops)
        return out
    if space == "proxyless-cnn":
        return {f"block{i:02d}": names for i, names in
                enumerate(chain_block_slots(size["stages"], size["first"]))}
    cands = layer_candidates(size["widths"], size["activations"])
    out = {}
    for i in range(size["n_layers"]):
        out[f"layer{i}_width"] = sorted({c["width"] for c in cands})
        out[f"layer{i}_activation"] = list(size["activations"])
        out[f"layer{i}_skip"] = [False, True]
    return out


def genotype_from_choices(space: str, input_shape: tuple[int, ...], num_classes: int,
                          picked: dict, options: dict | None = None) -> dict:
    """The genotype for one value of every decision of ``space_choices``."""
    size = space_size(space, input_shape, options)
    base = {"space": space, "input_shape": list(input_shape), "num_classes": num_classes}
    if space == "darts-cnn":
        genotype = {**base, "layers": size["layers"], "channels": size["channels"]}
        for kind in ("normal", "reduce"):
            genes = []
            for node in range(NODES):
                a, b = str(picked[f"{kind}_node{node}_inputs"]).split("-")
                genes += [[picked[f"{kind}_node{node}_op0"], int(a)],
                          [picked[f"{kind}_node{node}_op1"], int(b)]]
            genotype[kind] = genes
            genotype[f"{kind}_concat"] = list(range(2, 2 + NODES))
        return genotype
    if space == "proxyless-cnn":
        n = len(chain_block_slots(size["stages"], size["first"]))
        return {**base, "stem": size["stem"], "first": size["first"],
                "stages": [list(s) for s in size["stages"]],
                "blocks": [picked[f"block{i:02d}"] for i in range(n)]}
    return {**base, "layers": [{"width": int(picked[f"layer{i}_width"]),
                                "activation": picked[f"layer{i}_activation"],
                                "skip": bool(picked[f"layer{i}_skip"])}
                               for i in range(size["n_layers"])]}
