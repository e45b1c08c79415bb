"""Training a derived architecture from scratch, data-parallel over the ranks of a search.

The recipe is DARTS' evaluation recipe scaled to small data: SGD with momentum 0.9, weight
decay 3e-4, cosine learning rate from 0.025 to 0, gradient clipping at 5, optional drop-path.
Gradients are averaged with the same ``Comm`` as the search, so N workers on a global batch
train the same model as one process on it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from raymlx.errors import InputError
from raymlx.nas.distributed import Comm
from raymlx.nas.search_loop import BatchPlan
from raymlx.nas.training_steps import average_batchnorm_stats, averaged_step, evaluate


@dataclass
class TrainSettings:
    epochs: int = 30
    batch_size: int = 96
    lr: float = 0.025
    lr_min: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float | None = 5.0
    label_smoothing: float = 0.0
    seed: int = 0

    @classmethod
    def make(cls, epochs: int, **overrides) -> TrainSettings:
        names = {f.name for f in fields(cls)}
        unknown = set(overrides) - names
        if unknown:
            raise InputError(f"unknown training setting(s) {sorted(unknown)}; known: "
                             f"{sorted(names - {'epochs'})}")
        s = cls(epochs=epochs, **overrides)
        if s.epochs < 1 or s.batch_size < 1:
            raise InputError("epochs and batch_size must be at least 1")
        return s

    def to_dict(self) -> dict:
        return asdict(self)


class NetworkTraining:
    def __init__(self, net: nn.Module, settings: TrainSettings, train: tuple, valid: tuple,
                 comm: Comm | None = None, device: str | torch.device = "cpu"):
        self.net, self.s = net.to(device), settings
        self.comm, self.device = comm or Comm(), torch.device(device)
        self.train_x, self.train_y = train
        self.valid_x, self.valid_y = valid
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.opt = torch.optim.SGD(self.params, lr=settings.lr, momentum=settings.momentum,
                                   weight_decay=settings.weight_decay)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.opt, T_max=settings.epochs, eta_min=settings.lr_min)
        self.plan = BatchPlan(len(self.train_y), settings.batch_size, self.comm, settings.seed)
        self.epoch = 0
        self.history: list[dict] = []
        self.comm.broadcast_(list(net.parameters()) + list(net.buffers()))

    def run_epoch(self) -> dict:
        t0 = time.perf_counter()
        self.net.train()
        totals = torch.zeros(3, dtype=torch.float64)
        for idx in self.plan.batches(self.epoch):
            x, y = self.train_x[idx].to(self.device), self.train_y[idx].to(self.device)
            logits = self.net(x)
            loss = F.cross_entropy(logits, y, label_smoothing=self.s.label_smoothing)
            averaged_step(self.params, torch.autograd.grad(loss, self.params), self.opt,
                          self.comm, self.s.grad_clip)
            totals += torch.tensor([float(loss.detach()) * len(y),
                                    float((logits.argmax(1) == y).sum()), len(y)],
                                   dtype=torch.float64)
        self.sched.step()
        average_batchnorm_stats(self.net, self.comm)
        self.comm.sum_([totals])
        seconds = time.perf_counter() - t0
        valid_loss, valid_acc = self.evaluate()
        record = {"epoch": self.epoch, "train_loss": float(totals[0] / totals[2]),
                  "train_accuracy": float(totals[1] / totals[2]), "valid_loss": valid_loss,
                  "valid_accuracy": valid_acc, "seconds": seconds,
                  "samples_per_second": float(totals[2]) / seconds}
        self.history.append(record)
        self.epoch += 1
        return record

    def evaluate(self) -> tuple[float, float]:
        return evaluate(self.net, self.valid_x, self.valid_y, self.comm, self.device)

    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict(),
                "sched": self.sched.state_dict(), "epoch": self.epoch,
                "history": self.history}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        self.epoch = state["epoch"]
        self.history = list(state["history"])
