"""The supernet search loop: DARTS' bilevel steps and ProxylessNAS' sampled-path steps.

DARTS (Liu et al. 2019, algorithm 1): every step first updates the architecture on a
validation batch, then the weights on a training batch. First order uses dL_val/dalpha at the
current weights. Second order uses the unrolled weights w' = w - xi * (momentum + dL_train/dw +
weight decay * w) and subtracts xi times a Hessian-vector product taken by central
differences with eps = 0.01 / ||dL_val(w')/dw'|| (DARTS' eq. 7 and 8).

ProxylessNAS (Cai et al. 2019, section 3.2): weight steps train one sampled path (uniformly
during the warm-up epochs, then by softmax(alpha)); every ``arch_update_every`` weight steps an
architecture step draws two paths per decision and applies the BinaryConnect estimate, then
rescales the pair so the other candidates keep their probabilities. An optional latency term
``latency_weight * (E[latency] - T) / T`` (the reference code's "add#linear" form) joins the
architecture loss.

Every rank runs this loop on its slice of each global batch; ``Comm`` averages gradients so
the update equals one process on the whole batch. Paths are drawn from a generator seeded by
(seed, step), identical on every rank.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F

from raymlx.errors import InputError
from raymlx.nas.distributed import Comm
from raymlx.nas.mixed import Supernet, entropy
from raymlx.nas.ops import PARAMETER_FREE_OPS
from raymlx.nas.training_steps import average_batchnorm_stats, averaged_step, evaluate


@dataclass
class SearchSettings:
    """Optimiser settings; ``for_method`` fills in each paper's defaults."""

    method: str = "darts"
    order: int = 1
    epochs: int = 50
    batch_size: int = 64
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_nesterov: bool = False
    w_weight_decay: float = 3e-4
    grad_clip: float | None = 5.0
    label_smoothing: float = 0.0
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    warmup_epochs: int = 0
    arch_update_every: int = 1
    latency_weight: float = 0.0
    latency_target_ms: float | None = None
    seed: int = 0

    @classmethod
    def for_method(cls, method: str, epochs: int, **overrides) -> SearchSettings:
        if method not in ("darts", "proxyless"):
            raise InputError(f"unknown NAS method {method!r}; choose 'darts' or 'proxyless'")
        base: dict = {"method": method, "epochs": epochs}
        if method == "proxyless":  # section 4.1 and the reference code's defaults
            base.update(w_lr=0.025, w_lr_min=0.0, w_nesterov=True, w_weight_decay=4e-5,
                        grad_clip=None, label_smoothing=0.1, arch_lr=1e-3,
                        arch_betas=(0.0, 0.999), arch_weight_decay=0.0,
                        warmup_epochs=epochs // 4, arch_update_every=5)
        names = {f.name for f in fields(cls)}
        unknown = set(overrides) - names
        if unknown:
            raise InputError(f"unknown search setting(s) {sorted(unknown)}; known: "
                             f"{sorted(names - {'method', 'epochs'})}")
        base.update(overrides)
        s = cls(**base)
        if s.order not in (1, 2):
            raise InputError(f"order must be 1 or 2, got {s.order!r}")
        if s.order == 2 and method != "darts":
            raise InputError("order=2 is DARTS' second-order step; ProxylessNAS has none")
        if s.epochs < 1 or s.batch_size < 1:
            raise InputError("epochs and batch_size must be at least 1")
        return s

    def to_dict(self) -> dict:
        return asdict(self)


def finite_difference_hvp(loss_fn, weights: Sequence[torch.Tensor],
                          alphas: Sequence[torch.Tensor], vector: Sequence[torch.Tensor],
                          r: float = 0.01) -> list[torch.Tensor]:
    """d/dalpha of <dL/dw, v> by central differences: [dL/dalpha(w + eps v) -
    dL/dalpha(w - eps v)] / (2 eps), eps = r / ||v|| (DARTS' eq. 8). Weights are restored."""
    norm = float(torch.sqrt(torch.stack([(v.double() ** 2).sum() for v in vector]).sum()))
    eps = r / max(norm, 1e-12)
    with torch.no_grad():
        for w, v in zip(weights, vector):
            w.add_(v, alpha=eps)
    plus = torch.autograd.grad(loss_fn(), alphas, allow_unused=True)
    with torch.no_grad():
        for w, v in zip(weights, vector):
            w.sub_(v, alpha=2 * eps)
    minus = torch.autograd.grad(loss_fn(), alphas, allow_unused=True)
    with torch.no_grad():
        for w, v in zip(weights, vector):
            w.add_(v, alpha=eps)
    return [(_zeros_if_none(p, a) - _zeros_if_none(m, a)) / (2 * eps)
            for p, m, a in zip(plus, minus, alphas)]


def _zeros_if_none(g: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(like) if g is None else g


class BatchPlan:
    """Global batches drawn from one permutation per epoch, identical on all ranks; each rank
    takes its contiguous slice, so the ranks together see exactly the global batch."""

    def __init__(self, n: int, batch_size: int, comm: Comm, seed: int, drop_last: bool = True):
        if batch_size < comm.world_size:
            raise InputError(f"batch_size {batch_size} is smaller than the {comm.world_size} "
                             "workers")
        self.n, self.batch_size, self.comm, self.seed = n, min(batch_size, n), comm, seed
        self.drop_last = drop_last

    def steps(self) -> int:
        full = self.n // self.batch_size
        return max(full, 1) if self.drop_last else -(-self.n // self.batch_size)

    def batches(self, epoch: int):
        gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        perm = torch.randperm(self.n, generator=gen)
        per_rank = self.batch_size // self.comm.world_size
        for s in range(self.steps()):
            idx = perm[s * self.batch_size:(s + 1) * self.batch_size]
            lo = self.comm.rank * per_rank
            hi = len(idx) if self.comm.rank == self.comm.world_size - 1 else lo + per_rank
            yield idx[lo:hi]


def _diagnostics(probs: dict, genotype: dict) -> dict:
    """Mean entropy of softmax(alpha) per decision and, for DARTS cells, the collapse
    indicators of DARTS+ and Zela et al.: skip connections and parameter-free ops in the
    derived normal cell."""
    rows = [r for v in probs.values() for r in (v if isinstance(v[0], list) else [v])]
    out = {"mean_entropy": sum(entropy(r) for r in rows) / len(rows)}
    if genotype["space"] == "darts-cnn":
        ops = [op for op, _ in genotype["normal"]]
        out["normal_skip_connect"] = ops.count("skip_connect")
        out["normal_parameter_free"] = sum(op in PARAMETER_FREE_OPS for op in ops)
    return out


class SupernetSearch:
    """Runs search epochs on one rank; ``state_dict`` / ``load_state_dict`` make it resumable."""

    def __init__(self, net: Supernet, settings: SearchSettings, train: tuple, valid: tuple,
                 comm: Comm | None = None, device: str | torch.device = "cpu",
                 latency_table: dict[str, list[float]] | None = None):
        self.net, self.s = net.to(device), settings
        self.comm, self.device = comm or Comm(), torch.device(device)
        self.train_x, self.train_y = train
        self.valid_x, self.valid_y = valid
        self.w_params = net.weight_parameters()
        self.a_params = net.arch_parameters()
        s = settings
        self.w_opt = torch.optim.SGD(self.w_params, lr=s.w_lr, momentum=s.w_momentum,
                                     nesterov=s.w_nesterov, weight_decay=s.w_weight_decay)
        betas = (float(s.arch_betas[0]), float(s.arch_betas[1]))
        self.a_opt = torch.optim.Adam(self.a_params, lr=s.arch_lr, betas=betas,
                                      weight_decay=s.arch_weight_decay)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.w_opt, T_max=s.epochs, eta_min=s.w_lr_min)
        self.train_plan = BatchPlan(len(self.train_y), s.batch_size, self.comm, s.seed)
        self.valid_plan = BatchPlan(len(self.valid_y), s.batch_size, self.comm, s.seed + 7919)
        self.latency_table = latency_table
        self.latency_target: float | None = s.latency_target_ms
        if latency_table is not None and s.latency_target_ms is None:
            # the expected latency under uniform probabilities
            self.latency_target = float(sum(sum(v) / len(v) for v in latency_table.values()))
        self.epoch, self.step = 0, 0
        self.history: list[dict] = []
        self.paths_digest = 0
        self.comm.broadcast_(list(net.parameters()) + list(net.buffers()))

    # --- one step ------------------------------------------------------------------------
    def _loss(self, x: torch.Tensor, y: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
        return F.cross_entropy(self.net(x), y, label_smoothing=smoothing)

    def _batch(self, xs, ys, idx):
        return xs[idx].to(self.device), ys[idx].to(self.device)

    def _generator(self, salt: int) -> torch.Generator:
        return torch.Generator().manual_seed(self.s.seed * 1_000_003 + self.step * 7 + salt)

    def _note_paths(self, drawn: list[int]) -> None:
        for i, d in enumerate(drawn):
            self.paths_digest = (self.paths_digest * 31 + d * (i + 1) + 1) % (2 ** 61 - 1)

    def weight_step(self, xt, yt) -> tuple[float, int]:
        method = self.s.method
        if method == "proxyless":
            self.net.set_mode("sample")
            self._note_paths(self.net.sample_paths(
                self._generator(1), uniform=self.epoch < self.s.warmup_epochs))
        else:
            self.net.set_mode("darts")
        logits = self.net(xt)
        loss = F.cross_entropy(logits, yt, label_smoothing=self.s.label_smoothing)
        grads = torch.autograd.grad(loss, self.w_params, allow_unused=True)
        averaged_step(self.w_params, grads, self.w_opt, self.comm, self.s.grad_clip)
        return float(loss.detach()) * len(yt), int((logits.argmax(1) == yt).sum())

    def arch_step(self, xt, yt, xv, yv) -> None:
        if self.s.method == "proxyless":
            self.net.set_mode("two_path")
            before = {k: v.detach().clone() for k, v in self.net.alphas.items()}
            self._note_paths(self.net.sample_pairs(self._generator(2)))
            loss = self._loss(xv, yv)
            if self.latency_table is not None and self.s.latency_weight > 0:
                expected = self.net.expected_latency(self.latency_table)
                target = self.latency_target
                assert target is not None  # set with the latency table
                loss = loss + self.s.latency_weight * (expected - target) / target
            raw = torch.autograd.grad(loss, self.a_params, allow_unused=True)
            grads = [_zeros_if_none(g, a) for g, a in zip(raw, self.a_params)]
            averaged_step(self.a_params, grads, self.a_opt, self.comm)
            self.net.rescale_pairs(before)
            return
        self.net.set_mode("darts")
        if self.s.order == 1:
            grads = list(torch.autograd.grad(self._loss(xv, yv), self.a_params))
        else:
            grads = self.unrolled_arch_grads(xt, yt, xv, yv)
        averaged_step(self.a_params, grads, self.a_opt, self.comm)

    def unrolled_arch_grads(self, xt, yt, xv, yv) -> list[torch.Tensor]:
        """DARTS' second-order architecture gradient, averaged over the ranks at the three
        points where a rank would otherwise use its own data: the training gradient of the
        virtual step, the validation gradients at w', and the Hessian-vector product."""
        xi = self.w_opt.param_groups[0]["lr"]
        wd, mom = self.s.w_weight_decay, self.s.w_momentum
        g_w = [_zeros_if_none(g, w) for g, w in zip(
            torch.autograd.grad(self._loss(xt, yt), self.w_params, allow_unused=True),
            self.w_params)]
        self.comm.mean_(g_w)
        backup = [w.detach().clone() for w in self.w_params]
        with torch.no_grad():
            for w, g in zip(self.w_params, g_w):
                buf = self.w_opt.state.get(w, {}).get("momentum_buffer")
                moment = buf * mom if buf is not None else 0.0
                w.sub_(xi * (moment + g + wd * w))
        raw = torch.autograd.grad(self._loss(xv, yv), self.a_params + self.w_params,
                                  allow_unused=True)
        grads = [_zeros_if_none(g, p) for g, p in zip(raw, self.a_params + self.w_params)]
        self.comm.mean_(grads)
        d_alpha, d_w = grads[:len(self.a_params)], grads[len(self.a_params):]
        with torch.no_grad():
            for w, b in zip(self.w_params, backup):
                w.copy_(b)
        hvp = finite_difference_hvp(lambda: self._loss(xt, yt), self.w_params, self.a_params,
                                    d_w)
        self.comm.mean_(hvp)
        return [da - xi * h for da, h in zip(d_alpha, hvp)]

    # --- epochs ---------------------------------------------------------------------------
    def run_epoch(self) -> dict:
        t0 = time.perf_counter()
        self.net.train()
        loss_sum = torch.zeros(3, dtype=torch.float64)  # loss * n, correct, n
        valid_batches = self.valid_plan.batches(self.epoch)
        arch_on = self.epoch >= self.s.warmup_epochs
        for idx in self.train_plan.batches(self.epoch):
            xt, yt = self._batch(self.train_x, self.train_y, idx)
            if arch_on and self.step % self.s.arch_update_every == 0:
                try:
                    vidx = next(valid_batches)
                except StopIteration:
                    valid_batches = self.valid_plan.batches(self.epoch + 10_000 * self.step)
                    vidx = next(valid_batches)
                xv, yv = self._batch(self.valid_x, self.valid_y, vidx)
                self.arch_step(xt, yt, xv, yv)
            loss, correct = self.weight_step(xt, yt)
            loss_sum += torch.tensor([loss, correct, len(yt)], dtype=torch.float64)
            self.step += 1
        self.sched.step()
        average_batchnorm_stats(self.net, self.comm)
        self.comm.sum_([loss_sum])
        seconds = time.perf_counter() - t0
        valid = self.evaluate()
        probs, genotype = self.net.probabilities(), self.net.derive()
        record = {"epoch": self.epoch, "train_loss": float(loss_sum[0] / loss_sum[2]),
                  "train_accuracy": float(loss_sum[1] / loss_sum[2]),
                  "valid_loss": valid[0], "valid_accuracy": valid[1],
                  "seconds": seconds, "samples_per_second": float(loss_sum[2]) / seconds,
                  "probabilities": probs, "genotype": genotype,
                  **self._sync_report(), **_diagnostics(probs, genotype)}
        self.history.append(record)
        self.epoch += 1
        return record

    def evaluate(self) -> tuple[float, float]:
        """Loss and accuracy on the whole validation set: DARTS' mixture, or ProxylessNAS'
        most likely path (the architecture it would export)."""
        if self.s.method == "proxyless":
            self.net.set_mode("sample")
            for c in self.net.choices():
                c.active = int(torch.argmax(self.net._logits(c)))
        else:
            self.net.set_mode("darts")
        return evaluate(self.net, self.valid_x, self.valid_y, self.comm, self.device)

    def _sync_report(self) -> dict:
        """How far the ranks' architecture parameters and drawn paths are apart (0 and True
        when they are in sync, which the loop keeps by construction)."""
        alphas = torch.cat([a.detach().float().cpu().reshape(-1) for a in self.a_params])
        gathered = self.comm.gather_objects((alphas, self.paths_digest))
        spread = max(float((g[0] - alphas).abs().max()) for g in gathered)
        return {"alpha_rank_spread": spread,
                "paths_identical_on_ranks": len({g[1] for g in gathered}) == 1,
                "world_size": self.comm.world_size}

    # --- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "w_opt": self.w_opt.state_dict(),
                "a_opt": self.a_opt.state_dict(), "sched": self.sched.state_dict(),
                "epoch": self.epoch, "step": self.step, "history": self.history,
                "paths_digest": self.paths_digest}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.w_opt.load_state_dict(state["w_opt"])
        self.a_opt.load_state_dict(state["a_opt"])
        self.sched.load_state_dict(state["sched"])
        self.epoch, self.step = state["epoch"], state["step"]
        self.history = list(state["history"])
        self.paths_digest = state["paths_digest"]
