#!/usr/bin/env bash
# Creates (once) and activates the Python environment for this checkout.
# The virtualenv lives outside the clone, keyed by a hash of pyproject.toml, so a fresh clone with the
# same dependencies reuses it and a dependency change builds a new one from scratch (nothing hidden).
# Source it: `source scripts/env.sh`. Runtime dependencies only (what `amalgam` needs to run); with
# AMALGAM_EXTRAS=dev (scripts/test.sh sets it) the development extras (pytest, ruff, mypy, llama.cpp) too.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python_bin="${PYTHON:-python3}"
"$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Amalgam needs Python >= 3.11 ($python_bin is older)" >&2; exit 1; }
key="$(sha256sum "$repo/pyproject.toml" | cut -c1-16)"
venv="${AMALGAM_VENV_ROOT:-$HOME/.cache/amalgam/venvs}/$key"
if [ ! -x "$venv/bin/amalgam" ] || [ ! -f "$venv/.complete" ]; then
  echo "Building the Python environment in $venv (first run: several minutes, torch is large)" >&2
  rm -rf "$venv"
  "$python_bin" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -e "$repo"
  touch "$venv/.complete"
fi
extras="${AMALGAM_EXTRAS:-}"
if [ -n "$extras" ] && [ ! -f "$venv/.complete-$extras" ]; then
  echo "Adding the '$extras' extras to $venv" >&2
  "$venv/bin/pip" install -q -e "$repo[$extras]"
  touch "$venv/.complete-$extras"
fi
# Point the shared environment's editable install at this checkout (a clone elsewhere may have used it).
"$venv/bin/pip" install -q --no-deps --no-build-isolation -e "$repo" >/dev/null
# shellcheck disable=SC1091
source "$venv/bin/activate"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
