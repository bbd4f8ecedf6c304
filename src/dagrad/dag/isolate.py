"""Run work in a forked child under a wall-clock and a memory limit, and really stop it.

SymPy has no timeout and cannot be interrupted safely, so work that may run away (simplify,
factor) runs in a child process: it sends results back as they come (each a pickled frame on a
pipe), its address space is capped with ``setrlimit``, and the parent reads until the child is
done or the deadline passes, then kills it.  The caller keeps whatever frames arrived in time
(e.g. the unsimplified formula when simplifying ran over).  Where ``fork`` is unavailable, or
``DAGRAD_SYMBOLIC_ISOLATE=0``, the work runs in this process without a time or memory bound.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Outcome", "available", "run"]

_HEADER = struct.Struct("<Q")
_MEMORY_EXIT, _RECURSION_EXIT, _ERROR_EXIT = 3, 4, 5


@dataclass
class Outcome:
    """What came back: the frames the work emitted, and why it stopped early (None: it finished).

    ``stopped`` is "time" (killed at the deadline), "memory" (over the memory limit),
    "recursion" (Python's recursion limit), "error" (``error`` holds the exception) or "crash".
    """

    frames: list[tuple] = field(default_factory=list)
    stopped: str | None = None
    error: BaseException | None = None
    seconds: float = 0.0


def available() -> bool:
    """True when work can run in a bounded child (POSIX fork, not switched off)."""
    return hasattr(os, "fork") and os.environ.get("DAGRAD_SYMBOLIC_ISOLATE", "1") != "0"


def run(work: Callable[[Callable[..., None]], None], deadline: Callable[[list[tuple]], float],
        memory: int, loads: Callable[[bytes], Any] = pickle.loads) -> Outcome:
    """Call ``work(emit)``; each ``emit(*frame)`` is sent back; stop at ``deadline(frames)``.

    ``deadline`` gets the frames received so far and returns the absolute ``time.monotonic()``
    by which the next one (or the end) must arrive.
    """
    start = time.monotonic()
    if not available():
        out = _in_process(work)
    else:
        out = _in_child(work, deadline, memory, loads)
    out.seconds = time.monotonic() - start
    return out


def _in_process(work: Callable[[Callable[..., None]], None]) -> Outcome:
    out = Outcome()
    try:
        work(lambda *frame: out.frames.append(frame))
    except RecursionError:
        out.stopped = "recursion"
    except MemoryError:
        out.stopped = "memory"
    except Exception as e:  # noqa: BLE001 - handed back to the caller, as from the child
        out.stopped, out.error = "error", e
    return out


def _in_child(work: Callable[[Callable[..., None]], None],
              deadline: Callable[[list[tuple]], float], memory: int,
              loads: Callable[[bytes], Any]) -> Outcome:
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python 3.12 warns about fork in a threaded process
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(work, write_end, memory)
    os.close(write_end)
    out = Outcome()
    buffer = b""
    done = False
    try:
        while not done:
            left = deadline(out.frames) - time.monotonic()
            wait = None if left == float("inf") else max(left, 0.0)
            if left <= 0 or not select.select([read_end], [], [], wait)[0]:
                out.stopped = "time"
                break
            chunk = os.read(read_end, 1 << 20)
            done = not chunk
            buffer += chunk
            while len(buffer) >= _HEADER.size:
                (n,) = _HEADER.unpack_from(buffer)
                if len(buffer) < _HEADER.size + n:
                    break
                frame = loads(buffer[_HEADER.size:_HEADER.size + n])
                buffer = buffer[_HEADER.size + n:]
                if frame and frame[0] == "__error__":
                    out.stopped, out.error = "error", frame[1]
                else:
                    out.frames.append(frame)
    finally:
        os.close(read_end)
        status = _reap(pid, kill=not done)
    if done and out.stopped is None:
        code = os.waitstatus_to_exitcode(status) if status is not None else 0
        out.stopped = {0: None, _MEMORY_EXIT: "memory", _RECURSION_EXIT: "recursion",
                       _ERROR_EXIT: "error"}.get(code, "crash")
        if out.stopped == "error" and out.error is None:
            out.error = RuntimeError("the symbolic work failed in its child process")
    return out


def _reap(pid: int, kill: bool) -> int | None:
    """Wait for the child (killing it first if it is still at work); its wait status."""
    if kill:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return None


def _child(work: Callable[[Callable[..., None]], None], fd: int, memory: int) -> None:
    code = 0
    try:
        _cap_memory(memory)

        def emit(*frame: Any) -> None:
            data = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
            _write_all(fd, _HEADER.pack(len(data)) + data)

        try:
            work(emit)
        except (MemoryError, RecursionError):
            raise
        except BaseException as e:  # noqa: BLE001 - sent to the parent, which re-raises it
            try:
                emit("__error__", e)
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                emit("__error__", RuntimeError(f"{type(e).__name__}: {e}"))
    except MemoryError:
        code = _MEMORY_EXIT
    except RecursionError:
        code = _RECURSION_EXIT
    except BaseException:  # noqa: BLE001 - whatever happens, the child must not return
        code = _ERROR_EXIT
    finally:
        os._exit(code)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _cap_memory(extra: int) -> None:
    """Let the child's address space grow by at most ``extra`` bytes (where setrlimit works)."""
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = current + int(extra)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):  # the time limit still holds
        pass
