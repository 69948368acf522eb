"""A sweep's outputs: the table (results.csv), its summary (success rate overall and per
value of each axis, the placements that learn most reliably), plots and an HTML page."""

from __future__ import annotations

import csv
import html
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml

COLUMNS = ("status", "learned", "accuracy", "train_accuracy", "final_mse", "mse_reduction",
           "min_margin", "time_to_learn_s", "steps", "g_spread_v", "twins_power_w",
           "learning_step_twins_j", "wall_s", "error")  # fmt: skip
PER_VALUE_MAX = 40  # an axis with more values is summarised as a distribution, not per value
TOP_PLACEMENTS = 10


def _rate(rows: list[dict]) -> float:
    return sum(bool(r["learned"]) for r in rows) / len(rows) if rows else 0.0


def _by_value(axis, points, rows) -> dict[Any, list[dict]]:
    groups: dict[Any, list[dict]] = defaultdict(list)
    for p, r in zip(points, rows, strict=True):
        groups[p.values[axis.field]].append(r)
    return groups


def _quantiles(values: list[float]) -> dict | None:
    if not values:
        return None
    q = np.quantile(values, [0.1, 0.5, 0.9])
    return {"p10": float(q[0]), "median": float(q[1]), "p90": float(q[2])}


def _energies(rows: list[dict], positive: bool = False) -> list[float]:
    """The rows' twins' energy per learning step (only those above 0: for a log axis)."""
    e = [r["learning_step_twins_j"] for r in rows if r.get("learning_step_twins_j") is not None]
    return [x for x in e if x > 0] if positive else e


def summary(axes, points, rows) -> dict:
    """Success overall and per axis value; for a pin axis the placements ranked by how
    often they learn over the other axes (their pins as the spec writes them)."""
    ok = [r for r in rows if r["status"] == "ok"]
    out: dict = {
        "learned": sum(bool(r["learned"]) for r in rows),
        "points": len(rows),
        "success_rate": _rate(rows),
        "errors": len(rows) - len(ok),
        "min_margin": _quantiles([r["min_margin"] for r in ok if r.get("min_margin") is not None]),
        "final_mse": _quantiles([r["final_mse"] for r in ok]),
        "accuracy": _quantiles([r["accuracy"] for r in ok if r.get("accuracy") is not None]),
        "time_to_learn_s": _quantiles([r["time_to_learn_s"] for r in ok
                                       if r["learned"] and r.get("time_to_learn_s") is not None]),
        "learning_step_twins_j": _quantiles(_energies(ok)),
        "axes": {},
    }  # fmt: skip
    for axis in axes:
        groups = _by_value(axis, points, rows)
        rates = {axis.label(v): _rate(rs) for v, rs in groups.items()}
        entry: dict = {"values": len(groups)}
        if len(groups) <= PER_VALUE_MAX:
            entry["success_rate"] = rates
        else:
            entry["success_rate_quantiles"] = _quantiles(list(rates.values()))
            entry["values_always_learning"] = sum(r == 1.0 for r in rates.values())
            entry["values_never_learning"] = sum(r == 0.0 for r in rates.values())
        if axis.field == "pins":
            first = {}
            for p in points:
                first.setdefault(p.values["pins"], p)
            ranked = sorted(groups, key=lambda v: (-_rate(groups[v]), v))[:TOP_PLACEMENTS]
            entry["best"] = [{"placement": axis.label(v), "success_rate": _rate(groups[v]),
                              "runs": len(groups[v]),
                              "pins": yaml.safe_load(first[v].text)["pins"]}
                             for v in ranked]  # fmt: skip
        out["axes"][axis.field] = entry
    return out


def write_csv(path: Path, axes, points, rows) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["point", *(a.field for a in axes), *COLUMNS])
        for p, r in zip(points, rows, strict=True):
            cells = ["" if r.get(c) is None else r[c] for c in COLUMNS]
            w.writerow([p.index, *(a.label(p.values[a.field]) for a in axes), *cells])


def _plots(folder: Path, axes, points, rows) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    fig, axs = plt.subplots(1, len(axes), figsize=(4.2 * len(axes), 3.2), squeeze=False)
    for ax, axis in zip(axs[0], axes, strict=True):
        groups = _by_value(axis, points, rows)
        if len(groups) <= PER_VALUE_MAX:
            labels = [axis.label(v) for v in groups]
            ax.bar(range(len(groups)), [_rate(rs) for rs in groups.values()], color="tab:blue")
            ax.set_xticks(range(len(groups)), labels, rotation=45 if len(labels) > 6 else 0,
                          fontsize=7)  # fmt: skip
            ax.set_ylabel("success rate")
        else:
            ax.hist([_rate(rs) for rs in groups.values()], bins=np.linspace(0, 1, 11),
                    color="tab:blue")  # fmt: skip
            ax.set_xlabel("success rate per value")
            ax.set_ylabel(f"values of {axis.field}")
        ax.set_title(axis.field, fontsize=9)
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(folder / "success.png", dpi=110)
    plt.close(fig)
    names.append("success.png")

    ok = [r for r in rows if r["status"] == "ok"]
    margins = [r["min_margin"] for r in ok if r.get("min_margin") is not None]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    if margins:
        ax.hist(margins, bins=30, color="tab:gray")
        ax.set_xlabel("smallest XOR margin (fraction of |L0|)")
    else:
        ax.hist([np.log10(max(r["mse_reduction"], 1e-12)) for r in ok], bins=30, color="tab:gray")
        ax.set_xlabel("log10 MSE reduction")
    ax.set_ylabel("points")
    fig.tight_layout()
    fig.savefig(folder / "margins.png", dpi=110)
    plt.close(fig)
    names.append("margins.png")

    if _energies(ok, positive=True):
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for learned, color in ((True, "tab:green"), (False, "tab:red")):
            e = _energies([r for r in ok if bool(r["learned"]) == learned], positive=True)
            if e:
                ax.hist(np.log10(e), bins=30, alpha=0.6, color=color,
                        label="learned" if learned else "not learned")  # fmt: skip
        ax.set_xlabel("log10 twins' energy per learning step (J, schematic)")
        ax.set_ylabel("points")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(folder / "energy.png", dpi=110)
        plt.close(fig)
        names.append("energy.png")

    fig, ax = plt.subplots(figsize=(5, 3.2))
    shown = [r for r in ok if r.get("curve")][:200]
    for r in shown:
        c = np.array(r["curve"])
        c = c[c[:, 0] > 0]  # log axes: from the first logged step on
        ax.loglog(c[:, 0], c[:, 1], lw=0.6, alpha=0.5,
                  color="tab:green" if r["learned"] else "tab:red")  # fmt: skip
    ax.set_xlabel("learning time (s)")
    ax.set_ylabel("MSE (V$^2$)")
    ax.set_title(f"{len(shown)} runs: learned green, not red", fontsize=9)
    fig.tight_layout()
    fig.savefig(folder / "curves.png", dpi=110)
    plt.close(fig)
    names.append("curves.png")
    return names


def _table(header: list[str], body: list[list[Any]]) -> str:
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in body)  # fmt: skip
    return f"<table><tr>{cells}</tr>{rows}</table>"


def _fmt(q: dict | None, unit: str = "") -> str:
    if not q:
        return "-"
    return f"{q['median']:.3g}{unit} (10-90 %: {q['p10']:.3g} .. {q['p90']:.3g})"


def page(record: dict, images: list[str]) -> str:
    s = record["summary"]
    parts = [
        f"<h1>Sweep of {html.escape(record['design'])}</h1>",
        f"<p><code>{html.escape(record['command'])}</code></p>",
        _table(["points", "learned", "success rate", "errors", "smallest margin", "final MSE",
                "time to learn", "twins' energy per learning step"],
               [[s["points"], s["learned"], f"{s['success_rate']:.1%}", s["errors"],
                 _fmt(s["min_margin"]), _fmt(s["final_mse"], " V²"),
                 _fmt(s["time_to_learn_s"], " s"),
                 _fmt(s.get("learning_step_twins_j"), " J")]]),
    ]  # fmt: skip
    for field, a in s["axes"].items():
        parts.append(f"<h2>{html.escape(field)} ({a['values']} values)</h2>")
        if "success_rate" in a:
            per = [[v, f"{r:.1%}"] for v, r in a["success_rate"].items()]
            parts.append(_table(["value", "success rate"], per))
        else:
            parts.append(f"<p>success rate per value: {_fmt(a['success_rate_quantiles'])}; "
                         f"always learning: {a['values_always_learning']}, never: "
                         f"{a['values_never_learning']}</p>")  # fmt: skip
        if "best" in a:
            parts.append(_table(["placement", "success rate", "runs", "pins"],
                                [[b["placement"], f"{b['success_rate']:.0%}", b["runs"],
                                  yaml.safe_dump(b["pins"], default_flow_style=True).strip()]
                                 for b in a["best"]]))  # fmt: skip
    parts += [f'<p><img src="{n}" alt="{n}"></p>' for n in images]
    parts.append('<p>Every point: <a href="results.csv">results.csv</a>; the record: '
                 '<a href="sweep.json">sweep.json</a>.</p>')  # fmt: skip
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
             "padding:2px 8px;font-size:13px}")  # fmt: skip
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>sweep {record['design']}"
        f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def write_report(folder: Path, record: dict, axes, points, rows) -> None:
    write_csv(folder / "results.csv", axes, points, rows)
    images = _plots(folder, axes, points, rows)
    (folder / "index.html").write_text(page(record, images))
