"""Regenerate docs/reliability.md: hostile or broken input given to dagrad, and what happened.

    .venv/bin/python scripts/reliability.py [--quick] [-o PATH]

It runs the random-program fuzzers against PyTorch, the expression-parser fuzzers and the
hostile expressions (also through the ``dagrad`` command), corrupt and hostile IDX / gzip /
.npz / checkpoint files, SIGKILLs in the middle of checkpoint writes, the resource limits
and PyTorch habits that must raise — and writes what it observed. Every figure in the report
is a value this run measured or counted (examples Hypothesis actually executed, nodes in the
graph it built, sizes and dtypes of the arrays it made, peak RSS of child processes), and
every quoted message is the text the exception carried, verbatim, with the run's temporary
folder shown as $TMP. The only literals in the report are the inputs themselves (the
constants listed in ``INPUT_CONSTANTS``). Exit status 1 when any row is not the expected
refusal or agreement.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fuzzers and file builders live beside the tests

#: Module constants holding inputs shown verbatim as "what was tried" (a test checks that no
#: other string literal in this script carries a figure).
INPUT_CONSTANTS = ("CLI_HOSTILE", "CLI_AT", "SYMBOLIC", "ANOMALY_CASES", "CHILD_MEASURE",
                   "CLI_WRAPPER", "SETTINGS", "JACOBIAN_F", "FAKE_PASSWD")

CLI_HOSTILE = ["9**9**9", "__import__('os').system('true')", "().__class__", "x.real",
               "lambda: 1", "open('x')", "x[0]", "10**10**10"]
#: Expressions whose symbolic simplification is expensive (the issue's two examples).
SYMBOLIC = {
    "(a+b+c+d+f+g+h)**64": "a=1,b=1,c=1,d=1,f=1,g=1,h=1",
    "*".join(f"tanh(x+{k})" for k in range(1, 41)): "x=0.5",
}
ANOMALY_CASES = [("log of a negative number (forward NaN)", "log", -5.0),
                 ("sqrt at 0 (backward inf)", "sqrt", 0.0),
                 ("0/0 (forward NaN)", "div", 0.0)]
#: A child process's script: the measured code goes between head and tail, indented; it
#: prints its peak RSS (VmHWM, KiB) before and after the code and what the code raised, as
#: JSON. VmHWM belongs to the process image, so it starts afresh at exec; ru_maxrss would
#: also carry the high-water mark of the (large) parent that forked it.
CHILD_MEASURE = ("""
import json, re
import numpy as np
import dagrad as dg
def hwm():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\\s*(\\d+)", f.read()).group(1))
before = hwm()
out = {"error": None, "message": None, "result": None}
try:
    result = None
""", """
    out["result"] = result
except Exception as exc:
    out["error"], out["message"] = type(exc).__name__, str(exc)
out["before_kib"], out["peak_kib"] = before, hwm()
print(json.dumps(out))
""")
#: Runs the ``dagrad`` command's entry point (as the console script does) and writes its
#: peak RSS (VmHWM, KiB) to the file named by $RELIABILITY_HWM when it ends.
CLI_WRAPPER = """
import os, re, sys
from dagrad.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as exc:
    status = exc.code
finally:
    with open("/proc/self/status") as f:
        peak = re.search(r"VmHWM:\\s*(\\d+)", f.read()).group(1)
    with open(os.environ["RELIABILITY_HWM"], "w") as f:
        f.write(peak)
sys.exit(status)
"""
CLI_AT = "x=1"
USAGE_STATUS = 2  # the exit status of `dagrad` for input a user can fix (dagrad.cli)
#: The function whose dense Jacobian the limit rows ask for.
JACOBIAN_F = "lambda t: t * 2"
FAKE_PASSWD = "root:x:0:0:root:/root:/bin/sh\n"
#: Environment given to the run: Hypothesis example scale (tests/conftest.py::fuzz_examples),
#: BLAS threads of the child processes.
SETTINGS = {"fuzz_scale_quick": "0.2", "fuzz_scale_full": "10", "child_blas_threads": "1"}


@dataclass
class Row:
    """One line of the report: what was tried, how many cases, what happened, as expected?"""

    target: str
    tried: str
    cases: int
    outcome: str
    ok: bool = True


class Quoter:
    """Quotes exception texts for a Markdown table: verbatim, temp folder shown as $TMP."""

    def __init__(self, tmp: str | None = None) -> None:
        self.tmp = tmp

    def __call__(self, text: str) -> str:
        if self.tmp:
            text = text.replace(os.path.realpath(self.tmp), "$TMP").replace(self.tmp, "$TMP")
        text = text.replace(f"{ROOT}{os.sep}", "")
        text = text.replace("|", "\\|").replace("\n", " ⏎ ")
        return f"“{text}”"

    def error(self, exc: BaseException) -> str:
        """``Type: “message”``."""
        return f"{type(exc).__name__}: {self(str(exc))}"


def mib(kib: float | None) -> str:
    """KiB (VmHWM) in MiB or GiB; None: not measured."""
    from dagrad.sizes import format_bytes

    return "unmeasured" if kib is None else format_bytes(kib * 1024)


def vm_hwm_kib(pid: int) -> int | None:
    """A live process's peak RSS so far (VmHWM, KiB), or None where /proc cannot say."""
    try:
        with open(f"/proc/{pid}/status") as f:
            found = re.search(r"VmHWM:\s*(\d+)", f.read())
    except OSError:
        return None
    return int(found.group(1)) if found else None


def timed(fn: Callable[[], Any]) -> tuple[Any, BaseException | None, float]:
    """(result, exception or None, seconds) of calling ``fn``."""
    t = time.perf_counter()
    try:
        return fn(), None, time.perf_counter() - t
    except Exception as exc:  # noqa: BLE001 - the report says whatever happened
        return None, exc, time.perf_counter() - t


# ----------------------------------------------------------------------------- children
@dataclass
class Child:
    """A finished child process: exit status, seconds, peak RSS (VmHWM), its output."""

    status: int | None  # None: killed at the timeout
    seconds: float
    peak_kib: int | None  # None: not measured
    stdout: str
    stderr: str


def run_child(argv: list[str], timeout: float, env: dict[str, str] | None = None,
              peak_file: str | None = None) -> Child:
    """Run ``argv``, killing it at ``timeout`` seconds (its VmHWM read just before).

    Its peak RSS is what it wrote to ``peak_file``, else the VmHWM read before killing it.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True,
                                env={**os.environ, **(env or {})})
        sampled: list[int | None] = []

        def kill() -> None:
            sampled.append(vm_hwm_kib(proc.pid))
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        seconds = time.perf_counter() - t
        peak = sampled[0] if sampled else None
        if peak_file and os.path.exists(peak_file) and os.path.getsize(peak_file):
            with open(peak_file) as f:
                peak = int(f.read())
        out.seek(0)
        err.seek(0)
        return Child(None if sampled else proc.returncode, seconds, peak, out.read(),
                     err.read())


def run_cli(args: list[str], timeout: float) -> Child:
    """``dagrad ARGS`` through its entry point, with its peak RSS."""
    with tempfile.TemporaryDirectory() as d:
        peak = os.path.join(d, "hwm")
        return run_child([sys.executable, "-c", CLI_WRAPPER, *args], timeout,
                         env={"RELIABILITY_HWM": peak}, peak_file=peak)


def measure(code: str, timeout: float = 300) -> tuple[dict[str, Any], Child]:
    """Run ``code`` in a fresh interpreter (np, dg imported); its JSON report and the Child."""
    head, tail = CHILD_MEASURE
    body = "".join(f"    {line}\n" for line in code.splitlines())
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "measure.py"
        script.write_text(head + body + tail)
        child = run_child([sys.executable, str(script)], timeout, env={
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS",
                                                   SETTINGS["child_blas_threads"])})
    lines = child.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1]), child
    except (IndexError, json.JSONDecodeError):
        report = {"error": "child failed", "message": child.stderr.strip()[-500:] or
                  f"exit status {child.status}", "before_kib": None, "peak_kib": child.peak_kib,
                  "result": None}
        return report, child


# ------------------------------------------------------------------------------- fuzzers
@contextmanager
def counting(test: Any) -> Iterator[dict[str, int]]:
    """Count the examples Hypothesis runs through ``test`` (its inner test function)."""
    from hypothesis.errors import UnsatisfiedAssumption

    counts = {"executed": 0, "rejected": 0}
    inner = test.hypothesis.inner_test

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            out = inner(*args, **kwargs)
        except UnsatisfiedAssumption:
            counts["rejected"] += 1
            raise
        counts["executed"] += 1
        return out

    test.hypothesis.inner_test = wrapped
    try:
        yield counts
    finally:
        test.hypothesis.inner_test = inner


def run_fuzz(test: Any) -> tuple[int, BaseException | None, float]:
    """Run a Hypothesis test as CI does: (examples it executed, its failure or None, seconds)."""
    with counting(test) as counts:
        _, exc, seconds = timed(test)
    return counts["executed"], exc, seconds


def fuzz_rows(quote: Quoter) -> list[Row]:
    """Random programs against PyTorch; arbitrary text into the expression parser."""
    import test_expression as te
    import test_properties as tp

    suites = [(tp.test_random_programs_match_torch, "ops: random programs (every op, "
               "broadcasting shapes)", "float64 vs PyTorch", "all agree"),
              (tp.test_random_programs_float32_match_torch_float32, None,
               "float32 vs PyTorch float32", "all agree"),
              (tp.test_random_programs_forward_mode_equals_reverse_mode, None,
               "forward mode vs reverse mode", "all agree"),
              (te.test_fuzz_arbitrary_text, "expression parser", "arbitrary Unicode text",
               "parsed or refused with ExpressionError, never another exception"),
              (te.test_fuzz_token_soup, None, "grammar and attack tokens mixed", None),
              (te.test_fuzz_printable_ascii, None, "printable ASCII", None)]
    rows, target, verdict = [], "", ""
    for test, new_target, tried, new_verdict in suites:
        target, verdict = new_target or target, new_verdict or verdict
        asked = test._hypothesis_internal_use_settings.max_examples
        executed, exc, seconds = run_fuzz(test)
        outcome = (f"{verdict} ({seconds:.1f} s; Hypothesis was asked for up to {asked:,})"
                   if exc is None else f"FAILED: {quote.error(exc)}")
        rows.append(Row(target, tried, executed, outcome, exc is None))
    return rows


# -------------------------------------------------------------------- hostile expressions
def nesting_depth(src: str) -> int:
    """Deepest run of opening brackets in ``src``."""
    return max((len(m) for m in re.findall(r"[(\[]+", src)), default=0)


def dagrad_command() -> str:
    """The ``dagrad`` console script of this interpreter's environment."""
    return str(Path(sys.executable).with_name("dagrad"))


def hostile_expression_rows(quote: Quoter) -> list[Row]:
    """The test suite's hostile list in process; a sample of it through the command line."""
    import test_expression as te
    from dagrad.expression import ExpressionError, parse

    srcs = [m[0] if isinstance(m, tuple) else m for m in te.MALICIOUS]
    slowest, refused, other = 0.0, 0, []
    for src in srcs:
        _, exc, seconds = timed(lambda src=src: parse(src))
        slowest = max(slowest, seconds)
        if isinstance(exc, ExpressionError):
            refused += 1
        else:
            other.append(src)
    deepest = max(srcs, key=nesting_depth)
    longest = max(srcs, key=len)
    tried = (f"tests/test_expression.py MALICIOUS: dunders, attributes, calls, "
             f"{', '.join(s for s in srcs if '**' in s and len(s) < 12)}, nesting "
             f"{nesting_depth(deepest):,} deep, up to {len(longest):,} characters")
    outcome = f"{refused} refused with ExpressionError; slowest {1000 * slowest:.1f} ms"
    if other:
        outcome += f"; NOT refused: {', '.join(quote(s[:40]) for s in other)}"
    rows = [Row("expression parser", tried, len(srcs), outcome, not other)]

    flat = max((s for s in srcs if nesting_depth(s) <= 1), key=len)
    cli = [*CLI_HOSTILE, deepest, flat]
    statuses: Counter[int | None] = Counter()
    one_line, slowest, odd = 0, 0.0, []
    for src in cli:
        child = run_child([dagrad_command(), "graph", src, "--at", CLI_AT], 60)
        slowest = max(slowest, child.seconds)
        lines = [ln for ln in child.stderr.splitlines() if ln.strip()]
        statuses[child.status] += 1
        one_line += len(lines) == 1 and "Traceback" not in child.stderr
        if child.status != USAGE_STATUS or len(lines) != 1:
            odd.append(f"{quote(src[:30])} → exit {child.status}"
                       + (f", {quote(lines[-1])}" if lines and child.status != 0 else ""))
    start = run_child([dagrad_command(), "--version"], 60)
    shown = ", ".join(quote(s) if len(s) < 40 else f"{quote(s[:12] + '…')} ({len(s):,} characters)"
                      for s in cli)
    exits = ", ".join(f"{n} exit with status {st}" for st, n in sorted(statuses.items(), key=str))
    outcome = (f"{exits}; {one_line} print exactly one line, no traceback; slowest "
               f"{child_seconds(slowest)} (`dagrad --version` alone: "
               f"{child_seconds(start.seconds)})")
    if odd:
        outcome += "; other: " + "; ".join(odd)
    rows.append(Row("dagrad graph (CLI)", f"as a subprocess: {shown}", len(cli), outcome,
                    statuses[USAGE_STATUS] == one_line == len(cli)))
    return rows


def child_seconds(seconds: float) -> str:
    """Seconds with two decimals."""
    return f"{seconds:.2f} s"


def symbolic_rows(quote: Quoter, timeout: float) -> list[Row]:
    """Expressions whose simplification is expensive, through `dagrad graph`: bounded?"""
    rows = []
    for src, at in SYMBOLIC.items():
        with tempfile.TemporaryDirectory() as d:
            child = run_cli(["graph", src, "--at", at, "-o", os.path.join(d, "g.dot")], timeout)
        notes = re.compile(r"simplif|too (large|slow|long)|limit|refus|error", re.I)
        said = [ln.strip() for ln in child.stderr.splitlines() + child.stdout.splitlines()
                if notes.search(ln) and not ln.startswith(" ")]
        if child.status is None:
            outcome = (f"killed at the {timeout:.0f} s timeout; peak RSS "
                       f"{mib(child.peak_kib)}")
        else:
            outcome = (f"exit status {child.status} after {child.seconds:.1f} s, peak RSS "
                       f"{mib(child.peak_kib)}")
            if said:
                outcome += f"; it says {quote(said[0])}"
        ok = child.status in (0, 2)
        rows.append(Row("dagrad graph (CLI): symbolic work", f"`{quote(src)[1:-1]}` "
                        f"({len(src)} characters)", 1, outcome, ok))
    return rows


# ----------------------------------------------------------------------- corrupt files
def corrupt_file_rows(tmp: Path, quote: Quoter) -> list[Row]:
    """Every kind of broken data file: each must be refused with the file's name."""
    import gzip

    from dagrad.atomic import load_npz, save_npz
    from dagrad.data import read_idx, write_idx
    from dagrad.training.checkpoint import load_checkpoint, save_checkpoint

    good = tmp / "good-idx3-ubyte"
    write_idx(good, np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4))
    raw = good.read_bytes()
    cut = len(raw) // 3
    cases: list[tuple[str, str, bytes, Callable]] = [
        ("IDX", "wrong magic", b"\x01\x02" + raw[2:], read_idx),
        ("IDX", "unknown type code", raw[:2] + b"\x07" + raw[3:], read_idx),
        ("IDX", "truncated data", raw[:-cut], read_idx),
        ("IDX", "trailing bytes", raw + raw[:cut], read_idx),
        ("IDX", "header cut short", raw[:cut // 2 + 4], read_idx),
        ("IDX", "empty file", b"", read_idx),
        ("IDX .gz", "corrupt gzip stream", gzip.compress(raw)[:-cut] + b"garbage!", read_idx),
        ("IDX .gz", "not gzip at all", b"plain text", read_idx),
    ]
    save_npz(tmp / "ok.npz", w=np.ones((3, 3)))
    npz = (tmp / "ok.npz").read_bytes()
    half = len(npz) // 2
    cases += [
        (".npz", "truncated archive", npz[:half], load_npz),
        (".npz", "not a zip file", b"hello world", load_npz),
        (".npz", "bit flips in the data", npz[:half // 2] + bytes(b ^ 0xFF for b in
                                                                 npz[half // 2:half])
         + npz[half:], load_npz),
        (".npz", "empty file", b"", load_npz),
    ]
    np.savez(tmp / "pickled.npz", obj=np.array([{"a": 1}], dtype=object))
    cases.append((".npz", "object array (would need pickle)", (tmp / "pickled.npz").read_bytes(),
                  load_npz))
    save_checkpoint(tmp / "ck.npz", {"w": np.ones(3)}, config={"epochs": 1})
    ck = dict(np.load(tmp / "ck.npz", allow_pickle=False))
    np.savez(tmp / "ck-wrong.npz", **{k: v for k, v in ck.items() if k != "format"})
    cases.append(("checkpoint", "not a dagrad checkpoint (format key missing)",
                  (tmp / "ck-wrong.npz").read_bytes(), load_checkpoint))
    rows = []
    for i, (kind, what, data, loader) in enumerate(cases):
        suffix = {"IDX .gz": ".gz", ".npz": ".npz", "checkpoint": ".npz"}.get(kind, "")
        path = tmp / f"broken-{i}{suffix}"
        path.write_bytes(data)
        _, exc, _ = timed(lambda loader=loader, path=path: loader(path))
        named = isinstance(exc, ValueError) and str(exc).startswith(f"{path}: ")
        outcome = "LOADED (not refused)" if exc is None else quote.error(exc)
        rows.append(Row(f"files: {kind}", what, 1, outcome, named))
    return rows


def model_state_row(quote: Quoter) -> Row:
    """A state dict that does not fit the model."""
    import dagrad as dg

    m = dg.nn.MLP([4, 3, 2], seed=0)
    bad = dict(m.state_dict())
    first, last = list(bad)[0], list(bad)[-1]
    rows, cols = np.shape(bad[first])
    bad[first] = np.zeros((rows + rows, cols), np.float32)
    bad["extra"] = np.zeros(1)
    bad.pop(last)
    _, exc, _ = timed(lambda: m.load_state_dict(bad))
    ok = isinstance(exc, ValueError) and all(k in str(exc) for k in (last, "extra", first))
    return Row("files: model state", f"{first} of the wrong shape, unexpected key 'extra', "
               f"missing {last}", 1,
               "LOADED (not refused)" if exc is None else quote.error(exc), ok)


# ----------------------------------------------------------------------- hostile files
def hostile_file_rows(tmp: Path, quote: Quoter, quick: bool) -> list[Row]:
    """Files that declare far more than they hold or than was asked for: peak RSS in a child."""
    import test_hostile_files as hf

    big = (2**26 if quick else 3 * 2**29)  # bytes the hostile members and streams declare
    images, labels, declared = big // 784, 10, 10
    extra = hf.checkpoint_with_extra_member(tmp / "extra.npz", big)
    hidden_n = big // (784 * 4)
    hidden = hf.checkpoint_with_hidden(tmp / "hidden.npz", [hidden_n])
    with np.load(hidden, allow_pickle=False) as stored_arrays:
        first = next(k for k in stored_arrays.files if k.startswith("model."))
        stored = f"{first} {stored_arrays[first].shape}"
    plain = hf.zip_of_non_npy(tmp / "plain.zip")
    claim = tmp / "claim"
    image_file, label_file = hf.idx_split(claim, images, labels, image_bytes=images * 784)
    alone = hf.gzip_stream(tmp / "alone-idx3-ubyte.gz",
                           hf.idx_header(0x08, (2_000_000, 28, 28)), 2**20)
    stream = hf.gzip_stream(tmp / "t-idx3-ubyte.gz", hf.idx_header(0x08, (declared, 28, 28)),
                            declared * 784 + big)
    passwd = Path("/etc/passwd") if Path("/etc/passwd").is_file() else tmp / "passwd"
    if not passwd.exists():
        passwd.write_text(FAKE_PASSWD)
    load = "from dagrad.training.checkpoint import load_checkpoint\n"
    cases = [
        ("checkpoint", f"a real checkpoint plus a member of {big:,} zero bytes, deflated "
         f"(file: {size(extra)})", load + f"load_checkpoint({str(extra)!r})"),
        ("checkpoint", f"config says hidden=[{hidden_n}], the file holds {stored} "
         "(`dagrad evaluate` rebuilds the model from the config)",
         load + "from dagrad.training.run import model_from_checkpoint\n"
         f"model_from_checkpoint(load_checkpoint({str(hidden)!r}))"),
        ("checkpoint", "a zip of non-.npy members", load + f"load_checkpoint({str(plain)!r})"),
        ("IDX .gz", f"images declare {shape_text(image_file)} (file: {size(image_file)}), "
         f"labels declare {shape_text(label_file)}",
         f"dg.data.load_mnist('train', root={str(claim)!r})"),
        ("IDX .gz", f"a header declaring {shape_text(alone)} over {2**20:,} bytes (file: "
         f"{size(alone)}), read_idx", f"dg.data.read_idx({str(alone)!r})"),
        ("IDX .gz", f"{shape_text(stream)} declared, then {big:,} more bytes (file: "
         f"{size(stream)})", f"dg.data.read_idx({str(stream)!r})"),
        ("dataset root", f"load_fashion_mnist(root={str(passwd)!r})",
         f"dg.data.load_fashion_mnist('train', root={str(passwd)!r})"),
    ]
    rows = []
    for kind, tried, code in cases:
        report, child = measure(code)
        rss = (f"peak RSS {mib(report['peak_kib'])}, {mib(report['before_kib'])} of it before "
               f"the call ({child.seconds:.1f} s in all)")
        if report["error"] is None:
            outcome, ok = f"NOT refused; {rss}", False
        else:
            outcome = f"{report['error']}: {quote(report['message'])}; {rss}"
            ok = report["error"] in ("ValueError", "FileNotFoundError")
        rows.append(Row(f"files: {kind}", tried, 1, outcome, ok))
    return rows


def size(path: Path) -> str:
    """A file's size in words."""
    from dagrad.sizes import format_bytes

    return format_bytes(path.stat().st_size)


def shape_text(path: Path) -> str:
    """The shape an IDX file's header declares: 2,054,110 × 28 × 28."""
    from dagrad.data import read_idx_header

    return " × ".join(f"{n:,}" for n in read_idx_header(path).shape)


# ------------------------------------------------------------------------ crash safety
def crash_row(n: int) -> Row:
    """SIGKILL a checkpoint writer at staggered moments; the file on disk must always load."""
    import test_crash_safety as tc
    from dagrad.atomic import save_npz

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ckpt.npz")
        steps = tc.kill_during_writes(path, [0.004 * k for k in range(n)])
        written = os.path.getsize(path)
        leftovers = sum(p.endswith(".tmp") for p in os.listdir(d))
        save_npz(path, step=np.array(0))
        swept = leftovers - sum(p.endswith(".tmp") for p in os.listdir(d))
    return Row("checkpoint writes", f"SIGKILL during an atomic write of a {mib(written / 1024)} "
               ".npz, at staggered times", n,
               f"{len(steps)} of {n} left a complete, loadable file (never a torn one); "
               f"{leftovers} temp files of killed writers were left, the next write removed "
               f"{swept}", len(steps) == n and swept == leftovers)


# ---------------------------------------------------------------------- resource limits
def chain(n: int) -> Any:
    """y = x · c · c … (n multiplications by a constant): a deep, thin graph."""
    import dagrad as dg

    x = dg.tensor(0.5, requires_grad=True, name="x")
    y = x
    for _ in range(n):
        y = y * 1.0001
    return y


def drawing_row(quote: Quoter, n_ops: int) -> Row:
    """Drawing a graph above the node limit is refused, saying how to raise it."""
    import dagrad as dg

    g = dg.graph(chain(n_ops))
    _, exc, seconds = timed(g.to_dot)
    outcome = ("DRAWN (not refused)" if exc is None else
               f"{quote.error(exc)} ({1000 * seconds:.0f} ms)")
    return Row("drawing", f"to_dot of a chain of {n_ops:,} multiplications "
               f"({len(g.nodes):,} nodes)", 1, outcome, exc is not None)


def deep_graph_row(quote: Quoter, n_ops: int) -> Row:
    """dg.graph of a very deep chain, then drawing it: how long each takes, what it says."""
    import dagrad as dg

    y = chain(n_ops)
    g, exc, build = timed(lambda: dg.graph(y))
    if exc is not None:
        return Row("deep graphs", f"dg.graph of a chain of {n_ops:,} multiplications", 1,
                   f"{quote.error(exc)} after {build:.2f} s", isinstance(exc, ValueError))
    _, exc, draw = timed(g.to_dot)
    outcome = (f"dg.graph took {build:.2f} s for {len(g.nodes):,} nodes; to_dot: "
               + ("DRAWN" if exc is None else f"{quote.error(exc)} after {draw:.2f} s"))
    return Row("deep graphs", f"dg.graph, then to_dot, of a chain of {n_ops:,} "
               "multiplications", 1, outcome, exc is not None)


def gradient_formula_row(quote: Quoter, depth: int) -> Row:
    """The symbolic chain rule of a deep tanh chain: a formula or a clear refusal."""
    import dagrad as dg

    x = dg.tensor(0.5, requires_grad=True, name="x")
    y = x
    for _ in range(depth):
        y = dg.tanh(y)
    g = dg.graph(y)
    formula, exc, seconds = timed(lambda: g.gradient_formula("x"))
    if exc is None:
        outcome = f"a formula of {len(str(formula)):,} characters in {seconds:.2f} s"
    else:
        outcome = f"{quote.error(exc)} after {seconds:.2f} s"
    ok = exc is None or isinstance(exc, ValueError)
    return Row("deep graphs", f"Graph.gradient_formula of {depth} nested tanh "
               f"({len(g.nodes):,} nodes)", 1, outcome, ok)


def jacobian_refusal_row(quote: Quoter, n: int) -> Row:
    """A dense Jacobian above the limit is refused before any work (in a child: peak RSS)."""
    dtype = np.ones(1).dtype
    report, child = measure(f"v = np.ones({n})\nJ = dg.jacobian({JACOBIAN_F})(v)")
    rss = f"peak RSS {mib(report['peak_kib'])}, {mib(report['before_kib'])} before the call"
    outcome = (f"BUILT (not refused); {rss}" if report["error"] is None else
               f"{report['error']}: {quote(report['message'])}; {rss}")
    return Row("dense Jacobian", f"dg.jacobian({JACOBIAN_F}) at v = np.ones({n:,}) ({dtype}): "
               f"{n:,} × {n:,} {dtype}", 1, outcome, report["error"] == "MemoryLimitError")


def jacobian_peak_row(quote: Quoter, limit: int, fraction: float) -> Row:
    """A dense Jacobian just under the limit: its peak RSS, measured in a child process."""
    n = math.isqrt(int(limit * fraction) // 4)
    code = (f"v = np.ones({n}, np.float32)\n"
            f"with dg.dense_limit({limit}):\n"
            f"    J = np.asarray(dg.jacobian({JACOBIAN_F})(v))\n"
            "result = [list(J.shape), str(J.dtype), int(J.nbytes)]")
    report, child = measure(code)
    measured = None not in (report["peak_kib"], report["before_kib"])
    grew_kib = report["peak_kib"] - report["before_kib"] if measured else None
    limit_text = mib(limit / 1024)
    tried = (f"dg.jacobian({JACOBIAN_F}) at v = np.ones({n:,}, float32), the result "
             f"{fraction:.0%} of the limit, under dg.dense_limit({limit_text})")
    if report["error"] is not None:
        return Row("dense Jacobian", tried, 1,
                   f"{report['error']}: {quote(report['message'])}; peak RSS grew by "
                   f"{mib(grew_kib)}", report["error"] == "MemoryLimitError"
                   and measured and grew_kib * 1024 <= limit)
    shape, dtype, nbytes = report["result"]
    outcome = (f"built {dtype} {tuple(shape)} = {mib(nbytes / 1024)} in {child.seconds:.1f} s; "
               f"peak RSS grew by {mib(grew_kib)} during the call, to {mib(report['peak_kib'])} "
               f"(limit {limit_text})")
    return Row("dense Jacobian", tried, 1, outcome, bool(measured and grew_kib * 1024 <= limit))


# ------------------------------------------------------------------------ PyTorch habits
def habit_rows(quote: Quoter) -> list[Row]:
    """Habits that must raise as PyTorch does rather than give a silently wrong result."""
    import dagrad as dg

    def saved_then_changed() -> None:
        x = dg.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        y += 1
        y.sum().backward()

    def leaf_step() -> None:
        p = dg.tensor([1.0, 2.0], requires_grad=True)
        p -= 0.1 * p

    def backward_twice() -> None:
        x = dg.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        y.backward()

    rows = []
    for fn in (saved_then_changed, leaf_step, backward_twice):
        tried = "`" + "; ".join(ln.strip() for ln in inspect.getsource(fn).splitlines()[1:]) + "`"
        _, exc, _ = timed(fn)
        rows.append(Row("in-place and freed graphs", tried, 1,
                        "NO ERROR" if exc is None else quote.error(exc),
                        isinstance(exc, RuntimeError)))
    return rows


def anomaly_row(quote: Quoter) -> Row:
    """NaN and inf in forward and backward are stopped at their op."""
    import dagrad as dg
    from dagrad.anomaly import AnomalyError

    ops = {"log": lambda x, c: dg.log(x + c).sum() if c else dg.log(x).sum(),
           "sqrt": lambda x, c: dg.sqrt(x * c).sum(),
           "div": lambda x, c: (x * c / (x * c)).sum()}
    caught, first = 0, None
    for _, op, c in ANOMALY_CASES:
        x = dg.tensor([1.0, 2.0], requires_grad=True)

        def run(op: str = op, c: float = c, x: Any = x) -> None:
            with dg.detect_anomaly():
                ops[op](x, c).backward()

        _, exc, _ = timed(run)
        if isinstance(exc, AnomalyError) and Path(__file__).name in str(exc):
            caught += 1
            first = first or exc
    outcome = f"{caught} stopped at the op, naming this script's line"
    if first is not None:
        outcome += f", e.g. {quote.error(first)}"
    return Row("detect_anomaly", "; ".join(c[0] for c in ANOMALY_CASES), len(ANOMALY_CASES),
               outcome, caught == len(ANOMALY_CASES))


# --------------------------------------------------------------------------------- main
def collect(quick: bool, tmp: Path) -> list[Row]:
    """Every row of the report, in order."""
    quote = Quoter(str(tmp))
    rows = fuzz_rows(quote)
    rows += hostile_expression_rows(quote)
    rows += symbolic_rows(quote, timeout=20 if quick else 60)
    rows += corrupt_file_rows(tmp, quote)
    rows.append(model_state_row(quote))
    rows += hostile_file_rows(tmp, quote, quick)
    rows.append(crash_row(5 if quick else 40))
    rows.append(drawing_row(quote, 5_000))
    rows.append(deep_graph_row(quote, 30_000 if quick else 300_000))
    rows.append(gradient_formula_row(quote, 150))
    rows.append(jacobian_refusal_row(quote, 20_000))
    rows.append(jacobian_peak_row(quote, 2**30, 0.95))
    rows += habit_rows(quote)
    rows.append(anomaly_row(quote))
    return rows


def render(rows: list[Row], quick: bool, seconds: float) -> str:
    """The Markdown page."""
    flagged = [r for r in rows if not r.ok]
    lines = ["# Reliability: hostile and broken input", "",
             f"Regenerated by `scripts/reliability.py{' --quick' if quick else ''}` on "
             f"{date.today().isoformat()} in {seconds:.0f} s ({platform.python_implementation()} "
             f"{platform.python_version()}, NumPy {np.__version__}, {platform.system()}). Every "
             "row is a run of the project's own code, and every figure in it was measured or "
             "counted by that run: the examples Hypothesis executed, the nodes of the graph "
             "built, the sizes and dtypes of the arrays made, peak RSS of child processes. "
             "Messages are quoted verbatim (⏎ marks a line break; $TMP is the run's temporary "
             "folder). The same fuzzers and file checks run in the test suite (tests/) at smaller "
             "counts.", "",
             (f"**{len(flagged)} rows are not the expected outcome** (marked ✗)."
              if flagged else f"All {len(rows)} rows are the expected outcome."), "",
             "| target | what was tried | cases | outcome |", "|---|---|---|---|"]
    lines += [f"| {r.target} | {r.tried} | {r.cases:,} | {'' if r.ok else '✗ '}{r.outcome} |"
              for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run everything and write docs/reliability.md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer fuzz cases (a smoke run)")
    ap.add_argument("-o", "--out", default=str(ROOT / "docs" / "reliability.md"))
    args = ap.parse_args(argv)
    # the fuzz tests read their example counts through tests/conftest.py::fuzz_examples
    os.environ["DAGRAD_FUZZ_SCALE"] = SETTINGS["fuzz_scale_quick" if args.quick else
                                               "fuzz_scale_full"]
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        rows = collect(args.quick, Path(d))
    text = render(rows, args.quick, time.perf_counter() - t)
    from dagrad.atomic import atomic_write

    with atomic_write(args.out, "w") as f:
        f.write(text)
    print(text)
    return 1 if any(not r.ok for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
