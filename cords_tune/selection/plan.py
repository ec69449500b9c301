"""What a strategy's selection needs and when it happens, declared once per strategy: the one object code outside
``selection/`` reads (the training loop, the cost guard, the proxy, the CLI), instead of a strategy's internals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["FULL_DATA", "SelectionPlan", "plan_from_flags"]

When = Literal["every", "every_epoch", "once", "never"]
Input = Literal["losses", "gradients", "features"]
Sizing = Literal["fraction", "itself"]

_WHEN = ("every", "every_epoch", "once", "never")
_INPUTS = ("losses", "gradients", "features")
_SIZING = ("fraction", "itself")


@dataclass(frozen=True)
class SelectionPlan:
    """How a strategy selects, declared rather than discovered.

    Attributes:
        when: ``"every"``: per trial, at its first subset epoch and every ``selection.every`` epochs after;
            ``"every_epoch"``: per trial, at every epoch whatever ``selection.every`` says (dynamic pruning such
            as InfoBatch); ``"once"``: once per tuning run, from a proxy trained on the full data, and every trial
            trains on those subsets (shared, as MILO shares them; one per reselection round); ``"never"``: the
            trials train on the full data (no schedule, no budget, no warm start).
        reads: what ``select`` reads besides the labels: ``"losses"`` (the training record: per-sample losses,
            correctness, forgetting), ``"gradients"`` (last-layer gradients of the current model) and
            ``"features"`` (its penultimate features); the training loop computes or keeps only these.
        sizing: ``"fraction"``: a subset holds at most the budget (``selection.fraction`` of the data);
            ``"itself"``: the strategy sizes its subsets and ignores the budget (InfoBatch's prune ratio).
        weighted: its subsets carry weights other than one.
    """

    when: When = "every"
    reads: frozenset[Input] = field(default_factory=frozenset)
    sizing: Sizing = "fraction"
    weighted: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "reads", frozenset(self.reads))
        for name, value, choices in (("when", self.when, _WHEN), ("sizing", self.sizing, _SIZING)):
            if value not in choices:
                raise ValueError(f"The {name!r} parameter of SelectionPlan must be one of {choices}. "
                                 f"Got {value!r} instead.")
        unknown = sorted(set(self.reads) - set(_INPUTS))
        if unknown:
            raise ValueError(f"The 'reads' parameter of SelectionPlan must hold only {_INPUTS}. "
                             f"Got {unknown} instead.")

    @property
    def uses_subsets(self) -> bool:
        """Whether trials train on subsets at all (``False``: the full data every epoch)."""
        return self.when != "never"

    @property
    def shared(self) -> bool:
        """Chosen once per run for every trial (``when == "once"``), not by each trial from its own model."""
        return self.when == "once"

    @property
    def every_epoch(self) -> bool:
        return self.when == "every_epoch"

    @property
    def needs_gradients(self) -> bool:
        """Whether ``select`` reads the model's last-layer gradients or features (one forward pass computes both)."""
        return bool({"gradients", "features"} & self.reads)

    @property
    def needs_record(self) -> bool:
        """Whether ``select`` reads the training record, which the training loop then keeps."""
        return "losses" in self.reads

    @property
    def sized_by_budget(self) -> bool:
        """Whether its subsets hold at most ``budget`` samples."""
        return self.uses_subsets and self.sizing == "fraction"

    def reselect_every(self, every: int) -> int:
        """Epochs between a trial's reselections where ``selection.every`` is ``every``."""
        return 1 if self.every_epoch else every


FULL_DATA = SelectionPlan(when="never")


#: The capability flags strategies declared before plans, as class attributes.
_FLAGS = ("needs_gradients", "uses_subsets", "needs_record", "shared", "every_epoch", "weighted", "sized_by_budget")


def plan_from_flags(flags: dict[str, Any], base: SelectionPlan) -> SelectionPlan:
    """The plan of a strategy class whose body sets the capability flags of earlier versions (``needs_gradients =
    True`` and the like), on top of the plan it inherits (``base``): a plugin of that time selects as it did."""
    values = {name: flags.get(name, getattr(base, name)) for name in _FLAGS}
    when: When = ("never" if not values["uses_subsets"] else "once" if values["shared"] else
                  "every_epoch" if values["every_epoch"] else "every")
    reads = set(base.reads)
    if "needs_gradients" in flags:
        reads = (reads - {"gradients", "features"}) | ({"gradients"} if values["needs_gradients"] else set())
    if "needs_record" in flags:
        reads = (reads - {"losses"}) | ({"losses"} if values["needs_record"] else set())
    sizing: Sizing = base.sizing
    if "sized_by_budget" in flags:
        sizing = "fraction" if values["sized_by_budget"] else "itself"
    return SelectionPlan(when=when, reads=frozenset(reads), sizing=sizing, weighted=bool(values["weighted"]))


def legacy_flags(namespace: dict[str, Any]) -> dict[str, Any]:
    """The capability flags a class body sets."""
    return {name: namespace[name] for name in _FLAGS if name in namespace}
