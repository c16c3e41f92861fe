"""The stage list a new team starts with, each defined by what the buyer observably does."""

from dataclasses import dataclass

from funnel.models import Station


@dataclass(frozen=True)
class StageTemplate:
    slug: str
    name: str
    station: str
    meaning: str
    criteria: tuple[str, ...]
    how_measured: str
    examples: str
    non_examples: str
    target_days: int | None = None


DEFAULT_STAGES: tuple[StageTemplate, ...] = (
    StageTemplate(
        slug="inquiry",
        name="Inquiry",
        station=Station.MARKET,
        meaning="A person at a prospect organisation has made contact with us of their own accord.",
        criteria=(
            "The prospect initiated the contact (form, call, email, event sign-up, reply).",
            "We can name the person and their organisation.",
        ),
        how_measured="Date of the first inbound contact, as logged in the CRM.",
        examples="Filled in the pricing form; replied to a webinar invitation asking a question.",
        non_examples="A purchased list entry; a cold call that was not answered.",
        target_days=7,
    ),
    StageTemplate(
        slug="engaged",
        name="Engaged",
        station=Station.MARKETING,
        meaning="The prospect has responded to our value message by asking for a conversation.",
        criteria=(
            "The prospect accepted or requested a meeting about their situation.",
            "The meeting is on both calendars.",
        ),
        how_measured="Date the prospect accepted the first meeting invitation.",
        examples="Booked a discovery call from the case-study email.",
        non_examples="Opened three emails; downloaded a white paper without further contact.",
        target_days=14,
    ),
    StageTemplate(
        slug="qualified",
        name="Qualified",
        station=Station.QUALIFYING,
        meaning="The prospect has confirmed a need we solve, a budget owner and a time frame.",
        criteria=(
            "The prospect described the problem in their own words and its cost.",
            "The prospect named the person who owns the budget.",
            "The prospect named a date by which they want the problem solved.",
        ),
        how_measured="Date the third criterion was met, with the evidence noted on the deal.",
        examples="Ops director: 'we lose 40 hours a month to this; the CFO signs; by Q3'.",
        non_examples="'Sounds interesting, send me something.'",
        target_days=21,
    ),
    StageTemplate(
        slug="proposal",
        name="Proposal",
        station=Station.SELLING,
        meaning="The prospect has asked us for a written proposal.",
        criteria=(
            "The budget owner or their delegate requested a proposal or quote.",
            "Scope and decision date were agreed with the prospect.",
        ),
        how_measured="Date of the prospect's request for a proposal.",
        examples="'Please send us a quote for 50 seats by Friday.'",
        non_examples="We sent a proposal nobody asked for.",
        target_days=21,
    ),
    StageTemplate(
        slug="negotiation",
        name="Negotiation",
        station=Station.SELLING,
        meaning="The prospect is negotiating terms of our proposal.",
        criteria=("The prospect returned comments, redlines or a counter-offer on our proposal.",),
        how_measured="Date of the prospect's first response on terms.",
        examples="Procurement sent redlines on the contract.",
        non_examples="The prospect went silent after receiving the proposal.",
        target_days=14,
    ),
    StageTemplate(
        slug="handover",
        name="Handover",
        station=Station.SERVICING,
        meaning=(
            "The customer has signed; the seller is doing the post-sale handover until the "
            "customer is live, when the deal is marked won."
        ),
        criteria=(
            "A signed order form is on file.",
            "The customer has not yet confirmed go-live.",
        ),
        how_measured="Date of the signature; the deal is won on the customer's go-live email.",
        examples="Signed on the 3rd; kick-off call with the customer's admin on the 10th.",
        non_examples="A verbal yes without a signature.",
        target_days=14,
    ),
)
