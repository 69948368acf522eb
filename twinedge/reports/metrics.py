"""Task-level figures of merit computed from a training run (never typed in by hand)."""

from __future__ import annotations

import math

import numpy as np

from twinedge.sim.learning import TrainResult
from twinedge.spec.schema import ClassifyTask, Design, RegressionTask, XorTask

XOR_MARGIN = 0.2  # required distance from the L0/2 threshold, as a fraction of |L0|


def xor_margins(outputs: np.ndarray, labels: np.ndarray, l0: float) -> np.ndarray:
    """Signed distance of each output past the L0/2 threshold toward its label, / |L0|."""
    toward = np.sign(labels - l0 / 2.0)
    return toward * (outputs - l0 / 2.0) / abs(l0)


def _first_time_staying(times: np.ndarray, ok: np.ndarray) -> float | None:
    """Earliest logged time from which ``ok`` holds at every later log point."""
    if not ok[-1]:
        return None
    bad = np.nonzero(~ok)[0]
    first = 0 if bad.size == 0 else bad[-1] + 1
    return float(times[first])


ORDER_MAX_DEGREE = 2  # the paper's claim covers mean, slope and curvature (and E11 for XOR)


def modes_in_order(
    names: list[str],
    halving: dict[str, float | None],
    initial: np.ndarray,
    significant: float = 0.05,
) -> bool:
    """True when lower-degree modes halve no later than higher-degree ones.

    Modes are grouped by total polynomial degree (E01 and E10 are both degree 1), up to
    degree 2 as in the paper (higher modes are negligible there). Modes that start below
    ``significant`` x the largest initial mode carry no information and are skipped; a mode
    that never halves counts as halving last.
    """
    if not names:
        return False
    top = float(np.max(initial)) if len(initial) else 0.0
    pairs = []
    for name, init in zip(names, initial, strict=True):
        degree = sum(int(c) for c in name[1:])
        if top <= 0 or init < significant * top or degree > ORDER_MAX_DEGREE:
            continue
        t = halving[name]
        pairs.append((degree, math.inf if t is None else t))
    pairs.sort()
    times = [t for _, t in pairs]
    degrees = [d for d, _ in pairs]
    for i in range(len(pairs)):
        for j in range(i + 1, len(pairs)):
            if degrees[j] > degrees[i] and times[j] < times[i]:
                return False
    # order among modes that never halve is unknown: at least the lowest must have halved
    return len(pairs) >= 2 and math.isfinite(times[0])


def accuracy(outputs: np.ndarray, labels: np.ndarray, l0: float) -> float:
    """The fraction of datapoints on the right side of the threshold ``l0 / 2`` (nearer
    their label, 0 or ``l0``, than the other)."""
    said = np.abs(outputs - l0) < np.abs(outputs)
    return float(np.mean(said == (labels == l0)))


def classify_metrics(l0: float, result: TrainResult) -> dict:
    out = {"threshold_v": l0 / 2.0,
           "train_accuracy": accuracy(result.outputs, result.labels, l0),
           "train_points": len(result.labels)}  # fmt: skip
    if result.test_outputs is not None:
        out["test_accuracy"] = accuracy(result.test_outputs, result.test_labels, l0)
        out["test_points"] = len(result.test_labels)
    return out


def task_metrics(design: Design, result: TrainResult) -> dict:
    halving = result.mode_halving_times()
    initial_modes = result.modes[0] if result.mode_names else np.zeros(0)
    out: dict = {
        "initial_mse": float(result.mse[0]),
        "final_mse": result.final_mse,
        "mse_reduction": float(result.mse[0] / result.final_mse)
        if result.final_mse > 0
        else math.inf,
        "mode_halving_times_s": halving,
        "modes_in_order": modes_in_order(result.mode_names, halving, initial_modes),
    }
    task = design.task
    if isinstance(task, XorTask):
        hist = np.array([xor_margins(o, result.labels, task.l0) for o in result.outputs_history])
        margins = hist[-1]
        ok = np.all(hist >= XOR_MARGIN, axis=1)
        out["xor"] = {
            "threshold_v": task.l0 / 2.0,
            "margins_frac_of_l0": [float(m) for m in margins],
            "min_margin_frac_of_l0": float(margins.min()),
            "required_margin_frac_of_l0": XOR_MARGIN,
            "solved": bool(margins.min() >= XOR_MARGIN),
            "learning_time_to_solve_s": _first_time_staying(result.times, ok),
        }
    if isinstance(task, ClassifyTask):
        out["classify"] = classify_metrics(task.l0, result)
    if isinstance(task, RegressionTask) or result.mode_names:
        ok10 = result.mse <= result.mse[0] / 10.0
        out["learning_time_to_10x_mse_s"] = _first_time_staying(result.times, ok10)
    return out
