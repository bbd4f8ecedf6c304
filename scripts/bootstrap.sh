#!/usr/bin/env bash
# Create or reuse .venv and install dagrad with the given pip extras; install the Debian
# packages named after "--apt" only where they are missing (so a second run is fast).
# Usage: scripts/bootstrap.sh EXTRAS [--apt PKG:CMD ...]
set -euo pipefail
cd "$(dirname "$0")/.."
extras="$1"; shift || true
missing=()
if [ "${1:-}" = "--apt" ]; then
  shift
  for item in "$@"; do
    pkg="${item%%:*}"; cmd="${item#*:}"
    command -v "$cmd" >/dev/null 2>&1 || [ -e "$cmd" ] || missing+=("$pkg")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "[dagrad] installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "[dagrad] creating .venv" >&2
  "$PY" -m venv .venv
fi
stamp=".venv/.installed-${extras//,/-}-$(cat pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "[dagrad] installing dagrad[$extras] into .venv (first run only)" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
  touch "$stamp"
fi
# the compiled gettext catalogs (dagrad.mo beside each dagrad.po; quick, and current after a pull)
.venv/bin/python -m dagrad.i18n >/dev/null
