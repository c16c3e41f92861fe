"""The kaizen app's models, split along the domain; import them from here."""

from kaizen.models.cycles import (
    ActDecision,
    Cycle,
    CycleEvent,
    CycleMetric,
    CycleNote,
    Direction,
    Phase,
    PlanLockedError,
    StandardWork,
)

__all__ = [
    "ActDecision",
    "Cycle",
    "CycleEvent",
    "CycleMetric",
    "CycleNote",
    "Direction",
    "Phase",
    "PlanLockedError",
    "StandardWork",
]
