"""Nothing PDK-specific outside ``twinedge/pdk/``: everything else reaches the technology
through :class:`twinedge.pdk.Pdk` (``twinedge.pdk.get(design.pdk)``, or ``tech`` / ``rules``
of the active PDK in layout generators).

Each check reads the source only (no tools, no PDK data) and names file:line of every hit:

* a SKY130 device or PDK name (``sky130_fd_pr``, ``nfet_01v8``, ``sky130``) or a GF180 one,
  anywhere in the text, comments and docstrings included;
* an import of a technology module (``twinedge.pdk.sky130``);
* a tuple of two ints that is one of a registered PDK's GDS layers;
* a comment or string carrying a SKY130 design-rule ID (``licon.7``, ``m1.5``): the rule's
  value belongs in the technology's ``Rules``, under a descriptive name.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

import twinedge.pdk as pdks

PACKAGE = Path(pdks.__file__).resolve().parent.parent
PDK_DIR = PACKAGE / "pdk"
DEVICE_NAME = re.compile(r"sky130_fd_pr|[np]fet_0[13]v[38]|\bsky130A?\b|gf180mcu")
RULE_ID = re.compile(
    r"\b(difftap|licon|poly|li|ct|m[1-5]|via[1-4]?|nsd|psd|nwell|npc|hvtp|mcon)\.\d+[a-z]?\b"
)


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if PDK_DIR not in p.parents)


SOURCES = _sources()


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{line}"


def _technology_modules() -> set[str]:
    return set(pdks.REGISTRY.values())


def _layers() -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for name in pdks.names():
        out |= {tuple(v) for v in vars(pdks.get(name).layers).values() if v is not None}
    # (0, 0) is GF180MCU's boundary layer and every origin: too common a literal to tell
    return out - {(0, 0)}


def device_names(path: Path, text: str) -> list[str]:
    return [
        f"{_where(path, k)}: {m.group(0)!r}"
        for k, line in enumerate(text.splitlines(), start=1)
        for m in DEVICE_NAME.finditer(line)
    ]


def technology_imports(path: Path, tree: ast.AST) -> list[str]:
    modules = _technology_modules()
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        hits += [f"{_where(path, node.lineno)}: imports {n}" for n in names if n in modules]
    return hits


def layer_literals(path: Path, tree: ast.AST, layers: set[tuple[int, int]]) -> list[str]:
    hits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Tuple) or len(node.elts) != 2:
            continue
        values = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
        if all(type(v) is int for v in values) and tuple(values) in layers:
            hits.append(f"{_where(path, node.lineno)}: layer {tuple(values)}")
    return hits


def rule_ids(path: Path, text: str) -> list[str]:
    hits = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type not in (tokenize.COMMENT, tokenize.STRING):
            continue
        for k, line in enumerate(tok.string.splitlines()):
            where = _where(path, tok.start[0] + k)
            hits += [f"{where}: {m.group(0)}" for m in RULE_ID.finditer(line)]
    return hits


def _report(hits: list[str], what: str) -> str:
    return f"{len(hits)} {what} outside twinedge/pdk/:\n" + "\n".join(hits)


def test_sources_found() -> None:
    assert len(SOURCES) > 20 and all(PDK_DIR not in p.parents for p in SOURCES)


def test_no_device_or_pdk_names() -> None:
    hits = [h for p in SOURCES for h in device_names(p, p.read_text())]
    assert not hits, _report(hits, "device/PDK names")


def test_no_technology_module_imports() -> None:
    hits = [h for p in SOURCES for h in technology_imports(p, ast.parse(p.read_text()))]
    assert not hits, _report(hits, "imports of a technology module")


def test_no_layer_numbers() -> None:
    layers = _layers()
    assert layers
    hits = [h for p in SOURCES for h in layer_literals(p, ast.parse(p.read_text()), layers)]
    assert not hits, _report(hits, "GDS layer literals")


def test_no_rule_ids() -> None:
    hits = [h for p in SOURCES for h in rule_ids(p, p.read_text())]
    assert not hits, _report(hits, "design-rule IDs (move the value into the PDK's Rules)")


# the checks themselves, on snippets
@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("x = 'sky130_fd_pr__nfet_01v8'\n", 2),
        ("# a pfet_01v8 here\n", 1),
        ("PDK = 'sky130'\n", 1),
        ("'sky130A/libs.tech'\n", 1),
        ("sky130_gnd = 1\n", 0),
        ("'SKY130 measured'\n", 0),
        ("'gf180mcu_fd_pr__nfet_03v3'\n", 2),
    ],
)
def test_device_name_check(text: str, n: int) -> None:
    assert len(device_names(PACKAGE / "x.py", text)) == n


def test_import_check() -> None:
    module = sorted(_technology_modules())[0]
    parent, _, leaf = module.rpartition(".")
    for text in (
        f"import {module}\n",
        f"from {module} import X\n",
        f"from {parent} import {leaf}\n",
    ):
        assert technology_imports(PACKAGE / "x.py", ast.parse(text)), text
    assert not technology_imports(PACKAGE / "x.py", ast.parse(f"from {parent} import get\n"))


def test_layer_check() -> None:
    layers = _layers()
    a, b = sorted(layers)[0]
    assert layer_literals(PACKAGE / "x.py", ast.parse(f"L = ({a}, {b})\n"), layers)
    assert not layer_literals(PACKAGE / "x.py", ast.parse(f"L = ({a}.0, {b})\n"), layers)


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("W = 0.18  # difftap.8 / difftap.10\n", 2),
        ("T = 0.41  # licon.7\n", 1),
        ('"""Bar clear of the diffusions (poly.4)."""\n', 1),
        ("x = 1  # m1.5 and via.4a\n", 2),
        ("x = 1.5  # 1.5 um, li 0.17\n", 0),
        ("f'{x:.2f}'\n", 0),
    ],
)
def test_rule_id_check(text: str, n: int) -> None:
    assert len(rule_ids(PACKAGE / "x.py", text)) == n
