"""Figure and files of an on-chip learning circuit characterisation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from twinedge.artifacts import staged_outputs
from twinedge.characterise.memory import MemoryCharacterisation, save
from twinedge.characterise.mirror import Characterisation
from twinedge.reports.plots import _save, plt


def plot_characterisation(ch: Characterisation, path: Path, title: str) -> None:
    """Transfer with its fit, output compliance and frozen leakage vs G, mismatch spread."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    pts = np.asarray(ch.r2_points)
    ax = axes[0]
    ax.plot(pts[:, 0], pts[:, 1] * 1e9, ".", ms=4, label="ngspice (random common modes)")
    xs = np.linspace(pts[:, 0].min(), pts[:, 0].max(), 50)
    ax.plot(xs, (ch.gain_a_per_v2 * xs + ch.offset_a) * 1e9, "k-", lw=1,
            label=f"fit: {ch.gain_a_per_v2 * 1e6:.2f} uA/V^2, R^2 = {ch.r2:.3f}")  # fmt: skip
    ax.set_xlabel("dV_F^2 - dV_C^2 (V^2)")
    ax.set_ylabel("I into G while learning (nA)")
    ax.set_title(f"transfer, |dV| <= {ch.range_v} V")
    ax.legend(fontsize=8)
    ax = axes[1]
    g = np.asarray(ch.g_grid)
    ax.plot(g, ch.compliance_pos, label="I(G)/I(1 V), x > 0")
    ax.plot(g, ch.compliance_neg, label="I(G)/I(1 V), x < 0")
    ax.axvspan(*ch.g_window, color="0.9", label="within 10 %")
    ax.set_ylim(0, 1.5)
    ax.set_xlabel("G (V)")
    ax.set_ylabel("relative learning current")
    ax.legend(fontsize=8, loc="upper left")
    twin = ax.twinx()
    twin.semilogy(g, np.maximum(np.abs(ch.leak_a), 1e-16) / ch.c_gate_f, "r--", lw=1)
    twin.set_ylabel("frozen |dG/dt| (V/s), red", color="r")
    ax.set_title("output compliance and frozen droop")
    ax = axes[2]
    fs = ch.full_scale_a
    ax.hist(np.asarray(ch.mc_offset) / fs * 100, bins=12, alpha=0.7, label="offset (% of FS)")
    ax.hist((np.asarray(ch.mc_gain) / np.mean(ch.mc_gain) - 1) * 100, bins=12, alpha=0.7,
            label="gain deviation (%)")  # fmt: skip
    ax.set_xlabel("%")
    ax.set_ylabel("instances")
    ax.set_title(f"PDK mismatch, {ch.mismatch_n} Monte Carlo instances")
    ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def plot_memory_characterisation(m: MemoryCharacterisation, path: Path, title: str) -> None:
    """The time-differenced circuit per learning step: transfer with its fit and the square
    law it implements, zero-input residual and gain against G, mismatch spread."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    pts = np.asarray(m.r2_points)
    ax = axes[0]
    ax.plot(pts[:, 0], pts[:, 1] * 1e3, ".", ms=4, label="ngspice steps (random common modes)")
    xs = np.linspace(pts[:, 0].min(), pts[:, 0].max(), 50)
    ax.plot(xs, m.gain_v_per_v2 * xs * 1e3, "k-", lw=1,
            label=f"gain {m.gain_v_per_v2:.2f} V/V^2 per step, R^2 = {m.r2:.3f}")  # fmt: skip
    ax.set_xlabel("dV_F^2 - dV_C^2 (V^2)")
    ax.set_ylabel("dG per step (mV)")
    ax.set_title(f"transfer, |dV| <= {m.range_v} V, t_h {m.t_h * 1e6:.3g} us")
    ax.legend(fontsize=8)
    inset = ax.inset_axes((0.6, 0.08, 0.37, 0.33))
    dv = np.asarray(m.dv_grid)
    inset.plot(dv, np.asarray(m.t1_v) * 1e3, "b-", lw=1)
    inset.plot(dv, m.gain_v_per_v2 * dv**2 * 1e3, "k:", lw=1)
    inset.set_title("T1(dV) vs gain dV^2 (mV)", fontsize=7)
    inset.tick_params(labelsize=6)
    ax = axes[1]
    g = np.asarray(m.g_grid)
    ax.plot(g, np.asarray(m.zero_v) / m.gain_v_per_v2 * 1e3, "r-", label="zero-input residual")
    ax.axhline(0, color="0.6", lw=0.5)
    ax.set_xlabel("G (V)")
    ax.set_ylabel("input-referred residual (mV^2), red")
    ax.legend(fontsize=8, loc="lower left")
    twin = ax.twinx()
    twin.plot(g, m.gain_vs_g, "b-", label="gain(G) / gain(1 V)")
    twin.axvspan(*m.g_window, color="0.9")
    twin.set_ylim(0, 1.5)
    twin.set_ylabel("relative gain, blue (grey: window)")
    ax.set_title(f"against G: pull {m.pull_v2_per_v:.1e} V^2/V towards {m.g_cal:.2f} V")
    ax = axes[2]
    fs = m.range_v**2
    ax.hist(np.asarray(m.mc_offset_v2) / fs * 100, bins=12, alpha=0.7, label="offset (% of FS)")
    ax.hist(np.asarray(m.mc_gain_rel) * 100, bins=12, alpha=0.7, label="gain deviation (%)")
    ax.set_xlabel("%")
    ax.set_ylabel("instances")
    ax.set_title(f"PDK mismatch, {m.mc_n} Monte Carlo instances")
    ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def write_characterisation(
    ch: Characterisation | MemoryCharacterisation, out_dir: Path, title: str
) -> Path:
    """``characterisation.json`` (everything), ``summary.json`` and the figure (all or none)."""
    with staged_outputs(out_dir) as tmp:
        if isinstance(ch, MemoryCharacterisation):
            save(ch, tmp / "characterisation.json")
            plot_memory_characterisation(ch, tmp / "characterisation.png", title)
        else:
            ch.save(tmp / "characterisation.json")
            plot_characterisation(ch, tmp / "characterisation.png", title)
        (tmp / "summary.json").write_text(json.dumps(ch.summary(), indent=1))
    return out_dir / "summary.json"
