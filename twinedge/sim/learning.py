"""Quasi-static Coupled Learning on twin networks (Dillavou et al., Eqs. 4, 6, 7).

Voltages settle in tau_V << t_h, so a learning step is: apply a datapoint, find the free
equilibrium, clamp the output(s) to the nudged value computed from the free output, find the
clamped equilibrium, then integrate dG/dt = (dV_F^2 - dV_C^2) / (V0 R0 C0) for t_h (in
``substeps`` pieces, re-solving both twins each piece since the clamp tracks O continuously)
and keep G inside [G_min, G_max] (the diode floor of Fig. 7).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twinedge.processes import check_interrupt
from twinedge.sim.devices import EdgeModel, ScaledEdges
from twinedge.sim.kernels import model_params, twin_step
from twinedge.sim.modes import halving_times, mode_basis, mode_errors
from twinedge.sim.network import Network
from twinedge.sim.solver import EquilibriumSolver
from twinedge.spec.loader import Dataset
from twinedge.spec.schema import Training, UniformInit


@dataclass
class TrainResult:
    times: np.ndarray  # (T,) learning time (s) at each log point
    steps: np.ndarray  # (T,)
    mse: np.ndarray  # (T,)
    mode_names: list[str]
    modes: np.ndarray  # (T, M) |E_m|
    outputs_history: np.ndarray  # (T, P)
    outputs: np.ndarray  # (P,) final free outputs
    labels: np.ndarray
    g: np.ndarray  # (E,) final gate voltages
    g_init: np.ndarray
    wall_s: float
    newton_iterations: int
    test_outputs: np.ndarray | None = None  # free outputs at the final G, held-out points
    test_labels: np.ndarray | None = None

    @property
    def final_mse(self) -> float:
        return float(self.mse[-1])

    def mode_halving_times(self) -> dict[str, float | None]:
        t = halving_times(self.times, self.modes) if self.mode_names else []
        return {
            n: (None if np.isnan(v) else float(v)) for n, v in zip(self.mode_names, t, strict=True)
        }


class CoupledLearning:
    """Twin-network trainer. ``run`` is deterministic for a given spec (seeded RNG)."""

    def __init__(
        self,
        network: Network,
        model: EdgeModel,
        dataset: Dataset,
        training: Training,
        solver: EquilibriumSolver | None = None,
        compiled: bool = True,
        clamp: Callable[[np.ndarray, float, float], np.ndarray] | None = None,
    ) -> None:
        self.net, self.data, self.tr = network, dataset, training
        # the clamped outputs as a circuit makes them (out_nodes_v, label, sign) -> targets;
        # None: the ideal nudge
        self.clamp = clamp
        self.solver = solver or EquilibriumSolver(network, model)
        self.rng = np.random.default_rng(training.seed)
        n = network.n_nodes
        self.g = self._initial_g()
        self.keep_stuck()

        self.free_mask = np.zeros(n, bool)
        self.free_mask[network.input_nodes] = True
        self.free_mask[network.const_nodes] = True
        self.clamp_mask = self.free_mask.copy()
        self.clamp_mask[network.output_nodes] = True

        self.v_bound = self._boundary(dataset.inputs)
        self.v_free = self.v_bound.copy()  # warm starts, one per datapoint
        self.v_clamp = self.v_bound.copy()
        self.v_anti = self.v_bound.copy()  # the clamped twin at -eta (symmetric nudge)
        self.mode_names, self.basis = mode_basis(dataset.inputs)
        a, b = network.edges[:, 0], network.edges[:, 1]
        self._a, self._b = a, b
        # the compiled step covers the level-1 model and PDK device tables on dense-sized
        # networks
        self._model_params = model_params(self.solver.model)
        self._twin_params = self._twins(network)
        self._compiled = (
            compiled
            and self._model_params is not None
            and bool(self.solver.dense)
            and clamp is None
        )

    def _twins(self, net: Network) -> tuple:
        """The compiled step's (model_f, model_c, dg_f, dg_c): each twin's current factors
        and gate offsets (``Network.twin_scale`` / ``twin_dg``; none: nominal twins)."""
        base = self._model_params
        if base is None or net.twin_dg is None:
            zeros = np.zeros(net.n_edges)
            return base, base, zeros, zeros
        f, c = (model_params(ScaledEdges(self.solver.model, s)) for s in net.twin_scale)
        return f, c, net.twin_dg[0].copy(), net.twin_dg[1].copy()

    def _boundary(self, inputs: np.ndarray) -> np.ndarray:
        """Boundary voltages per datapoint; other nodes start at the mean boundary voltage."""
        net = self.net
        v = np.empty((len(inputs), net.n_nodes))
        for i, x in enumerate(inputs):
            v[i] = np.r_[x, net.const_volts].mean()
            v[i, net.input_nodes] = x
            v[i, net.const_nodes] = net.const_volts
        return v

    def outputs_for(self, inputs: np.ndarray) -> np.ndarray:
        """Free outputs at the present G for other inputs (held-out datapoints)."""
        tags = [f"held-out datapoint {i} (free)" for i in range(len(inputs))]
        return self.net.output_of(self.solver.solve(self.g, self.free_mask,
                                                    self._boundary(inputs), tags))  # fmt: skip

    def keep_stuck(self) -> None:
        """Remember the stuck edges' G (``Network.stuck``): every step puts them back."""
        stuck = self.net.stuck
        self._stuck_g = None if stuck is None else self.g[stuck].copy()

    def _hold_stuck(self) -> None:
        if self._stuck_g is not None:
            self.g[self.net.stuck] = self._stuck_g

    def _initial_g(self) -> np.ndarray:
        e = self.net.n_edges
        gi = self.tr.g_init
        if isinstance(gi, UniformInit):
            return self.rng.uniform(gi.uniform[0], gi.uniform[1], size=e)
        return np.full(e, float(gi))

    # ------------------------------------------------------------------ physics
    def clamp_targets(self, out_nodes_v: np.ndarray, label: float, sign: float = 1.0) -> np.ndarray:
        """Clamped output voltages: O_C = eta L + (1-eta) O, or O± ± eta/2 (L - O); ``sign``
        -1: the mirror image (-eta), the symmetric nudge's first state."""
        if self.clamp is not None:
            return self.clamp(out_nodes_v, label, sign)
        eta = sign * self.tr.eta
        if self.net.differential:
            o = out_nodes_v[0] - out_nodes_v[1]
            d = 0.5 * eta * (label - o)
            return np.array([out_nodes_v[0] + d, out_nodes_v[1] - d])
        return np.array([eta * label + (1.0 - eta) * out_nodes_v[0]])

    def twin_states(self, p: int) -> tuple[np.ndarray, np.ndarray]:
        """Free and clamped equilibria for datapoint ``p`` at the current G."""
        vf = self.solver.solve(self.g, self.free_mask, self.v_free[p], [f"datapoint {p} (free)"])[0]
        self.v_free[p] = vf
        return vf, self._clamped(p, vf, 1.0, self.v_clamp, "clamped")

    def _clamped(
        self, p: int, vf: np.ndarray, sign: float, warm: np.ndarray, what: str
    ) -> np.ndarray:
        """The clamped equilibrium at ``sign`` eta from the free state ``vf``; ``warm`` holds
        the per-datapoint warm starts and takes the result."""
        out = self.net.output_nodes
        v0 = warm[p]
        v0[out] = self.clamp_targets(vf[out], self.data.labels[p], sign)
        v = self.solver.solve(self.g, self.clamp_mask, v0, [f"datapoint {p} ({what})"], twin=1)[0]
        warm[p] = v
        return v

    def update_states(self, p: int) -> tuple[np.ndarray, np.ndarray]:
        """The two states the update compares (dG ~ dV_1^2 - dV_2^2): free and clamped, or
        with the symmetric nudge the clamped twin at -eta and at +eta."""
        vf, vc = self.twin_states(p)
        if self.tr.nudge == "one_sided":
            return vf, vc
        return self._clamped(p, vf, -1.0, self.v_anti, "clamped, -eta"), vc

    def twin_power(self, p: int) -> float:
        """Power both twins dissipate at datapoint ``p`` and the current G (W): the sum of
        I dV over every edge at the free and the clamped equilibrium (with the symmetric
        nudge the clamped twin's mean over its -eta and +eta phases)."""
        vf, vc = self.twin_states(p)
        clamped = self._power(1, vc)
        if self.tr.nudge == "symmetric":
            anti = self._clamped(p, vf, -1.0, self.v_anti, "clamped, -eta")
            clamped = 0.5 * (clamped + self._power(1, anti))
        return self._power(0, vf) + clamped

    def _power(self, twin: int, v: np.ndarray) -> float:
        """Power twin ``twin`` (0 free, 1 clamped) dissipates at node voltages ``v``."""
        net, model, g = self.net, self.solver.model, self.g
        if net.twin_dg is not None:  # each twin's own transistors
            model, g = ScaledEdges(model, net.twin_scale[twin]), g + net.twin_dg[twin]
        dv = v[self._a] - v[self._b]
        return float(np.sum(model.current(g, v[self._a], v[self._b]).i * dv))

    def learn(self, p: int) -> None:
        """One learning step of length t_h on datapoint ``p``."""
        gain = self.tr.t_h / self.tr.substeps * self.tr.rate
        for _ in range(self.tr.substeps):
            if not (self._compiled and self._substep_compiled(p, gain)):
                self._substep(p, gain)
            self._hold_stuck()
        if self.net.leak_tau_s is not None:
            self._leak()

    def _leak(self) -> None:
        """The step's leak (``Network.leak_tau_s``): G relaxes towards ``leak_to_v`` over the
        step's t_h + t_frozen, applied after the step's update (first order in the step
        over tau: the loader asks for tau at least ``LEAK_MIN_STEPS`` steps)."""
        to = self.net.leak_to_v
        decay = np.exp(-self.tr.step_s / self.net.leak_tau_s)
        self.g = np.clip(to + (self.g - to) * decay, self.tr.g_min, self.tr.g_max)
        self._hold_stuck()

    def _substep(self, p: int, gain: float) -> None:
        vf, vc = self.update_states(p)
        dvf = vf[self._a] - vf[self._b]
        dvc = vc[self._a] - vc[self._b]
        self.g = np.clip(self.g + gain * (dvf * dvf - dvc * dvc), self.tr.g_min, self.tr.g_max)

    def _substep_compiled(self, p: int, gain: float) -> bool:
        """The same substep in one compiled call; False (nothing changed but warm starts) if a
        solve needs the robust path's gmin stepping."""
        s, tr = self.solver, self.tr
        code = twin_step(
            self._a,
            self._b,
            self.g,
            self.v_free[p],
            self.v_clamp[p],
            self.v_anti[p],
            tr.nudge == "symmetric",
            self.free_mask,
            self.clamp_mask,
            self.net.output_nodes,
            float(self.data.labels[p]),
            tr.eta,
            gain,
            tr.g_min,
            tr.g_max,
            *self._twin_params,
            s.gmin,
            s.vtol,
            s.itol,
            s.max_step,
            s.max_iter,
        )
        if code < 0:
            return False
        s.stats.iterations += code
        s.stats.solves += 3 if tr.nudge == "symmetric" else 2
        return True

    def evaluate(self) -> np.ndarray:
        """Free outputs for every datapoint (batched solve, frozen G)."""
        tags = [f"datapoint {i} (free)" for i in range(len(self.data.labels))]
        v = self.solver.solve(self.g, self.free_mask, self.v_free, tags)
        self.v_free[:] = v
        return self.net.output_of(v)

    # ------------------------------------------------------------------ loop
    def run(self, progress: Callable[[int, int], None] | None = None) -> TrainResult:
        n_steps = self.tr.n_steps
        p = len(self.data.labels)
        log_every = self.tr.log_interval
        g_init = self.g.copy()
        times, steps, outs = [], [], []
        t0 = time.perf_counter()
        it0 = self.solver.stats.iterations

        def log(step: int) -> None:
            outs.append(self.evaluate())
            steps.append(step)
            times.append(step * self.tr.step_s)

        log(0)
        for step in range(1, n_steps + 1):
            check_interrupt()
            idx = int(self.rng.integers(p)) if self.tr.order == "random" else (step - 1) % p
            self.learn(idx)
            if step % log_every == 0 or step == n_steps:
                log(step)
                if progress:
                    progress(step, n_steps)
        out_hist = np.array(outs)
        err = out_hist - self.data.labels[None, :]
        held = self.data.test_inputs
        return TrainResult(
            times=np.array(times),
            steps=np.array(steps),
            mse=np.mean(err**2, axis=1),
            mode_names=self.mode_names,
            modes=mode_errors(self.basis, err) if self.mode_names else np.zeros((len(times), 0)),
            outputs_history=out_hist,
            outputs=out_hist[-1],
            labels=self.data.labels.copy(),
            g=self.g.copy(),
            g_init=g_init,
            wall_s=time.perf_counter() - t0,
            newton_iterations=self.solver.stats.iterations - it0,
            test_outputs=None if held is None else self.outputs_for(held),
            test_labels=None if held is None else self.data.test_labels.copy(),
        )
