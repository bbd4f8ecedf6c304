"""dagrad tour: the main job — work the exercise sheet end to end."""

from __future__ import annotations

import argparse

NAME = "tour"
HELP = "the main job: work exercises (a), (b) and (c) of the sheet end to end"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``dagrad tour``."""
    p.add_argument("-o", "--out", default="dagrad-report", help="report folder")


def run(args: argparse.Namespace) -> int:
    """For now: exercise (b)'s gradient by backprop beside its closed form."""
    from . import rosenbrock

    return rosenbrock.run(argparse.Namespace(at="x1=1.5,x2=2", out=None))
