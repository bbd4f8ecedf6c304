"""The stepper page's own words (buttons, headings, quiz feedback) in the current language.

:func:`page_labels` fills the fixed text of ``stepper.html`` (HTML-escaped by the caller);
:func:`script_text` is handed to ``stepper.js`` inside the page's JSON data (``data.ui``), and
the script fills its ``{name}`` placeholders with numbers and the quiz's prompts.  Both are built
when the page is written, so ``_()`` translates into the language set then (``--lang``).
"""

from __future__ import annotations

from ..i18n import _, get_language

__all__ = ["page_labels", "script_text"]


def page_labels() -> dict[str, str]:
    """Placeholder → text of the fixed parts of the page (plain text, not yet escaped)."""
    return {
        "lang": get_language(),
        "t_stepper": _("backprop stepper"),
        "t_controls": _("stepper controls"),
        "t_back": _("Back"), "t_back_tip": _("one step back (←)"),
        "t_next": _("Next"), "t_next_tip": _("one step forward (→)"),
        "t_play": _("Play"), "t_play_tip": _("play / pause (space)"),
        "t_forward_pass": _("Forward pass"),
        "t_forward_tip": _("go to the start of the forward pass"),
        "t_backward_pass": _("Backward pass"),
        "t_backward_tip": _("go to the start of the backward pass (all values known)"),
        "t_end": _("End"), "t_end_tip": _("go to the last step (End)"),
        "t_reset": _("Reset"), "t_reset_tip": _("back to the beginning: nothing computed (Home)"),
        "t_graph": _("the computation graph"),
        "t_placeholder": _("a number, 3/2 or 2*(-0.25)"),
        "t_check": _("Check"), "t_hint": _("Hint"), "t_reveal": _("Show answer"),
        "t_steps": _("Steps"), "t_values": _("Values and adjoints"),
        "t_node": _("node"), "t_value": _("value"), "t_adjoint": _("adjoint"),
        "t_key_value": _("value (forward pass)"), "t_key_adjoint": _("adjoint (backward pass)"),
        "t_key_active": _("current step"),
        "t_keys": _("keys: ← → step · space play · Home reset · End last step · hover a node "
                    "or an edge for its formula"),
    }


def script_text() -> dict[str, str]:
    """Key → text the script shows; ``{name}`` placeholders are filled by the script."""
    return {
        "forward_pass": _("Forward pass"),
        "backward_pass": _("Backward pass"),
        "backward_head": _("Backward pass (reverse mode)"),
        "nothing": _("nothing to step through"),
        "ready": _("Ready"),
        "phase_step": _("{phase} · step {k} of {n}"),
        "start": _("Nothing computed yet. Press Next ⏭ (or →) to evaluate the graph node by "
                   "node."),
        "start_note": _("Grey nodes are not computed yet."),
        "done": _("done: {gradient}"),
        "masked": _("? — answer the question to see this step"),
        "your_turn": _("Your turn: what is {prompt}?"),
        "type_below": _("Type it below; the step is shown once it is right."),
        "score": _("score: {right} right of {answered} answered ({total} questions) · wrong "
                   "tries: {wrong} · hints: {hints} · shown: {shown}"),
        "unreadable": _("could not read “{typed}” as a number: type a number, a fraction such "
                        "as 3/2, or arithmetic with + − * / ^ and brackets"),
        "right": _("✓ right: {prompt} = {answer}"),
        "wrong": _("✗ {typed} is not {prompt} — try again"),
        "wrong_hint": _("✗ {typed} is not {prompt} — try again (or ask for a hint)"),
        "hint": _("hint: {hint}"),
        "shown": _("the answer: {prompt} = {answer}"),
        "play": _("Play"), "pause": _("Pause"),
        "counts": _("{nodes} nodes · {edges} edges · {forward} forward steps · {backward} "
                    "backward steps"),
        "no_backward": _("(no backward pass: the output is not a scalar)"),
        "input": _("(input)"), "constant": _("(constant)"),
        "shape": _("shape {shape}"),
        "value": _("value {value}"),
        "value_pending": _("value: not computed yet"),
        "adjoint": _("adjoint {bar} = ∂{out}/∂{name}"),
        "quiz_hidden": _("{label}: answer the quiz to see it"),
        "partial": _("(partial)"),
        "pending": _("{label}: not computed yet"),
        "constant_edge": _("a constant: no gradient flows here"),
        "no_derivative": _("no derivative for this input"),
        "at_point": _("= {value} at this point"),
        "kind_derivative": _("{kind} local derivative"),
    }
