"""What the XOR benchmarks share: a spec trained with another seed, and a run's XOR margin.

Imported by the benchmark scripts (run as ``python benchmarks/<name>.py``, so this folder is
on the path)."""

from __future__ import annotations

from dataclasses import replace

from twinedge.reports.metrics import XOR_MARGIN, task_metrics
from twinedge.spec.loader import LoadedSpec
from twinedge.spec.schema import Design


def with_seed(spec: LoadedSpec, design: Design, seed: int, **training) -> LoadedSpec:
    """``spec`` carrying ``design`` with training seed ``seed`` (and ``training``'s fields)."""
    tr = design.training.model_copy(update={"seed": seed, **training})
    return replace(spec, design=design.model_copy(update={"training": tr}))


def xor_margin(run: LoadedSpec, result) -> float:
    """The run's smallest XOR margin, as a fraction of |L0| (solved: >= XOR_MARGIN)."""
    return task_metrics(run.design, result)["xor"]["min_margin_frac_of_l0"]


def solved(margins: list[float]) -> int:
    return sum(m >= XOR_MARGIN for m in margins)
