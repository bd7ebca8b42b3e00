"""A process that runs ``hpe`` commands under injected faults, for tests/core/test_faults.py.

It imports the heavy libraries once (torch, numpy, matplotlib; no tensor op runs, so forking is
safe), then for each case read from stdin as one JSON line forks a child that runs
``hpe_core.cli.main(argv)`` as its own process would, with:

- ``fsize``: ``RLIMIT_FSIZE`` in bytes (a full disk: a write past it fails with ``EFBIG``;
  ``SIGXFSZ`` is ignored so the writer gets the ``OSError``, as on a full disk);
- ``read_only``: as root, ``CAP_DAC_OVERRIDE`` dropped, so a folder without write permission
  refuses root too (a plain user needs nothing);
- ``kill_after``: seconds after which the child is sent SIGKILL (``kill -9``); with
  ``kill_on_hidden``: FOLDER, sooner, as soon as a hidden (temporary) file appears in FOLDER.

The answer is one JSON line: ``{"status": exit status or -signal, "stdout", "stderr", "seconds"}``.
Run: ``python fault_runner.py`` (the repository root on ``PYTHONPATH``).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
import tempfile
import time


def _drop_dac_override() -> None:
    """As root: lose the capability to write where the permissions say no (a plain user: no-op)."""
    if os.geteuid() != 0:
        return

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    data[0].effective &= ~(1 << 1)  # CAP_DAC_OVERRIDE
    data[0].permitted &= ~(1 << 1)
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def _child(case: dict, out: str, err: str) -> None:
    code = 1
    try:
        os.chdir(case.get("cwd") or os.getcwd())
        for fd, name in ((1, out), (2, err)):
            target = os.open(name, os.O_WRONLY | os.O_TRUNC)
            os.dup2(target, fd)
            os.close(target)
        if case.get("read_only"):
            _drop_dac_override()
        if case.get("fsize") is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (int(case["fsize"]), resource.RLIM_INFINITY))
        from hpe_core.cli import main

        code = main(case["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_case(case: dict) -> dict:
    fd_out, out = tempfile.mkstemp(prefix="fault-out.")
    fd_err, err = tempfile.mkstemp(prefix="fault-err.")
    os.close(fd_out)
    os.close(fd_err)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(case, out, err)
    status = None
    if case.get("kill_after") is not None:
        deadline = start + float(case["kill_after"])
        watch = case.get("kill_on_hidden")
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            status = None
            if watch and any(name.startswith(".") for name in os.listdir(watch)):
                break  # a temporary file just appeared: the most hostile moment to kill
            time.sleep(0.001)
        if status is None:
            os.kill(pid, signal.SIGKILL)
    if status is None:
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    answer = {"seconds": time.monotonic() - start}
    for key, name in (("stdout", out), ("stderr", err)):
        with open(name, encoding="utf-8", errors="replace") as fh:
            answer[key] = fh.read()
        os.unlink(name)
    answer["status"] = code
    return answer


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401

    import hpe_core.cli  # noqa: F401

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(run_case(json.loads(line))) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
