"""Interrupting a training run part way, as Ctrl-C would."""

from agents.learned import training


def interrupt_at_draw(monkeypatch, draw: int, drawer: str = "draw_problems") -> None:
    """Make the trainer raise ``KeyboardInterrupt`` when it draws its ``draw``-th batch with
    ``training.<drawer>`` (undo with ``monkeypatch.undo()``)."""
    calls = {"n": 0}
    original = getattr(training, drawer)

    def interrupted(*args):
        calls["n"] += 1
        if calls["n"] == draw:
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(training, drawer, interrupted)
