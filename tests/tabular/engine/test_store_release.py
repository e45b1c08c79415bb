"""The out-of-fold store ends by ``ray.kill`` with its predictor (collected, or replaced
by a new fit), even while another handle to it is still held: Ray's graceful end of an
actor whose last handle goes can hang in Ray 2.60's exit handler and leave the process
behind (raymlx.tabular.engine.oof_store.hold_store)."""

import gc
import os
import time

import pytest
import ray

from raymlx import AutoML


def _gone(pid: int, within_s: float = 60.0) -> bool:
    deadline = time.time() + within_s
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    return False


def test_the_store_ends_with_its_predictor_though_a_handle_is_held(ray_session,
                                                                   binary_frame, tmp_path):
    aml = AutoML(label="target", families=["linear"], max_models=2, num_folds=2,
                 num_stack_levels=0, path=tmp_path, verbosity=0).fit(binary_frame)
    first = aml.oof_store_  # held here: the handle alone would keep the actor alive
    first_pid = ray.get(first.pid.remote())
    aml.fit(binary_frame)  # a new fit, a new store: the first one is ended
    assert aml.oof_store_ is not first
    assert _gone(first_pid), "the replaced store's process is still running"
    with pytest.raises(ray.exceptions.RayActorError):  # and not restarted
        ray.get(first.pid.remote(), timeout=60)
    second = aml.oof_store_
    second_pid = ray.get(second.pid.remote())
    assert aml.predict(binary_frame.drop(columns="target")).shape[0] == len(binary_frame)
    del aml
    gc.collect()
    assert _gone(second_pid), "the store outlived its predictor"
