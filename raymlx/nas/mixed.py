"""Mixed choices and the supernet base class shared by DARTS and ProxylessNAS.

A ``MixedChoice`` is one architecture decision (an edge of a DARTS cell, a block of the
ProxylessNAS chain, a layer of the MLP space). Its logits are one row of an architecture
parameter held by the supernet (DARTS shares one 14x8 matrix across all normal cells and one
across all reduction cells). How a choice combines its candidates depends on the mode:

- ``"darts"`` - the continuous relaxation of DARTS (Liu et al. 2019, eq. 2): the
  softmax-weighted sum of every candidate's output; ``none`` is skipped because it adds zero.
- ``"sample"`` - one path, as in a ProxylessNAS weight step (Cai et al. 2019, section 3.1):
  only the active candidate runs, so only its activations are kept for backward.
- ``"two_path"`` - the ProxylessNAS architecture step (section 3.2.1): two candidates are
  drawn without replacement by the probabilities, one of them is active, and the
  BinaryConnect estimate dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i), with
  dL/dg_j = <dL/dy, o_j(x)>, reaches the pair's logits through the output
  ``o_a(x) + sum_k (p_k - stop_grad(p_k)) * stop_grad(o_k(x))``: its value is the active
  path's output and its gradient with respect to the logits is exactly that estimate.

This is written here rather than taken from NNI because NNI's one-shot modules are archived
and rely on Lightning's DDP, which is what exported a different architecture per GPU.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class MixedChoice(nn.Module):
    """One decision among ``candidates``; its logits are row ``row`` of ``alpha_key``."""

    def __init__(self, name: str, candidates: list[nn.Module], op_names: list[str],
                 alpha_key: str, row: int | None = None, zero_ops: tuple[str, ...] = ()):
        super().__init__()
        if len(candidates) != len(op_names):
            raise ValueError("one name per candidate")
        self.name = name
        self.candidates = nn.ModuleList(candidates)
        self.op_names = list(op_names)
        self.alpha_key = alpha_key
        self.row = row
        self.skippable = [n in zero_ops for n in op_names]
        self.mode = "darts"
        self.probs: torch.Tensor | None = None  # set by the supernet before each forward
        self.active: int = 0
        self.pair: tuple[int, int] = (0, 1)
        self.pair_probs: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "sample":
            return self.candidates[self.active](x)
        if self.mode == "two_path":
            return self._two_path(x)
        assert self.probs is not None, "the supernet sets probs before forward"
        out = None
        for i, op in enumerate(self.candidates):
            if self.skippable[i]:
                continue
            term = self.probs[i] * op(x)
            out = term if out is None else out + term
        return out if out is not None else self.candidates[0](x)

    def _two_path(self, x: torch.Tensor) -> torch.Tensor:
        assert self.pair_probs is not None
        a = self.pair.index(self.active)
        out = self.candidates[self.active](x)
        with torch.no_grad():
            other = self.candidates[self.pair[1 - a]](x)
        q = self.pair_probs
        return (out + (q[a] - q[a].detach()) * out.detach()
                + (q[1 - a] - q[1 - a].detach()) * other)


class Supernet(nn.Module):
    """A network of mixed choices whose architecture parameters live in ``self.alphas``.

    Subclasses build their choices and implement ``body`` and ``derive``. The weights are every
    parameter outside ``alphas``; keeping the alphas inside the module lets one state dict carry
    both, while the search loop keeps them out of the weight optimiser.
    """

    space: str = ""

    def __init__(self):
        super().__init__()
        self.alphas = nn.ParameterDict()
        self.mode = "darts"

    # --- parameters -------------------------------------------------------------------
    def add_alpha(self, key: str, shape: tuple[int, ...], generator: torch.Generator) -> None:
        """Logits initialised as 1e-3 * N(0, 1), as in both papers."""
        self.alphas[key] = nn.Parameter(1e-3 * torch.randn(*shape, generator=generator))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas[k] for k in sorted(self.alphas.keys())]

    def weight_parameters(self) -> list[nn.Parameter]:
        arch = {id(p) for p in self.alphas.values()}
        return [p for p in self.parameters() if id(p) not in arch]

    def choices(self) -> list[MixedChoice]:
        return [m for m in self.modules() if isinstance(m, MixedChoice)]

    def _logits(self, choice: MixedChoice) -> torch.Tensor:
        alpha = self.alphas[choice.alpha_key]
        return alpha if choice.row is None else alpha[choice.row]

    def probabilities(self) -> dict[str, list[list[float]] | list[float]]:
        """softmax(alpha) per architecture parameter, as plain lists (for history and plots)."""
        with torch.no_grad():
            return {k: torch.softmax(self.alphas[k].float(), dim=-1).cpu().tolist()
                    for k in sorted(self.alphas.keys())}

    # --- modes --------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in ("darts", "sample", "two_path"):
            raise ValueError(f"unknown supernet mode {mode!r}")
        self.mode = mode
        for c in self.choices():
            c.mode = mode

    def decision_groups(self) -> list[list[MixedChoice]]:
        """Choices grouped by the logit row they share (DARTS: one edge of every normal cell);
        one draw serves the whole group, so a sampled path is one architecture."""
        groups: dict[tuple, list[MixedChoice]] = {}
        for c in self.choices():
            groups.setdefault((c.alpha_key, c.row), []).append(c)
        return list(groups.values())

    def sample_paths(self, generator: torch.Generator, uniform: bool = False) -> list[int]:
        """Draws the active candidate of every decision (binary gates); returns the indices.

        Draws come from ``generator`` on the CPU, so ranks seeded alike draw alike.
        """
        drawn = []
        with torch.no_grad():
            for group in self.decision_groups():
                logits = self._logits(group[0]).detach().float().cpu()
                p = torch.ones_like(logits) if uniform else torch.softmax(logits, -1)
                active = int(torch.multinomial(p, 1, generator=generator))
                for c in group:
                    c.active = active
                drawn.append(active)
        return drawn

    def sample_pairs(self, generator: torch.Generator) -> list[int]:
        """Draws two distinct candidates per decision by softmax(alpha), and the active one by
        the pair's renormalised probabilities (ProxylessNAS' two-path mode)."""
        drawn = []
        with torch.no_grad():
            for group in self.decision_groups():
                logits = self._logits(group[0]).detach().float().cpu()
                pair = [int(v) for v in torch.multinomial(torch.softmax(logits, -1), 2,
                                                          replacement=False,
                                                          generator=generator)]
                q = torch.softmax(logits[pair], 0)
                active = pair[int(torch.multinomial(q, 1, generator=generator))]
                for c in group:
                    c.pair, c.active = (pair[0], pair[1]), active
                drawn += [*pair, active]
        return drawn

    def rescale_pairs(self, before: dict[str, torch.Tensor]) -> None:
        """After an architecture step in two-path mode, shifts each sampled pair's logits so
        that the probabilities of the candidates outside the pair are unchanged:
        offset = log(sum_pair exp(new) / sum_pair exp(old))."""
        with torch.no_grad():
            for group in self.decision_groups():
                c = group[0]
                old = before[c.alpha_key] if c.row is None else before[c.alpha_key][c.row]
                new = self._logits(c)
                idx = list(c.pair)
                offset = torch.logsumexp(new[idx], 0) - torch.logsumexp(old[idx], 0)
                new[idx] -= offset

    def _prepare(self) -> None:
        for c in self.choices():
            logits = self._logits(c)
            if self.mode == "darts":
                c.probs = torch.softmax(logits, -1)
            elif self.mode == "two_path":
                c.pair_probs = torch.softmax(logits[list(c.pair)], -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._prepare()
        return self.body(x)

    def body(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def derive(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- expected latency (ProxylessNAS section 3.3) -----------------------------------
    def expected_latency(self, table: dict[str, list[float]]) -> torch.Tensor:
        """E[latency] = sum over choices of sum_j p_j F_j, differentiable in the alphas."""
        total = None
        for c in self.choices():
            p = torch.softmax(self._logits(c), -1)
            f = torch.tensor(table[c.name], dtype=p.dtype, device=p.device)
            term = (p * f).sum()
            total = term if total is None else total + term
        return total if total is not None else torch.zeros(())


def entropy(probs: list[float]) -> float:
    return float(-sum(p * math.log(p) for p in probs if p > 0))
