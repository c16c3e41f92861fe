"""The funnel app's models, split along the domain; import them from here."""

from funnel.models.deals import (
    AppendOnly,
    AppendOnlyError,
    Characteristic,
    CharacteristicKind,
    Deal,
    DealStatus,
    Observation,
    Origin,
    Outcome,
    StageEvent,
)
from funnel.models.definitions import (
    Agreement,
    DefinitionVersion,
    OperationalDefinition,
    StaleRule,
)
from funnel.models.flow import (
    BottleneckStatus,
    CompanyRecomputeState,
    DealPassage,
    FlowKind,
    PassageResult,
    PendingDeal,
    RecomputeState,
    StageFlow,
    StageMetric,
    Verdict,
)
from funnel.models.integration import (
    ApiToken,
    ImportJob,
    ImportMapping,
    ImportShape,
    ImportStatus,
    ReopenChoice,
)
from funnel.models.invitations import Invitation
from funnel.models.team import Membership, Role, Stage, Station, Team
from funnel.models.touches import Channel, ResponseRule, Tactic, Touch
from funnel.models.winnable import WinnableCount, WinnableDimension

__all__ = [
    "Agreement",
    "DefinitionVersion",
    "OperationalDefinition",
    "BottleneckStatus",
    "CompanyRecomputeState",
    "DealPassage",
    "FlowKind",
    "PassageResult",
    "PendingDeal",
    "RecomputeState",
    "StageFlow",
    "StaleRule",
    "StageMetric",
    "Verdict",
    "ApiToken",
    "AppendOnly",
    "AppendOnlyError",
    "Characteristic",
    "CharacteristicKind",
    "Channel",
    "Deal",
    "DealStatus",
    "ImportJob",
    "ImportMapping",
    "ImportShape",
    "ImportStatus",
    "Invitation",
    "Membership",
    "Observation",
    "Origin",
    "Outcome",
    "ReopenChoice",
    "ResponseRule",
    "Role",
    "Stage",
    "StageEvent",
    "Station",
    "Tactic",
    "Team",
    "Touch",
    "WinnableCount",
    "WinnableDimension",
]
