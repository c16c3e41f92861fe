"""The observable deal characteristics a new team starts with.

Each is defined by what the buyer observably does or says, so that two sellers looking at the same
deal record the same value.
"""

from dataclasses import dataclass

from funnel.models import CharacteristicKind


@dataclass(frozen=True)
class CharacteristicTemplate:
    slug: str
    name: str
    kind: str
    meaning: str
    criteria: tuple[str, ...]
    how_measured: str
    examples: str
    non_examples: str
    choices: tuple[str, ...] = ()


DEPARTMENTS: tuple[str, ...] = (
    "Finance",
    "Operations",
    "IT",
    "Sales",
    "Marketing",
    "HR",
    "Executive",
)

DEFAULT_CHARACTERISTICS: tuple[CharacteristicTemplate, ...] = (
    CharacteristicTemplate(
        slug="decision-maker-reached",
        name="Decision maker reached",
        kind=CharacteristicKind.YES_NO,
        meaning="The person who signs the purchase has taken part in a conversation with us.",
        criteria=(
            "The prospect named who signs the order (name and title).",
            "That person attended a meeting or call, or replied to us in writing.",
        ),
        how_measured="Yes when both criteria are met; the meeting or email is noted as evidence.",
        examples="The CFO joined the second demo and asked about payment terms.",
        non_examples="Our champion says the CFO 'is on board' but the CFO never spoke with us.",
    ),
    CharacteristicTemplate(
        slug="pain-quantified",
        name="Pain quantified",
        kind=CharacteristicKind.YES_NO,
        meaning="The prospect has put a number on what the problem costs them.",
        criteria=(
            "The prospect stated the cost of the problem in money, hours or another unit.",
            "The figure came from the prospect, not from our estimate.",
        ),
        how_measured="Yes when the prospect's own figure is written on the deal with its source.",
        examples="'Month-end close takes us 6 extra days; that is about 120 staff hours.'",
        non_examples="'It's a real headache for us.' Our ROI calculator filled in by the seller.",
    ),
    CharacteristicTemplate(
        slug="budget-confirmed",
        name="Budget confirmed",
        kind=CharacteristicKind.YES_NO,
        meaning="The prospect has told us money is set aside for this purchase.",
        criteria=(
            "The prospect confirmed a budget line or an amount for solving this problem.",
            "The budget is available within the prospect's stated time frame.",
        ),
        how_measured="Yes when the prospect confirms the budget in a call note or in writing.",
        examples="'We have 80k approved for this in the Q2 budget.'",
        non_examples="'If the business case is good we can probably find the money.'",
    ),
    CharacteristicTemplate(
        slug="competitor-present",
        name="Competitor present",
        kind=CharacteristicKind.YES_NO,
        meaning="The prospect is evaluating at least one other vendor for the same need.",
        criteria=(
            "The prospect named another vendor or said they are comparing offers.",
            "Or the prospect sent a formal request for proposal to several vendors.",
        ),
        how_measured="Yes when the prospect has said so; no when they said they are not comparing.",
        examples="'We are also looking at Acme and will decide next month.'",
        non_examples="We suspect a competitor because of the prospect's industry.",
    ),
    CharacteristicTemplate(
        slug="champion-identified",
        name="Champion identified",
        kind=CharacteristicKind.YES_NO,
        meaning="Someone inside the prospect actively sells our solution to their colleagues.",
        criteria=(
            "A named person at the prospect has set up meetings or shared our material internally.",
            "That person has told us about internal objections or the decision process.",
        ),
        how_measured="Yes when a named person has done both; their actions are noted as evidence.",
        examples="The ops lead forwarded our proposal to IT and told us their security concerns.",
        non_examples="A friendly contact who likes the product but does nothing internally.",
    ),
    CharacteristicTemplate(
        slug="prospect-department",
        name="Prospect department",
        kind=CharacteristicKind.CHOICE,
        meaning="The department of the prospect that owns the problem and the budget.",
        criteria=("The prospect told us which department the buying decision sits in.",),
        how_measured="The department named by the prospect; the budget owner's department wins.",
        examples="The CFO's team owns the budget for a close-automation tool: Finance.",
        non_examples="The department of whoever filled in the web form, if it is not the buyer's.",
        choices=DEPARTMENTS,
    ),
)
