"""The ``hpe`` command.

Exit status: 0 done, 2 bad input or a machine that cannot do it (a full disk, a read-only
folder, too little memory: one line on stderr naming the file and the cause, no traceback),
1 a bug (traceback), 130 interrupted. Every subcommand lives in ``hpe_core/commands/<name>.py``
and exposes ``register(subparsers)``; those modules import only argparse-level code, so ``hpe
--help`` stays fast and heavy libraries load inside the command that needs them.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from hpe_core import __version__
from hpe_core.errors import InputError, is_environment_error, os_error_cause


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _command_modules():
    # Imported here, not at module level: nothing runs at import time.
    # Each subcommand module adds itself here (one import line each).
    modules = []
    from hpe_core.commands import inspect; modules.append(inspect)  # noqa: E702
    from hpe_core.commands import train; modules.append(train)  # noqa: E702
    from hpe_core.commands import demo; modules.append(demo)  # noqa: E702
    from hpe_core.commands import metrics; modules.append(metrics)  # noqa: E702
    from hpe_core.commands import data; modules.append(data)  # noqa: E702
    from hpe_core.commands import embed; modules.append(embed)  # noqa: E702
    from hpe_core.commands import kernels; modules.append(kernels)  # noqa: E702
    from hpe_core.commands import compare; modules.append(compare)  # noqa: E702
    from hpe_core.commands import predict; modules.append(predict)  # noqa: E702
    from hpe_core.commands import evaluate; modules.append(evaluate)  # noqa: E702
    from hpe_core.commands import parts; modules.append(parts)  # noqa: E702
    from hpe_core.commands import ablate; modules.append(ablate)  # noqa: E702
    from hpe_core.commands import report; modules.append(report)  # noqa: E702
    from hpe_core.commands import shared_space; modules.append(shared_space)  # noqa: E702
    from hpe_core.commands import health; modules.append(health)  # noqa: E702
    from hpe_core.commands import queue; modules.append(queue)  # noqa: E702
    from hpe_core.commands import sweep; modules.append(sweep)  # noqa: E702
    from hpe_core.commands import export_runs; modules.append(export_runs)  # noqa: E702
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hpe",
        description="HPE Studio on the command line: datasets, checkpoints, training and analysis "
        "of contrastive human-pose-estimation models.",
    )
    parser.add_argument("--version", action="version", version=f"hpe-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in _command_modules():
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        result = args.func(args)
    except InputError as exc:
        sys.stderr.write(f"hpe {args.command}: error: {exc}\n")
        return 2
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a full disk, a read-only or missing folder: the machine's state, not a bug
        if not is_environment_error(exc):
            return _bug(args.command)
        name = getattr(exc, "filename", None)
        sys.stderr.write(f"hpe {args.command}: error: {f'{name}: ' if name else ''}{os_error_cause(exc)}\n")
        return 2
    except MemoryError:
        sys.stderr.write(f"hpe {args.command}: error: out of memory; use smaller sizes (batch, width, image)\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"hpe {args.command}: interrupted\n")
        return 130
    except Exception:  # a bug: show everything
        return _bug(args.command)
    return int(result or 0)


def _bug(command: str) -> int:
    traceback.print_exc()
    sys.stderr.write(f"hpe {command}: internal error (a bug; please report it)\n")
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
