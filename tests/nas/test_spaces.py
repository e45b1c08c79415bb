"""The three spaces: shapes, DARTS' cell layout, weight sharing and genotype checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from raymlx.errors import InputError
from raymlx.nas.darts_space import EDGES, reduction_layers
from raymlx.nas.mixed import MixedChoice
from raymlx.nas.ops import DARTS_OPS
from raymlx.nas.spaces import (
    build_network,
    genotype_from_choices,
    random_genotype,
    space_choices,
    validate_genotype,
)
from raymlx.nas.standardize import input_statistics
from tests.nas.helpers import supernet


def _images(c: int, side: int, n: int = 4) -> np.ndarray:
    return np.random.default_rng(0).random((n, c, side, side), dtype=np.float32)


@pytest.mark.parametrize("c,side", [(1, 8), (1, 28), (3, 32)])
def test_darts_supernet_scales_to_the_input(c, side):
    X = _images(c, side)
    net = supernet("darts-cnn", X, layers=3, channels=4) if side == 32 else supernet(
        "darts-cnn", X)
    assert net(torch.from_numpy(X)).shape == (4, 10)
    assert net.alphas["normal"].shape == (EDGES, len(DARTS_OPS)) == (14, 8)
    for cell in net.cells:
        assert len(cell.edges) == 14
        assert all(len(e.candidates) == 8 for e in cell.edges)
    reductions = [i for i, cell in enumerate(net.cells) if cell.reduction]
    assert reductions == list(reduction_layers(len(net.cells)))


def test_darts_cells_share_one_alpha_per_kind():
    net = supernet("darts-cnn", _images(1, 8), layers=5, channels=4)
    normal_edges = [e for cell in net.cells if not cell.reduction for e in cell.edges]
    assert {e.alpha_key for e in normal_edges} == {"normal"}
    assert sorted({e.row for e in normal_edges}) == list(range(14))
    assert len(net.arch_parameters()) == 2
    weight_ids = {id(p) for p in net.weight_parameters()}
    assert not weight_ids & {id(a) for a in net.arch_parameters()}


@pytest.mark.parametrize("space", ["proxyless-cnn", "darts-cnn", "mlp"])
@pytest.mark.parametrize("side", [8, 28])
def test_random_genotypes_build_networks(space, side):
    X = _images(1, side) if space != "mlp" else np.random.default_rng(0).random(
        (4, side), dtype=np.float32)
    rng = np.random.default_rng(1)
    for _ in range(3):
        g = random_genotype(space, X.shape[1:], 10, rng)
        g2 = json.loads(json.dumps(g))
        validate_genotype(g2)
        mean, std = input_statistics(X)
        assert build_network(g2, mean, std)(torch.from_numpy(X)).shape == (4, 10)


def test_chain_zero_block_is_its_residual():
    X = _images(1, 8)
    net = supernet("proxyless-cnn", X)
    block = net.blocks[1]  # second block of the first stage: has a residual
    assert block.residual and "zero" in block.op.op_names
    net.set_mode("sample")
    block.op.active = block.op.op_names.index("zero")
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(block(x), x)
    assert "zero" not in net.blocks[0].op.op_names  # first block changes shape


def test_mlp_candidate_computes_what_the_derived_layer_computes():
    X = np.random.default_rng(0).random((5, 10), dtype=np.float32)
    net = supernet("mlp", X, n_layers=2, widths=[8, 16], activations=["relu", "tanh"])
    net.set_mode("sample")
    picks = [{"width": 8, "activation": "tanh", "skip": True},
             {"width": 16, "activation": "relu", "skip": True}]
    for layer, pick in zip(net.layers, picks):
        layer.active = [c.width == pick["width"] and c.activation == pick["activation"]
                        and c.skip == pick["skip"] for c in layer.candidates].index(True)
    genotype = {"space": "mlp", "input_shape": [10], "num_classes": 10, "layers": picks}
    mean, std = input_statistics(X)
    derived = build_network(genotype, mean, std)
    with torch.no_grad():
        d_in = 10
        for i, pick in enumerate(picks):
            w = pick["width"]
            derived.linears[i].weight.copy_(net.shared[i].weight[:w, :d_in])
            derived.linears[i].bias.copy_(net.shared[i].bias[:w])
            d_in = w
        derived.classifier.weight.copy_(net.classifier.weight[:, :d_in])
        derived.classifier.bias.copy_(net.classifier.bias)
        x = torch.from_numpy(X)
        assert torch.allclose(net(x), derived(x), atol=1e-6)


def test_tune_choices_map_to_valid_genotypes():
    rng = np.random.default_rng(0)
    for space, shape in [("darts-cnn", (1, 8, 8)), ("proxyless-cnn", (1, 8, 8)),
                         ("mlp", (12,))]:
        choices = space_choices(space, shape)
        picked = {k: v[int(rng.integers(len(v)))] for k, v in choices.items()}
        validate_genotype(genotype_from_choices(space, shape, 3, picked))
    darts = space_choices("darts-cnn", (1, 8, 8))
    assert darts["normal_node3_inputs"][-1] == "3-4" and len(darts["normal_node0_inputs"]) == 1


@pytest.mark.parametrize("bad,message", [
    ({"space": "vit"}, "a genotype is a dict"),
    ({"space": "mlp", "input_shape": [3], "num_classes": 2, "layers": []}, "non-empty"),
    ({"space": "proxyless-cnn", "input_shape": [1, 8, 8], "num_classes": 2, "stem": 16,
      "first": 8, "stages": [[16, 2, 1]], "blocks": ["zero", "mb3_e3"]}, "cannot be 'zero'"),
])
def test_bad_genotypes_fail_in_one_line(bad, message):
    with pytest.raises(InputError, match=message) as err:
        validate_genotype(bad)
    assert "\n" not in str(err.value)


def test_darts_genotype_with_a_future_input_is_rejected():
    g = random_genotype("darts-cnn", (1, 8, 8), 10, np.random.default_rng(0))
    g["normal"][0] = ["sep_conv_3x3", 2]
    with pytest.raises(InputError, match="not an earlier node"):
        validate_genotype(g)


def test_every_choice_is_a_mixed_choice_with_a_logit_row():
    net = supernet("proxyless-cnn", _images(1, 8))
    choices = net.choices()
    assert choices and all(isinstance(c, MixedChoice) for c in choices)
    assert all(len(net._logits(c)) == len(c.candidates) for c in choices)
