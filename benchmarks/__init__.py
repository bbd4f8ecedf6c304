"""Side-by-side benchmarks: dagrad against PyTorch eager, JAX jit, hand NumPy and micrograd.

``python -m benchmarks`` runs every workload and writes docs/benchmarks.json, docs/benchmarks.md
and the README's speed block (``--quick``: fewer rounds; ``--smoke``: tiny sizes, no docs;
``--only NAME``; ``--cpus LIST``; ``--baseline-src DIR``).  Peers come from the ``bench`` extra
(``pip install -e .[bench]``); any that fails to import is skipped.
"""

WORKLOADS = ("mlp", "rosenbrock", "chain", "jacobian", "persample", "fresh", "memory",
             "import", "profile", "compile_profile", "compile_scaling", "training")
