from funnel.imports.mapping import (
    CharacteristicRef,
    StageRef,
    mapping_guess,
    stage_value_guess,
)

STAGES = [
    StageRef("inquiry", "Inquiry"),
    StageRef("engaged", "Engaged"),
    StageRef("qualified", "Qualified"),
    StageRef("proposal", "Proposal"),
    StageRef("negotiation", "Negotiation"),
    StageRef("handover", "Handover"),
]
CHARACTERISTICS = [CharacteristicRef("budget-confirmed", "Budget confirmed")]


def guess(header, rows):
    return mapping_guess(header, rows, stages=STAGES, characteristics=CHARACTERISTICS)


def test_maven_style_header():
    header = [
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ]
    rows = [
        [
            "1C1I7A6R",
            "Moses Frase",
            "GTX Plus Basic",
            "Cancity",
            "Won",
            "2016-10-20",
            "2017-03-01",
            "1054",
        ],
        ["6CWZFOHJ", "Anna Snelling", "GTX Basic", "", "Prospecting", "", "", ""],
        ["HAXMC4IX", "James Ascencio", "MG Advanced", "", "Engaging", "2016-11-03", "", ""],
        ["X", "Moses Frase", "GTXPro", "Isdom", "Lost", "2016-10-25", "2017-03-11", "0"],
    ]
    mapping = guess(header, rows)
    assert mapping["columns"] == {
        "opportunity_id": "deal_id",
        "sales_agent": "owner",
        "product": "new_characteristic",
        "account": "account",
        "deal_stage": "stage",
        "engage_date": "entered:engaged",
        "close_date": "closed_at",
        "close_value": "amount",
    }
    assert mapping["shape"] == "deals"
    assert mapping["date_format"] == "iso"
    assert mapping["stage_values"] == {
        "Won": "won",
        "Prospecting": "inquiry",
        "Engaging": "engaged",
        "Lost": "lost",
    }


def test_crm_headers_and_characteristics():
    header = [
        "Opportunity ID",
        "Deal Owner",
        "Date entered Qualified",
        "Created Date",
        "Close Date",
        "Budget confirmed",
        "Competitor Type",
        "Notes",
        "Elapsed Days",
    ]
    rows = [
        [
            "1",
            "a@x.com",
            "03/01/2024",
            "02/01/2024",
            "20/02/2024",
            "yes",
            "None",
            f"note {i}",
            str(i),
        ]
        for i in range(30)
    ]
    mapping = guess(header, rows)
    assert mapping["columns"] == {
        "Opportunity ID": "deal_id",
        "Deal Owner": "owner",
        "Date entered Qualified": "entered:qualified",
        "Created Date": "created_at",
        "Close Date": "closed_at",
        "Budget confirmed": "characteristic:budget-confirmed",
        "Competitor Type": "new_characteristic",
        "Notes": "ignore",  # too many distinct values to be a category
        "Elapsed Days": "ignore",  # numbers, not categories
    }
    assert mapping["date_format"] == "dmy"
    assert mapping["shape"] == "events"  # the deal id repeats, so rows are events


def test_event_shape_header():
    mapping = guess(
        ["event_id", "deal id", "Stage", "occurred_at"],
        [["e1", "A", "Qualification", "2024-01-01T10:00:00Z"]],
    )
    assert mapping["shape"] == "events"
    assert mapping["columns"]["occurred_at"] == "occurred_at"
    assert mapping["columns"]["event_id"] == "event_id"
    assert mapping["stage_values"] == {"Qualification": "qualified"}


def test_stage_value_guesses():
    assert stage_value_guess("Closed Won", STAGES) == "won"
    assert stage_value_guess("Loss", STAGES) == "lost"
    assert stage_value_guess("Negotiation/Review", STAGES) == "negotiation"
    assert stage_value_guess("Id. Decision Makers", STAGES) == ""


def test_a_stage_the_team_named_wins_over_another_stages_synonym():
    # "Contract sent" is a synonym of Negotiation, but this team has a stage of that name.
    own = [*STAGES[:5], StageRef("contract-sent", "Contract sent"), STAGES[5]]
    assert stage_value_guess("Contract Sent", STAGES) == "negotiation"
    assert stage_value_guess("Contract Sent", own) == "contract-sent"
    assert stage_value_guess("contract-sent", own) == "contract-sent"
    assert stage_value_guess("Decision Maker Bought-In", own) == "negotiation"
