"""Torch multilayer perceptron family for tables.

Inputs are the dense, scaled one-hot features of :mod:`raymlx.tabular.models.encoding`; regression
targets are standardised. Training is Adam with decoupled weight decay, mini-batches, and
early stopping on the held-out fold's loss (the best epoch's weights are kept); it stops at
the trial's deadline too, and trains on CUDA when Ray gave the trial a GPU that torch sees.
"""

from __future__ import annotations

import copy

import numpy as np

from raymlx.tabular.models.base import FoldEstimator, ModelFamily
from raymlx.tabular.models.encoding import dense_encoder, encode_dense

PATIENCE = 8


def build_mlp(n_in: int, n_out: int, width: int, depth: int, dropout: float, activation: str):
    """Linear -> activation -> dropout blocks, then a linear output layer."""
    import torch.nn as nn

    act = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}[activation]
    layers, size = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(size, width), act(), nn.Dropout(dropout)]
        size = width
    layers.append(nn.Linear(size, n_out))
    return nn.Sequential(*layers)


class MLPEstimator(FoldEstimator):
    rounds_param = "max_epochs"

    def _fit(self, X, y, X_val, y_val, deadline):
        import torch

        torch.manual_seed(self.seed)
        torch.set_num_threads(self.num_threads)
        p = {"width": 128, "depth": 2, "dropout": 0.1, "lr": 1e-3, "weight_decay": 1e-4,
             "batch_size": 256, "max_epochs": 100, "activation": "relu", **self.params}
        self.encoder_ = dense_encoder(self.problem).fit(X)
        Xt = torch.as_tensor(self.encoder_.transform(X), dtype=torch.float32)
        Xv = None if X_val is None or not len(X_val) else torch.as_tensor(
            self.encoder_.transform(X_val), dtype=torch.float32)
        if self.problem.is_classification:
            n_out = len(self.present_classes_)
            yt = torch.as_tensor(y, dtype=torch.long)
            yv = None if Xv is None else torch.as_tensor(y_val, dtype=torch.long)
            loss_fn = torch.nn.CrossEntropyLoss()
        else:
            n_out = 1
            self.y_mean_, self.y_std_ = float(np.mean(y)), float(np.std(y) or 1.0)
            yt = torch.as_tensor((y - self.y_mean_) / self.y_std_, dtype=torch.float32)[:, None]
            yv = None if Xv is None else torch.as_tensor(
                (y_val - self.y_mean_) / self.y_std_, dtype=torch.float32)[:, None]
            loss_fn = torch.nn.MSELoss()
        net = build_mlp(Xt.shape[1], n_out, int(p["width"]), int(p["depth"]),
                        float(p["dropout"]), p["activation"])
        dev = torch.device(self.device)
        net, Xt, yt = net.to(dev), Xt.to(dev), yt.to(dev)
        if Xv is not None:
            Xv, yv = Xv.to(dev), yv.to(dev)
        opt = torch.optim.AdamW(net.parameters(), lr=float(p["lr"]),
                                weight_decay=float(p["weight_decay"]))
        gen = torch.Generator().manual_seed(self.seed)
        batch = int(min(p["batch_size"], len(Xt)))
        best, best_state, waited = float("inf"), None, 0
        self.epochs_ = 0  # the epochs behind the weights kept (the best one's, with X_val)
        for epoch in range(int(p["max_epochs"])):
            net.train()
            order = torch.randperm(len(Xt), generator=gen).to(dev)
            for start in range(0, len(Xt), batch):
                idx = order[start:start + batch]
                if len(idx) < 2:
                    continue
                opt.zero_grad()
                loss_fn(net(Xt[idx]), yt[idx]).backward()
                opt.step()
            if Xv is not None:
                net.eval()
                with torch.no_grad():
                    val = float(loss_fn(net(Xv), yv))
                if val < best - 1e-6:
                    best, best_state, waited = val, copy.deepcopy(net.state_dict()), 0
                    self.epochs_ = epoch + 1
                else:
                    waited += 1
                    if waited >= PATIENCE:
                        break
            if Xv is None:
                self.epochs_ = epoch + 1
            if self._out_of_time(deadline):
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        self.net_ = net.to("cpu")  # predict anywhere: the driver may have no GPU

    def fitted_rounds(self) -> int | None:
        return getattr(self, "epochs_", None) or None  # None: saved before epochs were kept

    def _predict(self, X):
        import torch

        with torch.no_grad():
            Xt = encode_dense(self, self.encoder_, self.problem, X)
            out = self.net_(torch.as_tensor(Xt, dtype=torch.float32))
        if self.problem.is_classification:
            return torch.softmax(out, dim=1).numpy()
        return out[:, 0].numpy() * self.y_std_ + self.y_mean_


class MLP(ModelFamily):
    name = "mlp"
    estimator = MLPEstimator
    gpus = True
    portfolio = (
        {"width": 128, "depth": 2, "dropout": 0.1, "lr": 1e-3},
        {"width": 256, "depth": 3, "dropout": 0.2, "lr": 3e-4, "activation": "gelu"},
    )

    def search_space(self) -> dict:
        from ray import tune

        return {
            "width": tune.choice([64, 128, 256, 512]),
            "depth": tune.randint(1, 5),
            "dropout": tune.uniform(0.0, 0.5),
            "lr": tune.loguniform(1e-4, 1e-2),
            "weight_decay": tune.loguniform(1e-6, 1e-2),
            "batch_size": tune.choice([128, 256, 512]),
            "activation": tune.choice(["relu", "gelu", "silu"]),
        }

    def cuda_usable(self) -> bool:
        try:
            import torch

            return torch.cuda.is_available() and torch.cuda.device_count() > 0
        except Exception:  # torch missing or broken: no CUDA here
            return False


FAMILY = MLP()
