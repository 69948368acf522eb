"""``twinedge sweep``: many trainings of one spec with fields varied, on Dask.

Each point is a spec of its own (:mod:`twinedge.spec.sweep`), validated before anything
runs, and trained by :func:`twinedge.learn.sweep.run_point`, a pure function of the point's
spec text. Its result is cached under ``$TWINEDGE_CACHE/sweep/`` by the digest of that text,
the dataset, the code it runs and the tools' versions, so a sweep that is re-run or
extended computes only the new points; an interrupted sweep keeps every finished point and
writes no output folder.

Where it runs: a ``distributed.LocalCluster`` with one single-threaded worker process per
core (the training is single-threaded numpy/numba), or the scheduler at ``--scheduler``
(``dask scheduler`` on one machine, ``dask worker tcp://HOST:8786 --nthreads 1`` on each
machine with twinedge installed). Each point travels as its loaded spec, the dataset
read here included (a CSV task's file need not exist on the workers); results come back to
this process, which writes the cache and the outputs (workers need no shared file system).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from twinedge import versions
from twinedge.artifacts import staged_outputs, write_text
from twinedge.sim.tabulated import cache_dir
from twinedge.spec.errors import SpecError
from twinedge.spec.limits import parse_yaml
from twinedge.spec.loader import LoadedSpec, load_spec_text
from twinedge.spec.sweep import Axis, grid, parse_vary, point_spec
from twinedge.stages.keys import code_digest, digest

POINT_CODE = ("twinedge.learn.sweep",)
POINT_TOOLS = ("ngspice", "numpy", "numba", "scipy")  # PDK device tables come from ngspice


@dataclass(frozen=True)
class Point:
    index: int
    values: dict  # field -> value
    text: str  # the point's spec (YAML)
    key: str  # its cache key
    spec: LoadedSpec  # that spec, loaded here: what a worker trains


def plan_points(spec: LoadedSpec, vary: list[str]) -> tuple[list[Axis], list[Point]]:
    """The axes and every point, each validated as a spec (a :class:`SpecError` names the
    point) and keyed."""
    file = str(spec.path)
    if spec.design.chip is not None:
        raise SpecError(file, "chip", "a sweep trains with the ideal clamp, not a chip's "
                        "error element", allowed="a spec without a chip section")  # fmt: skip
    raw = parse_yaml(spec.path.read_text())
    axes = [parse_vary(v, raw, file) for v in vary]
    code = code_digest(POINT_CODE)
    tools = versions.tools(list(POINT_TOOLS))
    points = []
    for k, values in enumerate(grid(axes, file)):
        text = yaml.safe_dump(point_spec(raw, values), sort_keys=False)
        where = ", ".join(f"{a.field}={a.label(values[a.field])}" for a in axes)
        try:
            loaded = load_spec_text(text, file, spec.path.parent)
        except SpecError as exc:
            raise SpecError(file, f"--vary point {k} ({where}): {exc.path}", exc.message,
                            exc.value, exc.allowed) from None  # fmt: skip
        ds = loaded.dataset
        held = [] if ds.test_inputs is None else [ds.test_inputs.tolist(), ds.test_labels.tolist()]
        key = digest(text, ds.inputs.tolist(), ds.labels.tolist(), held, _models(loaded),
                     code, tools)  # fmt: skip
        points.append(Point(k, values, text, key, loaded))
    return axes, points


def _models(spec: LoadedSpec) -> str | None:
    """The SHA-256 of the device model library a PDK-model point's table is swept from."""
    from twinedge.pdk import get as get_pdk
    from twinedge.spec.schema import PdkModel

    if not isinstance(spec.design.cell.model, PdkModel):
        return None
    pdk = get_pdk(spec.design.pdk)
    lib = pdk.reduced_model_lib(pdk.nfet, spec.design.cell.model.corner)
    return digest(lib)


def _cached(key: str) -> Path:
    return cache_dir() / "sweep" / key[:2] / f"{key}.json"


def _load_cached(key: str) -> dict | None:
    try:
        return json.loads(_cached(key).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _client(scheduler: str | None, workers: int | None):
    """A Dask client: on ``scheduler``'s cluster, or on a LocalCluster (closed with it)."""
    from distributed import Client, LocalCluster

    if scheduler:  # waits distributed.comm.timeouts.connect (Dask's config) for it
        return Client(scheduler), None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           scheduler_kwargs={"dashboard": False}, dashboard_address=":0",
                           silence_logs=logging.CRITICAL)  # fmt: skip
    return Client(cluster), cluster


def run_points(
    spec: LoadedSpec,
    points: list[Point],
    scheduler: str | None,
    workers: int | None,
    tick: Callable[[int], None] = lambda _k: None,
) -> tuple[list[dict], dict]:
    """Every point's result (cached ones read, the rest computed on the cluster), in point
    order, and how they were obtained."""
    from distributed import as_completed

    from twinedge.learn.sweep import run_point, transient_row

    results: dict[int, dict] = {}
    for p in points:
        hit = _load_cached(p.key)
        if hit is not None:
            results[p.index] = hit
    todo = [p for p in points if p.index not in results]
    done = len(results)
    tick(done)
    where = "cache only"
    t0 = time.perf_counter()
    if todo:
        client = cluster = None
        try:
            client, cluster = _client(scheduler, workers)
            info = client.scheduler_info()
            where = f"{scheduler or 'LocalCluster'} ({len(info.get('workers', {}))} workers)"
            futures = {client.submit(run_point, p.spec, key=f"point-{p.key}", pure=True): p
                       for p in todo}  # fmt: skip
            for fut in as_completed(futures):
                p = futures[fut]
                try:
                    row = fut.result()
                except Exception as exc:  # a worker lost or a failure of this machine's
                    row = transient_row(exc)
                if not row.get("transient"):  # results, not accidents, are cached
                    write_text(_cached(p.key), json.dumps(row))  # whole or not at all
                results[p.index] = row
                done += 1
                tick(done)
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
    run = {"computed": len(todo), "cached": len(points) - len(todo), "where": where,
           "wall_s": round(time.perf_counter() - t0, 2)}  # fmt: skip
    return [results[p.index] for p in points], run


def write_sweep(out: Path, spec: LoadedSpec, axes: list[Axis], points: list[Point],
                rows: list[dict], run: dict, command: str) -> dict:  # fmt: skip
    """results.csv, sweep.json, the plots and index.html into ``out`` (all or none)."""
    from twinedge.reports.sweep import summary, write_report

    record = {
        "spec": str(spec.path),
        "design": spec.design.name,
        "command": command,
        "axes": [{"field": a.field, "values": [a.label(v) for v in a.values]} for a in axes],
        "points": len(points),
        "run": run,
        "summary": summary(axes, points, rows),
    }
    with staged_outputs(out) as tmp:
        write_report(tmp, record, axes, points, rows)
        (tmp / "sweep.json").write_text(json.dumps(record, indent=1))
    return record
