"""Training figures: error and modes vs time, outputs vs inputs, the lattice coloured by G."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection

from twinedge.sim.learning import TrainResult
from twinedge.sim.network import Network
from twinedge.spec.loader import Dataset

# Fixed metadata keeps the PNGs byte-identical between identical runs.
_PNG_META = {"Software": "twinedge", "Creation Time": None}


def _save(fig: plt.Figure, path: Path) -> None:
    fig.savefig(path, dpi=110, metadata=_PNG_META)
    plt.close(fig)


def _time_axis(times: np.ndarray) -> tuple[np.ndarray, str]:
    return times, "learning time (s)"


def plot_training(result: TrainResult, path: Path, title: str) -> None:
    """MSE (black) and |E_m| per mode against learning time, as in the paper's Figs. 3c/4b."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    t, xlabel = _time_axis(result.times)
    ax1.semilogy(t, np.maximum(result.mse, 1e-30), color="black", lw=1.5)
    ax1.set_ylabel("MSE (V²)")
    ax1.set_title(title)
    ax1.grid(alpha=0.3, which="both")
    if result.mode_names:
        cmap = plt.get_cmap("viridis")
        for m, name in enumerate(result.mode_names[:6]):
            ax2.plot(
                t,
                result.modes[:, m],
                lw=1.3,
                color=cmap(m / max(1, min(6, len(result.mode_names)) - 1)),
                label=f"|{name}|",
            )
        ax2.legend(ncol=3, fontsize=8)
    else:
        ax2.text(0.5, 0.5, "no mode basis for this task", ha="center", transform=ax2.transAxes)
    ax2.set_ylabel("|E_m| (V)")
    ax2.set_xlabel(xlabel)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def plot_outputs(result: TrainResult, data: Dataset, path: Path, threshold: float | None) -> None:
    """Outputs against inputs: a curve for one input, truth tables for two, else O vs L."""
    x, labels = data.inputs, result.labels
    snaps = np.unique(np.linspace(0, len(result.times) - 1, 4).astype(int))
    if x.shape[1] == 1:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        order = np.argsort(x[:, 0])
        cmap = plt.get_cmap("Blues")
        for j, s in enumerate(snaps):
            ax.plot(
                x[order, 0],
                result.outputs_history[s, order],
                "-",
                color=cmap(0.35 + 0.65 * j / max(1, len(snaps) - 1)),
                label=f"t = {result.times[s]:.3g} s",
            )
        ax.plot(x[:, 0], labels, "o", mfc="none", mec="black", label="labels L")
        ax.set_xlabel(f"{data.names[0]} (V)")
        ax.set_ylabel("output O (V)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    elif x.shape[1] == 2 and all(len(np.unique(x[:, j])) <= 8 for j in range(2)):
        u1, u2 = np.unique(x[:, 0]), np.unique(x[:, 1])
        fig, axes = plt.subplots(
            1, len(snaps) + 1, figsize=(2.9 * (len(snaps) + 1), 3.2), layout="constrained"
        )
        panels = [(result.outputs_history[s], f"t = {result.times[s]:.3g} s") for s in snaps]
        panels.append((labels, "labels"))
        lim = max(np.max(np.abs(labels)), np.max(np.abs(result.outputs_history)), 1e-9)
        for ax, (vals, name) in zip(axes, panels, strict=True):
            grid = np.full((len(u1), len(u2)), np.nan)
            for (v1, v2), o in zip(x, vals, strict=True):
                grid[np.searchsorted(u1, v1), np.searchsorted(u2, v2)] = o
            im = ax.imshow(grid, cmap="coolwarm", vmin=-lim, vmax=lim, origin="lower")
            for i in range(len(u1)):
                for j in range(len(u2)):
                    if np.isfinite(grid[i, j]):
                        ax.text(
                            j, i, f"{grid[i, j] * 1e3:.0f} mV", ha="center", va="center", fontsize=8
                        )
            ax.set_xticks(range(len(u2)), [f"{v:g}" for v in u2])
            ax.set_yticks(range(len(u1)), [f"{v:g}" for v in u1])
            ax.set_xlabel(data.names[1])
            if ax is axes[0]:
                ax.set_ylabel(data.names[0])
            ax.set_title(name, fontsize=9)
        fig.colorbar(im, ax=axes, shrink=0.8, label="O (V)")
        if threshold is not None:
            fig.suptitle(f"decision threshold L0/2 = {threshold * 1e3:.1f} mV", fontsize=9)
    else:
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot(labels, result.outputs_history[0], "x", color="grey", label="initial")
        ax.plot(labels, result.outputs, "o", color="C0", label="final")
        lo, hi = float(np.min(labels)), float(np.max(labels))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel("label L (V)")
        ax.set_ylabel("output O (V)")
        ax.legend()
    _save(fig, path)


def plot_lattice(net: Network, g: np.ndarray, path: Path, g_range: tuple[float, float]) -> None:
    """Lattice edges coloured by final G; wrap-around edges drawn as stubs off the border.

    The colour scale spans the G values present (the allowed range, if they are all equal),
    so small differences stay visible; the title gives the allowed range.
    """
    fig, ax = plt.subplots(figsize=(5.5, 5))
    segs, vals = [], []
    for (na, nb), ge in zip(net.edges, g, strict=True):
        (ra, ca), (rb, cb) = net.node_rc(na), net.node_rc(nb)
        if abs(ra - rb) + abs(ca - cb) == 1:
            segs.append([(ca, -ra), (cb, -rb)])
            vals.append(ge)
        else:  # periodic wrap: a stub out of each end
            dr, dc = np.sign(ra - rb), np.sign(ca - cb)
            segs.append([(ca, -ra), (ca + 0.45 * dc, -(ra + 0.45 * dr))])
            segs.append([(cb, -rb), (cb - 0.45 * dc, -(rb - 0.45 * dr))])
            vals += [ge, ge]
    lc = LineCollection(segs, cmap="plasma", linewidths=4)
    lc.set_array(np.asarray(vals))
    lo, hi = float(np.min(g)), float(np.max(g))
    lc.set_clim(*((lo, hi) if hi > lo else g_range))
    ax.add_collection(lc)
    fig.colorbar(lc, ax=ax, label="G (V)")
    rr, cc = np.divmod(np.arange(net.n_nodes), net.cols)
    ax.plot(cc, -rr, "o", color="black", ms=4)
    pins = [
        (n, name, "tab:green") for n, name in zip(net.input_nodes, net.input_names, strict=True)
    ]
    pins += [
        (n, name, "tab:blue") for n, name in zip(net.const_nodes, net.const_names, strict=True)
    ]
    outs = ["O+", "O-"] if net.differential else ["O"]
    pins += [(n, name, "tab:red") for n, name in zip(net.output_nodes, outs, strict=True)]
    for node, name, color in pins:
        r, c = net.node_rc(node)
        ax.plot(c, -r, "s", color=color, ms=11)
        ax.annotate(
            name,
            (c, -r),
            textcoords="offset points",
            xytext=(7, 7),
            fontsize=8,
            color=color,
            weight="bold",
        )
    ax.set_xlim(-0.7, net.cols - 0.3)
    ax.set_ylim(-(net.rows - 0.3), 0.7)
    ax.set_aspect("equal")
    ax.set_xticks(range(net.cols))
    ax.set_yticks([-r for r in range(net.rows)], [str(r) for r in range(net.rows)])
    ax.set_xlabel("col")
    ax.set_ylabel("row")
    ax.set_title(f"final gate voltages G (allowed {g_range[0]:g} to {g_range[1]:g} V)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def plot_mse_compare(curves: dict[str, tuple[list[float], list[float]]], path: Path) -> None:
    """MSE against learning time for several runs (schematic vs post-layout)."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for (label, (t, mse)), style in zip(curves.items(), ("-", "--", ":"), strict=False):
        ax.semilogy(t, np.maximum(np.asarray(mse), 1e-30), style, lw=1.5, label=label)
    ax.set_xlabel("learning time (s)")
    ax.set_ylabel("MSE (V²)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    _save(fig, path)
