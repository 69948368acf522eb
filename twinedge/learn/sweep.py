"""One sweep point: train a spec (schematic level, the design's device model) and return what
the sweep tabulates. A pure function of the loaded spec, its dataset included (and the
code): the sweep caches it by that, and runs it on any Dask worker that has twinedge
installed.

What "learned" means per task: XOR solved (every datapoint's margin at least the required
fraction of |L0|); a classification at least ``ACCURACY_LEARNED`` right on its held-out
datapoints (on its training ones without a held-out part); otherwise the MSE at least ten
times lower than at the start.

Energy, at this (schematic) level: the power both twins draw at the learned G, averaged
over the datapoints, and that power over one learning step (t_h + t_frozen, both twins
held throughout, as :func:`twinedge.learn.train.step_energy` counts it): what the array
itself spends to learn; the flow's post-layout energy stage adds the wiring and the inference
transient.
"""

from __future__ import annotations

import time

import numpy as np

from twinedge.learn.train import run_training, twin_power
from twinedge.reports.metrics import task_metrics
from twinedge.sim.solver import ConvergenceError
from twinedge.spec.loader import LoadedSpec

CURVE_POINTS = 60  # MSE(t) samples kept per point (log-spaced in steps)
MSE_LEARNED = 10.0  # the MSE reduction that counts as learned where the task has no margin
ACCURACY_LEARNED = 0.9


def _curve(times: np.ndarray, mse: np.ndarray) -> list[list[float]]:
    idx = np.unique(np.geomspace(1, len(times), CURVE_POINTS).astype(int) - 1)
    return [[float(times[i]), float(mse[i])] for i in idx]


def transient_row(exc: BaseException, **extra) -> dict:
    """The row of a point that failed for a reason of the machine it ran on (memory, a
    worker lost, a PDK library missing), not of its spec: shown, never cached."""
    why = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:160]}"
    return {"status": "error", "learned": False, "transient": True, "error": why, **extra}


def run_point(spec: LoadedSpec) -> dict:
    """Train ``spec`` (loaded and checked where the sweep was planned); a row of results. A
    run that fails to converge is a row with its error."""
    t0 = time.perf_counter()
    try:
        result = run_training(spec)
        power = twin_power(spec, result.g)
    except ConvergenceError as exc:  # the network's own: the same every time, cached
        return {"status": "error", "error": str(exc).splitlines()[0][:200], "learned": False,
                "wall_s": time.perf_counter() - t0}  # fmt: skip
    except Exception as exc:  # of this worker (memory, a PDK library missing): not cached
        return transient_row(exc, wall_s=time.perf_counter() - t0)
    metrics = task_metrics(spec.design, result)
    xor, cls = metrics.get("xor"), metrics.get("classify")
    accuracy = cls.get("test_accuracy", cls["train_accuracy"]) if cls else None
    if xor:
        learned = bool(xor["solved"])
    elif cls:
        learned = accuracy >= ACCURACY_LEARNED
    else:
        learned = metrics["mse_reduction"] >= MSE_LEARNED
    row = {
        "status": "ok",
        "learned": learned,
        "accuracy": accuracy,
        "train_accuracy": cls["train_accuracy"] if cls else None,
        "final_mse": metrics["final_mse"],
        "mse_reduction": metrics["mse_reduction"],
        "min_margin": xor["min_margin_frac_of_l0"] if xor else None,
        "time_to_learn_s": xor["learning_time_to_solve_s"] if xor
        else metrics.get("learning_time_to_10x_mse_s"),
        "steps": int(result.steps[-1]),
        "g_spread_v": float(np.std(result.g)),
        "twins_power_w": power,
        "learning_step_twins_j": power * spec.design.training.step_s,
        "wall_s": time.perf_counter() - t0,
        "curve": _curve(result.times, result.mse),
    }  # fmt: skip
    return row
