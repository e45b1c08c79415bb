"""``raymlx nas search`` and ``raymlx nas train``: the NAS entry points on the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from raymlx.errors import InputError
from raymlx.nas.spaces import SPACES


def add_parser(sub) -> None:
    nas = sub.add_parser("nas", help="neural architecture search (DARTS, ProxylessNAS)")
    verbs = nas.add_subparsers(dest="nas_command", required=True)

    s = verbs.add_parser("search", help="search a space with a supernet on Ray Train")
    _data_args(s, default_valid=0.5)
    s.add_argument("--space", default="darts-cnn", choices=SPACES)
    s.add_argument("--method", default="darts", choices=["darts", "proxyless"])
    s.add_argument("--order", type=int, default=1, choices=[1, 2],
                   help="DARTS: first or second order")
    s.add_argument("--epochs", type=int, default=50)
    s.add_argument("--batch-size", type=int, default=64)
    s.add_argument("--arch-lr", type=float, default=None,
                   help="learning rate of the architecture parameters (default: the paper's)")
    s.add_argument("--latency-weight", type=float, default=0.0,
                   help="ProxylessNAS: weight of the expected-latency loss (0 = off)")

    t = verbs.add_parser("train", help="train a searched genotype from scratch on Ray Train")
    t.add_argument("genotype", help="genotype.json written by `raymlx nas search`")
    _data_args(t, default_valid=0.2)
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch-size", type=int, default=96)
    t.add_argument("--layers", type=int, default=None, help="DARTS: cells of the network")
    t.add_argument("--channels", type=int, default=None, help="DARTS: initial channels")


def _data_args(p: argparse.ArgumentParser, default_valid: float) -> None:
    p.add_argument("--data", required=True,
                   help="digits, mnist5k, or an .npz file with X, y (and X_valid, y_valid)")
    p.add_argument("--valid-fraction", type=float, default=default_valid,
                   help="share of the data held out when the file has no X_valid")
    p.add_argument("--output", required=True, help="folder for the results")
    p.add_argument("--workers", type=int, default=1, help="Ray Train workers")
    p.add_argument("--gpu", default="auto", choices=["auto", "on", "off"],
                   help="one GPU per worker (NCCL); auto: when the cluster has enough")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-failures", type=int, default=0,
                   help="worker failures to recover from (resuming at the last epoch)")
    p.add_argument("--address", default=None, help="Ray cluster address (or RAY_ADDRESS)")


def _data(args, space: str):
    """(train, valid) pairs; images are flattened to rows for the ``mlp`` space."""
    from raymlx.nas.datasets import load, split

    arrays = load(args.data, args.seed)
    if space == "mlp":
        arrays = {k: v.reshape(len(v), -1) if k.startswith("X") and v.ndim > 2 else v
                  for k, v in arrays.items()}
    if "X_valid" in arrays and "y_valid" in arrays:
        return (arrays["X"], arrays["y"]), (arrays["X_valid"], arrays["y_valid"])
    return split(arrays["X"], arrays["y"], args.valid_fraction, args.seed)


def run(args) -> None:
    from raymlx import nas

    out = Path(args.output).expanduser()
    use_gpu = {"auto": None, "on": True, "off": False}[args.gpu]
    common = {"num_workers": args.workers, "use_gpu": use_gpu, "seed": args.seed,
              "max_failures": args.max_failures, "address": args.address,
              "batch_size": args.batch_size, "epochs": args.epochs}
    if args.nas_command == "search":
        train, valid = _data(args, args.space)
        extra = {} if args.arch_lr is None else {"arch_lr": args.arch_lr}
        if args.latency_weight:
            extra["latency_weight"] = args.latency_weight
        res = nas.search(train, valid, space=args.space, method=args.method, order=args.order,
                         **common, **extra)
        res.save(out)
        res.plot(out / "alphas.png")
        last = res.history[-1]
        print(json.dumps(res.genotype))
        print(f"supernet valid accuracy {last['valid_accuracy']:.4f} after "
              f"{len(res.history)} epochs in {res.seconds:.0f} s; wrote {out}/genotype.json, "
              f"search.json, alphas.png")
        return
    try:
        genotype = json.loads(Path(args.genotype).expanduser().read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read genotype {args.genotype!r}: {exc}") from None
    nas.validate_genotype(genotype)
    train, valid = _data(args, genotype["space"])
    options = {k: v for k, v in {"layers": args.layers, "channels": args.channels}.items()
               if v is not None}
    trained = nas.train(genotype, train, valid, network_options=options, **common)
    trained.save(out)
    print(f"valid accuracy {trained.valid_accuracy:.4f} after {len(trained.history)} epochs "
          f"in {trained.seconds:.0f} s; wrote {out}/model.pt, train.json")
