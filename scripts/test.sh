#!/usr/bin/env bash
# The whole test suite (what CI runs).  Extra arguments go to pytest, e.g. scripts/test.sh -k rosenbrock
# dataset-fashion-mnist (Debian's Fashion-MNIST IDX files) lets the tests on the real data run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test --apt graphviz:dot chromium:/usr/bin/chromium gettext:msgfmt \
  texlive-latex-base:pdflatex texlive-latex-recommended:/usr/share/texlive/texmf-dist/tex/latex/booktabs/booktabs.sty \
  texlive-lang-german:/usr/share/texlive/texmf-dist/tex/generic/dehyph/dehypht.tex \
  dataset-fashion-mnist:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
# two workers, one BLAS thread each: no oversubscription of the two cores
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
exec .venv/bin/python -m pytest -n 2 -q "$@"
