"""Layout stage: spec -> GDS, a PNG render and an area report in build/<design>/layout/."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from twinedge.artifacts import staged_outputs
from twinedge.cells.array import AreaReport, area_report, compile_array
from twinedge.cells.gds import write_gds
from twinedge.pdk import sky130
from twinedge.spec.schema import Design


class LayoutError(RuntimeError):
    pass


@dataclass
class LayoutResult:
    gds: Path
    png: Path
    area: AreaReport
    seconds: float


def render_png(gds: Path, png: Path, size: int = 1400) -> None:
    """KLayout's own renderer (the ``klayout`` package's LayoutView) with the PDK's layer
    colours, boundary layer hidden."""
    import klayout.lay as lay

    view = lay.LayoutView()
    view.load_layout(str(gds), True)
    view.load_layer_props(str(sky130.layer_properties()))
    view.max_hier()
    it = view.begin_layers()
    while not it.at_end():
        props = it.current()
        if (props.source_layer, props.source_datatype) == sky130.PR_BOUNDARY:
            props.visible = False
            view.set_layer_properties(it, props)
        it.next()
    view.zoom_fit()
    view.save_image(str(png), size, size)


def spec_digest(design: Design) -> str:
    """Hash of everything in the spec (layout depends on a subset; be conservative)."""
    return hashlib.sha256(design.model_dump_json().encode()).hexdigest()


GENERATOR_MODULES = (
    "cells/array.py",
    "cells/twin_edge.py",
    "cells/twin_edge_cl.py",
    "circuits/cl.py",
    "cells/gds.py",
    "circuits/memory.py",
    "circuits/mirror.py",
    "pdk/sky130.py",
)


def layout_digest(design: Design) -> str:
    """The spec and the generator's own source: a layout in build/ made by an older
    generator is not reused (the same spec and code give the same GDS)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(spec_digest(design).encode())
    for module in GENERATOR_MODULES:
        h.update((root / module).read_bytes())
    return h.hexdigest()


def current_layout(design: Design, out_dir: Path) -> LayoutResult | None:
    """The layout already in ``out_dir`` if it was made from this very spec and generator."""
    meta = out_dir / "area.json"
    gds = out_dir / f"{design.name}.gds"
    if not (meta.is_file() and gds.is_file()):
        return None
    data = json.loads(meta.read_text())
    if data.pop("spec_digest", None) != layout_digest(design):
        return None
    data.pop("seconds", None)
    data["bbox_um"] = tuple(data["bbox_um"])
    return LayoutResult(gds=gds, png=out_dir / "layout.png", area=AreaReport(**data), seconds=0.0)


def run_layout(design: Design, out_dir: Path) -> LayoutResult:
    if design.pdk != "sky130":
        raise LayoutError(f"layout for pdk '{design.pdk}' is not implemented yet (sky130 is)")
    t0 = time.perf_counter()
    top = compile_array(design)
    area = area_report(design, top)
    with staged_outputs(out_dir) as tmp:
        gds = write_gds(top, tmp / f"{design.name}.gds")
        render_png(gds, tmp / "layout.png")
        meta = {**area.as_dict(), "spec_digest": layout_digest(design)}
        (tmp / "area.json").write_text(json.dumps(meta, indent=1))
    return LayoutResult(
        gds=out_dir / f"{design.name}.gds",
        png=out_dir / "layout.png",
        area=area,
        seconds=time.perf_counter() - t0,
    )
