"""Regenerate docs/reliability.md: hostile or broken input given to dagrad, and what happened.

    .venv/bin/python scripts/reliability.py [--quick]

It runs, in this process: the random-program fuzzers against PyTorch (float64 and float32), the
expression-parser fuzzers and the list of hostile expressions (also through the ``dagrad``
command), every kind of corrupt IDX / gzip / .npz / checkpoint file, SIGKILLs in the middle of
checkpoint writes, and the resource limits — and writes the table of counts and outcomes.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fuzzers live beside the tests that run them in CI

Row = tuple[str, str, str, str]  # target, what was tried, count, outcome


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    """(result, seconds)."""
    t = time.perf_counter()
    r = fn()
    return r, time.perf_counter() - t


def _run_fuzz(test: Callable) -> tuple[int, float]:
    """Run a hypothesis test as CI does; return (examples asked for, seconds)."""
    _, sec = timed(test)
    return test._hypothesis_internal_use_settings.max_examples, sec


def fuzz_programs() -> list[Row]:
    """Random expression DAGs over every op, compared with PyTorch (values and gradients)."""
    import test_properties as tp

    rows = []
    for test, what in ((tp.test_random_programs_match_torch, "float64 vs PyTorch"),
                       (tp.test_random_programs_float32_match_torch_float32,
                        "float32 vs PyTorch float32"),
                       (tp.test_random_programs_forward_mode_equals_reverse_mode,
                        "forward mode vs reverse mode")):
        n, sec = _run_fuzz(test)
        rows.append(("ops: random programs (every op, broadcasting shapes)", what, f"{n}",
                     f"all agree ({sec:.1f} s)"))
    return rows


def fuzz_parser() -> list[Row]:
    """Arbitrary text, token soup and printable ASCII into the safe expression parser."""
    import test_expression as te

    rows = []
    for test, what in ((te.test_fuzz_arbitrary_text, "arbitrary Unicode text"),
                       (te.test_fuzz_token_soup, "grammar and attack tokens mixed"),
                       (te.test_fuzz_printable_ascii, "printable ASCII")):
        n, sec = _run_fuzz(test)
        rows.append(("expression parser", what, f"{n}",
                     f"parsed or refused with ExpressionError, never another exception "
                     f"({sec:.1f} s)"))
    return rows


def hostile_expressions() -> list[Row]:
    """The hostile list, in process and through the command line."""
    import test_expression as te
    from dagrad.graph.expression import ExpressionError, parse

    srcs = [m[0] if isinstance(m, tuple) else m for m in te.MALICIOUS]
    slowest, refused = 0.0, 0
    for src in srcs:
        t = time.perf_counter()
        try:
            parse(src)
        except ExpressionError:
            refused += 1
        slowest = max(slowest, time.perf_counter() - t)
    deep = "(" * 10_000 + "x" + ")" * 10_000
    cli = ["9**9**9", deep, "__import__('os').system('true')", "().__class__", "x.real",
           "lambda: 1", "open('x')", "x[0]", "10**10**10", "x" + "+x" * 600]
    exit2, cli_slowest = 0, 0.0
    dagrad = str(Path(sys.executable).with_name("dagrad"))
    for src in cli:
        t = time.perf_counter()
        r = subprocess.run([dagrad, "graph", src, "--at", "x=1"], capture_output=True,
                           text=True, timeout=60)
        cli_slowest = max(cli_slowest, time.perf_counter() - t)
        exit2 += r.returncode == 2 and "Traceback" not in r.stderr
    return [("expression parser", "hostile or malformed expressions (dunders, attributes, "
             "calls, 9**9**9, 10,000-deep nesting, …)", f"{len(srcs)}",
             f"{refused} refused with a message; slowest {1000 * slowest:.1f} ms"),
            ("dagrad graph (CLI)", "hostile expressions as a subprocess", f"{len(cli)}",
             f"{exit2} exit with status 2, one line, no traceback; slowest {cli_slowest:.2f} s "
             "(mostly interpreter start)")]


def corrupt_files(tmp: Path) -> list[Row]:
    """Every kind of broken data file: each must be refused with the file's name."""
    from dagrad.atomic import load_npz, save_npz
    from dagrad.data import read_idx, write_idx
    from dagrad.training.checkpoint import load_checkpoint, save_checkpoint

    good = tmp / "good-idx3-ubyte"
    write_idx(good, np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4))
    raw = good.read_bytes()
    cases: list[tuple[str, str, bytes, Callable]] = [
        ("IDX", "wrong magic", b"\x01\x02" + raw[2:], read_idx),
        ("IDX", "unknown type code", raw[:2] + b"\x07" + raw[3:], read_idx),
        ("IDX", "truncated data", raw[:-5], read_idx),
        ("IDX", "trailing bytes", raw + b"xx", read_idx),
        ("IDX", "header cut short", raw[:6], read_idx),
        ("IDX", "empty file", b"", read_idx),
        ("IDX .gz", "corrupt gzip stream", gzip.compress(raw)[:-12] + b"garbage!", read_idx),
        ("IDX .gz", "not gzip at all", b"plain text", read_idx),
    ]
    save_npz(tmp / "ok.npz", w=np.ones((3, 3)))
    npz = (tmp / "ok.npz").read_bytes()
    cases += [
        (".npz", "truncated archive", npz[: len(npz) // 2], load_npz),
        (".npz", "not a zip file", b"hello world", load_npz),
        (".npz", "bit flips in the data", npz[:60] + bytes(b ^ 0xFF for b in npz[60:90])
         + npz[90:], load_npz),
        (".npz", "empty file", b"", load_npz),
    ]
    np.savez(tmp / "pickled.npz", obj=np.array([{"a": 1}], dtype=object))
    cases.append((".npz", "object array (would need pickle)", (tmp / "pickled.npz").read_bytes(),
                  load_npz))
    save_checkpoint(tmp / "ck.npz", {"w": np.ones(3)}, config={"epochs": 1})
    ck = dict(np.load(tmp / "ck.npz", allow_pickle=False))
    ck_wrong = {k: v for k, v in ck.items() if k != "format"}
    np.savez(tmp / "ck-wrong.npz", **ck_wrong)
    cases.append(("checkpoint", "not a dagrad checkpoint (format key missing)",
                  (tmp / "ck-wrong.npz").read_bytes(), load_checkpoint))
    rows = []
    for kind, what, data, loader in cases:
        suffix = ".gz" if kind == "IDX .gz" else (".npz" if kind in (".npz", "checkpoint")
                                                  else "")
        path = tmp / f"broken-{abs(hash(what)) % 10_000}{suffix}"
        path.write_bytes(data)
        try:
            loader(path)
            outcome = "LOADED (not refused)"
        except ValueError as e:
            outcome = "ValueError naming the file" if str(path) in str(e) else \
                f"ValueError without the file name: {e}"
        except Exception as e:  # noqa: BLE001 - the table reports whatever happened
            outcome = f"{type(e).__name__}: {e}"
        rows.append((f"files: {kind}", what, "1", outcome))
    return rows


def model_checkpoint_mismatch() -> list[Row]:
    """A state dict that does not fit the model."""
    import dagrad as dg

    m = dg.nn.MLP([4, 3, 2], seed=0)
    bad = {k: v for k, v in m.state_dict().items()}
    bad["0.weight"] = np.zeros((5, 4), np.float32)
    bad["extra"] = np.zeros(1)
    bad.pop("2.bias")
    try:
        m.load_state_dict(bad)
        outcome = "LOADED (not refused)"
    except ValueError as e:
        msg = str(e)
        outcome = ("ValueError naming the missing, unexpected and mismatched keys"
                   if all(k in msg for k in ("2.bias", "extra", "0.weight")) else msg)
    return [("files: model state", "wrong shape + unexpected key + missing key", "1", outcome)]


def crash_during_write(n: int) -> list[Row]:
    """SIGKILL a checkpoint writer at staggered moments; the file on disk must always load."""
    import test_crash_safety as tc

    with tempfile.TemporaryDirectory() as d:
        delays = [0.004 * k for k in range(n)]
        path = os.path.join(d, "ckpt.npz")
        steps = tc.kill_during_writes(path, delays)
        leftovers = sum(p.endswith(".tmp") for p in os.listdir(d))
        from dagrad.atomic import save_npz

        save_npz(path, step=np.array(0))
        swept = leftovers - sum(p.endswith(".tmp") for p in os.listdir(d))
    return [("checkpoint writes", "SIGKILL during a 12 MB atomic write, staggered times",
             f"{n}", f"{len(steps)} of {n} left a complete, loadable checkpoint (never a torn "
             f"one); the {leftovers} temp files of killed writers were swept by the next "
             f"write ({swept} removed)")]


def resource_limits() -> list[Row]:
    """Huge graphs and dense Jacobians are refused before any work."""
    import dagrad as dg

    x = dg.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    g = dg.graph(y)
    t = time.perf_counter()
    try:
        g.to_dot()
        out = "DRAWN (not refused)"
    except ValueError:
        out = "refused with the node count and how to raise the limit"
    rows = [("drawing", "a 5,001-node graph", "1",
             f"{out} in {1000 * (time.perf_counter() - t):.0f} ms")]
    t = time.perf_counter()
    try:
        dg.jacobian(lambda v: v * 2)(np.ones(20_000))
        out = "BUILT"
    except dg.MemoryLimitError:
        out = "refused, saying it needs 1.5 GiB (limit 1 GiB)"
    rows.append(("dense Jacobian", "20,000 × 20,000 float32 (1.5 GiB)", "1",
                 f"{out} in {1000 * (time.perf_counter() - t):.1f} ms"))
    return rows


def anomaly() -> list[Row]:
    """NaN and inf in forward and backward are stopped at their op."""
    import dagrad as dg
    from dagrad.anomaly import AnomalyError

    cases = [("log of a negative number (forward NaN)", lambda x: dg.log(x - 5).sum()),
             ("sqrt at 0 (backward inf)", lambda x: dg.sqrt(x * 0).sum()),
             ("0/0 (forward NaN)", lambda x: (x * 0 / (x * 0)).sum())]
    caught = 0
    for _, f in cases:
        x = dg.tensor([1.0, 2.0], requires_grad=True)
        try:
            with dg.detect_anomaly():
                f(x).backward()
        except AnomalyError as e:
            caught += "reliability.py" in str(e)
    return [("detect_anomaly", "; ".join(c[0] for c in cases), f"{len(cases)}",
             f"{caught} stopped at the op, naming this script's line")]


def main() -> int:
    """Run everything and write docs/reliability.md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer fuzz cases (a smoke run)")
    ap.add_argument("-o", "--out", default=str(ROOT / "docs" / "reliability.md"))
    args = ap.parse_args()
    # the fuzz tests read their example counts through tests/conftest.py::fuzz_examples
    os.environ["DAGRAD_FUZZ_SCALE"] = "0.2" if args.quick else "10"
    n_kill = 5 if args.quick else 40
    rows: list[Row] = []
    rows += fuzz_programs()
    rows += fuzz_parser()
    rows += hostile_expressions()
    with tempfile.TemporaryDirectory() as d:
        rows += corrupt_files(Path(d))
    rows += model_checkpoint_mismatch()
    rows += crash_during_write(n_kill)
    rows += resource_limits()
    rows += anomaly()
    lines = ["# Reliability: hostile and broken input", "",
             f"Regenerated by `scripts/reliability.py{' --quick' if args.quick else ''}` on "
             f"{date.today().isoformat()} ({platform.python_implementation()} "
             f"{platform.python_version()}, NumPy {np.__version__}). Every row is a run of the "
             "project's own code; the same checks run in CI at smaller counts.", "",
             "| target | what was tried | cases | outcome |", "|---|---|---|---|"]
    lines += [f"| {t} | {w} | {c} | {o} |" for t, w, c, o in rows]
    text = "\n".join(lines) + "\n"
    from dagrad.atomic import atomic_write

    with atomic_write(args.out, "w") as f:
        f.write(text)
    print(text)
    bad = [r for r in rows if any(w in r[3] for w in ("LOADED", "DRAWN", "BUILT", "Error:"))]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
