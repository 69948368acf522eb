"""``twinedge sweep`` on real Dask: a LocalCluster, then a separately started ``dask
scheduler`` with two ``dask worker`` processes on localhost; the same points give the same
rows on both, finished points come from the cache, and the outputs are complete."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DESIGNS
from typer.testing import CliRunner

from twinedge.cli import app
from twinedge.spec import load_spec

runner = CliRunner()
VARY = ["--vary", "pins=random:3", "--vary", "training.seed=0:2",
        "--vary", "training.duration=0.05"]  # fmt: skip
DASK = Path(sys.executable).with_name("dask")


def _sweep(out: Path, *extra: str) -> dict:
    res = runner.invoke(app, ["sweep", str(DESIGNS / "xor_4x4_paper.yaml"), *VARY,
                              "--out", str(out), *extra])  # fmt: skip
    assert res.exit_code == 0, res.output
    return json.loads((out / "sweep.json").read_text())


def _rows(out: Path) -> list[dict]:
    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r.pop("wall_s")
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_workers(address: str, n: int, timeout: float = 60.0) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=timeout)


@pytest.fixture
def scheduler(tmp_path: Path):
    """``dask scheduler`` and two ``dask worker`` processes (single-threaded, no nanny: they
    stop at once when terminated) on localhost."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    try:
        time.sleep(1.0)
        for _ in range(2):
            procs.append(subprocess.Popen([str(DASK), "worker", address, "--no-nanny",
                                           "--nthreads", "1", "--no-dashboard"], env=env,
                                          cwd=tmp_path, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))  # fmt: skip
        _wait_for_workers(address, 2)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:  # a worker's graceful close can wait ~20 s on a scheduler gone
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def test_a_sweep_on_a_local_cluster_is_cached_and_complete(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TWINEDGE_CACHE", str(tmp_path / "cache"))
    first = _sweep(tmp_path / "a", "--workers", "2")
    assert first["points"] == 6 and first["run"]["computed"] == 6
    assert first["run"]["where"] == "LocalCluster (2 workers)"
    assert {p.name for p in (tmp_path / "a").iterdir()} == {
        "results.csv",
        "sweep.json",
        "index.html",
        "success.png",
        "margins.png",
        "energy.png",
        "curves.png",
    }
    rows = _rows(tmp_path / "a")
    assert [r["pins"] for r in rows] == ["random:0"] * 2 + ["random:1"] * 2 + ["random:2"] * 2
    assert all(r["status"] == "ok" and float(r["final_mse"]) > 0 for r in rows)
    t_h = load_spec(DESIGNS / "xor_4x4_paper.yaml").design.training.t_h
    for r in rows:  # both twins' power at the learned G, over one learning step
        assert 1e-9 < float(r["twins_power_w"]) < 1.0
        assert float(r["learning_step_twins_j"]) == pytest.approx(float(r["twins_power_w"]) * t_h)
    s = first["summary"]
    assert s["points"] == 6 and s["learned"] == sum(r["learned"] == "True" for r in rows)
    assert len(s["axes"]["pins"]["best"]) == 3 and "inputs" in s["axes"]["pins"]["best"][0]["pins"]
    again = _sweep(tmp_path / "b", "--workers", "2")
    assert again["run"] == {**again["run"], "computed": 0, "cached": 6, "where": "cache only"}
    assert _rows(tmp_path / "b") == rows
    html = (tmp_path / "a" / "index.html").read_text()
    assert "results.csv" in html and "curves.png" in html and "xor_4x4_paper" in html


def test_the_same_sweep_on_a_separate_scheduler_gives_the_same_rows(
    tmp_path, monkeypatch, scheduler
) -> None:
    monkeypatch.setenv("TWINEDGE_CACHE", str(tmp_path / "local"))
    _sweep(tmp_path / "local_out", "--workers", "1")
    monkeypatch.setenv("TWINEDGE_CACHE", str(tmp_path / "remote"))
    remote = _sweep(tmp_path / "remote_out", "--scheduler", scheduler)
    assert remote["run"]["computed"] == 6
    assert remote["run"]["where"] == f"{scheduler} (2 workers)"
    assert _rows(tmp_path / "remote_out") == _rows(tmp_path / "local_out")


def test_an_unreachable_scheduler_is_a_one_line_error(tmp_path, monkeypatch) -> None:
    import dask

    monkeypatch.setenv("TWINEDGE_CACHE", str(tmp_path / "cache"))
    address = f"tcp://127.0.0.1:{_free_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        args = [str(DESIGNS / "xor_4x4_paper.yaml"), *VARY, "--out", str(tmp_path / "x")]
        res = runner.invoke(app, ["sweep", *args, "--scheduler", address])
    assert res.exit_code == 1
    assert f"--scheduler {address}" in res.output and not (tmp_path / "x").exists()


def test_workers_train_the_dataset_read_where_the_sweep_was_planned(tmp_path, monkeypatch) -> None:
    """A CSV task's file is read once, where the sweep is planned: the workers (here a local
    cluster started after the file is gone) train from the dataset that travels with each
    point."""
    from conftest import base_spec, write_spec

    from twinedge.stages.sweep import plan_points, run_points

    monkeypatch.setenv("TWINEDGE_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "points.csv"
    data.write_text("V1,label\n0.0,0.1\n0.15,0.2\n0.3,0.25\n0.45,0.25\n")
    raw = base_spec()
    raw["task"] = {"kind": "csv", "path": "points.csv"}
    spec = load_spec(write_spec(tmp_path, raw))
    _, points = plan_points(spec, ["training.seed=0:2"])
    data.unlink()
    rows, run = run_points(spec, points, None, 1)
    assert run["computed"] == 2
    assert [r["status"] for r in rows] == ["ok", "ok"], rows
    assert all(r["final_mse"] > 0 for r in rows)
