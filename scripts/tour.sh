#!/usr/bin/env bash
# The main job: work the whole exercise sheet into a report (dagrad tour).  Extra arguments are
# passed on, e.g. scripts/tour.sh -o my-report --only b
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh all --apt graphviz:dot
exec .venv/bin/dagrad tour "$@"
