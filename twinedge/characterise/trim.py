"""Trim of the time-differenced circuit's one global bias that the layout shifts: CALB's high
level (``cell.update.calb_high: auto``).

Why: when CAL opens, the switch's channel charge and the CAL/CALB tracks' coupling (0.6 and
0.9 fF onto the hold node in the extracted cell) move the memory's gate; the schematic's
half-size dummy cancels its own share, but the wiring adds ~-1.3e-3 V^2 at zero input, 20x
what XOR tolerates. That charge is the same in every cell (systematic), so one global level
nulls it: the dummy's charge scales with CALB's swing. The trim runs zero-input learning
steps on one extracted cell (kpex) at G_REF and solves residual(CALB high) = 0 by the secant
method (the residual is nearly linear in it: ~7e-4 V^2 per V input-referred, CI's design).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from twinedge import processes
from twinedge.artifacts import staged_outputs
from twinedge.characterise.memory import G_REF, SIGNAL, MemoryConditions, StepRun
from twinedge.characterise.post_layout_cell import cell_step, extracted_body
from twinedge.learn.train import circuit_conditions
from twinedge.pdk import get as get_pdk
from twinedge.spec.schema import Design

TOLERANCE_V2 = 5e-6  # |input-referred residual| the trim stops at (XOR's budget: ~3e-5)
MAX_ROUNDS = 3  # after the first: each evaluates two levels side by side
PROBE = 0.1  # each round's second level: this fraction of its step further on


@dataclass
class Trim:
    calb_high_v: float
    residual_v2: float  # input-referred zero-input residual at G_REF, trimmed
    gain_v_per_v2: float  # at CALB high 1 V
    history: list[list[float]]  # (CALB high, residual V^2) of every evaluation

    def as_dict(self) -> dict:
        return asdict(self)


class TrimError(RuntimeError):
    pass


class _Cell:
    """Zero-input and signal steps of one extracted cell at G_REF, one deck each, for any
    CALB high level (the floor off: G_REF is far above it)."""

    def __init__(self, design: Design, body: str) -> None:
        self.cond = circuit_conditions(design)  # the sizing, bias and LEARN time of the flow
        assert isinstance(self.cond, MemoryConditions)
        self.pdk = get_pdk(design.pdk)
        self.body = body

    def dg(self, job: tuple[float, bool]) -> float:
        level, signal = job
        c = self.cond
        run = StepRun(*SIGNAL, G_REF) if signal else StepRun(0.0, 0.0, G_REF)
        bias = replace(c.bias, calb_high=level)
        return cell_step(self.body, self.pdk, c.corner, c.sizing, bias, c.t_h, 0.0, run)[0]

    def zeros(self, levels: list[float], signal_at: float | None = None) -> list[float]:
        """dG of zero-input steps at ``levels`` (and last, of a signal step at
        ``signal_at``), side by side on the machine's cores."""
        jobs = [(c, False) for c in levels] + ([(signal_at, True)] if signal_at is not None else [])
        return processes.parallel(self.dg, jobs, processes.jobs())


def trim_calb(design: Design, out_dir: Path) -> Trim:
    """Extract one cell and find the CALB high level that nulls its zero-input residual at
    G_REF (writes out_dir/trim.json).

    The residual is nearly linear in the level: a secant from (1 V, 0.5 V), then rounds of
    two levels side by side, the secant's next level and one a tenth of its step further,
    so that the next secant is local. The gain (signal step) barely moves with the level:
    it is measured once, at 1 V."""
    vdd = get_pdk(design.pdk).vdd
    with staged_outputs(out_dir) as tmp:
        body, _, log, _ = extracted_body(design, tmp)
        (tmp / "kpex.log").write_text(log)  # the post-layout cell stage reuses the extraction
        cell = _Cell(design, body)
        first = [1.0, 0.5]  # the layouts so far trim between 0.35 and 0.96 V
        *zero, sig = cell.zeros(first, signal_at=first[0])
        gain = (sig - zero[0]) / (SIGNAL[0] ** 2 - SIGNAL[1] ** 2)
        pts = [(c, z / gain) for c, z in zip(first, zero, strict=True)]  # (level, residual)
        for _ in range(MAX_ROUNDS):
            (c0, r0), (c1, r1) = sorted(pts, key=lambda p: abs(p[1]))[1::-1]
            if abs(r1) <= TOLERANCE_V2:
                break
            if r1 == r0:
                raise TrimError(f"CALB high does not move the residual ({r0:.2e} V^2)")
            c = c1 - r1 * (c1 - c0) / (r1 - r0)
            if not 0.0 <= c <= vdd:
                raise TrimError(
                    f"the residual ({r1:+.2e} V^2 at CALB high {c1:.3f} V) needs CALB high "
                    f"{c:.2f} V, outside 0..{vdd} V"
                )
            levels = [c, min(max(c + PROBE * (c - c1), 0.0), vdd)]
            pts += [(lv, z / gain) for lv, z in zip(levels, cell.zeros(levels), strict=True)]
        c_best, r_best = min(pts, key=lambda p: abs(p[1]))
        if abs(r_best) > 5 * TOLERANCE_V2:
            raise TrimError(f"no CALB high level nulls the residual (best {r_best:+.2e} V^2)")
        result = Trim(round(c_best, 4), r_best, gain, [list(p) for p in pts])
        (tmp / "trim.json").write_text(json.dumps(result.as_dict(), indent=1))
    return result
