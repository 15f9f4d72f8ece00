"""Interrupting a training run part way, as Ctrl-C would."""

from agents.learned.checkpoint import MODELS


def interrupt_at_draw(monkeypatch, draw: int) -> None:
    """Make the trainer raise ``KeyboardInterrupt`` when it draws its ``draw``-th batch: the
    ``draw``-th call of a registered model's ``draw`` (``LearnedModel.draw``, which the
    training loop calls once per step); undo with ``monkeypatch.undo()``."""
    calls = {"n": 0, "depth": 0}

    def interrupting(original):
        def interrupted(self, *args, **kwargs):
            if calls["depth"] == 0:  # a model's draw calling its parent's is one draw
                calls["n"] += 1
                if calls["n"] == draw:
                    raise KeyboardInterrupt
            calls["depth"] += 1
            try:
                return original(self, *args, **kwargs)
            finally:
                calls["depth"] -= 1

        return interrupted

    defining = {base for cls in MODELS.values() for base in cls.__mro__ if "draw" in vars(base)}
    for cls in defining:  # the models and the shared bases they inherit ``draw`` from
        monkeypatch.setattr(cls, "draw", interrupting(vars(cls)["draw"]))
