"""NAS benchmark: supernet memory, searched vs random architectures, data-parallel throughput.

(a) ``memory``: activation bytes saved for backward in one forward+backward (counted with
    torch's saved-tensor hooks, parameters excluded, each storage once) and the peak RSS of a
    fresh process per variant minus a process that only builds the supernet: DARTS' weight
    step (every op on every edge) vs ProxylessNAS' weight step (one sampled path) and its
    architecture step (two paths), on the same space and batch. On a GPU the peak of
    ``torch.cuda.max_memory_allocated`` replaces RSS. Target: ProxylessNAS <= 1/4 of DARTS.
(b) ``quality``: Li & Talwalkar's protocol (UAI 2019). Per seed, DARTS and ProxylessNAS search
    the DARTS cell space on half of the training split (the other half trains the
    architecture weights), the derived cell is trained from scratch with a fixed recipe and
    scored on a held-out test split; K random cells from the same space get the same recipe.
    Reported: the searched cells' mean test accuracy with its standard error, the random
    cells' median and best, and "random search at equal compute" - the random cell with the
    best validation accuracy among as many as the search + retrain time would have trained.
    Target: searched at or above the median random cell.
(c) ``scaling``: supernet training throughput (images per second in the search loop) with 2
    Ray Train workers vs 1 on this machine. Target: at least 1.6x. ``dp_loop`` measures the
    same loop under a plain torch.distributed group without Ray (also on a GPU machine).

    .venv/bin/python benchmarks/nas.py --parts memory,quality,scaling
    python3 benchmarks/nas.py --parts memory,gpu_throughput --device cuda   # no Ray needed
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from raymlx.nas.datasets import load_digits_images, load_mnist5k, split  # noqa: E402
from raymlx.nas.latency import measure_latency_table  # noqa: E402
from raymlx.nas.search_loop import SearchSettings, SupernetSearch  # noqa: E402
from raymlx.nas.spaces import build_supernet, random_genotype  # noqa: E402
from raymlx.nas.standardize import input_statistics  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
# a few hundred architecture steps here, against ~20,000 in the papers: larger alpha rates
DEFAULT_VARIANTS = {"darts": {"arch_lr": 3e-3},
                    "proxyless": {"arch_lr": 6e-3, "arch_update_every": 1}}

# (a) ---------------------------------------------------------------------------------------
MEMORY_CASES = {
    # name: (space, input shape, options, batch)
    "darts-cnn digits 8x8": ("darts-cnn", (1, 8, 8), None, 64),
    "darts-cnn mnist 28x28": ("darts-cnn", (1, 28, 28), None, 64),
    "proxyless-cnn mnist 28x28": ("proxyless-cnn", (1, 28, 28), None, 64),
    "darts-cnn cifar 32x32 paper size": ("darts-cnn", (3, 32, 32), None, 64),
}
VARIANTS = ("darts_weight_step", "proxyless_weight_step", "proxyless_arch_step", "build_only")


def _supernet(space, shape, options, device):
    x = torch.zeros(2, *shape)
    mean, std = input_statistics(x.numpy())
    return build_supernet(space, shape, 10, mean, std, seed=0, options=options).to(device)


def _one_step(net, variant: str, x, y) -> None:
    gen = torch.Generator().manual_seed(0)
    if variant == "darts_weight_step":
        net.set_mode("darts")
        params = net.weight_parameters()
    elif variant == "proxyless_weight_step":
        net.set_mode("sample")
        net.sample_paths(gen)
        params = net.weight_parameters()
    else:
        net.set_mode("two_path")
        net.sample_pairs(gen)
        params = net.arch_parameters()
    loss = F.cross_entropy(net(x), y)
    torch.autograd.grad(loss, params, allow_unused=True)


def saved_activation_bytes(net, variant: str, x, y) -> int:
    """Bytes of the tensors autograd saves for backward, parameters excluded, each storage
    counted once."""
    param_ptrs = {p.data_ptr() for p in net.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        if t.data_ptr() not in param_ptrs:
            storage = t.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        _one_step(net, variant, x, y)
    return sum(seen.values())


def _memory_child(case: str, variant: str, device: str) -> None:
    """Run in a fresh process: build the supernet, run one step, print peak memory."""
    space, shape, options, batch = MEMORY_CASES[case]
    torch.manual_seed(0)
    net = _supernet(space, shape, options, device)
    x = torch.randn(batch, *shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    saved = 0
    if variant != "build_only":
        saved = saved_activation_bytes(net, variant, x, y)
    out = {"saved_bytes": saved,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device == "cuda":
        torch.cuda.synchronize()
        out["cuda_peak_over_model_mb"] = (torch.cuda.max_memory_allocated() - base) / 2 ** 20
    print("RESULT " + json.dumps(out))


def run_memory(device: str, cases: list[str]) -> dict:
    rows = {}
    for case in cases:
        row = {}
        for variant in VARIANTS:
            cmd = [sys.executable, __file__, "--memory-child", case, variant, "--device", device]
            proc = subprocess.run(cmd, capture_output=True, text=True, env={
                **os.environ, "OMP_NUM_THREADS": "2"})
            line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if not line:
                row[variant] = {"error": proc.stderr.strip().splitlines()[-1:]}
                continue
            row[variant] = json.loads(line[0][7:])
        base = row.get("build_only", {}).get("peak_rss_mb")
        for variant in VARIANTS[:3]:
            r = row.get(variant, {})
            if base is not None and "peak_rss_mb" in r:
                r["rss_over_build_mb"] = r["peak_rss_mb"] - base
        d = row.get("darts_weight_step", {})
        for variant in VARIANTS[1:3]:
            r = row.get(variant, {})
            if d.get("saved_bytes") and "saved_bytes" in r:
                r["saved_ratio_vs_darts"] = r["saved_bytes"] / d["saved_bytes"]
            if d.get("rss_over_build_mb") and r.get("rss_over_build_mb") is not None:
                r["rss_ratio_vs_darts"] = r["rss_over_build_mb"] / d["rss_over_build_mb"]
            if d.get("cuda_peak_over_model_mb") and "cuda_peak_over_model_mb" in r:
                r["cuda_ratio_vs_darts"] = (r["cuda_peak_over_model_mb"]
                                            / d["cuda_peak_over_model_mb"])
        rows[case] = row
        print(f"[memory] {case}: " + ", ".join(
            f"{v} {row[v].get('saved_bytes', 0) / 2**20:.1f} MiB saved"
            for v in VARIANTS[:3] if v in row), flush=True)
    return rows


# (b) ---------------------------------------------------------------------------------------
def _data(name: str, seed: int):
    X, y = load_digits_images() if name == "digits" else load_mnist5k(seed)
    (Xtr, ytr), (Xte, yte) = split(X, y, 0.2, seed=seed)
    return (Xtr, ytr), (Xte, yte)


def _test_accuracy(model, X, y) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(X)).argmax(1).numpy()
    return float((pred == y).mean())


def run_quality(dataset: str, seeds: list[int], search_epochs: int, train_epochs: int,
                n_random: int, storage: str, variants: dict[str, dict],
                previous: dict | None = None) -> dict:
    """``variants``: name -> search settings (``method`` defaults to the name). With
    ``n_random=0`` the random cells of ``previous`` (same seeds and recipe) are reused and
    the new variants are added beside the earlier ones."""
    from raymlx import nas

    reuse = previous is not None and n_random == 0
    if reuse and previous["train_epochs"] != train_epochs:
        raise SystemExit("reusing random cells needs the same --train-epochs")
    out = previous if reuse else {"dataset": dataset, "train_epochs": train_epochs,
                                  "n_random": n_random, "per_seed": []}
    out.setdefault("variants", {}).update(
        {k: {**v, "search_epochs": search_epochs} for k, v in variants.items()})
    for seed in seeds:
        (Xtr, ytr), (Xte, yte) = _data(dataset, seed)
        search_train, search_valid = split(Xtr, ytr, 0.5, seed=seed)
        fit_train, fit_valid = split(Xtr, ytr, 0.2, seed=seed + 100)
        record = next((r for r in out["per_seed"] if r["seed"] == seed), None)
        if record is None:
            record = {"seed": seed, "searched": {}, "random": []}
            out["per_seed"].append(record)

        def retrain(genotype, s=seed, fit=(fit_train, fit_valid), test=(Xte, yte)):
            t0 = time.time()
            res = nas.train(genotype, fit[0], fit[1], epochs=train_epochs, seed=s,
                            storage_path=storage)
            return {"valid_accuracy": res.valid_accuracy,
                    "test_accuracy": _test_accuracy(res.model, *test),
                    "seconds": time.time() - t0}

        for name, settings in variants.items():
            extra = dict(settings)
            method = extra.pop("method", name)
            t0 = time.time()
            found = nas.search(search_train, search_valid, space="darts-cnn", method=method,
                               epochs=search_epochs, seed=seed, storage_path=storage,
                               **extra)
            search_s = time.time() - t0
            trained = retrain(found.genotype)
            record["searched"][name] = {"genotype": found.genotype,
                                        "search_seconds": search_s, **trained,
                                        "normal_skip_connect": found.history[-1].get(
                                            "normal_skip_connect"),
                                        "normal_parameter_free": found.history[-1].get(
                                            "normal_parameter_free")}
            print(f"[quality] seed {seed} {name}: test {trained['test_accuracy']:.4f} "
                  f"(search {search_s:.0f} s, train {trained['seconds']:.0f} s)", flush=True)
        rng = np.random.default_rng(1000 + seed)
        for k in range(n_random):
            g = random_genotype("darts-cnn", Xtr.shape[1:], 10, rng)
            trained = retrain(g)
            record["random"].append({"genotype": g, **trained})
            print(f"[quality] seed {seed} random {k}: test {trained['test_accuracy']:.4f}",
                  flush=True)
        rand_test = [r["test_accuracy"] for r in record["random"]]
        mean_train_s = statistics.mean(r["seconds"] for r in record["random"])
        for r in record["searched"].values():
            budget = r["search_seconds"] + r["seconds"]
            k = int(max(1, min(len(record["random"]), round(budget / mean_train_s))))
            pick = max(record["random"][:k], key=lambda x: x["valid_accuracy"])
            r["random_search_equal_compute"] = {"n_architectures": k,
                                                "test_accuracy": pick["test_accuracy"]}
            r["percentile_among_random"] = float(np.mean(
                [t <= r["test_accuracy"] for t in rand_test]))
        record["random_median"] = float(np.median(rand_test))
        record["random_best"] = float(np.max(rand_test))
    per_seed = [r for r in out["per_seed"] if r["seed"] in seeds]
    out["summary"] = {}
    for name in per_seed[0]["searched"]:
        accs = [r["searched"][name]["test_accuracy"] for r in per_seed]
        eq = [r["searched"][name]["random_search_equal_compute"]["test_accuracy"]
              for r in per_seed]
        out["summary"][name] = {
            "test_mean": float(np.mean(accs)),
            "test_se": float(np.std(accs, ddof=1) / np.sqrt(len(accs))) if len(accs) > 1
            else None,
            "random_search_equal_compute_mean": float(np.mean(eq)),
            "search_seconds_mean": float(np.mean(
                [r["searched"][name]["search_seconds"] for r in per_seed])),
            "normal_parameter_free": [r["searched"][name]["normal_parameter_free"]
                                      for r in per_seed]}
    all_random = [r["test_accuracy"] for s in per_seed for r in s["random"]]
    out["random"] = {"median": float(np.median(all_random)), "best": float(np.max(all_random)),
                     "mean": float(np.mean(all_random)), "n": len(all_random)}
    return out


# (c) ---------------------------------------------------------------------------------------
def run_scaling(storage: str, epochs: int) -> dict:
    """Weak scaling (64 images per worker per step, as data-parallel training is usually run)
    and strong scaling (one global batch of 64 split over the workers)."""
    import ray

    from raymlx import nas

    if not ray.is_initialized():  # no dashboard: fewer background processes on 2 cores
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    X, y = load_digits_images()
    train, valid = split(X, y, 0.5, seed=0)
    configs = [("1 worker x 1 thread, batch 64", 1, 1.0, 64),
               ("1 worker x 2 threads, batch 64", 1, 2.0, 64),
               ("2 workers x 1 thread, batch 64 each", 2, 1.0, 128),
               ("2 workers x 1 thread, batch 32 each", 2, 1.0, 64)]
    rows = {}
    for label, workers, cpus, batch in configs:
        res = nas.search(train, valid, space="darts-cnn", method="darts", epochs=epochs,
                         batch_size=batch, num_workers=workers, cpus_per_worker=cpus,
                         storage_path=storage)
        tput = [h["samples_per_second"] for h in res.history[1:]] or \
            [res.history[0]["samples_per_second"]]
        rows[label] = {"images_per_second": float(np.median(tput)), "workers": workers,
                       "global_batch": batch,
                       "epoch_seconds": [h["seconds"] for h in res.history]}
        print(f"[scaling] {label}: {rows[label]['images_per_second']:.1f} images/s", flush=True)
    ray.shutdown()
    one = rows[configs[0][0]]["images_per_second"]
    return {"rows": rows,
            "weak_scaling_speedup": rows[configs[2][0]]["images_per_second"] / one,
            "strong_scaling_speedup": rows[configs[3][0]]["images_per_second"] / one,
            "one_worker_two_threads_speedup": rows[configs[1][0]]["images_per_second"] / one}


def _dp_rank(rank: int, world: int, device: str, port: int, epochs: int, threads: int,
             method: str, queue) -> None:
    """One rank of the search loop under a plain torch.distributed gloo group (no Ray)."""
    import torch.distributed as dist

    from raymlx.nas.distributed import Comm

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(threads)
    X, y = load_digits_images()
    (a, b), (c, d) = split(X, y, 0.5, seed=0)
    mean, std = input_statistics(a)
    net = build_supernet("darts-cnn", (1, 8, 8), 10, mean, std, seed=0)
    s = SearchSettings.for_method(method, epochs, batch_size=64 * world, warmup_epochs=0,
                                  arch_update_every=1)
    eng = SupernetSearch(net, s, (torch.from_numpy(a), torch.from_numpy(b)),
                         (torch.from_numpy(c), torch.from_numpy(d)), Comm.from_process_group(),
                         device=device)
    records = [eng.run_epoch() for _ in range(epochs)]
    if rank == 0:
        queue.put({"images_per_second": float(np.median(
            [r["samples_per_second"] for r in records[1:]])),
            "alpha_rank_spread": max(r["alpha_rank_spread"] for r in records),
            "paths_identical_on_ranks": all(r["paths_identical_on_ranks"] for r in records)})
    dist.destroy_process_group()


def run_dp_loop(device: str, epochs: int, threads: int) -> dict:
    """The search loop's own data-parallel scaling, 1 vs 2 ranks at 64 images per rank, with
    torch.distributed (gloo) and no Ray: separates the loop's cost from Ray Train's."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    out = {"threads_per_rank": threads}
    for method in ("darts", "proxyless"):
        for world in (1, 2):
            q = ctx.Queue()
            port = 29500 + int(time.time() * 1000) % 400
            procs = [ctx.Process(target=_dp_rank, args=(r, world, device, port, epochs,
                                                        threads, method, q))
                     for r in range(world)]
            for p in procs:
                p.start()
            res = q.get(timeout=1800)
            for p in procs:
                p.join()
            out[f"{method}_{world}_ranks"] = res
            print(f"[dp] {device} {method} {world} rank(s): {res['images_per_second']:.1f} "
                  f"images/s, alpha spread {res['alpha_rank_spread']}", flush=True)
        out[f"{method}_speedup"] = (out[f"{method}_2_ranks"]["images_per_second"]
                                    / out[f"{method}_1_ranks"]["images_per_second"])
    return out


def run_gpu_throughput(device: str, steps: int = 20) -> dict:
    """Search-loop images per second of one process on ``device`` (no Ray), paper-size DARTS
    supernet (8 cells, 16 channels, 32x32x3, batch 64), first order and ProxylessNAS."""
    out = {}
    for method in ("darts", "proxyless"):
        torch.manual_seed(0)
        net = _supernet("darts-cnn", (3, 32, 32), None, device)
        n = 64 * steps
        X = torch.randn(n, 3, 32, 32)
        y = torch.randint(0, 10, (n,))
        s = SearchSettings.for_method(method, 2, batch_size=64, warmup_epochs=0)
        eng = SupernetSearch(net, s, (X, y), (X, y), device=device)
        eng.run_epoch()  # warm-up (cuDNN autotune, allocator)
        r = eng.run_epoch()
        out[method] = {"images_per_second": r["samples_per_second"]}
        print(f"[gpu] {device} {method}: {r['samples_per_second']:.0f} images/s", flush=True)
    table = measure_latency_table(net, X[:64].to(device), repeats=5)
    by_op: dict[str, list[float]] = {}
    for c in net.choices():
        for name, ms in zip(c.op_names, table[c.name]):
            by_op.setdefault(name, []).append(ms)
    out["latency_ms_median_per_op"] = {k: float(np.median(v)) for k, v in by_op.items()}
    print("[gpu] latency ms per op: " + ", ".join(
        f"{k} {v:.3f}" for k, v in out["latency_ms_median_per_op"].items()), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="memory,quality,scaling")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--memory-cases", default=",".join(list(MEMORY_CASES)[:3]))
    ap.add_argument("--dataset", default="digits", choices=["digits", "mnist5k"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--search-epochs", type=int, default=10)
    ap.add_argument("--train-epochs", type=int, default=20)
    ap.add_argument("--random", type=int, default=8, help="random cells per seed")
    ap.add_argument("--variants", default=json.dumps(DEFAULT_VARIANTS),
                    help="JSON: name -> search settings for the quality part")
    ap.add_argument("--scaling-epochs", type=int, default=3)
    ap.add_argument("--dp-threads", type=int, default=1, help="torch threads per rank (dp_loop)")
    ap.add_argument("--out", default=str(RESULTS / "nas.json"))
    ap.add_argument("--memory-child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        _memory_child(*args.memory_child, args.device)
        return
    parts = args.parts.split(",")
    out_path = Path(args.out)
    result = json.loads(out_path.read_text()) if out_path.exists() else {}
    env = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "torch": torch.__version__,
           "date": time.strftime("%Y-%m-%d"), "device": args.device}
    if args.device == "cuda":
        env["gpu"] = torch.cuda.get_device_name(0)
    key = "" if args.device == "cpu" else f"_{args.device}"
    storage = str(Path("/tmp/raymlx-nas-bench").resolve())
    if "memory" in parts:
        result[f"memory{key}"] = {"env": env, "cases": run_memory(
            args.device, args.memory_cases.split(","))}
    if "quality" in parts:
        t0 = time.time()
        q = run_quality(args.dataset, list(range(args.seeds)), args.search_epochs,
                        args.train_epochs, args.random, storage, json.loads(args.variants),
                        result.get(f"quality_{args.dataset}"))
        q["env"] = env
        q.setdefault("seconds", {})[",".join(json.loads(args.variants))] = time.time() - t0
        result[f"quality_{args.dataset}"] = q
    if "scaling" in parts:
        result["scaling"] = {"env": env, **run_scaling(storage, args.scaling_epochs)}
    if "dp_loop" in parts:
        result[f"dp_loop{key}"] = {"env": env, **run_dp_loop(args.device, args.scaling_epochs,
                                                             args.dp_threads)}
    if "gpu_throughput" in parts:
        result[f"throughput{key}"] = {"env": env, **run_gpu_throughput(args.device)}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1))
    _print_tables(result)
    print(f"wrote {out_path}")


def _print_tables(result: dict) -> None:
    for key in [k for k in result if k.startswith("memory")]:
        peak = "GPU peak allocated" if key.endswith("cuda") else "peak RSS over build"
        print(f"\n{key} (saved activations for backward; ratio to DARTS; {peak} ratio of "
              "the weight step)")
        print(f"{'case':52s} {'DARTS MiB':>10s} {'Proxyless w':>12s} {'ratio':>6s} "
              f"{'Proxyless a':>12s} {'ratio':>6s} {'peak ratio':>11s}")
        for case, row in result[key]["cases"].items():
            d, w, a = (row.get(v, {}) for v in VARIANTS[:3])
            print(f"{case:52s} {d.get('saved_bytes', 0) / 2**20:10.1f} "
                  f"{w.get('saved_bytes', 0) / 2**20:12.1f} "
                  f"{w.get('saved_ratio_vs_darts', float('nan')):6.3f} "
                  f"{a.get('saved_bytes', 0) / 2**20:12.1f} "
                  f"{a.get('saved_ratio_vs_darts', float('nan')):6.3f} "
                  f"{w.get('cuda_ratio_vs_darts', w.get('rss_ratio_vs_darts', np.nan)):11.3f}")
    for key in [k for k in result if k.startswith("quality")]:
        q = result[key]
        print(f"\n{key}: test accuracy, {len(q['per_seed'])} seeds")
        for m, row in q["summary"].items():
            se = row["test_se"]
            eq = row["random_search_equal_compute_mean"]
            print(f"  {m:16s} {row['test_mean']:.4f} +- {se if se is None else round(se, 4)}"
                  f"   random search at equal compute {eq:.4f}")
        r = q["random"]
        print(f"  random cells (n={r['n']}): median {r['median']:.4f}, best {r['best']:.4f}")
    if "scaling" in result:
        s = result["scaling"]
        print("\nscaling (DARTS supernet search loop, digits, images/s, Ray Train workers)")
        for label, row in s["rows"].items():
            print(f"  {label:38s} {row['images_per_second']:8.1f}")
        print(f"  2 workers vs 1: {s['weak_scaling_speedup']:.2f}x at 64 images per worker, "
              f"{s['strong_scaling_speedup']:.2f}x at one global batch of 64")
    for key in [k for k in result if k.startswith("dp_loop")]:
        d = result[key]
        print(f"\n{key} (search loop, torch.distributed gloo, no Ray, 64 images per rank): "
              + ", ".join(f"{m} {d[m + '_1_ranks']['images_per_second']:.1f} -> "
                          f"{d[m + '_2_ranks']['images_per_second']:.1f} images/s "
                          f"({d[m + '_speedup']:.2f}x)" for m in ("darts", "proxyless")))
    for key in [k for k in result if k.startswith("throughput")]:
        print(f"\n{key}: " + ", ".join(f"{m} {v['images_per_second']:.0f} images/s"
                                       for m, v in result[key].items()
                                       if m in ("darts", "proxyless")))


if __name__ == "__main__":
    main()
