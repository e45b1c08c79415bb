"""ProxylessNAS: binary gates, one path in weight steps, the two-path gradient and rescale,
expected latency."""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import chisquare

from raymlx.nas.latency import measure_latency_table
from raymlx.nas.search_loop import SearchSettings, SupernetSearch
from tests.nas.helpers import digits, supernet, tensors


def _chain():
    X, y = digits(64)
    return supernet("proxyless-cnn", X), X, y


def test_gate_sampling_follows_the_probabilities():
    net, _, _ = _chain()
    block = net.blocks[1].op
    with torch.no_grad():
        net.alphas[block.alpha_key].copy_(torch.tensor([0.0, 1.0, -1.0, 0.5, 2.0, 0.0, -0.5]))
    p = torch.softmax(net.alphas[block.alpha_key].detach(), -1).numpy()
    gen = torch.Generator().manual_seed(0)
    n = 6000
    counts = np.zeros(len(p))
    for _ in range(n):
        net.sample_paths(gen)
        counts[block.active] += 1
    assert chisquare(counts, n * p).pvalue > 0.001


def test_a_weight_step_runs_and_updates_only_the_sampled_paths():
    net, X, y = _chain()
    calls: dict[str, int] = {}
    for c in net.choices():
        for name, op in zip(c.op_names, c.candidates):
            op.register_forward_hook(
                lambda m, i, o, key=f"{c.name}.{name}": calls.__setitem__(key, 1))
    s = SearchSettings.for_method("proxyless", 4, batch_size=32, warmup_epochs=0)
    eng = SupernetSearch(net, s, tensors(X, y), tensors(X, y))
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    xt, yt = tensors(X[:32], y[:32])
    eng.weight_step(xt, yt)
    active = {c.name: c.op_names[c.active] for c in net.choices()}
    assert set(calls) == {f"{k}.{v}" for k, v in active.items()}  # one path ran
    for name, p in net.named_parameters():
        if ".candidates." not in name:
            continue
        block = name.split(".op.")[0].replace("blocks.", "block")
        idx = int(name.split(".candidates.")[1].split(".")[0])
        choice = next(c for c in net.choices() if c.name == f"block{int(block[5:]):02d}")
        changed = not torch.equal(before[name], p)
        assert changed == (idx == choice.active) or p.numel() == 0, name


def test_two_path_gradient_equals_the_exact_gradient_of_the_pair_expectation():
    torch.manual_seed(0)
    net, X, y = _chain()
    net.set_mode("two_path")
    net.sample_pairs(torch.Generator().manual_seed(3))
    x, _ = tensors(X[:8], y[:8])
    net.train(False)
    net._prepare()
    # a loss linear in the last block's output, which holds a residual
    last = net.choices()[-1]
    h_in = net.blocks[:-1](net.stem(net.norm(x))).detach()
    c = torch.randn(h_in.shape[:2])
    loss = (c * (net.blocks[-1](h_in)).mean(dim=(2, 3))).sum()
    (grad,) = torch.autograd.grad(loss, [net.alphas[last.alpha_key]])
    i, j = last.pair
    with torch.no_grad():
        outs = [(c * (h_in + last.candidates[k](h_in)).mean(dim=(2, 3))).sum() for k in (i, j)]
    logits = net.alphas[last.alpha_key].detach().clone().requires_grad_(True)
    q = torch.softmax(logits[[i, j]], 0)
    (exact,) = torch.autograd.grad(q[0] * outs[0] + q[1] * outs[1], [logits])
    assert torch.allclose(grad, exact, atol=1e-5)
    others = [k for k in range(len(grad)) if k not in (i, j)]
    assert torch.all(grad[others] == 0)


def test_rescale_keeps_the_unsampled_probabilities():
    net, X, y = _chain()
    s = SearchSettings.for_method("proxyless", 4, batch_size=32, warmup_epochs=0,
                                  arch_lr=0.5)
    eng = SupernetSearch(net, s, tensors(X, y), tensors(X, y))
    before = {k: torch.softmax(v.detach(), -1) for k, v in net.alphas.items()}
    xt, yt = tensors(X[:32], y[:32])
    eng.arch_step(xt, yt, xt, yt)
    moved = 0
    for c in net.choices():
        after = torch.softmax(net.alphas[c.alpha_key].detach(), -1)
        others = [k for k in range(len(after)) if k not in c.pair]
        assert torch.allclose(after[others], before[c.alpha_key][others], atol=1e-6)
        moved += not torch.allclose(after[list(c.pair)], before[c.alpha_key][list(c.pair)])
    assert moved > 0


def test_expected_latency_is_the_probability_weighted_sum():
    net, X, _ = _chain()
    table = {c.name: [float(k + 1) for k in range(len(c.candidates))] for c in net.choices()}
    expected = float(net.expected_latency(table).detach())
    by_hand = 0.0
    for c in net.choices():
        p = torch.softmax(net.alphas[c.alpha_key].detach(), -1)
        by_hand += float((p * torch.tensor(table[c.name])).sum())
    assert abs(expected - by_hand) < 1e-5
    x, _ = tensors(X[:4], np.zeros(4))
    measured = measure_latency_table(net, x, repeats=2)
    assert set(measured) == set(table)
    assert all(len(measured[k]) == len(table[k]) and min(measured[k]) >= 0 for k in table)


def test_latency_loss_pushes_towards_the_faster_op():
    X, y = digits(64, flat=True)
    net = supernet("mlp", X, n_layers=1, widths=[8, 64], activations=["relu"])
    names = net.choices()[0].op_names
    table = {"layer0": [10.0 if n.startswith("w64") else 1.0 for n in names]}
    s = SearchSettings.for_method("proxyless", 4, batch_size=64, warmup_epochs=0,
                                  latency_weight=5.0, arch_lr=0.05)
    eng = SupernetSearch(net, s, tensors(X, y), tensors(X, y), latency_table=table)
    x, t = tensors(X, y)
    for _ in range(40):
        eng.step += 1
        eng.arch_step(x, t, x, t)
    p = torch.softmax(net.alphas["layer0"].detach(), -1)
    fast = sum(float(p[k]) for k, n in enumerate(names) if n.startswith("w8"))
    assert fast > 0.6


def test_sampled_paths_are_one_architecture_across_darts_cells():
    X, _ = digits(8)
    net = supernet("darts-cnn", X, layers=3, channels=4)
    net.sample_paths(torch.Generator().manual_seed(0))
    by_row: dict = {}
    for c in net.choices():
        by_row.setdefault((c.alpha_key, c.row), set()).add(c.active)
    assert all(len(v) == 1 for v in by_row.values())
