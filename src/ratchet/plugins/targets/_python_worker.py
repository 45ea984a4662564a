"""The python target's user code, run in a process of its own.

One long-lived worker per target: it imports the objective once and answers one request
(a JSON line on stdin: params, seed, size) with one JSON line on its answer channel.
Whatever the objective does to its own process (hangs, ``sys.exit``, crashes, raises on
import, prints) ends as a failed evaluation with its reason in the loop, never as the
loop's own end: the parent (``PythonWorker``) kills a worker that outlives ``timeout_s``
or a stop, and starts a new one for the next evaluation.

The worker's stdout is the answer channel; what the objective prints goes to stderr,
which is kept in a log file whose last lines are quoted in a failure's reason.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ratchet.core import children
from ratchet.core.errors import EvaluationError

POLL_S = 0.2  # how often a waiting parent looks for a stop
CHECK_TIMEOUT_S = 60.0  # importing an objective to check a recipe


def import_objective(path: str) -> Any:
    """``package.module:function`` (or ``package.module.function``) to the function;
    ValueError with a sentence when it cannot be had (in the worker, whose process the
    module's own code may end)."""
    import importlib

    module_name, sep, name = path.partition(":")
    if not sep:
        module_name, _, name = path.rpartition(".")
    if not module_name or not name:
        raise ValueError(f"function {path!r}: expected 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"function {path!r}: cannot import {module_name}: {exc}") from None
    except SystemExit as exc:
        raise ValueError(f"function {path!r}: importing {module_name} called "
                         f"sys.exit({exc.code!r})") from None
    except Exception as exc:  # noqa: BLE001 - a SyntaxError, or its code raised on import
        raise ValueError(f"function {path!r}: importing {module_name} failed: "
                         f"{type(exc).__name__}: {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"function {path!r}: {module_name} has no function {name!r}")
    return function


def callable_name(function: Any) -> str:
    """``module:qualname`` of a function object, as a recipe would name it."""
    module = getattr(function, "__module__", None) or "?"
    return f"{module}:{getattr(function, '__qualname__', None) or type(function).__name__}"


def by_name(function: Any) -> str | None:
    """``module:qualname`` when a fresh process can import that name and find this very
    function (it then runs in a worker process started by name); None for a function of
    ``__main__``, a lambda or a closure (it then runs in a forked worker)."""
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname or "." in qualname:
        return None
    loaded = sys.modules.get(module)
    if loaded is None or getattr(loaded, qualname, None) is not function \
            or not getattr(loaded, "__file__", None):
        return None
    return f"{module}:{qualname}"


def call_objective(objective: Any, params: dict[str, Any], seed: int, size: int) -> Any:
    """The objective's result for one request, whichever of the shapes it takes:
    ``f(params, seed, size)`` returns the whole batch; ``f(params, seed)`` and ``f(params)``
    return one run's result (a number, or a dict of numbers) and are called ``size`` times
    (seed, seed + 1, ...)."""
    arity = _arity(objective)
    if arity >= 3:
        return objective(params, seed, size)
    results = [objective(params, seed + i) if arity == 2 else objective(params)
               for i in range(size)]
    if all(isinstance(r, dict) and not {"wins", "draws", "losses"} & set(r) for r in results):
        return results  # one dict of metrics a run
    if all(isinstance(r, dict) and {"wins", "draws", "losses"} <= set(r) for r in results):
        return {k: sum(r[k] for r in results) for k in ("wins", "draws", "losses")}
    if size == 1 and isinstance(results[0], dict | list | tuple):
        return results[0]
    return results


@functools.lru_cache(maxsize=8)  # once per objective, not at every call
def _arity(objective: Any) -> int:
    import inspect

    try:
        parameters = inspect.signature(objective).parameters.values()
    except (TypeError, ValueError):
        return 3
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return 3
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
               for p in parameters) or 1


def child_env() -> dict[str, str]:
    """The environment of a worker: this process's, with its module search path, so
    that the objective imports in the worker exactly where it would here."""
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


@functools.lru_cache(maxsize=64)
def check_importable(path: str) -> None:
    """Import the objective in a process of its own (a module's code may hang, exit or
    crash on import: never in ratchet's); ValueError with the reason if it fails. A
    success is remembered for this process: a recipe is validated several times while a
    run starts, and each check costs a Python start-up."""
    try:
        done = subprocess.run([sys.executable, "-m", "ratchet.plugins.targets._python_worker",
                               "--check", path], capture_output=True, text=True,
                              timeout=CHECK_TIMEOUT_S, env=child_env(), cwd=os.getcwd(),
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ValueError(f"function {path!r}: importing it did not finish within "
                         f"{CHECK_TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        lines = [ln for ln in done.stdout.splitlines() + done.stderr.splitlines()
                 if ln.strip()]
        reason = lines[-1] if lines else f"its process exited with code {done.returncode}"
        if not reason.startswith("function "):
            reason = (f"function {path!r}: importing it ended its process with code "
                      f"{done.returncode} ({reason[:200]})")
        raise ValueError(reason)


class PythonWorker:
    """The parent's end: start on first use, ask, kill and restart after a failure."""

    def __init__(self, function: str | Callable[..., Any], *, timeout_s: float,
                 log_path: Path, registry: Path | None):
        self.objective = None if isinstance(function, str) else function
        self.function = function if isinstance(function, str) else callable_name(function)
        self.timeout_s = timeout_s
        self.log_path = log_path
        self.registry = registry
        self._proc: subprocess.Popen[str] | None = None
        self._entry: Path | None = None
        self._log: IO[str] | None = None

    def call(self, params: dict[str, Any], seed: int, size: int) -> Any:
        """The objective's result for one evaluation; EvaluationError with the reason
        when it could not give one."""
        if self.registry is not None and children.stopping(self.registry):
            raise EvaluationError("not started: ratchet is stopping")
        proc = self._started()
        request = json.dumps({"params": params, "seed": seed, "size": size}) + "\n"
        try:
            assert proc.stdin is not None
            proc.stdin.write(request)
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died("before it was asked") from None
        answer = self._answer(proc)
        if "error" in answer:
            raise EvaluationError(f"{self.function} {answer['error']}")
        return answer["result"]

    def close(self) -> None:
        """Stop the worker (it reads EOF and exits; killed if it does not)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
        self._forget(proc)

    # -- the worker's life ------------------------------------------------------------
    def _started(self) -> subprocess.Popen[str]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._proc is not None:
            self._forget(self._proc)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        if self.objective is not None:
            self._proc = Forked(self.objective, self._log)  # type: ignore[assignment]
            if self.registry is not None:
                self._entry = children.register(self.registry, self._proc.pid)
            return self._proc
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ratchet.plugins.targets._python_worker", self.function],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
            start_new_session=True, cwd=os.getcwd(), env=child_env())
        if self.registry is not None:
            self._entry = children.register(self.registry, self._proc.pid)
        return self._proc

    def _answer(self, proc: subprocess.Popen[str]) -> dict[str, Any]:
        """Wait for the worker's answer line, for at most ``timeout_s``, looking for a
        stop every ``POLL_S``."""
        assert proc.stdout is not None
        deadline = time.monotonic() + self.timeout_s
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], POLL_S)
            if ready:
                line = proc.stdout.readline()
                if not line:
                    raise self._died("while measuring")
                try:
                    return json.loads(line)  # type: ignore[no-any-return]
                except json.JSONDecodeError:
                    _kill_group(proc)
                    raise EvaluationError(f"{self.function}: the worker's answer was "
                                          f"unreadable ({line[:80]!r})") from None
            if self.registry is not None and children.stopping(self.registry):
                _kill_group(proc)
                raise EvaluationError(f"{self.function} stopped: ratchet is stopping")
            if proc.poll() is not None:
                raise self._died("while measuring")
            if time.monotonic() > deadline:
                _kill_group(proc)
                raise EvaluationError(f"{self.function} timed out after {self.timeout_s:g} "
                                      "s (target.timeout_s); its process was killed")

    def _died(self, when: str) -> EvaluationError:
        proc = self._proc
        assert proc is not None
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            code = proc.wait()
        how = (f"was killed by signal {signal.Signals(-code).name}" if code < 0
               else f"exited with code {code}")
        return EvaluationError(f"{self.function}: its process {how} {when} (sys.exit or a "
                               f"crash in the objective?); {self._tail()}")

    def _tail(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines()
                     if ln.strip()]
        except OSError:
            lines = []
        return ("its last output: " + " | ".join(lines[-3:])[-400:] if lines
                else "it printed nothing")

    def _forget(self, proc: subprocess.Popen[str]) -> None:
        if self._entry is not None:
            children.unregister(self._entry)
            self._entry = None
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        if self._log is not None:
            self._log.close()
            self._log = None


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(proc.pid, signal.SIGKILL)  # a forked worker killed before its setsid
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


# -- the worker's end ---------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    """Numbers the objective may give as numpy scalars or arrays, as plain JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return repr(value)


class Forked:
    """A worker forked from this process, for a function object no other process can
    import (defined in ``__main__``, a notebook, a closure): the same requests and answers
    as a worker started by name, with the ``subprocess.Popen`` calls ``PythonWorker`` uses."""

    def __init__(self, objective: Callable[..., Any], log: IO[str]):
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        log.flush()
        self.pid = os.fork()
        if self.pid == 0:  # the worker: it never returns into the caller's code
            code = 0
            try:
                os.setsid()
                for signum in (signal.SIGINT, signal.SIGTERM):  # not the caller's handlers
                    signal.signal(signum, signal.SIG_DFL)
                os.close(requests_write)
                os.close(answers_read)
                os.dup2(requests_read, 0)
                os.dup2(answers_write, 1)
                os.dup2(log.fileno(), 2)
                _close_inherited()
                sys.stdin = os.fdopen(0, "r", encoding="utf-8")
                sys.stdout = os.fdopen(1, "w", encoding="utf-8")
                sys.stderr = os.fdopen(2, "w", encoding="utf-8", buffering=1)
                serve(objective)
            except BaseException:  # noqa: BLE001 - the worker ends here, whatever happened
                code = 1
            finally:
                os._exit(code)
        os.close(requests_read)
        os.close(answers_write)
        self.stdin: IO[str] | None = os.fdopen(requests_write, "w", encoding="utf-8")
        self.stdout: IO[str] | None = os.fdopen(answers_read, "r", encoding="utf-8")
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode


def _close_inherited() -> None:
    """In a forked worker: let go of every descriptor but 0, 1 and 2 (the run's locks,
    its store, other children's pipes), so that none outlives its owner through us."""
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 4096))
    for fd in fds:
        if fd > 2:
            with contextlib.suppress(OSError):
                os.close(fd)


def serve(function: str | Callable[..., Any]) -> None:
    """Answer requests until stdin closes. The answer channel is the original stdout;
    the objective's prints go to stderr."""
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    objective: Any = None if isinstance(function, str) else function
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if objective is None:
                assert isinstance(function, str)
                objective = import_objective(function)
            result = call_objective(objective, request["params"], request["seed"],
                                    request["size"])
            answer = {"result": _jsonable(result)}
        except SystemExit as exc:
            answer = {"error": f"called sys.exit({exc.code!r}); an objective returns its "
                               "result instead"}
        except ValueError as exc:
            answer = {"error": str(exc) if objective is None else
                      f"raised ValueError: {exc}"}
        except BaseException as exc:  # noqa: BLE001 - the user's code: any failure is its
            answer = {"error": f"raised {type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer, allow_nan=True) + "\n")
        answers.flush()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        try:
            import_objective(argv[1])
        except ValueError as exc:
            print(exc)
            return 1
        return 0
    serve(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
