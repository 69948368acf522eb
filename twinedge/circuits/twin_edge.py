"""The plain twin edge as circuit data: what the layout draws and LVS checks it against.

One edge is two n-channel transistors, the free twin ``F`` (A_F to B_F) and the clamped
twin ``C`` (A_C to B_C), on one shared gate G, and a MOS gate capacitor on G (source,
drain and body on the substrate) that supplies what the twins' gate oxide does not of the
spec's ``c_gate_f``. A large capacitor is folded into parallel fingers.

The sizes here (the twins' W/L on the manufacturing grid, the capacitor's W/L per finger
and finger count) are the ones the layout generator draws (``cells/twin_edge.py`` takes
them from :func:`sizing`) and the ones the LVS reference netlist states, so a drawing
that departs from them is an LVS mismatch. Device nets follow the update circuits'
convention: ``af bf ac bc g`` and ``0`` for the substrate.

The layout's edge cells are named from their parameters (:func:`edge_cells`), so that the
reference's subcircuits carry the same names without drawing anything.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twinedge.circuits.mirror import Device

if TYPE_CHECKING:
    from twinedge.pdk.base import Pdk
    from twinedge.spec.schema import Cell, Design

CAP_ASPECT = 4.0  # the MOS capacitor's largest width / length
# its longest gate: S/D + L stays well under the widest diffusion a contact row may serve
CAP_MAX_L = 4.0
# a wider capacitor is folded into parallel fingers along the edge: a 4 pF one would be a
# 118 um strip across the edge, setting the cell's height (and the lattice pitch)
CAP_MAX_W = 30.0
# the learning cell's edge strip runs the length of its update block (tens of um), so its
# capacitor folds into more, narrower fingers along it: the strip, the node tile and with
# them both lattice pitches get ~18 um smaller
CAP_MAX_W_CL = 12.0
CAP_MIN_L = 1.0  # shortest capacitor gate (um)

PORTS = ("af", "bf", "ac", "bc", "g")  # the edge's nets; "0" is the substrate


def _snap(x: float, grid: float) -> float:
    """Round to the grid (and to a clean float); as the layout generator snaps."""
    return round(round(x / grid) * grid, 4)


def _up(x: float, grid: float) -> float:
    return round(math.ceil(round(x / grid, 6)) * grid, 4)


@dataclass(frozen=True)
class GateCapacitor:
    """The MOS capacitor on G: ``fingers`` parallel devices of ``w_um`` x ``l_um``."""

    w_um: float  # per finger; 0: no capacitor (the twins' gates supply c_gate_f)
    l_um: float
    fingers: int  # 0 when there is none

    @property
    def area_um2(self) -> float:
        return self.fingers * self.w_um * self.l_um


@dataclass(frozen=True)
class TwinEdge:
    """A twin edge's transistors, sized (um, on the manufacturing grid)."""

    w_um: float  # the twins' width and length
    l_um: float
    cap: GateCapacitor

    @property
    def devices(self) -> tuple[Device, ...]:
        """The twins, then one device per capacitor finger."""
        w, gl = self.w_um, self.l_um
        twins = (
            Device("F", "n", "af", "g", "bf", w, gl),
            Device("C", "n", "ac", "g", "bc", w, gl),
        )
        cap = self.cap
        return twins + tuple(
            Device(f"CAP{k}", "n", "0", "g", "0", cap.w_um, cap.l_um) for k in range(cap.fingers)
        )

    def gate_area_um2(self) -> float:
        """Gate oxide on G: both twins and the capacitor."""
        return 2 * self.w_um * self.l_um + self.cap.area_um2


def sizing(
    w_um: float,
    l_um: float,
    c_gate_f: float,
    *,
    cox_f_per_um2: float,
    grid_um: float,
    min_w_um: float,
    cap_max_w: float = CAP_MAX_W,
    cap_l: float = 0.0,
) -> TwinEdge:
    """Size the twins (``w_um`` x ``l_um`` on the grid) and the capacitor that brings G to
    ``c_gate_f`` with the twins' gate oxide; ``min_w_um`` is the narrowest transistor,
    ``cap_max_w`` the widest capacitor finger, ``cap_l`` its length (0: the rule below)."""
    w, gl = _snap(w_um, grid_um), _snap(l_um, grid_um)
    extra = c_gate_f - 2 * w * gl * cox_f_per_um2
    if extra <= 0:
        return TwinEdge(w, gl, GateCapacitor(0.0, 0.0, 0))
    # a large capacitor gets a long gate too (at most CAP_ASPECT wide per unit length):
    # a 1 pF one would otherwise be a 113 um strip setting the lattice pitch
    if not cap_l:
        cap_l = max(gl, CAP_MIN_L, min(CAP_MAX_L, (extra / cox_f_per_um2 / CAP_ASPECT) ** 0.5))
    cap_l = _up(cap_l, grid_um)
    total_w = max(min_w_um, extra / cox_f_per_um2 / cap_l)
    fingers = math.ceil(total_w / cap_max_w)
    return TwinEdge(w, gl, GateCapacitor(_up(total_w / fingers, grid_um), cap_l, fingers))


def for_pdk(
    w_um: float,
    l_um: float,
    c_gate_f: float,
    pdk: Pdk,
    cap_max_w: float = CAP_MAX_W,
    cap_l: float = 0.0,
) -> TwinEdge:
    return sizing(
        w_um,
        l_um,
        c_gate_f,
        cox_f_per_um2=pdk.cox_f_per_um2,
        grid_um=pdk.grid_um,
        min_w_um=pdk.rules.nfet_min_w,
        cap_max_w=cap_max_w,
        cap_l=cap_l,
    )


def cap_finger_l(cell: Cell, vertical: bool = False) -> float:
    """The gate capacitor's finger length where the spec sets it (``cap_finger_l_v_um``:
    vertical edges of ``twin_edge_cl``), else 0: the sizing rule's."""
    if cell.type != "twin_edge_cl" or not vertical:
        return 0.0
    return cell.cap_finger_l_v_um or 0.0


def cap_max_w(cell: Cell, vertical: bool = False) -> float:
    """The widest gate capacitor finger of a cell's (``vertical``: vertical) edges: the
    spec's ``cap_finger_w_um`` (``cap_finger_w_v_um``), else its type's default."""
    if cell.type != "twin_edge_cl":
        return CAP_MAX_W
    horizontal = cell.cap_finger_w_um or CAP_MAX_W_CL
    return (cell.cap_finger_w_v_um or horizontal) if vertical else horizontal


def for_design(design: Design, vertical: bool = False) -> TwinEdge:
    """The edge of a design's cell (``twin_edge`` and ``twin_edge_cl`` alike; ``vertical``:
    its vertical edges, whose capacitor may be folded differently)."""
    from twinedge.pdk import get

    cell = design.cell
    w = cap_max_w(cell, vertical)
    return for_pdk(
        cell.w_um, cell.l_um, cell.c_gate_f, get(design.pdk), w, cap_finger_l(cell, vertical)
    )


# ------------------------------------------------------------------ layout cell names
# The cell functions' parameters, by name, in their signatures' order.
CL_SIDES = ("below", "stacked")  # twin_edge_cl's horizontal and vertical variants
MAX_CELL_NAME = 64  # gdsfactory's longest cell name; a longer one is cut and hashed


@dataclass(frozen=True)
class CellCall:
    """A layout cell function and its arguments: what the generator calls, and (pure)
    the name it gives the cell."""

    function: str
    params: tuple[tuple[str, Any], ...]

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def name(self) -> str:
        return cell_name(self.function, self.params)


def _name_value(value: Any) -> str:
    """A parameter's value in a cell name (kfactory's ``clean_value`` for the types used)."""
    if isinstance(value, int):  # bool included: True
        return str(value)
    if isinstance(value, float):
        return f"{value}".replace(".", "p").rstrip("0").rstrip("p")
    if isinstance(value, tuple):
        return "_".join(_name_value(v) for v in value)
    return _clean(str(value))


def _clean(name: str) -> str:
    for old, new in (("=", ""), (",", "_"), (")", ""), ("(", ""), ("-", "m"), (".", "p")):
        name = name.replace(old, new)
    for old, new in ((":", "_"), ("[", ""), ("]", ""), (" ", "_"), ("<", ""), (">", "")):
        name = name.replace(old, new)
    return name


def cell_name(function: str, params: tuple[tuple[str, Any], ...]) -> str:
    """The name gdsfactory's ``@gf.cell`` gives ``function(**params)``: the function name,
    then per parameter the upper-cased initials of its name and its value
    (``twin_edge_WU1_LU1_CGF2em14``)."""
    keys = ("".join(p[0] for p in k.split("_") if p).upper() for k, _ in params)
    label = "_".join(f"{k}{_name_value(v)}" for k, (_, v) in zip(keys, params, strict=True))
    name = f"{function}_{_clean(label)}" if params else function
    if len(name) > MAX_CELL_NAME:
        digest = hashlib.sha3_512(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_CELL_NAME - 9]}_{digest}"
    return name


def edge_cells(design: Design) -> tuple[CellCall, CellCall]:
    """The (horizontal, vertical) edge cells of a design's array (the same cell twice for
    ``twin_edge``; the vertical one is placed rotated)."""
    cell = design.cell
    base = (("w_um", cell.w_um), ("l_um", cell.l_um), ("c_gate_f", cell.c_gate_f))
    if cell.type != "twin_edge_cl":
        edge = CellCall("twin_edge", base)
        return edge, edge
    # a chip's cells carry the G reader
    circuit = (("circuit_name", cell.update.circuit), ("hold_cap_n", cell.update.hold_cap_n),
               ("reader", design.chip is not None), ("cap_max_w", cap_max_w(cell)))  # fmt: skip
    circuit = (*circuit, ("cap_max_w_v", cap_max_w(cell, vertical=True)),
               ("beside", cell.blocks == "beside"))  # fmt: skip
    circuit = (*circuit, ("sizes", cell.update.sizing.items()))
    circuit = (*circuit, ("compact", cell.compact), ("cap_l_v", cap_finger_l(cell, vertical=True)))
    h, v = (CellCall("twin_edge_cl", (*base, ("side", s), *circuit)) for s in CL_SIDES)
    return h, v
