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
from kaizen.models.definitions import Agreement, DefinitionVersion, OperationalDefinition

__all__ = [
    "ActDecision",
    "Agreement",
    "Cycle",
    "CycleEvent",
    "CycleMetric",
    "CycleNote",
    "DefinitionVersion",
    "Direction",
    "OperationalDefinition",
    "Phase",
    "PlanLockedError",
    "StandardWork",
]
