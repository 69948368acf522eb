"""Stages and runs: what a stage is made from, when it is kept, and the run's manifest.

A :class:`Stage` declares its folder under ``build/<design>/``, the files that make it
complete, the modules whose code it runs and the tools it calls. Its key derives from
those and from the inputs the caller names (spec fields by value, artifacts by content):
nobody salts a key by hand. A :class:`Run` executes stages on one design and writes
``build/<design>/manifest.json`` after each: every stage with its key, inputs, outputs
(SHA-256), tool versions, wall time, verdict, and whether it ran or was kept. A run owns
its build folder while it writes there (:meth:`Run.hold`: one run per design at a time).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from twinedge import versions
from twinedge.artifacts import OutputError, check_writable, clean_stale, folder_lock, write_text
from twinedge.spec.loader import LoadedSpec
from twinedge.stages.keys import (
    STAMP,
    code_closure,
    code_digest,
    digest,
    file_record,
    file_sha256,
    is_current,
    mark,
)

T = TypeVar("T")
MANIFEST = "manifest.json"


class StageError(RuntimeError):
    """A stage could not run: one line for the user and the CLI's exit code (1: the run
    failed, 2: bad input)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Stage:
    name: str
    folder: str  # under build/<design>/
    outputs: tuple[str, ...]  # files that must exist for the stage to count as done
    code: tuple[str, ...]  # modules it runs (their twinedge imports are followed)
    tools: tuple[str, ...] = ()  # programs and packages it calls (twinedge.versions)


def _describe(value: object) -> object:
    """An input as the manifest records it: files by path and SHA-256, values by digest
    (short scalars as themselves)."""
    if isinstance(value, Path):
        return file_record(value)
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return {"sha256": digest(value)}


def _noop_progress(_label: str, _total: int) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext(lambda _k: None)


@dataclass
class Run:
    """One command's run on one design: its build folder, how to talk to the user, and the
    manifest of the stages it touched."""

    spec: LoadedSpec
    build: Path
    say: Callable[[str], None] = lambda _line: None
    progress: Callable[[str, int], contextlib.AbstractContextManager] = _noop_progress
    records: list[dict] = field(default_factory=list)
    started: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    current: str | None = None  # the stage being made (kept after an exception in it)
    unwritten: OutputError | None = None  # why the manifest could not be updated

    @property
    def design(self):
        return self.spec.design

    def folder(self, stage: Stage) -> Path:
        return self.build / stage.folder

    @contextlib.contextmanager
    def hold(
        self, wait: bool = True, on_wait: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """Own the build folder for the run: its lock (a second run on the design waits for
        the first, or with ``wait=False`` raises :class:`twinedge.artifacts.FolderBusy`),
        then the temporaries that killed runs left there removed. At the end of a run that
        succeeded, one line if the manifest could not be updated (:meth:`write_manifest`)."""
        with folder_lock(self.build, wait, on_wait):
            removed = clean_stale(self.build)
            if removed:
                more = f" and {len(removed) - 1} more" if len(removed) > 1 else ""
                self.say(f"removed what a killed run left: {removed[0]}{more}")
            yield
        if self.unwritten is not None:
            self.say(f"warning: {self.unwritten}; not updated (every stage was kept)")

    @contextlib.contextmanager
    def doing(self, label: str) -> Iterator[None]:
        """Name what runs now (:attr:`current`); an exception leaves the name in place so
        that whoever catches it can say what it stopped."""
        previous, self.current = self.current, label
        yield
        self.current = previous

    def key(self, stage: Stage, inputs: Mapping[str, object]) -> str:
        return digest(
            stage.name,
            {k: inputs[k] for k in sorted(inputs)},
            code_digest(stage.code),
            versions.tools(stage.tools),
        )

    def execute(
        self,
        stage: Stage,
        inputs: Mapping[str, object],
        make: Callable[[Path], T],
        load: Callable[[Path], T],
        verdict: Callable[[T], str] = lambda _r: "done",
    ) -> tuple[T, bool]:
        """``load(folder)`` the stage's outputs if they were made from these very inputs,
        code and tools; else ``make(folder)`` them. Returns (result, ran)."""
        folder = self.folder(stage)
        key = self.key(stage, inputs)
        t0 = time.perf_counter()
        outputs = [o.format(design=self.design.name) for o in stage.outputs]
        ran = not is_current(folder, key, outputs)
        if ran:
            check_writable(folder)  # before the work, not after it
            with self.doing(stage.name):
                result = make(folder)
            mark(folder, key)
        else:
            result = load(folder)
            self.say(f"{stage.name}: inputs unchanged, kept")
        self._record(stage, key, inputs, ran, time.perf_counter() - t0, verdict(result))
        return result, ran

    def _record(
        self, stage: Stage, key: str, inputs: Mapping[str, object], ran: bool, wall: float,
        verdict: str,
    ) -> None:  # fmt: skip
        folder = self.folder(stage)
        outputs = {}
        for f in sorted(folder.iterdir()) if folder.is_dir() else []:
            if f.is_file() and not f.name.startswith(".") and f.name not in (STAMP, MANIFEST):
                outputs[f.name] = file_sha256(f)
        record = {
            "stage": stage.name,
            "folder": stage.folder,
            "key": key,
            "ran": ran,
            "verdict": verdict,
            "wall_s": round(wall, 3),
            "inputs": {k: _describe(v) for k, v in sorted(inputs.items())},
            "code": code_closure(stage.code),
            "tools": versions.tools(stage.tools),
            "outputs": outputs,
        }
        self.records = [r for r in self.records if r["stage"] != stage.name] + [record]
        self.write_manifest()

    def manifest(self) -> dict[str, Any]:
        return {
            "design": self.design.name,
            "spec": str(self.spec.path),
            "spec_sha256": file_sha256(self.spec.path) if self.spec.path.is_file() else None,
            "pdk": self.design.pdk,
            "twinedge": versions.package("twinedge"),
            "python": versions.package("python"),
            "started": self.started,
            "stages": self.records,
        }

    def write_manifest(self) -> Path:
        """Write the manifest. When it cannot be and every stage so far was kept (a
        read-only build, complete), the run wrote nothing and the manifest already on disk
        records the run that made the outputs: note why (:attr:`unwritten`, said once at
        the end) and go on. When a stage ran, its record would be lost: that is an error."""
        path = self.build / MANIFEST
        try:
            write_text(path, json.dumps(self.manifest(), indent=1))
        except OutputError as exc:
            if any(r["ran"] for r in self.records):
                raise
            self.unwritten = exc
        else:
            self.unwritten = None
        return path

    @contextlib.contextmanager
    def step(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        """A progress callback for ``total`` units of work (the CLI draws a bar)."""
        with self.progress(label, total) as tick:
            yield tick
