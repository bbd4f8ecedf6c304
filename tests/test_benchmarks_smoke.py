"""The benchmark suite's smoke mode: every workload runs, its numbers are sane and agree."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _smoke(tmp_path: Path, *extra: str) -> dict:
    """Run ``python -m benchmarks --smoke`` in a subprocess; return its JSON results."""
    out = tmp_path / "smoke.json"
    env = dict(os.environ)  # passed through unchanged (OpenBLAS variables included)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--json", str(out),
                           *extra], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def _times(node) -> list[float]:
    """Every per-call time in a result tree."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("median_s", "min_s", "max_s")]
        for v in node.values():
            found += _times(v)
        return found
    return []


def _assert_sane(res: dict) -> None:
    for name, r in res.items():
        if name == "meta":
            continue
        assert "error" not in r, (name, r.get("traceback"))
        assert all(r["checks"].values()), (name, r["checks"])
        ts = _times(r)
        assert all(math.isfinite(t) and t > 0 for t in ts), (name, ts)
        for ratio in r.get("ratios", {}).values():
            assert math.isfinite(ratio) and ratio > 0


def test_smoke_scalar_workloads_without_heavy_peers(tmp_path):
    res = _smoke(tmp_path, "--only", "rosenbrock,chain,import", "--peers", "micrograd")
    _assert_sane(res)
    assert set(res) == {"meta", "rosenbrock", "chain", "import"}
    assert res["rosenbrock"]["gradients"]["dagrad"] == pytest.approx((151.0, -50.0))
    assert res["chain"]["long"]["dh_dw_n"] > 0
    assert res["meta"]["mode"] == "smoke"


@pytest.mark.slow
def test_smoke_every_workload(tmp_path):
    docs = ROOT / "docs" / "benchmarks.md"
    before = docs.stat().st_mtime if docs.exists() else None
    res = _smoke(tmp_path)
    _assert_sane(res)
    assert {"mlp", "rosenbrock", "chain", "jacobian", "persample", "memory", "import",
            "profile"} <= set(res)
    mlp = next(iter(res["mlp"]["batches"].values()))
    assert {"dagrad", "numpy", "gemm roofline"} <= set(mlp["backends"])
    assert res["memory"]["backends"]["dagrad"]["maxrss_mib"] > 0
    after = docs.stat().st_mtime if docs.exists() else None
    assert before == after  # smoke mode leaves docs/benchmarks.md alone
