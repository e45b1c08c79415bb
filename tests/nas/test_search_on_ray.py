"""nas.search / nas.train on Ray Train workers (gloo): ranks in sync, equal to one process,
recovery from a dead worker, the Tune path, the CLI and input errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from raymlx import nas
from raymlx.cli import main as cli_main
from raymlx.errors import InputError
from raymlx.nas.distributed import Comm
from raymlx.nas.search_loop import SearchSettings, SupernetSearch
from raymlx.searchers import RandomSearch
from tests.nas.helpers import digits, supernet, tensors

MLP = {"n_layers": 2, "widths": [8, 16], "activations": ["relu", "tanh"]}


def _flat_split(n=400):
    X, y = digits(n, flat=True)
    half = n // 2
    return (X[:half], y[:half]), (X[half:], y[half:])


def _alone(method: str, order: int, epochs: int, train, valid, **settings):
    """The same search in this process, on one rank."""
    X = train[0]
    torch.manual_seed(0)
    net = supernet("mlp", X, **MLP)
    s = SearchSettings.for_method(method, epochs, order=order, batch_size=64, seed=0,
                                  **settings)
    eng = SupernetSearch(net, s, tensors(*train), tensors(*valid), Comm())
    for _ in range(epochs):
        eng.run_epoch()
    return net


@pytest.mark.parametrize("method,order", [("darts", 2), ("proxyless", 1)])
def test_two_workers_stay_in_sync_and_equal_one_process(ray_session, tmp_path, method, order):
    train, valid = _flat_split()
    extra = {"warmup_epochs": 1, "arch_update_every": 2} if method == "proxyless" else {}
    res = nas.search(train, valid, space="mlp", method=method, order=order, epochs=3,
                     batch_size=64, num_workers=2, space_options=MLP,
                     storage_path=str(tmp_path), **extra)
    assert [h["world_size"] for h in res.history] == [2, 2, 2]
    assert all(h["alpha_rank_spread"] == 0.0 for h in res.history)
    assert all(h["paths_identical_on_ranks"] for h in res.history)
    assert len(res.rank_genotypes) == 2 and res.rank_genotypes[0] == res.rank_genotypes[1]
    assert res.genotype == res.rank_genotypes[0]
    alone = _alone(method, order, 3, train, valid, **extra)
    for key, values in res.alphas.items():
        assert np.allclose(values, alone.alphas[key].detach().numpy(), atol=1e-5), key
    assert res.genotype == alone.derive()
    json.dumps(res.genotype)
    # the resource manager saw both ranks, each with one CPU, both finished
    trials = res.cluster_report["trials"]
    assert sorted(trials) == ["rank0", "rank1"]
    assert all(t["attempts"][-1]["status"] == "ok" and t["attempts"][-1]["device"] == "cpu"
               and t["attempts"][-1]["request"] == {"CPU": 1.0} for t in trials.values())
    assert res.cluster_report["plan"]["use_gpus"] is False


def test_search_recovers_from_a_dead_worker_at_its_last_epoch(ray_session, tmp_path):
    X, y = digits(240)
    marker = tmp_path / "died"
    res = nas.search((X[:120], y[:120]), (X[120:], y[120:]), space="darts-cnn",
                     method="proxyless", epochs=3, batch_size=32, num_workers=2,
                     space_options={"layers": 3, "channels": 4}, max_failures=1,
                     storage_path=str(tmp_path), _config={"_fail_once_at_epoch":
                                                         (2, str(marker))})
    assert marker.exists()  # a worker did die at epoch 2
    assert [h["epoch"] for h in res.history] == [0, 1, 2]  # epochs 0, 1 restored, not redone
    assert res.rank_genotypes[0] == res.rank_genotypes[1]
    assert all(h["paths_identical_on_ranks"] for h in res.history)
    # Ray Train restarted the worker group: each rank's first attempt was lost
    report = res.cluster_report
    assert report["retries"] >= 1
    assert all(t["attempts"][-1]["status"] == "ok" for t in report["trials"].values())
    assert any(a["status"] == "lost" for t in report["trials"].values()
               for a in t["attempts"])
    png = res.plot(tmp_path / "alphas.png")
    assert png.stat().st_size > 10_000


def test_train_a_genotype_on_two_workers(ray_session, tmp_path):
    (Xt, yt), (Xv, yv) = _flat_split(1000)
    genotype = {"space": "mlp", "input_shape": [64], "num_classes": 10,
                "layers": [{"width": 64, "activation": "relu", "skip": False},
                           {"width": 64, "activation": "relu", "skip": True}]}
    out = nas.train(genotype, (Xt, yt), (Xv, yv), epochs=8, batch_size=64, num_workers=2, lr=0.1,
                    storage_path=str(tmp_path))
    assert out.valid_accuracy > 0.85
    assert len(out.history) == 8
    assert np.mean(out.predict(Xv) == yv) == pytest.approx(out.valid_accuracy, abs=1e-9)
    folder = out.save(tmp_path / "model")
    assert (folder / "model.pt").exists() and json.loads(
        (folder / "genotype.json").read_text()) == genotype


def test_tune_drives_the_discrete_space(ray_session, tmp_path):
    train, valid = _flat_split()
    res = nas.tune_search(train, valid, space="mlp", searcher=RandomSearch(seed=0),
                          num_samples=3, epochs=2, space_options=MLP,
                          storage_path=str(tmp_path))
    nas.validate_genotype(res.genotype)
    assert len(res.results) == 3
    assert res.valid_accuracy == pytest.approx(res.results["valid_accuracy"].max())


def test_cli_search_then_train(ray_session, tmp_path, capsys):
    out = tmp_path / "search"
    assert cli_main(["nas", "search", "--data", "digits", "--space", "mlp", "--method",
                     "proxyless", "--epochs", "2", "--latency-weight", "0.1",
                     "--output", str(out)]) == 0
    table = json.loads((out / "search.json").read_text())["latency_table"]
    assert sorted(table) == ["layer0", "layer1", "layer2"] and len(table["layer0"]) == 24
    for name in ("genotype.json", "search.json", "alphas.png"):
        assert (out / name).exists()
    assert cli_main(["nas", "train", str(out / "genotype.json"), "--data", "digits",
                     "--epochs", "2", "--output", str(tmp_path / "train")]) == 0
    assert (tmp_path / "train" / "model.pt").exists()
    assert "valid accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs,message", [
    ({"space": "darts-cnn"}, "needs images as an NCHW array"),
    ({"space": "mlp", "method": "enas"}, "unknown NAS method 'enas'"),
    ({"space": "mlp", "order": 2, "method": "proxyless"}, "order=2 is DARTS'"),
    ({"space": "mlp", "beta": 1.0}, r"unknown search setting\(s\) \['beta'\]"),
    ({"space": "mlp", "num_workers": 0}, "num_workers must be an integer >= 1"),
    ({"space": "mlp", "space_options": {"depth": 3}}, "unknown option"),
    ({"space": "mlp", "num_workers": 3, "batch_size": 64}, "multiple of num_workers 3"),
])
def test_bad_search_arguments_fail_before_ray(kwargs, message):
    train, valid = _flat_split(100)
    with pytest.raises(InputError, match=message) as err:
        nas.search(train, valid, **kwargs)
    assert "\n" not in str(err.value)


def test_bad_data_fails_in_one_line():
    X, y = digits(100, flat=True)
    with pytest.raises(InputError, match="60 rows of X but 50 labels"):
        nas.search((X[:60], y[:50]), (X[60:], y[60:]), space="mlp")
    with pytest.raises(InputError, match="valid has labels not in train"):
        nas.search((X[:60], y[:60] % 2), (X[60:], y[60:]), space="mlp")
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        nas.search((bad, y), (X, y), space="mlp")
    with pytest.raises(InputError, match="searched on inputs of shape"):
        nas.train({"space": "mlp", "input_shape": [10], "num_classes": 10,
                   "layers": [{"width": 4, "activation": "relu", "skip": False}]},
                  (X, y), (X, y))


def test_more_workers_than_cpus_fails_instead_of_waiting(ray_session):
    train, valid = _flat_split(100)
    with pytest.raises(InputError, match="4 workers x 1 CPUs need 4 CPUs; the Ray cluster has 2"):
        nas.search(train, valid, space="mlp", num_workers=4, epochs=1)
