"""argparse, without the one import a short command does not need.

Every ``add_argument`` makes argparse build a help formatter, and the formatter asks
``shutil.get_terminal_size()`` for the width — importing ``shutil`` (and with it ``bz2``/``lzma``)
on every run. :class:`Parser` gives the formatter the same width computed the same way with ``os``
(``COLUMNS``, else the terminal, else 80, less 2), so help looks exactly as before. Subparsers are
built with the parent's class, so one class at the top covers every command.
"""

from __future__ import annotations

import argparse
import os
import sys


def _width() -> int:
    """``shutil.get_terminal_size().columns - 2``, as ``argparse.HelpFormatter`` computes it."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            # no stdout (None): the AttributeError is caught below
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return (columns or 80) - 2


class Parser(argparse.ArgumentParser):
    def _get_formatter(self) -> argparse.HelpFormatter:
        return self.formatter_class(prog=self.prog, width=_width())  # type: ignore[call-arg]  # every HelpFormatter takes width
