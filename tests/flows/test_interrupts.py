"""The CLI when a run is stopped or cannot write: Ctrl-C, SIGKILL, unwritable outputs, two
runs on one design, and what ``--version`` and ``--help`` say.

Runs that are interrupted run as ``python -m twinedge.cli`` in a process group of their
own, which gets the SIGINT a terminal's Ctrl-C sends; the programs twinedge starts are
found by a marker in their environment (``/proc/<pid>/environ``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from conftest import DESIGNS, ROOT, base_spec, full_disk, read_only, write_spec
from typer.testing import CliRunner

from twinedge.artifacts import folder_lock
from twinedge.cli import app

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").is_file(), reason="reads /proc")
runner = CliRunner()
XOR = DESIGNS / "xor_4x4.yaml"
MARK = "TWINEDGE_TEST_RUN"


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (OSError, IndexError):
        return None


def _marked(mark: str) -> dict[int, str]:
    """Live processes (not zombies) with ``mark`` in their environment: pid -> command."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f"{MARK}={mark}".encode() not in (proc / "environ").read_bytes():
                continue
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if _state(int(proc.name)) not in (None, "Z"):
            found[int(proc.name)] = cmd
    return found


class Cli:
    """``python -m twinedge.cli ARGS`` in ``cwd``, in its own session, output collected."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.mark = uuid.uuid4().hex
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "twinedge.cli", *args],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": path, MARK: self.mark},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(s, lines), daemon=True)
            for s, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:
        lines.extend(line.rstrip("\n") for line in stream)

    def wait_for(self, what, seconds: float, poll: float = 0.05):
        """Poll ``what()`` until it is true (returned) or the run ends or time runs out."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.proc.poll() is None:
            found = what()
            if found:
                return found
            time.sleep(poll)
        self.kill()
        pytest.fail(f"never came; stdout {self.out[-5:]}, stderr {self.err[-5:]}")

    def printed(self, text: str) -> bool:
        return any(text in line for line in self.out)

    def programs(self, command: str) -> dict[int, str]:
        """Running programs this run started whose command line holds ``command``."""
        return {p: c for p, c in _marked(self.mark).items() if command in c}

    def ctrl_c(self) -> float:
        """SIGINT to the run's process group, as a terminal sends it; seconds to exit."""
        t0 = time.monotonic()
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running 5 s after Ctrl-C; stderr {self.err[-5:]}")
        return time.monotonic() - t0

    def finish(self, seconds: float = 300) -> int:
        rc = self.proc.wait(timeout=seconds)
        for t in self._readers:
            t.join(timeout=10)
        return rc

    def kill(self) -> None:
        with_marks = _marked(self.mark)
        for pid in with_marks:
            os.kill(pid, signal.SIGKILL)


def _temporaries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(".*.tmp-*"))


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def _short_xor(folder: Path, duration: float = 0.1) -> Path:
    """designs/xor_4x4.yaml on an open 3 x 3 lattice (no wrap-around routes: its extraction
    is a fraction of the 4 x 4's) with ``duration`` s of learning time (1,000 steps a
    second). Whether it learns does not matter here."""
    raw = yaml.safe_load(XOR.read_text())
    raw["name"] = "xor_3x3"
    raw["network"].update(rows=3, cols=3, periodic=False)
    raw["pins"]["output"]["minus"] = [1, 0]
    raw["training"]["duration"] = duration
    spec = folder / "xor_3x3.yaml"
    spec.write_text(yaml.safe_dump(raw))
    return spec


# ------------------------------------------------------------------ Ctrl-C
def test_ctrl_c_stops_post_layout_training_within_seconds(tmp_path: Path) -> None:
    # 20,000 steps: ~1 s at schematic level, several seconds post-layout (the reduced
    # wiring, a few hundred us a step): Ctrl-C arrives inside the post-layout loop, past its
    # set-up (which holds Ctrl-C while ngspice reads the models or the solver compiles)
    cli = Cli(tmp_path, "train", str(_short_xor(tmp_path, duration=20.0)), "--post-layout")
    cli.wait_for(lambda: cli.printed("set up and first"), 900, poll=0.05)
    time.sleep(0.2)
    assert cli.ctrl_c() < 5
    assert cli.finish() == 130
    line = _one_line("\n".join(cli.err))
    assert line == "interrupted: train (post-layout) on xor_3x3 (nothing of this stage kept)"
    assert _marked(cli.mark) == {}
    assert _temporaries(tmp_path) == []
    assert not (tmp_path / "build" / "xor_3x3" / "post_layout" / "train.json").exists()


def test_ctrl_c_during_drc_kills_klayout(tmp_path: Path) -> None:
    cli = Cli(tmp_path, "drc", str(XOR))
    klayout = cli.wait_for(lambda: cli.programs("klayout -b -r"), 300, poll=0.02)
    assert cli.ctrl_c() < 5
    assert cli.finish() == 130
    line = _one_line("\n".join(cli.err))
    assert line == "interrupted: drc on xor_4x4 (nothing of this stage kept)"
    assert _marked(cli.mark) == {}, f"left running: {klayout}"
    assert _temporaries(tmp_path) == []


# ------------------------------------------------------------------ SIGKILL
def test_a_killed_run_takes_kpex_along_and_the_next_run_removes_its_leftovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(tmp_path, "train", str(XOR), "--post-layout")
    cli.wait_for(lambda: cli.programs("kpex extract"), 300, poll=0.05)
    os.killpg(cli.proc.pid, signal.SIGKILL)  # no clean-up runs in twinedge
    cli.finish()
    deadline = time.monotonic() + 5
    while _marked(cli.mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _marked(cli.mark) == {}  # kpex died with it
    build = tmp_path / "build" / "xor_4x4"
    left = _temporaries(tmp_path)
    assert [p.name.split("-")[0] for p in left] == [".pex.tmp"]
    assert left[0].parent == build

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["lvs", str(XOR)])
    assert result.exit_code == 0, result.output
    assert f"removed what a killed run left: {left[0].relative_to(tmp_path)}" in result.output
    assert _temporaries(tmp_path) == []


# ------------------------------------------------------------------ two runs on one design
def test_two_runs_on_one_design_take_turns_and_the_second_keeps_what_the_first_made(
    tmp_path: Path,
) -> None:
    runs = [Cli(tmp_path, "lvs", str(XOR)), Cli(tmp_path, "lvs", str(XOR))]
    assert [r.finish() for r in runs] == [0, 0]
    made = [r for r in runs if r.printed("layout: build/xor_4x4/layout/xor_4x4.gds")]
    kept = [r for r in runs if r.printed("layout: inputs unchanged, kept")]
    assert len(made) == 1 and len(kept) == 1
    assert kept[0].printed("lvs: inputs unchanged, kept")
    waited = _one_line("\n".join(kept[0].err))
    assert waited == (
        f"build/xor_4x4: in use by another twinedge run (pid {made[0].proc.pid}); "
        "waiting for it to finish (--no-wait: stop instead)"
    )
    assert made[0].err == []


def test_no_wait_refuses_while_another_run_holds_the_design(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with folder_lock(Path("build/xor_4x4")):
        result = runner.invoke(app, ["lvs", str(XOR), "--no-wait"])
    assert result.exit_code == 1
    assert _one_line(result.output) == (
        f"error: build/xor_4x4: in use by another twinedge run (pid {os.getpid()}); "
        "not waiting (--no-wait)"
    )
    assert not (tmp_path / "build" / "xor_4x4" / "layout").exists()


# ------------------------------------------------------------------ outputs that cannot be written
@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training fails the test: the error must come before it."""
    import twinedge.stages.flow as stages

    def trained(*_a, **_k):
        raise AssertionError("trained before finding the output unwritable")

    monkeypatch.setattr(stages, "train", trained)


def test_out_in_a_read_only_folder_fails_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_training: None
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        result = runner.invoke(app, ["train", str(XOR), "--out", str(folder / "out")])
    assert result.exit_code == 1
    line = _one_line(result.output)
    assert line in (
        f"error: {folder / 'out'}: cannot write: Read-only file system",
        f"error: {folder / 'out'}: cannot write: Permission denied",
    )
    assert not (tmp_path / "build").exists()


def test_out_naming_a_file_fails_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_training: None
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["train", str(XOR), "--out", "notes.txt"])
    assert result.exit_code == 1
    assert _one_line(result.output) == (
        "error: notes.txt: cannot write: notes.txt is a file, not a folder"
    )
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_full_disk_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write_spec(tmp_path, base_spec())
    monkeypatch.chdir(tmp_path)
    with full_disk(tmp_path / "disk") as disk:
        result = runner.invoke(app, ["train", str(spec), "--out", str(disk / "out")])
        assert result.exit_code == 1
        line = _one_line(result.output)
        assert line == f"error: {disk / 'out'}: cannot write: No space left on device"
        assert list(disk.iterdir()) == []


def test_a_complete_read_only_build_keeps_every_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing needs writing, so the run succeeds; the manifest, which would record that
    every stage was kept, cannot be updated: one warning line, exit 0."""
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["lvs", str(XOR)]).exit_code == 0
    with read_only(tmp_path / "build"):
        result = runner.invoke(app, ["lvs", str(XOR)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:2] == ["layout: inputs unchanged, kept", "lvs: inputs unchanged, kept"]
    assert len(lines) == 3 and lines[2].startswith(
        "warning: build/xor_4x4/manifest.json: cannot write: "
    )
    assert lines[2].endswith("; not updated (every stage was kept)")


def test_a_read_only_build_with_a_stage_to_run_fails_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["layout", str(XOR)]).exit_code == 0
    with read_only(tmp_path / "build"):
        result = runner.invoke(app, ["lvs", str(XOR)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "layout: inputs unchanged, kept"
    assert result.output.splitlines()[1].startswith("error: build/xor_4x4/lvs: cannot write: ")
    assert len(result.output.splitlines()) == 2


# ------------------------------------------------------------------ version and help
def _flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def test_version_is_one_line() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"twinedge {metadata.version('twinedge')}\n"


@pytest.mark.parametrize("command", ["validate", "train", "characterise", "layout", "drc", "lvs"])
def test_help_says_what_the_spec_argument_is(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "spec PATH design spec (YAML" in _flat(result.output)


def test_flow_help_names_the_default_spec() -> None:
    result = runner.invoke(app, ["flow", "--help"])
    assert result.exit_code == 0
    text = _flat(result.output)
    assert "design spec (YAML; default: the embedded designs/xor_4x4.yaml)" in text
    assert "--no-wait" in text
