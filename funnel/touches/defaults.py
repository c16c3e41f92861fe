"""The tactics a new team starts with, each with what counts as a response to it."""

from dataclasses import dataclass

from funnel.models import Channel

# A touch on a deal also counts as answered when the deal moves on within this many days.
DEFAULT_WINDOW_DAYS = 14


@dataclass(frozen=True)
class TacticTemplate:
    slug: str
    name: str
    channel: str
    meaning: str
    criteria: tuple[str, ...]
    how_measured: str
    examples: str
    non_examples: str


DEFAULT_TACTICS: tuple[TacticTemplate, ...] = (
    TacticTemplate(
        slug="call",
        name="Call",
        channel=Channel.PHONE,
        meaning="The prospect talked with us on the call, or called us back.",
        criteria=("A two-way conversation took place", "Or the prospect returned the call"),
        how_measured="The rep marks the call as answered; a stage move within 14 days counts too.",
        examples="Talked for five minutes about the renewal date.",
        non_examples="Voicemail left; the gatekeeper took a message.",
    ),
    TacticTemplate(
        slug="email",
        name="E-mail",
        channel=Channel.EMAIL,
        meaning="The prospect wrote back to the e-mail.",
        criteria=("A written reply from the prospect",),
        how_measured="The rep marks the e-mail as answered; a stage move within 14 days counts.",
        examples="“Send me the pricing for 20 seats.”",
        non_examples="An out-of-office reply; the e-mail was opened but not answered.",
    ),
    TacticTemplate(
        slug="linkedin",
        name="LinkedIn message",
        channel=Channel.SOCIAL,
        meaning="The prospect replied to the message.",
        criteria=("A reply in the conversation",),
        how_measured="The rep marks it as answered; a stage move within 14 days counts too.",
        examples="“Happy to talk next week.”",
        non_examples="Accepted the connection without a word.",
    ),
    TacticTemplate(
        slug="meeting",
        name="Meeting",
        channel=Channel.MEETING,
        meaning="The prospect attended and agreed a next step with a date.",
        criteria=("Attended", "A dated next step agreed"),
        how_measured="The rep marks it as answered; a stage move within 14 days counts too.",
        examples="Demo held; follow-up with their CFO set for Tuesday.",
        non_examples="No-show; “we will get back to you”.",
    ),
)
