"""Ctrl-C during a fit (raymlx.tabular.engine.interrupt): a request is never lost, even where
Tune swallows
the exception a signal handler raises, and a Tune experiment stops with its resources freed."""

from __future__ import annotations

import os
import signal
import time

import pytest

from raymlx.tabular.engine.interrupt import (
    FitInterrupted,
    StopOnInterrupt,
    interrupt_requested,
    interruptible,
    was_interrupted,
)


def _ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # the handler runs at the next bytecode boundary


def test_ctrl_c_inside_a_ray_call_is_recognised():
    try:
        try:
            raise FitInterrupted("interrupted")
        except FitInterrupted as inner:  # what Ray's Cython wait() turns it into
            raise SystemError("returned a result with an exception set") from inner
    except SystemError as outer:
        assert was_interrupted(outer)
    assert not was_interrupted(ValueError("x")) and not was_interrupted(None)


def test_a_swallowed_ctrl_c_still_ends_the_fit():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(FitInterrupted):
        with interruptible():
            try:
                _ctrl_c()
            except Exception:  # what Tune does around its sync thread's join
                pass
            assert interrupt_requested()
    assert signal.getsignal(signal.SIGINT) is before


def test_inside_tune_ctrl_c_waits_for_the_loop_and_a_second_one_does_not():
    with pytest.raises(FitInterrupted):
        with interruptible():
            with interruptible(tune=True):
                _ctrl_c()  # recorded only: Tune's loop raises at its next step
                assert interrupt_requested()
                with pytest.raises(FitInterrupted):
                    StopOnInterrupt().on_step_begin(iteration=0, trials=[])
                with pytest.raises(FitInterrupted):
                    _ctrl_c()  # a second Ctrl-C raises where the main thread is
    with interruptible():
        assert not interrupt_requested()  # a new fit starts clean


def _wait_then_ctrl_c_the_driver(config):
    if config["i"] == 0:
        time.sleep(1.0)
        os.kill(config["driver"], signal.SIGINT)
    time.sleep(60)
    return {"score": 1.0}


@pytest.mark.timing
def test_ctrl_c_stops_a_tune_experiment_and_frees_its_resources(ray_session, tmp_path):
    import ray
    from ray import tune

    tuner = tune.Tuner(
        tune.with_resources(_wait_then_ctrl_c_the_driver, {"cpu": 1}),
        param_space={"i": tune.grid_search([0, 1]), "driver": os.getpid()},
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0,
                                  callbacks=[StopOnInterrupt()]),
    )
    start = time.time()
    with pytest.raises(Exception) as err:
        with interruptible():
            with interruptible(tune=True):
                tuner.fit()
    assert was_interrupted(err.value)
    assert time.time() - start < 30  # not the trials' 60 s
    deadline = time.time() + 20
    while ray.available_resources().get("CPU", 0) < 2 and time.time() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == 2
