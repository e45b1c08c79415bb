"""The GP's candidates as arrays: the same encodings as building and encoding each
configuration, and mutations that change one decision (and what hangs under it)."""

import numpy as np
from ray import tune

from raymlx.searchers.encoding import DecisionVectors, SpaceEncoder
from raymlx.searchers.gp_candidates import CandidateEncoder

SPACE = {
    "model": tune.choice([
        {"kind": "a", "lr": tune.loguniform(1e-4, 1), "depth": tune.randint(1, 9)},
        {"kind": "b", "n": tune.lograndint(2, 200),
         "sub": tune.choice([{"q": tune.quniform(0, 10, 0.5)},
                             {"c": tune.choice(["x", "y", "z"])}])},
        {"kind": "c"}]),
    "x": tune.uniform(-3, 3),
    "fixed": tune.uniform(1, 1),
    "k": tune.qrandint(0, 20, 4),
    "ql": tune.qloguniform(1e-3, 1, 1e-3),
}


def _parts():
    enc, codec = SpaceEncoder(SPACE), DecisionVectors(SPACE)
    return enc, codec, CandidateEncoder(SPACE, enc, codec)


def test_array_encodings_equal_encoding_the_decoded_configurations():
    enc, codec, cands = _parts()
    rng = np.random.default_rng(0)
    parents = np.array([codec.vector(codec.decode(v)[0]) for v in codec.random(rng, 6)])
    V = cands.draw(rng, parents, 300)
    expected = np.array([enc.encode(*codec.decode(v)) for v in V])
    np.testing.assert_allclose(cands.encode(V), expected, atol=1e-12)


def test_a_mutant_changes_one_decision_and_only_what_depends_on_it():
    enc, codec, cands = _parts()
    rng = np.random.default_rng(1)
    parents = np.array([codec.vector(codec.decode(v)[0]) for v in codec.random(rng, 5)])
    V = cands.draw(rng, parents, 200)
    conds = [{j for j, _ in cands.columns[k][4]} for k in range(len(cands.columns))]
    deps = {cands.columns[k][1]: conds[k] for k in range(len(cands.columns))}
    changed_counts = []
    for r in range(100, 200):
        child = codec.vector(codec.decode(V[r])[0])
        parent = parents[(r - 100) % 5]
        same = (child == parent) | (np.isnan(child) & np.isnan(parent))
        changed = set(np.flatnonzero(~same).tolist())
        changed_counts.append(len(changed))
        if changed:  # one root of the change; every other change sits under it
            assert any(all(j == root or root in deps[j] for j in changed) for root in changed)
    assert np.mean(np.array(changed_counts) >= 1) > 0.9  # a resampled integer may repeat
    assert not (V[:100] == V[100:]).all()


def test_draws_without_observations_come_from_the_prior():
    _, codec, cands = _parts()
    V = cands.draw(np.random.default_rng(2), np.empty((0, codec.n_dims)), 4000)
    j_model = 0
    counts = np.bincount(V[:, j_model].astype(int), minlength=3) / len(V)
    np.testing.assert_allclose(counts, 1 / 3, atol=0.03)
