"""Pydantic v2 schema of a twinedge design spec.

The schema is deliberately closed (``extra="forbid"``): a misspelt key is an error, not a
silently ignored setting. Every number is finite (``allow_inf_nan=False``): a NaN gate or
label is refused here, not found out deep into training; every voltage lies within
+-VOLTS_MAX, and every list a user can grow is bounded (twinedge.spec.limits).
Variants (topology, cell type, task kind) are discriminated unions
on a ``topology`` / ``type`` / ``kind`` field so later issues add values, not new shapes.
Cross-field rules (pins inside the lattice, one pin per node, task matches the pins) live in
:mod:`twinedge.spec.semantics`, which can name the exact field path of the offending value.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twinedge.pdk import get as get_pdk
from twinedge.pdk import names as pdk_names
from twinedge.pdk import spec_names
from twinedge.spec.limits import MAX_DATAPOINTS, MAX_NAME, VOLTS_MAX

PDK_NAMES = spec_names()  # what ``pdk:`` may name (twinedge.pdk: registry and planned PDKs)
PdkName = Literal[PDK_NAMES]  # type: ignore[valid-type]

Volts = Annotated[float, Field(ge=-VOLTS_MAX, le=VOLTS_MAX)]
PinName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=MAX_NAME)]
"""A pin's name is a net's name in the layout and its SPICE netlists: an identifier."""
LOG_POINTS = 400
"""Log points of a run when ``training.log_every`` is not given (each evaluates every
datapoint)."""
Node = tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]
"""A lattice node as ``[row, col]``, zero-based."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---------------------------------------------------------------- network
class Damage(_Strict):
    """Faults drawn into the network for robustness studies (``twinedge train`` and sweeps;
    the layout draws the intact lattice, so the physical stages refuse it): ``removed``, the
    fraction of edges open (no conductance in either twin); ``stuck``, the fraction of the
    rest whose G never moves from its initial value; drawn with ``seed``."""

    removed: Annotated[float, Field(ge=0, lt=1)] = 0.0
    stuck: Annotated[float, Field(ge=0, lt=1)] = 0.0
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0


class SquareLattice(_Strict):
    topology: Literal["square_lattice"]
    rows: Annotated[int, Field(ge=2, le=4096)]
    cols: Annotated[int, Field(ge=2, le=4096)]
    periodic: bool = False
    damage: Damage | None = None


# Future topologies ("layered", "edge_list") are further members of this union.
Network = Annotated[SquareLattice, Field(discriminator="topology")]


# ---------------------------------------------------------------- cell / device
class Level1Model(_Strict):
    """Symmetric SPICE level-1 NMOS: body at ground, source = lower terminal.

    ``kp`` is the process transconductance (A/V^2); the edge's k = kp * W / L.
    """

    kind: Literal["level1"] = "level1"
    vth: Annotated[float, Field(gt=0, lt=5)] = 0.7
    kp: Annotated[float, Field(gt=0, lt=1)] = 1.0e-3


class PdkModel(_Strict):
    """The PDK's own transistor (its nfet, e.g. BSIM4) at a process corner.

    The simulator uses a table of its I(G, Va, Vb) swept in ngspice (cached); post-layout
    runs use the model itself. ``corner``: one of the PDK's corners (the loader checks it);
    left out, :class:`Design` sets the PDK's typical one.
    """

    kind: Literal["pdk"]
    corner: str | None = None


EdgeDeviceModel = Annotated[Level1Model | PdkModel, Field(discriminator="kind")]


class TwinMismatch(_Strict):
    """Each twin transistor's own threshold shift (sigma ``vth_sigma_v``) and current factor
    (1 + N(0, ``k_sigma``)), drawn once with ``seed``: an edge's free and clamped twins no
    longer match, and the rule (dG ~ dV_F^2 - dV_C^2) reads the difference as an error to
    learn around. A threshold shift acts as the gate's opposite shift (exact for level 1,
    body effect aside for a PDK table). Simulated (``twinedge train``, sweeps); the layout
    draws nominal devices, so the physical stages refuse it."""

    vth_sigma_v: Annotated[float, Field(ge=0, le=0.2)] = 0.0
    k_sigma: Annotated[float, Field(ge=0, le=0.5)] = 0.0
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0


class GateLeak(_Strict):
    """The gate capacitor's charge leaking away: every G relaxes towards ``to_v`` with time
    constant ``tau_s`` through each learning step (junction and switch off-currents; the
    seed's breadboard capacitors drift the same way). The learning cell
    (``twin_edge_cl``) has its leakage from its characterisation instead. Simulated
    (``twinedge train``, sweeps); the physical stages refuse it."""

    tau_s: Annotated[float, Field(gt=0, le=1e6)]
    to_v: Annotated[float, Field(ge=-5, le=5)] = 0.0


class TwinEdgeCell(_Strict):
    type: Literal["twin_edge"]
    w_um: Annotated[float, Field(gt=0, le=1000)] = 1.0
    l_um: Annotated[float, Field(gt=0, le=1000)] = 1.0
    c_gate_f: Annotated[float, Field(gt=0, le=1e-9)] = 20e-15
    model: EdgeDeviceModel = Level1Model()
    twin_mismatch: TwinMismatch | None = None
    g_leak: GateLeak | None = None


Um = Annotated[float, Field(gt=0, le=100)]


# the memory circuit's switch length when the spec gives none (circuits.memory.MemorySizing):
# SKY130's shortest channel; a PDK whose shortest channel is longer needs the spec to set it
SWITCH_L_DEFAULT_UM = 0.15


class MemorySizingSpec(_Strict):
    """The memory circuit's transistor sizes (um, twinedge.circuits.memory.MemorySizing):
    any not given keep the circuit's defaults. What shrinks the cell without changing its
    rule: one squarer, mirror and memory carry both terms, so their mismatch cancels in the
    offset and shows only in the gain spread (keep W/L to keep the currents); the PDK's
    limits are checked against the spec's ``pdk``."""

    follower_w: Um | None = None
    follower_l: Um | None = None
    bias_w: Um | None = None
    bias_l: Um | None = None
    squarer_w: Um | None = None
    squarer_l: Um | None = None
    mirror_w: Um | None = None
    mirror_l: Um | None = None
    cascode_w: Um | None = None
    cascode_l: Um | None = None
    memory_w: Um | None = None
    memory_l: Um | None = None
    hold_cap_w: Um | None = None
    hold_cap_l: Um | None = None
    cal_switch_w: Um | None = None
    cal_dummy_w: Um | None = None
    switch_l: Um | None = None
    learn_switch_w: Um | None = None
    floor_w: Um | None = None
    floor_l: Um | None = None

    def items(self) -> tuple[tuple[str, float], ...]:
        """The sizes given, as hashable (name, um) pairs."""
        return tuple((k, v) for k, v in self.model_dump().items() if v is not None)


class UpdateCircuit(_Strict):
    """The on-chip learning circuit and its bias.

    ``circuit``: ``memory`` (twinedge.circuits.memory: one squarer, mirror and current
    memory carry both twins' terms one after the other, so their mismatch cancels) or
    ``mirror`` (twinedge.circuits.mirror: the twins subtracted through two mirror paths;
    ~4 % of full scale offset per edge, kept for comparison).
    ``vbp``: gate voltage of the followers' PMOS current sources (lower: more current, more
    gain, more power). ``mismatch``: give every edge its own gain and offset, drawn from the
    spread the PDK's mismatch models give (Monte Carlo characterisation); off: every edge is
    the nominal circuit.
    """

    circuit: Literal["memory", "mirror"] = "memory"
    vbp: Annotated[float, Field(ge=0.4, le=1.2)] = 0.6
    # memory circuit: the NMOS and PMOS cascodes' gate voltages (V; default: the circuit's,
    # twinedge.circuits.memory.MemoryBias, derived on SKY130); at most the PDK's supply
    vcn: Annotated[float, Field(ge=0.0, le=5.0)] | None = None
    vcp: Annotated[float, Field(ge=0.0, le=5.0)] | None = None
    # memory circuit: CALB's high level (V), a global trim of the CAL switch's charge on
    # the memory's hold node (the same in every cell); auto: solved on one extracted cell
    # (twinedge.characterise.trim) so that its zero-input residual at G = 1 V is nil
    calb_high: Annotated[float, Field(ge=0.0, le=1.8)] | Literal["auto"] = "auto"
    mismatch: bool = True
    # Monte Carlo instances of the characterisation (the mismatch spread's sample)
    mismatch_instances: Annotated[int, Field(ge=2, le=256)] = 32
    # memory circuit: parallel PMOS capacitors (5/20 um, ~0.8 pF each) on the memory's hold
    # node; more of them shrink the CAL switch's charge error and the droop per step (and
    # cost area): a larger C_G with a longer t_h needs them to keep the stored current still
    hold_cap_n: Annotated[int, Field(ge=1, le=8)] = 1
    # memory circuit: its transistor sizes (default: twinedge.circuits.memory.MemorySizing)
    sizing: MemorySizingSpec = MemorySizingSpec()

    @model_validator(mode="after")
    def _memory_only(self) -> UpdateCircuit:
        if self.circuit == "mirror" and self.hold_cap_n != 1:
            raise ValueError("hold_cap_n applies to the memory circuit only (circuit: memory)")
        if self.circuit == "mirror" and self.sizing.items():
            raise ValueError("sizing applies to the memory circuit only (circuit: memory)")
        if self.circuit == "mirror" and (self.vcn, self.vcp) != (None, None):
            raise ValueError("vcn / vcp apply to the memory circuit only (circuit: memory)")
        return self


class TwinEdgeClCell(_Strict):
    """A twin edge that trains itself: the twins, the gate capacitor and an on-chip circuit
    sourcing a current ~ dV_F^2 - dV_C^2 into G while the global LEARN line is high."""

    type: Literal["twin_edge_cl"]
    w_um: Annotated[float, Field(gt=0, le=1000)] = 1.0
    l_um: Annotated[float, Field(gt=0, le=1000)] = 1.0
    c_gate_f: Annotated[float, Field(gt=0, le=1e-9)] = 100e-15
    # the gate capacitor's widest finger across the edge strip (um; default 12): the strip
    # and node tile are about this plus 4.4 um wide, and the fingers lie along a strip the
    # update block sets the length of, so a smaller capacitor can take narrower fingers (too
    # narrow for the capacitor's area, and the strip outgrows the block: a sparser array)
    cap_finger_w_um: Annotated[float, Field(ge=1.0, le=30.0)] | None = None
    # the vertical edges' widest finger, if not cap_finger_w_um: their strip's length is the
    # lattice's row pitch, which the blocks set differently from the column pitch, so fewer,
    # wider fingers can shorten it (a wider column strip)
    cap_finger_w_v_um: Annotated[float, Field(ge=1.0, le=30.0)] | None = None
    # the vertical edges' capacitor finger length (its gate L, um; default: the sizing
    # rule's, 4 um at pF sizes): shorter fingers, wider each, shorten the column strip where
    # the capacitor rather than the blocks sets the row pitch
    cap_finger_l_v_um: Annotated[float, Field(ge=0.5, le=30.0)] | None = None
    # where a lattice site's two update blocks go: "stacked" one under the other in the
    # quadrant between the edge strips, or "beside" each other in one band under the row's
    # strip (a site one block high: a 4-row array fits a TinyTapeout tile's height; the
    # vertical strip is then short, its capacitor in fewer, wider fingers)
    blocks: Literal["stacked", "beside"] = "stacked"
    # a denser plan of the same circuit: each update block's device rows and capacitor bed
    # start under the edge nets' landing zone (the landing stubs come from above and end on
    # their channel tracks: a row's stub shares a landing stub's x only where their tracks
    # keep them apart), ~5 um shorter a block; with blocks: beside, the vertical edge's
    # routes also cross over its block on met3 instead of a band above both blocks. Off
    # keeps the layout of the designs measured before it (2026-12-02)
    compact: bool = False
    model: PdkModel
    update: UpdateCircuit = UpdateCircuit()
    twin_mismatch: TwinMismatch | None = None


Cell = Annotated[TwinEdgeCell | TwinEdgeClCell, Field(discriminator="type")]


# ---------------------------------------------------------------- pins
class Constant(_Strict):
    node: Node
    volts: Volts


class SingleOutput(_Strict):
    node: Node


class DifferentialOutput(_Strict):
    plus: Node
    minus: Node


class Pins(_Strict):
    inputs: Annotated[dict[PinName, Node], Field(min_length=1)]
    constants: dict[PinName, Constant] = {}
    output: SingleOutput | DifferentialOutput


# ---------------------------------------------------------------- tasks
class XorTask(_Strict):
    """The paper's XOR: label ``l0`` where the two inputs differ, 0 where they agree."""

    kind: Literal["xor"]
    low: Volts = 0.0
    high: Volts = 0.45
    l0: Volts = -0.087

    @model_validator(mode="after")
    def _distinct_levels(self) -> XorTask:
        if self.high <= self.low:
            raise ValueError(f"high ({self.high}) must be greater than low ({self.low})")
        return self


class TableTask(_Strict):
    """Inline datapoints: each row is the input volts (in ``pins.inputs`` order) then the label."""

    kind: Literal["table"]
    rows: Annotated[list[list[Volts]], Field(min_length=1, max_length=MAX_DATAPOINTS)]


class CsvTask(_Strict):
    """Datapoints from a CSV file with one column per input name and a ``label`` column."""

    kind: Literal["csv"]
    path: Annotated[str, Field(min_length=1, max_length=4096)]  # PATH_MAX


class RegressionTask(_Strict):
    """Piecewise-linear regression of the paper's Fig. 5: (0, a) -> (b, c), flat after b."""

    kind: Literal["regression"]
    a: Volts
    b: Annotated[float, Field(gt=0, le=VOLTS_MAX)]
    c: Volts
    points: Annotated[int, Field(ge=2, le=MAX_DATAPOINTS)] = 8
    vmin: Volts = 0.0
    vmax: Volts = 0.45

    @model_validator(mode="after")
    def _range(self) -> RegressionTask:
        if self.vmax <= self.vmin:
            raise ValueError(f"vmax ({self.vmax}) must be greater than vmin ({self.vmin})")
        return self


class ClassifyTask(_Strict):
    """Classes from a CSV of raw features (``designs/data/iris.csv``), one class against the
    rest: rows of class ``positive`` (the ``target`` column) get label ``l0``, the others 0.
    Each input of ``pins.inputs`` reads the column of its name, scaled from its range in the
    file onto ``low``..``high`` volts. ``test_fraction`` of each class's rows, drawn with
    ``split_seed``, is held out of training; the report gives the accuracy on both parts
    (a datapoint counts as positive when its output is nearer ``l0`` than 0)."""

    kind: Literal["classify"]
    path: Annotated[str, Field(min_length=1, max_length=4096)]
    target: Annotated[str, Field(min_length=1, max_length=64)]
    positive: Annotated[int, Field(ge=0, lt=2**31)]
    low: Volts = 0.0
    high: Volts = 0.45
    l0: Volts = -0.087
    test_fraction: Annotated[float, Field(ge=0, le=0.9)] = 0.3
    split_seed: Annotated[int, Field(ge=0, lt=2**63)] = 0

    @model_validator(mode="after")
    def _levels(self) -> ClassifyTask:
        if self.high <= self.low:
            raise ValueError(f"high ({self.high}) must be greater than low ({self.low})")
        if self.l0 == 0:
            raise ValueError("l0 must not be 0 (the other classes' label)")
        return self


Task = Annotated[
    XorTask | TableTask | CsvTask | RegressionTask | ClassifyTask, Field(discriminator="kind")
]


# ---------------------------------------------------------------- training
class AnalogUpdate(_Strict):
    """G integrates the local rule continuously (the circuit's own update)."""

    mode: Literal["analog"] = "analog"


class HybridUpdate(_Strict):
    """The patent's hybrid update (seed 000, claim 1): each step the edge's
    dV_F^2 - dV_C^2 is measured by an ADC (``adc_bits`` over +-``full_scale_v2``), the update
    is computed digitally with the analog rule's rate, and G is written back by a DAC
    (``dac_bits`` over [g_min, g_max]) from the digital memory."""

    mode: Literal["hybrid"]
    adc_bits: Annotated[int, Field(ge=2, le=24)] = 8
    dac_bits: Annotated[int, Field(ge=1, le=24)] = 10
    full_scale_v2: Annotated[float, Field(gt=0, le=1)] = 0.09


Update = Annotated[AnalogUpdate | HybridUpdate, Field(discriminator="mode")]


class UniformInit(_Strict):
    uniform: tuple[Volts, Volts]


class Training(_Strict):
    eta: Annotated[float, Field(gt=0, le=1)]
    t_h: Annotated[float, Field(gt=0, le=1.0)] = 100e-6
    duration: Annotated[float, Field(gt=0)] | None = None
    steps: Annotated[int, Field(gt=0)] | None = None
    order: Literal["random", "cyclic"] = "random"
    g_init: Volts | UniformInit = 3.0
    g_min: Volts = 1.1
    g_max: Volts = 5.7
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    v0: Annotated[float, Field(gt=0)] = 0.33
    r0: Annotated[float, Field(gt=0)] = 100.0
    c0: Annotated[float, Field(gt=0)] = 22e-6
    substeps: Annotated[int, Field(ge=1, le=1000)] = 1
    # one_sided: the update compares the free state with the clamped one (eta towards L);
    # symmetric: the clamped twin at -eta, then at +eta (the on-chip circuit samples its CAL
    # term at -eta instead of 0): twice the signal for the same circuit offsets, and the
    # nudge's second-order bias cancels (Laborieux et al. 2021, symmetric nudging)
    nudge: Literal["one_sided", "symmetric"] = "one_sided"
    # time between learn pulses (G frozen, leaking) in each step: twin_edge_cl arrays
    t_frozen: Annotated[float, Field(ge=0, le=1.0)] = 0.0
    update: Update = AnalogUpdate()
    log_every: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Training:
        if (self.duration is None) == (self.steps is None):
            raise ValueError("give exactly one of duration (s) or steps")
        if self.g_max <= self.g_min:
            raise ValueError(f"g_max ({self.g_max}) must be greater than g_min ({self.g_min})")
        return self

    @property
    def step_s(self) -> float:
        """One learning step's length: the update (t_h) and the frozen time after it."""
        return self.t_h + self.t_frozen

    @property
    def n_steps(self) -> int:
        if self.steps is not None:
            return self.steps
        assert self.duration is not None
        return max(1, round(self.duration / self.t_h))

    @property
    def log_interval(self) -> int:
        """Steps between log points: ``log_every``, else about LOG_POINTS in a run."""
        return self.log_every or max(1, self.n_steps // LOG_POINTS)

    @property
    def n_log_points(self) -> int:
        """Log points of a run: step 0, every ``log_interval``-th step, and the last step."""
        every = self.log_interval
        return self.n_steps // every + 1 + (self.n_steps % every > 0)

    @property
    def rate(self) -> float:
        """dG/dt per V^2 of (dV_F^2 - dV_C^2): 1 / (V0 R0 C0), Eq. 4."""
        return 1.0 / (self.v0 * self.r0 * self.c0)


# ---------------------------------------------------------------- chip
ANALOG_PINS = tuple(f"ua[{i}]" for i in range(6))
"""The analog pins a TinyTapeout analog project may use (the template has ua[0..7]; a
project gets at most six)."""
AnalogPin = Literal[ANALOG_PINS]  # type: ignore[valid-type]


class ErrorElementKnobs(_Strict):
    """The error element's sizing knobs (twinedge.circuits.error_element)."""

    vbe: Annotated[float, Field(ge=0.3, le=1.2)] = 0.6  # its tails' and load's gate bias (V)
    in_w_um: Annotated[float, Field(ge=0.42, le=5.7)] = 4.0  # a unit input device
    in_l_um: Annotated[float, Field(ge=0.15, le=20.0)] = 8.0


class Chip(_Strict):
    """The learning chip around the array: its periphery blocks' knobs and, optionally,
    which analog pin carries which signal (``twinedge.spec.pinplan`` plans the rest)."""

    error_element: ErrorElementKnobs = ErrorElementKnobs()
    analog_pins: Annotated[dict[PinName, AnalogPin], Field(max_length=len(ANALOG_PINS))] = {}
    # learning steps of the whole chip's transistor-level transient (~1 min each on one core;
    # 0: not run)
    transient_steps: Annotated[int, Field(ge=0, le=200)] = 10
    # the first of those steps again on the whole TinyTapeout tile as laid out (kpex's
    # capacitances; 0: not run; at most transient_steps). Off by default: the tile's
    # extraction takes ~20 min and each step ~2 min on one core (docs/periphery.md)
    post_layout_steps: Annotated[int, Field(ge=0, le=200)] = 0


# ---------------------------------------------------------------- design
class Design(_Strict):
    name: Annotated[
        str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", min_length=1, max_length=MAX_NAME)
    ]
    pdk: PdkName
    network: Network
    cell: Cell
    pins: Pins
    task: Task
    training: Training
    chip: Chip | None = None  # the learning chip (twin_edge_cl designs)

    @model_validator(mode="before")
    @classmethod
    def _typical_corner(cls, data: Any) -> Any:
        """A PDK model without a ``corner`` runs at the PDK's typical one (its first)."""
        if not isinstance(data, dict) or data.get("pdk") not in pdk_names():
            return data
        cell = data.get("cell")
        model = cell.get("model") if isinstance(cell, dict) else None
        if isinstance(model, dict) and model.get("kind") == "pdk" and "corner" not in model:
            corner = get_pdk(data["pdk"]).corners[0]
            data = {**data, "cell": {**cell, "model": {**model, "corner": corner}}}
        return data
