"""Side-by-side benchmarks: dagrad against PyTorch eager, JAX jit, hand NumPy and micrograd.

Run ``python -m benchmarks [--quick] [--smoke] [--only NAME] [--json PATH]``; peers come from
the ``bench`` extra (``pip install -e .[bench]``) and any that fail to import are skipped.
"""

WORKLOADS = ("mlp", "rosenbrock", "chain", "jacobian", "persample", "memory", "import",
             "profile")
