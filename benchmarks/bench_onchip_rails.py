"""A design's boundary levels made on chip end to end, then learned with: one deck per corner
holds the constant-gm bias reference, the reference ladder (tapped at the chip's levels) and
a rail buffer per rail that carries the network's current (sized to it, as
bench_rail_buffer.py does); the label level is a ladder tap alone (it meets only gates).
Each rail is read at zero load and with every rail at its largest sourced, then sunk,
current; a rail's level at a corner is the one furthest from its target. XOR is then trained
(the design's own rule, as bench_rail_scale.py does) with those levels at each corner.

    .venv/bin/python benchmarks/bench_onchip_rails.py designs/xor_4x4_cl_gf180.yaml --seeds 0 1 2 3
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import yaml

from twinedge.characterise.constant_gm import reference_for
from twinedge.characterise.mirror import model_header, run_ngspice
from twinedge.characterise.rail_buffer import RailBufferConditions, size_output
from twinedge.characterise.rail_reference import LadderConditions, size_ladder
from twinedge.circuits import constant_gm, rail_buffer, rail_reference
from twinedge.circuits.rail_buffer import RailBufferSizing
from twinedge.learn.rail_loads import rail_loads
from twinedge.learn.train import trainer
from twinedge.pdk import get as get_pdk
from twinedge.reports.metrics import task_metrics
from twinedge.spec import load_spec
from twinedge.spec.pinplan import rail_levels

CORNERS = ("tt", "ff", "ss", "sf", "fs")
LABEL = "VLABEL"
LADDER_A = 15e-6  # the ladder's current (bench_rail_reference.py's)


def on_chip_levels(
    pdk, levels: dict[str, float], loads: dict, vdd: float, vbe: float, corner: str
) -> dict[str, float]:
    """Each rail's level furthest from its target over the three load states at ``corner``."""
    cgm = reference_for(pdk, vdd, vbe)
    taps = tuple((n.lower(), v) for n, v in levels.items())
    ladder = size_ladder(pdk, LadderConditions(taps, vdd, LADDER_A))
    lines = [model_header(pdk, corner, title="on-chip rails", resistor=True).rstrip("\n"),
             constant_gm.subckt(pdk, cgm).rstrip("\n"),
             rail_reference.subckt(pdk, ladder, 1.0).rstrip("\n"), f"Vvdd vdd 0 {vdd!r}",
             f"Xbias vbe vdd {constant_gm.SUBCKT}",
             f"Xladder vdd {' '.join(rail_reference.ports(ladder)[1:])} "
             f"{rail_reference.SUBCKT}"]  # fmt: skip
    buffered = {n: v for n, v in levels.items() if n != LABEL}
    states = {"zero": {}, "source": {}, "sink": {}}
    for k, (name, level) in enumerate(buffered.items()):
        src, snk = loads[level]
        cond = RailBufferConditions(level=level, i_source=src, i_sink=snk, vbe=vbe, vdd=vdd,
                                    sizing=RailBufferSizing(drive="source" if src >= snk
                                                            else "sink"))  # fmt: skip
        sizing = size_output(pdk, cond)
        sub = f"buf{k}"
        lines.append(rail_buffer.subckt(pdk, sizing).replace(rail_buffer.SUBCKT, sub).rstrip())
        lines += [f"X{sub} {name.lower()}_out {name.lower()} vdd vbe {sub}",
                  f"I{sub} {name.lower()}_out 0 0"]  # fmt: skip
        states["source"][f"i{sub}"], states["sink"][f"i{sub}"] = float(src), -float(snk)
    prints = [f"print v({n.lower()}_out)" for n in buffered] + [f"print v({LABEL.lower()})"]
    ctrl = []
    for state in states.values():
        ctrl += [f"alter {src} dc = {amps!r}" for src, amps in state.items()]
        ctrl += ["op", *prints]
    lines += [".control", "set numdgt=10", *ctrl, "quit 0", ".endc", ".end"]
    out = run_ngspice("\n".join(lines) + "\n")
    names = [*(f"{n.lower()}_out" for n in buffered), LABEL.lower()]
    got = {n: [float(v) for v in re.findall(rf"^v\({n}\)\s*=\s*(\S+)", out, re.M)] for n in names}
    result = {}
    for name, target in levels.items():
        vals = got[LABEL.lower() if name == LABEL else f"{name.lower()}_out"]
        result[name] = max(vals, key=lambda v, t=target: abs(v - t))
    return result


def with_levels(text: str, got: dict[str, float], seed: int, tag: str) -> dict:
    """The spec's YAML with its boundary levels replaced by the chip's own."""
    d = yaml.safe_load(text)
    task = d["task"]
    task["high"] = round(got["VIN_HI"], 6)
    task["l0"] = round(-got[LABEL] if task["l0"] < 0 else got[LABEL], 6)
    for name, c in d["pins"].get("constants", {}).items():
        c["volts"] = round(got[name], 6)
    d["training"]["seed"] = seed
    d["name"] = f"{d['name']}_{tag}_s{seed}"
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", type=Path)
    ap.add_argument("--vdd", type=float, default=3.3)
    ap.add_argument("--vbe", type=float, default=2.2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    a = ap.parse_args()
    t0 = time.time()
    spec = load_spec(a.spec)
    pdk = get_pdk(spec.design.pdk)
    levels = rail_levels(spec.design, spec.dataset.inputs, spec.dataset.labels)
    if set(levels) != {"VIN_HI", "Vplus", "Vminus", LABEL}:
        raise SystemExit(f"{a.spec}: this bench knows XOR's rails; this design has {levels}")
    loads = rail_loads(spec)
    text = a.spec.read_text()
    names = list(levels)
    print("| corner | " + " | ".join(f"{n} ({levels[n]:g} V)" for n in names)
          + " | XOR solved (seeds) | min margin |")  # fmt: skip
    print("|---" * (len(names) + 3) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for corner in CORNERS:
            got = on_chip_levels(pdk, levels, loads, a.vdd, a.vbe, corner)
            margins = []
            for seed in a.seeds:
                d = with_levels(text, got, seed, corner)
                path = Path(tmp) / f"{d['name']}.yaml"
                path.write_text(yaml.safe_dump(d))
                s = load_spec(path)
                m = task_metrics(s.design, trainer(s).run(None))["xor"]
                margins.append((m["min_margin_frac_of_l0"], m["solved"]))
            solved = sum(ok for _, ok in margins)
            cells = " | ".join(f"{got[n]:.4f} ({(got[n] - levels[n]) * 1e3:+.2f} mV)"
                               for n in names)  # fmt: skip
            worst = min(m for m, _ in margins)
            print(f"| {corner} | {cells} | {solved}/{len(margins)} | {worst:+.3f} |")
    print(
        f"({pdk.name}, {a.vdd:g} V, bias from its constant-gm reference; {time.time() - t0:.0f} s)"
    )


if __name__ == "__main__":
    main()
