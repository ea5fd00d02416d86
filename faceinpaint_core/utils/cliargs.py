"""Argument types and the parser class of the ``faceinpaint`` command: bad input → one line, exit code 2.

Every type below raises :class:`argparse.ArgumentTypeError` with a message that says what is allowed;
:class:`OneLineParser` prints it as ``faceinpaint <command>: error: argument --n: ...`` (one line, no usage
block) and exits with code 2, before any work or any run folder is created.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (exit code 2)."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends ``(default: X)`` to every option that has a default; keeps descriptions and epilogs as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if action.required or default is None or default is False or default == argparse.SUPPRESS \
                or "%(default)" in text:
            return text
        shown = ",".join(map(str, default)) if isinstance(default, (tuple, list)) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"


def one_line(text: str) -> str:
    """``text`` with its lines joined by ``"; "`` (errors must stay on one line)."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip()) or str(text)


def int_at_least(lo: int):
    """An argparse type: an integer ``>= lo``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got {value}")
        return value
    parse.__name__ = f"integer >= {lo}"
    return parse


def csv_of(allowed, what: str):
    """An argparse type: a comma-separated list whose items are all in ``allowed`` → tuple."""
    allowed = tuple(allowed)

    def parse(text: str) -> tuple[str, ...]:
        items = tuple(x.strip().rstrip("%") for x in text.split(",") if x.strip())
        bad = [x for x in items if x not in allowed]
        if not items or bad:
            got = f"unknown {what} {', '.join(map(repr, bad))}" if bad else f"no {what} given"
            raise argparse.ArgumentTypeError(f"{got}; allowed: {','.join(allowed)} (comma-separated)")
        return items
    parse.__name__ = f"comma-separated {what}"
    return parse


def existing_file(text: str) -> str:
    """An argparse type: a path to an existing file."""
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"file {text!r} does not exist")
    return text


_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")


def device(text: str) -> str:
    """An argparse type: ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, and present on this machine."""
    if not _DEVICE.match(text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; allowed: cpu, cuda, cuda:N, mps")
    if text == "cpu":
        return text
    import torch

    if text.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(text.split(":")[1]) if ":" in text else 0
        if index >= count:
            seen = f"{count} CUDA GPU(s)" if count else "no CUDA GPU"
            raise argparse.ArgumentTypeError(f"{text!r} is not available: torch sees {seen} on this machine; "
                                             f"use cpu" + (f" or cuda:0..cuda:{count - 1}" if count else ""))
    elif not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise argparse.ArgumentTypeError("'mps' is not available on this machine; use cpu")
    return text


def print_error(command: str, err: BaseException) -> int:
    """Print ``faceinpaint <command>: error: <message>`` on one line; return exit code 2."""
    print(f"faceinpaint {command}: error: {one_line(str(err))}", file=sys.stderr)
    return 2
