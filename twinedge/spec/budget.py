"""What training a design will take, estimated from the spec before any work starts.

A spec the schema accepts can still ask for more than a machine holds: a 4096x4096 lattice
needs ~80 GiB in the solver, 4,096 datapoints on a 256x256 lattice ~20 GiB of warm starts.
Such a spec is refused at validation with the estimate, its main part and the limit, not
found out by a MemoryError (or hours of solves) into ``twinedge train``.

The estimate follows the simulator's data (twinedge.sim): its per-node constants were
measured as the peak RSS of ``twinedge train`` on periodic lattices (64x64: 0.2 GB,
256x256: 0.4 GB, 512x512: 1.15 GB; 512 datapoints on 64x64: +0.12 GB) and rounded up.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from twinedge.spec.errors import SpecError
from twinedge.spec.schema import Design, PdkModel, SquareLattice

GiB = 1 << 30
MEMORY_CAP = 16 * GiB
"""The memory limit is half this machine's (or container's) memory, and at most this, so a
spec valid on one machine is valid on any bigger one."""
WORK_LIMIT = 1e10
"""Node-solves (equilibrium solves x lattice nodes) of a run: ~8 h at the 64x64 lattice's
measured rate (41 learning steps/s, ~3 us per node-solve), ~1 h for the 4x4 network."""
DENSE_MAX_NODES = 400
"""twinedge.sim.solver's: up to this many nodes the solver is dense."""

BASE_BYTES = 256 << 20  # the interpreter, numpy, scipy, numba, a PDK model's table (~0.2 GB)
SOLVER_BYTES = 200  # per node and log2(nodes): the sparse pattern and LU factors of each twin
STATE_BYTES = 80  # per node and datapoint: each twin's warm start, a batched solve's copies
DENSE_BYTES = 24  # per datapoint and node^2: the batched dense Jacobian and its LU copy
HISTORY_BYTES = 32  # per log point and datapoint: the output history and its errors
MODE_BYTES = 150  # per log point and error mode: the array, train.json's history dict
LOG_BYTES = 600  # per log point: its record in train.json
MAX_MODES = 100  # error modes of a task (twinedge.sim.modes: up to 10^2 for two inputs)


@dataclass(frozen=True)
class Part:
    """One part of a run's cost: the spec ``field`` that sets it, ``what`` it is, ``amount``."""

    field: str
    what: str
    amount: float


def memory_parts(design: Design, datapoints: int) -> list[Part]:
    """Peak memory (bytes) of training ``design`` on ``datapoints`` points, by part."""
    net = design.network
    assert isinstance(net, SquareLattice)
    n, p, tr = net.rows * net.cols, datapoints, design.training
    logs = tr.n_log_points
    parts = [
        Part(
            "network",
            f"the solver on the {net.rows}x{net.cols} lattice",
            BASE_BYTES + SOLVER_BYTES * n * math.log2(n),
        ),
        Part("task", f"warm starts of {p:,} datapoints x {n:,} nodes", STATE_BYTES * p * n),
        Part(
            "training.log_every" if tr.log_every else "training",
            f"the history of {logs:,} log points",
            logs * (HISTORY_BYTES * p + MODE_BYTES * min(p, MAX_MODES) + LOG_BYTES),
        ),
    ]
    if n <= DENSE_MAX_NODES and isinstance(design.cell.model, PdkModel):
        # the PDK model's solves are batched over every datapoint, one dense matrix each
        parts.append(Part("task", f"{p:,} dense {n}x{n} Jacobians", DENSE_BYTES * p * n * n))
    return parts


def solve_parts(design: Design, datapoints: int) -> list[Part]:
    """Equilibrium solves of a run: each learning step's twins (the symmetric nudge solves the
    clamped twin twice), and every datapoint at every log point."""
    tr = design.training
    per_step = tr.substeps * (2 if tr.nudge == "one_sided" else 3)
    logs = tr.n_log_points
    return [
        Part(
            "training.steps" if tr.steps is not None else "training.duration",
            f"{tr.n_steps:,} learning steps",
            tr.n_steps * per_step,
        ),
        Part(
            "training.log_every" if tr.log_every else "task",
            f"{datapoints:,} datapoints at {logs:,} log points",
            datapoints * logs,
        ),
    ]


def memory_limit() -> tuple[int, str]:
    """Half the memory of this machine, or of its container (cgroup v2), at most MEMORY_CAP;
    and how it was found, for the error line."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # no sysconf: assume enough for the cap
        total = 2 * MEMORY_CAP
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            total = min(total, int(fh.read(32)))
    except (OSError, ValueError):  # no cgroup v2 limit ("max"), or not Linux
        pass
    if total // 2 >= MEMORY_CAP:
        return MEMORY_CAP, "twinedge's cap"
    return total // 2, f"half of this machine's {_gib(total)}"


def check_budget(design: Design, datapoints: int, file: str) -> None:
    """Refuse a design whose training would not fit in memory, or would not end in hours."""
    limit, why = memory_limit()
    parts = memory_parts(design, datapoints)
    total = sum(part.amount for part in parts)
    if total > limit:
        top = max(parts, key=lambda part: part.amount)
        raise SpecError(
            file,
            top.field,
            f"needs ~{_gib(total)} of memory to train: {_gib(top.amount)} for {top.what}",
            allowed=f"at most {_gib(limit)}, {why}",
        )
    net = design.network
    nodes = net.rows * net.cols
    solves = solve_parts(design, datapoints)
    work = sum(part.amount for part in solves) * nodes
    if work > WORK_LIMIT:
        top = max(solves, key=lambda part: part.amount)
        raise SpecError(
            file,
            top.field,
            f"needs ~{work:.2g} node-solves to train (equilibrium solves x {nodes:,} nodes): "
            f"{top.amount:.3g} solves for {top.what}",
            allowed=f"at most {WORK_LIMIT:.0e}, hours of solving",
        )


def _gib(n: float) -> str:
    return f"{n / GiB:.3g} GiB"
