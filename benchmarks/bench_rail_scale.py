"""How much may a chip's rails be off together? Every boundary level of a design (the
inputs' levels, the constants, the label) scaled by one factor, as on-chip references that
all derive from one ladder or one supply would be, and XOR trained with the design's own
rule at each scale (schematic characterisation, cached; the levels the update circuit sees
move with them).

    .venv/bin/python benchmarks/bench_rail_scale.py designs/xor_4x4_cl_gf180.yaml \
        --scales 0.8 0.9 1.0 1.1 1.2 --seeds 0 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from twinedge.learn.train import trainer
from twinedge.reports.metrics import task_metrics
from twinedge.spec import load_spec


def scaled(text: str, s: float, seed: int) -> dict:
    """The spec's YAML with every boundary level times ``s`` and the training seed set."""
    d = yaml.safe_load(text)
    task = d["task"]
    for key in ("low", "high", "l0"):
        if key in task:
            task[key] = round(task[key] * s, 6)
    for c in d["pins"].get("constants", {}).values():
        c["volts"] = round(c["volts"] * s, 6)
    d["training"]["seed"] = seed
    d["name"] = f"{d['name']}_x{s:g}_s{seed}".replace(".", "p")
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", type=Path)
    ap.add_argument("--scales", type=float, nargs="+", default=[0.8, 0.9, 1.0, 1.1, 1.2])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    a = ap.parse_args()
    text = a.spec.read_text()
    print("| scale | levels (high, constants, L0) | seed | XOR margin (\\|L0\\|) | wall s |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for s in a.scales:
            for seed in a.seeds:
                d = scaled(text, s, seed)
                path = Path(tmp) / f"{d['name']}.yaml"
                path.write_text(yaml.safe_dump(d))
                spec = load_spec(path)
                t0 = time.perf_counter()
                res = trainer(spec).run(None)
                m = task_metrics(spec.design, res)["xor"]["min_margin_frac_of_l0"]
                consts = ", ".join(f"{c['volts']:g}" for c in d["pins"]["constants"].values())
                levels = f"{d['task']['high']:g}, {consts}, {d['task']['l0']:g} V"
                print(f"| {s:g} | {levels} | {seed} | {m:+.3f} | {time.perf_counter() - t0:.0f} |")


if __name__ == "__main__":
    main()
