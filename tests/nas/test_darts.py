"""DARTS: genotype derivation, the second-order step's Hessian-vector product, alpha gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from raymlx.nas.darts_space import derive_cell
from raymlx.nas.ops import DARTS_OPS
from raymlx.nas.search_loop import SearchSettings, SupernetSearch, finite_difference_hvp
from tests.nas.helpers import digits, supernet, tensors

OP = {name: i for i, name in enumerate(DARTS_OPS)}


def _probs_with(picks: dict[int, tuple[str, float]]) -> torch.Tensor:
    """14 x 8 probabilities, uniform except the given edges, which put ``p`` on one op."""
    probs = torch.full((14, 8), 1 / 8)
    for edge, (op, p) in picks.items():
        row = torch.full((8,), (1 - p) / 7)
        row[OP[op]] = p
        probs[edge] = row
    return probs


def test_derivation_keeps_the_two_strongest_edges_per_node_without_none():
    # node 0: edges 0, 1; node 1: edges 2-4; node 2: edges 5-8; node 3: edges 9-13
    probs = _probs_with({
        0: ("sep_conv_3x3", 0.5), 1: ("max_pool_3x3", 0.3),
        2: ("none", 0.9),            # strongest by none only: must not be picked for none
        3: ("dil_conv_5x5", 0.6), 4: ("skip_connect", 0.4),
        5: ("avg_pool_3x3", 0.2), 6: ("sep_conv_5x5", 0.7), 8: ("dil_conv_3x3", 0.5),
        12: ("skip_connect", 0.8), 13: ("sep_conv_3x3", 0.35),
    })
    genes = derive_cell(probs)
    assert genes[0:2] == [["sep_conv_3x3", 0], ["max_pool_3x3", 1]]
    assert genes[2:4] == [["dil_conv_5x5", 1], ["skip_connect", 2]]
    assert genes[4:6] == [["sep_conv_5x5", 1], ["dil_conv_3x3", 3]]
    assert genes[6:8] == [["skip_connect", 3], ["sep_conv_3x3", 4]]
    assert all(op != "none" for op, _ in genes)


def test_derivation_breaks_ties_by_the_lower_index():
    genes = derive_cell(torch.full((14, 8), 1 / 8))
    assert genes[0:2] == [["max_pool_3x3", 0], ["max_pool_3x3", 1]]
    assert [j for _, j in genes[6:8]] == [0, 1]


def test_supernet_derive_reads_its_alphas():
    X, _ = digits(8)
    net = supernet("darts-cnn", X, layers=3, channels=4)
    with torch.no_grad():
        net.alphas["normal"].zero_()
        net.alphas["normal"][:, OP["sep_conv_5x5"]] = 2.0
        net.alphas["normal"][9, OP["dil_conv_3x3"]] = 5.0
    g = net.derive()
    assert ["dil_conv_3x3", 0] in g["normal"][6:8]
    assert {op for op, _ in g["normal"][:6]} == {"sep_conv_5x5"}


def _tiny_mlp(seed: int = 0):
    X, y = digits(64, flat=True)
    net = supernet("mlp", X, seed=seed, n_layers=2, widths=[4, 8],
                   activations=["tanh", "gelu"]).double()
    x, t = tensors(X, y)
    return net, x.double(), t


def test_finite_difference_hvp_matches_the_exact_product():
    net, x, y = _tiny_mlp()
    w, a = net.weight_parameters(), net.arch_parameters()
    gen = torch.Generator().manual_seed(0)
    v = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in w]

    def loss():
        return F.cross_entropy(net(x), y)

    grads = torch.autograd.grad(loss(), w, create_graph=True)
    dot = sum((g * u).sum() for g, u in zip(grads, v))
    exact = torch.autograd.grad(dot, a)
    approx = finite_difference_hvp(loss, w, a, v)
    num = torch.sqrt(sum(((e - p) ** 2).sum() for e, p in zip(exact, approx)))
    den = torch.sqrt(sum((e ** 2).sum() for e in exact))
    assert float(num / den) < 1e-2
    before = [p.detach().clone() for p in w]
    finite_difference_hvp(loss, w, a, v)
    assert all(torch.allclose(b, p) for b, p in zip(before, w))  # weights restored


def _engine(order: int, **overrides):
    X, y = digits(96, flat=True)
    net = supernet("mlp", X, n_layers=2, widths=[8, 16], activations=["relu", "tanh"])
    s = SearchSettings.for_method("darts", 2, order=order, batch_size=32, **overrides)
    train = tensors(X[:64], y[:64])
    valid = tensors(X[64:], y[64:])
    return SupernetSearch(net, s, train, valid), train, valid


def test_second_order_with_zero_xi_equals_first_order():
    eng, (xt, yt), (xv, yv) = _engine(order=2, w_lr=0.0, w_lr_min=0.0)
    eng.weight_step(xt[:32], yt[:32])  # a momentum buffer exists, but xi = 0
    second = eng.unrolled_arch_grads(xt[:32], yt[:32], xv[:32], yv[:32])
    first = torch.autograd.grad(eng._loss(xv[:32], yv[:32]), eng.a_params)
    for s, f in zip(second, first):
        assert torch.allclose(s, f, atol=1e-6)


def test_second_order_differs_from_first_order_when_xi_is_positive():
    eng, (xt, yt), (xv, yv) = _engine(order=2)
    second = eng.unrolled_arch_grads(xt[:32], yt[:32], xv[:32], yv[:32])
    first = torch.autograd.grad(eng._loss(xv[:32], yv[:32]), eng.a_params)
    assert not all(torch.allclose(s, f, atol=1e-7) for s, f in zip(second, first))


def test_every_alpha_row_receives_a_gradient():
    X, y = digits(16)
    net = supernet("darts-cnn", X, layers=3, channels=4)
    x, t = tensors(X, y)
    grads = torch.autograd.grad(F.cross_entropy(net(x), t), net.arch_parameters())
    for g in grads:
        assert (g.abs().sum(dim=1) > 0).all()


@pytest.mark.parametrize("order", [1, 2])
def test_a_darts_epoch_moves_alphas_and_keeps_them_out_of_sgd(order):
    eng, _, _ = _engine(order=order)
    before = [a.detach().clone() for a in eng.a_params]
    record = eng.run_epoch()
    assert all(not torch.equal(b, a) for b, a in zip(before, eng.a_params))
    sgd_ids = {id(p) for g in eng.w_opt.param_groups for p in g["params"]}
    assert not sgd_ids & {id(a) for a in eng.a_params}
    assert record["alpha_rank_spread"] == 0.0 and record["world_size"] == 1
    assert np.isclose(sum(record["probabilities"]["layer0"]), 1.0)


def test_darts_defaults_are_the_papers():
    s = SearchSettings.for_method("darts", 50)
    assert (s.w_lr, s.w_lr_min, s.w_momentum, s.w_weight_decay, s.grad_clip) == \
        (0.025, 0.001, 0.9, 3e-4, 5.0)
    assert (s.arch_lr, tuple(s.arch_betas), s.arch_weight_decay) == (3e-4, (0.5, 0.999), 1e-3)
    p = SearchSettings.for_method("proxyless", 40)
    assert (p.arch_lr, tuple(p.arch_betas), p.arch_update_every, p.warmup_epochs) == \
        (1e-3, (0.0, 0.999), 5, 10)


def test_batch_plan_splits_each_global_batch_between_ranks():
    from raymlx.nas.distributed import Comm
    from raymlx.nas.search_loop import BatchPlan

    plans = [BatchPlan(100, 32, Comm(rank, 2), seed=3) for rank in (0, 1)]
    alone = BatchPlan(100, 32, Comm(), seed=3)
    for epoch in (0, 1):
        for whole, a, b in zip(alone.batches(epoch), *(p.batches(epoch) for p in plans)):
            assert len(a) == len(b) == 16
            assert torch.equal(torch.cat([a, b]), whole)
    assert alone.steps() == 3
