"""Stage keys and the run manifest: a stage re-runs when its code changes, and only then."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import DESIGNS, ROOT

from twinedge.stages.keys import code_closure, code_digest, digest


def test_code_closure_follows_imports_and_registries() -> None:
    closure = code_closure(["twinedge.verify.lvs"])
    assert "twinedge.verify.lvs" in closure and "twinedge.spec.schema" in closure
    assert "twinedge.pdk.sky130" in closure  # named as a string in pdk.REGISTRY
    assert "twinedge.learn.train" not in closure  # LVS does not run training
    assert code_digest(["twinedge.verify.lvs"]) != code_digest(["twinedge.verify.drc"])


def test_a_stage_key_follows_its_input_files_content(tmp_path: Path) -> None:
    """A new GDS written at the same path changes the key of every stage reading it (the DRC
    of an older layout must not be kept for a new one)."""
    gds = tmp_path / "a.gds"
    gds.write_bytes(b"layout one")
    first = digest("drc", {"gds": gds, "decks": {"x": 1}})
    assert digest("drc", {"gds": gds, "decks": {"x": 1}}) == first
    gds.write_bytes(b"layout two")
    assert digest("drc", {"gds": gds, "decks": {"x": 1}}) != first
    assert digest("drc", {"gds": [gds]}) != digest("drc", {"gds": [tmp_path / "b.gds"]})


def _lvs(pkg: Path, work: Path) -> tuple[str, dict]:
    env = {**os.environ, "PYTHONPATH": str(pkg)}
    proc = subprocess.run(
        [sys.executable, "-m", "twinedge.cli", "lvs", str(DESIGNS / "xor_4x4.yaml")],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manifest = json.loads((work / "build" / "xor_4x4" / "manifest.json").read_text())
    return proc.stdout, {s["stage"]: s for s in manifest["stages"]}


def test_editing_lvs_code_reruns_lvs_and_nothing_else(tmp_path: Path) -> None:
    """A copy of the package: run LVS, run again (kept), edit verify/lvs.py, run again:
    LVS re-runs, the layout is kept; the manifest records each."""
    pkg, work = tmp_path / "pkg", tmp_path / "work"
    shutil.copytree(
        ROOT / "twinedge", pkg / "twinedge", ignore=shutil.ignore_patterns("__pycache__")
    )
    work.mkdir()
    out, stages = _lvs(pkg, work)
    assert stages["layout"]["ran"] and stages["lvs"]["ran"]
    assert stages["lvs"]["verdict"] == "match"
    gds = stages["lvs"]["inputs"]["gds"]
    assert gds["sha256"] == stages["layout"]["outputs"]["xor_4x4.gds"]
    assert "twinedge.verify.lvs" in stages["lvs"]["code"] and stages["lvs"]["tools"]

    out, again = _lvs(pkg, work)
    assert "layout: inputs unchanged, kept" in out and "lvs: inputs unchanged, kept" in out
    assert not again["layout"]["ran"] and not again["lvs"]["ran"]
    assert again["lvs"]["key"] == stages["lvs"]["key"]

    lvs_py = pkg / "twinedge" / "verify" / "lvs.py"
    lvs_py.write_text(lvs_py.read_text() + "\n# an edit\n")
    out, edited = _lvs(pkg, work)
    assert "layout: inputs unchanged, kept" in out and "lvs: match" in out
    assert not edited["layout"]["ran"] and edited["lvs"]["ran"]
    assert edited["lvs"]["key"] != stages["lvs"]["key"]
