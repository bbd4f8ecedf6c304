"""New exercise sheets of the course's form, with solution keys the engine computed and checked.

``make_sheet(seed, parts="a,b,c", language="de")`` draws a variant of each part of the sheet
*Neuronale Netzwerke und Backpropagation* from ``numpy.random.default_rng(seed)`` — (a) another
activation, depth and weights for the vanishing-gradient chain, (b) a new function of +, −, ×
and powers with its DAG, (c) another MLP and loss with its Jacobian products —, solves it with
dagrad, checks every solution against an independent route (SymPy, closed forms, finite
differences) and builds the handout and the key; ``write_sheet(sheet, out)`` writes them as
Markdown, HTML and LaTeX (and PDF).  A variant whose check fails is never written.
"""

from __future__ import annotations

from .checks import Check, ExerciseCheckError
from .sheet import PARTS, Sheet, default_checkers, make_sheet, parse_parts
from .write import SOLUTIONS, write_sheet

__all__ = ["make_sheet", "write_sheet", "Sheet", "Check", "ExerciseCheckError", "PARTS",
           "SOLUTIONS", "default_checkers", "parse_parts"]
