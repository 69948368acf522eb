"""The chip's circuits' supply made on chip: the linear regulator
(twinedge/circuits/regulator.py) from the tile's supply to the PDK's circuits' supply, its
pass device sized for ``--i-load``, characterised with the PDK's models (load regulation
at every corner, line regulation, Monte Carlo offset, load steps on ``--c-out``, start-up
from a supply ramp, power). The table is docs/periphery.md's ("A learning chip on
GF180MCU").

    .venv/bin/python benchmarks/bench_regulator.py designs/xor_4x4_cl_gf180.yaml \
        --vdd 3.3 --constant-gm

``--constant-gm``: the tails' bias from the chip's constant-gm reference, sized to the tail
current ``--vbe`` gives at tt (otherwise an ideal ``--vbe``).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import astuple, replace

from twinedge.characterise.constant_gm import reference_for
from twinedge.characterise.regulator import (
    CORNERS,
    RAMP_S,
    RegulatorConditions,
    characterise_regulator,
    size_pass,
)
from twinedge.pdk import get as get_pdk
from twinedge.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec")
    ap.add_argument("--vdd", type=float, default=3.3, help="the tile's supply (V)")
    ap.add_argument("--level", type=float, default=None, help="default: the PDK's supply")
    ap.add_argument("--i-load", type=float, default=300e-6)
    ap.add_argument("--vbe", type=float, default=2.2)
    ap.add_argument("--c-out", type=float, default=1e-12, help="beside its own capacitor (F)")
    ap.add_argument("--constant-gm", action="store_true")
    a = ap.parse_args()
    t0 = time.time()
    pdk = get_pdk(load_spec(a.spec).design.pdk)
    level = a.level or pdk.vdd
    reference = None
    if a.constant_gm:
        reference = astuple(reference_for(pdk, a.vdd, a.vbe))
    cond = RegulatorConditions(level=level, i_load=a.i_load, vdd=a.vdd, vbe=a.vbe,
                               bias_reference=reference, c_out=a.c_out)  # fmt: skip
    cond = replace(cond, sizing=size_pass(pdk, cond))
    ch = characterise_regulator(pdk, cond)
    s = cond.sizing
    print(f"{pdk.name}: {a.vdd:g} V -> {level:g} V, up to {a.i_load * 1e6:g} uA; pass device "
          f"{s.pass_w:g}/{s.pass_l:g} um; divider {s.top}+{s.bottom} strips of "
          f"{s.strip_w:g} x {s.strip_l:g} um (reference {cond.ref:g} V); bias "
          f"{'constant-gm reference' if reference else f'ideal vbe {a.vbe:g} V'}")  # fmt: skip
    print(f"\n| corner | offset at zero load | move from zero to full load | worst error | "
          f"load steps 0 <-> {a.i_load * 1e6:g} uA on {a.c_out * 1e12:g} pF: peak | back "
          f"within 5 mV |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for c in CORNERS:
        print(f"| {c} | {ch.corner_offset_v[c] * 1e3:+.2f} mV | "
              f"{ch.corner_load_move_v[c] * 1e3:+.2f} mV | "
              f"{ch.corner_max_error_v[c] * 1e3:.2f} mV | {ch.corner_peak_v[c] * 1e3:.1f} mV "
              f"| {ch.corner_settle_s[c] * 1e9:.0f} ns |")  # fmt: skip
    print(f"\nline regulation {ch.line_v_per_v * 1e3:.1f} mV/V; MC offset sigma "
          f"{ch.mc_offset_sigma_v * 1e3:.2f} mV ({cond.mc_n} instances); start-up from a "
          f"{RAMP_S * 1e6:g} us ramp: "
          f"{'reached' if ch.started else 'DID NOT reach'} the level, "
          f"{ch.start_s * 1e6:.1f} us; power {ch.power_w * 1e6:.1f} uW "
          f"({time.time() - t0:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
