from __future__ import annotations

import contextlib
import copy
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DESIGNS = ROOT / "designs"

# Tests run the sign-off DRC deck of a PDK install when one is named; the partial install
# beside the repository (the SKY130 sign-off deck) is the default here, as in CI.
_SHARED_PDK_ROOT = ROOT.parent / "shared" / "pdk_root"
if "PDK_ROOT" not in os.environ and _SHARED_PDK_ROOT.is_dir():
    os.environ["PDK_ROOT"] = str(_SHARED_PDK_ROOT)


# DRC needs the KLayout program; where it is missing a test is skipped, except in CI
needs_klayout = pytest.mark.skipif(
    shutil.which("klayout") is None and not os.environ.get("CI"),
    reason="KLayout program not installed",
)


@pytest.fixture
def sky130_active() -> None:
    """Layout generators draw on the active PDK (``pytestmark = usefixtures(...)``)."""
    import twinedge.pdk

    twinedge.pdk.activate("sky130")


def base_spec() -> dict:
    """A small valid spec (3x3, single output regression) to mutate in tests."""
    return copy.deepcopy(
        {
            "name": "tiny",
            "pdk": "sky130",
            "network": {"topology": "square_lattice", "rows": 3, "cols": 3, "periodic": False},
            "cell": {
                "type": "twin_edge",
                "w_um": 1.0,
                "l_um": 1.0,
                "model": {"kind": "level1", "vth": 0.7, "kp": 1e-3},
            },
            "pins": {
                "inputs": {"V1": [0, 0]},
                "constants": {
                    "Vlo": {"node": [2, 2], "volts": 0.0},
                    "Vhi": {"node": [0, 2], "volts": 0.45},
                },
                "output": {"node": [1, 1]},
            },
            "task": {"kind": "regression", "a": 0.1, "b": 0.3, "c": 0.25, "points": 4},
            "training": {
                "eta": 1.0,
                "steps": 50,
                "order": "cyclic",
                "g_init": 2.0,
                "g_min": 0.7,
                "g_max": 5.7,
            },
        }
    )


def write_spec(tmp_path: Path, spec: dict, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture
def spec_dict() -> dict:
    return base_spec()


def short_cl(directory: Path) -> Path:
    """designs/xor_4x4_cl.yaml (its layout: 4 pF, 3 hold capacitors) at CI size: 2 us LEARN
    and CAL phases, 300 steps, 4 Monte Carlo instances (the flow test, the array check and
    test_memory_circuit's fixture share its characterisation through the cache)."""
    text = (DESIGNS / "xor_4x4_cl.yaml").read_text()
    for old, new in (
        ("steps: 5000", "steps: 300"),
        ("t_h: 8.0e-6", "t_h: 2.0e-6"),
        ("t_frozen: 6.0e-6", "t_frozen: 2.0e-6"),
        ("mismatch_instances: 16", "mismatch_instances: 4"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    spec = directory / "xor_cl_short.yaml"
    spec.write_text(text)
    return spec


def short_chip(directory: Path) -> Path:
    """:func:`short_cl` with a chip section (the periphery's tests share its circuit's
    characterisation through the cache)."""
    spec = short_cl(directory)
    spec.write_text(
        spec.read_text()
        + "chip:\n  error_element: {vbe: 0.6}\n  transient_steps: 1\n  post_layout_steps: 0\n"
    )
    return spec


def _mount(*args: str) -> bool:
    try:
        return subprocess.run(["mount", *args], capture_output=True).returncode == 0
    except OSError:
        return False


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` (existing, with what it holds) read-only for the block: its modes when
    tests run as a user; for root, whom modes do not stop, a read-only bind mount (skips
    where root cannot mount)."""
    if os.geteuid() != 0:
        paths = [folder, *folder.rglob("*")]
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(modes[p] & ~0o222)
        try:
            yield folder
        finally:
            for p in paths:
                p.chmod(modes[p])
        return
    if not _mount("--bind", str(folder), str(folder)):
        pytest.skip("root without mount: no read-only folder to test with")
    try:
        assert _mount("-o", "remount,bind,ro", str(folder)), "remount read-only failed"
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@contextlib.contextmanager
def full_disk(folder: Path, size: str = "4k") -> Iterator[Path]:
    """``folder`` on a file system of ``size`` (a tmpfs: needs root; skips otherwise)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)):
        pytest.skip("a small file system needs root (mount -t tmpfs)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def train_compiled_and_numpy(spec):
    """``spec`` trained twice from the same seed: the compiled twin step, and numpy only
    (no compiled step, no compiled solver); returns both results."""
    from twinedge.learn.train import _learner_args
    from twinedge.sim.learning import CoupledLearning
    from twinedge.sim.solver import EquilibriumSolver

    net, model, data, training = _learner_args(spec)
    fast = CoupledLearning(net, model, data, training, compiled=True)
    numpy_only = EquilibriumSolver(net, model, compiled=False)
    slow = CoupledLearning(net, model, data, training, numpy_only, compiled=False)
    assert fast._compiled and not slow._compiled
    return fast.run(), slow.run()


# The files whose tests take the longest (end-to-end flows, the chip's transient: 50-90 s
# each, `PYTEST_ARGS=--durations=10`). Under pytest-xdist's --dist loadfile a worker takes
# the next file in collection order when it is free, so these go first: started last, one
# of them kept one worker busy for a minute and a half after the other had finished.
HEAVY_FIRST = (
    "flows/test_cli_train.py",
    "flows/test_cl_flow.py",
    "cells/test_chip.py",
    "flows/test_interrupts.py",
    "cells/test_gf180.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    def rank(item) -> int:
        path = item.path.as_posix()
        return next((k for k, h in enumerate(HEAVY_FIRST) if path.endswith(h)), len(HEAVY_FIRST))

    items.sort(key=rank)  # stable: the order within and among the other files is kept
