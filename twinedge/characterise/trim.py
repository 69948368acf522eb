"""Trim of the time-differenced circuit's one global bias that the layout shifts: CALB's high
level (``cell.update.calb_high: auto``).

Why: when CAL opens, the switch's channel charge and the CAL/CALB tracks' coupling (0.6 and
0.9 fF onto the hold node in the extracted cell) move the memory's gate; the schematic's
half-size dummy cancels its own share, but the wiring adds ~-1.3e-3 V^2 at zero input, 20x
what XOR tolerates. That charge is the same in every cell (systematic), so one global level
nulls it: the dummy's charge scales with CALB's swing. The trim runs zero-input learning
steps on one extracted cell (kpex) at G_REF and solves residual(CALB high) = 0 by the secant
method (the residual is nearly linear in it, ~1.8e-3 V^2 per V).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from twinedge import processes
from twinedge.artifacts import staged_outputs
from twinedge.characterise.memory import G_REF, MemoryConditions
from twinedge.characterise.post_layout_cell import extracted_body, memory_cell_steps
from twinedge.learn.train import circuit_conditions
from twinedge.pdk import get as get_pdk
from twinedge.spec.schema import Design

TOLERANCE_V2 = 2e-5  # |input-referred residual| the trim stops at
MAX_ITERATIONS = 4


@dataclass
class Trim:
    calb_high_v: float
    residual_v2: float  # input-referred zero-input residual at G_REF, trimmed
    gain_v_per_v2: float
    history: list[list[float]]  # (CALB high, residual V^2) of every evaluation

    def as_dict(self) -> dict:
        return asdict(self)


class TrimError(RuntimeError):
    pass


def _residuals(design: Design, body: str, levels: list[float]) -> list[tuple[float, float]]:
    """(input-referred zero-input residual at G_REF, gain) per CALB level, side by side (one
    ngspice run each; the floor off: G_REF is far above it)."""
    cond = circuit_conditions(design)  # the sizing, bias and LEARN time the flow uses
    assert isinstance(cond, MemoryConditions)
    pdk = get_pdk(design.pdk)

    def one(level: float) -> tuple[float, float]:
        bias = replace(cond.bias, calb_high=level)
        zero, gain, _ = memory_cell_steps(
            body, pdk, cond.corner, cond.sizing, bias, cond.t_h, 0.0, (G_REF,)
        )
        return float(zero[0]) / gain, gain

    return processes.parallel(one, levels, 2)


def trim_calb(design: Design, out_dir: Path) -> Trim:
    """Extract one cell and find the CALB high level that nulls its zero-input residual at
    G_REF (writes out_dir/trim.json)."""
    vdd = get_pdk(design.pdk).vdd
    first = (vdd, 1.0)  # the two CALB levels the secant starts from
    with staged_outputs(out_dir) as tmp:
        body, _, log, _ = extracted_body(design, tmp)
        (tmp / "kpex.log").write_text(log)  # the post-layout cell stage reuses the extraction
        # (CALB high, residual, gain) of every evaluation
        pts = [(c, *rg) for c, rg in zip(first, _residuals(design, body, list(first)), strict=True)]
        for _ in range(MAX_ITERATIONS):
            (c0, r0, _), (c1, r1, _) = pts[-2], pts[-1]
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
            pts.append((c, *_residuals(design, body, [c])[0]))
        c_best, r_best, gain = min(pts, key=lambda p: abs(p[1]))
        if abs(r_best) > 5 * TOLERANCE_V2:
            raise TrimError(f"no CALB high level nulls the residual (best {r_best:+.2e} V^2)")
        result = Trim(round(c_best, 4), r_best, gain, [[c, r] for c, r, _ in pts])
        (tmp / "trim.json").write_text(json.dumps(result.as_dict(), indent=1))
    return result
