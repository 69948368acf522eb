"""PDK-calibrated edge model: the PDK transistor's I(G, Va, Vb) tabulated from ngspice.

The twin-edge transistor is used symmetrically (either terminal can be the source) with its
body on the substrate (0 V). One DC sweep per source-side voltage measures the drain current
of the PDK's own model (e.g. BSIM4) over the whole (G, Va, Vb) box once per (PDK,
device, corner, W, L, grid); the table is cached on disk. The fast solver then evaluates a
cubic B-spline through the table (``scipy.ndimage.map_coordinates``), so it follows the
PDK model (subthreshold, body effect, DIBL) at the speed of an array lookup. Taking Va and Vb
as separate axes, rather than source and |Vds|, keeps the interpolant smooth where the two
terminals swap roles (Va = Vb).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import map_coordinates, spline_filter

from twinedge.artifacts import cache_lock, private_tmp
from twinedge.pdk import Pdk
from twinedge.pdk import get as get_pdk
from twinedge.sim.devices import EdgeCurrent

TABLE_FORMAT = 2  # 2: V from BOUNDARY_PAD steps below the lowest node voltage
# The spline's prefilter needs values beyond the grid; "nearest" repeats the edge sample,
# which is wrong for a current rising from it (up to 1.8 % for |V| < 6 mV with the grid
# starting at 0 V, where the inputs sit). Sweeping the device a few steps below that voltage
# puts the boundary there instead: its error decays by 2 - sqrt(3) = 0.27 per sample, so
# four samples below 0 V it is 0.5 % of what it was at 0 V.
BOUNDARY_PAD = 4


@dataclass(frozen=True)
class Grid:
    """Regular grid of the table: gate G and both terminal voltages V (volts);
    :meth:`for_pdk` spans a PDK's gate rating and node range."""

    g_hi: float
    v_lo: float
    v_hi: float
    g_lo: float = 0.0
    g_step: float = 0.025
    v_step: float = 0.00625

    @classmethod
    def for_pdk(cls, pdk: Pdk, **steps: float) -> Grid:
        """G from 0 to the PDK's supply, V over its table node range and ``BOUNDARY_PAD``
        steps below it."""
        v_lo, v_hi = pdk.table_node_range
        v_step = steps.get("v_step", cls.v_step)
        return cls(g_hi=pdk.vdd, v_lo=round(v_lo - BOUNDARY_PAD * v_step, 9), v_hi=v_hi, **steps)

    @property
    def g_points(self) -> np.ndarray:
        return self.g_lo + self.g_step * np.arange(round((self.g_hi - self.g_lo) / self.g_step) + 1)

    @property
    def v_points(self) -> np.ndarray:
        return self.v_lo + self.v_step * np.arange(round((self.v_hi - self.v_lo) / self.v_step) + 1)


@dataclass(frozen=True)
class DeviceKey:
    """What the table depends on; its hash names the cache file."""

    pdk: str
    device: str
    corner: str
    w_um: float
    l_um: float
    model_file_sha256: str
    grid: Grid

    def digest(self) -> str:
        text = json.dumps({"format": TABLE_FORMAT, **_as_dict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _as_dict(key: DeviceKey) -> dict:
    d = dict(key.__dict__)
    d["grid"] = dict(key.grid.__dict__)
    return d


def cache_dir() -> Path:
    """``$TWINEDGE_CACHE`` or ``~/.cache/twinedge``: tables outlive build folders."""
    return Path(os.environ.get("TWINEDGE_CACHE", Path.home() / ".cache" / "twinedge"))


class TabulatedNMOS:
    """Edge model from a table ``i[g, va, vb]`` = current a -> b (A), body at 0 V."""

    def __init__(self, grid: Grid, table: np.ndarray, key: DeviceKey | None = None) -> None:
        self.grid, self.key = grid, key
        self.table = table
        self._kernel: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._origin = np.array([grid.g_lo, grid.v_lo, grid.v_lo])
        self._scale = np.array([1 / grid.g_step, 1 / grid.v_step, 1 / grid.v_step])
        steps = (grid.g_step, grid.v_step, grid.v_step)
        # spline coefficients of the current and of its three partial derivatives
        self._coef = [spline_filter(table, order=3, mode="nearest")]
        for axis in range(3):
            d = np.gradient(table, steps[axis], axis=axis, edge_order=2)
            self._coef.append(spline_filter(d, order=3, mode="nearest"))

    def kernel_coefficients(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the compiled kernels evaluate (:func:`twinedge.sim.kernels.table`): the
        spline coefficients of I, dI/dVa and dI/dVb stacked (3, G, V, V), the grid's origin
        and its inverse steps."""
        if self._kernel is None:
            coef = np.ascontiguousarray(np.stack([self._coef[0], self._coef[2], self._coef[3]]))
            self._kernel = (coef, self._origin.copy(), self._scale.copy())
        return self._kernel

    def current(self, g: np.ndarray, va: np.ndarray, vb: np.ndarray) -> EdgeCurrent:
        g, va, vb = np.broadcast_arrays(
            np.asarray(g, float), np.asarray(va, float), np.asarray(vb, float)
        )
        shape = g.shape
        pts = np.stack([g.ravel(), va.ravel(), vb.ravel()])
        idx = (pts - self._origin[:, None]) * self._scale[:, None]
        out = [
            map_coordinates(c, idx, order=3, mode="nearest", prefilter=False).reshape(shape)
            for c in self._coef
        ]
        i, di_dg, di_dva, di_dvb = out
        return EdgeCurrent(i, di_dva, di_dvb, di_dg)

    # ------------------------------------------------------------------ cache
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = private_tmp(path)
        tmp = tmp.with_name(tmp.name + ".npz")  # numpy appends .npz to any other name
        meta = json.dumps(_as_dict(self.key) if self.key else {})
        np.savez_compressed(tmp, table=self.table, meta=np.array(meta))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, key: DeviceKey) -> TabulatedNMOS:
        with np.load(path) as data:
            return cls(key.grid, data["table"], key)


def sweep_table(
    model_lib: Path,
    corner: str,
    device: str,
    w_um: float,
    l_um: float,
    grid: Grid,
) -> np.ndarray:
    """Drain current of ``device`` (D = a, S = b, body 0) on the grid, from ngspice DC sweeps."""
    from twinedge.spice.shared import shared

    ng = shared()
    ng.reset()
    gs, vs = grid.g_points, grid.v_points
    ng.load(
        "\n".join(
            [
                "* twinedge device table",
                f".lib {model_lib} {corner}",
                f"X1 a g b 0 {device} w={w_um} l={l_um}",
                "va a 0 0",
                "vb b 0 0",
                "vg g 0 0",
                ".options gmin=1e-15 abstol=1e-15 reltol=1e-6",
                ".end",
            ]
        )
    )
    table = np.empty((len(gs), len(vs), len(vs)))
    for k, vb in enumerate(vs):
        ng.alter("vb", float(vb))
        ng.command(
            f"dc va {grid.v_lo} {grid.v_hi} {grid.v_step} vg {grid.g_lo} {grid.g_hi} {grid.g_step}"
        )
        i = -ng.vector("i(va)")  # current into terminal a, a -> b through the channel
        table[:, :, k] = i.reshape(len(gs), len(vs))
        ng.command("destroy all")
    ng.reset()
    return table


def pdk_table(
    pdk: str, device: str, corner: str, w_um: float, l_um: float, grid: Grid | None = None
) -> TabulatedNMOS:
    """The cached table of a PDK device (swept on first use, ~20 s for the default grid
    :meth:`Grid.for_pdk`); a PDK without a technology module raises
    :class:`twinedge.pdk.PdkError`."""
    tech = get_pdk(pdk)
    grid = grid or Grid.for_pdk(tech)
    lib = tech.reduced_model_lib(device, corner)
    sha = hashlib.sha256(lib.read_bytes()).hexdigest()
    key = DeviceKey(pdk, device, corner, float(w_um), float(l_um), sha, grid)
    path = cache_dir() / "device_tables" / f"{device}__{corner}__{key.digest()}.npz"
    with cache_lock(path):
        if path.exists():
            return TabulatedNMOS.load(path, key)
        model = TabulatedNMOS(grid, sweep_table(lib, corner, device, w_um, l_um, grid), key)
        model.save(path)
    return model
