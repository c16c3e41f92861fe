"""Export shapes recognised from the header, each column's role guessed from its name and
values, and the stage mapping proposed: on fixtures written in the products' own column names
and date formats. Each test counts the dropdowns a person must still change."""

import pytest

from funnel.imports.mapping import StageRef
from funnel.imports.owners import owner_label
from funnel.imports.parsing import csv_parse
from funnel.imports.presets import hubspot_entered_stage, mapping_propose, preset_detect

STAGES = [
    StageRef("inquiry", "Inquiry"),
    StageRef("engaged", "Engaged"),
    StageRef("qualified", "Qualified"),
    StageRef("proposal", "Proposal"),
    StageRef("negotiation", "Negotiation"),
    StageRef("handover", "Handover"),
]


def propose(csv_bytes, name):
    table = csv_parse(csv_bytes(name))
    sample = [cells for _, cells in table.rows]
    return table, mapping_propose(table.header, sample, stages=STAGES, characteristics=[])


def changes(proposed: dict, correct: dict) -> list[str]:
    """The dropdowns (columns and stage labels) a person would have to change."""
    columns = [c for c, t in correct["columns"].items() if proposed["columns"][c] != t]
    labels = [v for v, t in correct["stage_values"].items() if proposed["stage_values"][v] != t]
    return columns + labels


# By hand, reading each fixture: what a manager of a team with the default stages picks.
SALESFORCE_HISTORY = {
    "columns": {
        "Opportunity ID": "deal_id",
        "Opportunity Name": "ignore",
        "Opportunity Owner": "owner",
        "From Stage": "ignore",
        "To Stage": "stage",
        "Amount": "amount",
        "Probability (%)": "ignore",
        "Close Date": "ignore",
        "Edit Date": "occurred_at",
        "Edited By": "ignore",
        "Last Modified Date": "ignore",
        "Stage Duration": "ignore",
    },
    "stage_values": {
        "Prospecting": "inquiry",
        "Qualification": "qualified",
        "Value Proposition": "proposal",
        "Negotiation/Review": "negotiation",
        "Closed Won": "won",
        "Closed Lost": "lost",
    },
}
HUBSPOT = {
    "columns": {
        "Record ID": "deal_id",
        "Deal Name": "ignore",
        "Deal Stage": "stage",
        "Pipeline": "ignore",
        "Amount": "amount",
        "Close Date": "closed_at",
        "Create Date": "created_at",
        "Deal owner": "owner",
        "Last Modified Date": "ignore",
        "Associated Company": "account",
        "Deal Type": "new_characteristic",
        'Date entered "Appointment Scheduled (Sales Pipeline)"': "entered:engaged",
        'Date entered "Qualified To Buy (Sales Pipeline)"': "entered:qualified",
        'Date entered "Presentation Scheduled (Sales Pipeline)"': "entered:proposal",
        'Date entered "Decision Maker Bought-In (Sales Pipeline)"': "entered:negotiation",
        'Date entered "Contract Sent (Sales Pipeline)"': "ignore",
        'Date entered "Closed Won (Sales Pipeline)"': "ignore",
        'Date entered "Closed Lost (Sales Pipeline)"': "ignore",
        'Date exited "Appointment Scheduled (Sales Pipeline)"': "ignore",
        'Date exited "Qualified To Buy (Sales Pipeline)"': "ignore",
    },
    "stage_values": {
        "Qualified To Buy": "qualified",
        "Presentation Scheduled": "proposal",
        "Decision Maker Bought-In": "negotiation",
        "Closed Won": "won",
        "Closed Lost": "lost",
    },
}
PIPEDRIVE = {
    "columns": {
        "ID": "deal_id",
        "Title": "ignore",
        "Creator": "ignore",
        "Owner": "owner",
        "Value": "amount",
        "Currency": "ignore",
        "Organization": "account",
        "Contact person": "ignore",
        "Stage": "stage",
        "Status": "outcome",
        "Pipeline": "ignore",
        "Deal created": "created_at",
        "Update time": "ignore",
        "Last stage change": "ignore",
        "Won time": "won_at",
        "Lost time": "lost_at",
        "Lost reason": "lost_reason",
        "Expected close date": "ignore",
        "Label": "new_characteristic",
    },
    "stage_values": {
        "Qualified": "qualified",
        "Contact Made": "engaged",
        "Demo Scheduled": "engaged",
        "Proposal Made": "proposal",
        "Negotiations Started": "negotiation",
    },
}


@pytest.mark.parametrize(
    ("name", "preset", "shape", "date_format", "correct"),
    [
        ("salesforce_opportunity_history.csv", "salesforce-opportunity-history", "events", "mdy",
         SALESFORCE_HISTORY),
        ("hubspot_deals.csv", "hubspot-deals", "deals", "iso", HUBSPOT),
        ("pipedrive_deals.csv", "pipedrive-deals", "deals", "iso", PIPEDRIVE),
    ],
)  # fmt: skip
def test_fixture_needs_at_most_three_corrections(
    csv_bytes, name, preset, shape, date_format, correct
):
    table, proposed = propose(csv_bytes, name)
    assert set(correct["columns"]) == set(table.header)  # every dropdown is counted
    assert proposed["preset"] == preset
    assert proposed["shape"] == shape
    assert proposed["date_format"] == date_format
    assert set(proposed["stage_values"]) == set(correct["stage_values"])
    # Measured: none of the 12 + 6, 20 + 5 and 19 + 5 dropdowns needs changing.
    assert changes(proposed, correct) == []


def test_system_fields_are_never_characteristics():
    """Salesforce's API field names: ids, audit and fiscal fields are ignored, not offered."""
    header = ["Id", "CreatedDate", "StageName", "OwnerId", "CreatedById", "LastModifiedDate",
              "SystemModstamp", "IsDeleted", "FiscalQuarter", "ForecastCategory", "Amount",
              "CloseDate", "LeadSource", "Type"]  # fmt: skip
    rows = [
        [f"0068d000002Or{k:02d}AAK", f"1{k % 9}/03/2022", ["Prospecting", "Closed Won"][k % 2],
         "0058d000002C3D2AAK", "0058d000002C2lpAAC", "02/03/2022 16:11", "02/03/2022 16:11",
         "FALSE", str(1 + k % 4), ["Pipeline", "Closed"][k % 2], str(1000 * k), "24/03/2022",
         ["Web", "Partner"][k % 2], ["New Business", "Renewal"][k % 2]]
        for k in range(10)
    ]  # fmt: skip
    assert preset_detect(header, rows).slug == "salesforce-opportunity"
    columns = mapping_propose(header, rows, stages=STAGES, characteristics=[])["columns"]
    assert columns == {
        "Id": "deal_id",
        "CreatedDate": "created_at",
        "StageName": "stage",
        "OwnerId": "owner",
        "CreatedById": "ignore",
        "LastModifiedDate": "ignore",
        "SystemModstamp": "ignore",
        "IsDeleted": "ignore",
        "FiscalQuarter": "ignore",
        "ForecastCategory": "ignore",
        "Amount": "amount",
        "CloseDate": "closed_at",
        "LeadSource": "source",
        "Type": "new_characteristic",
    }


def test_plain_event_log_is_recognised():
    header = ["case_id", "amount_req", "activity", "timestamp", "resource"]
    rows = [
        ["173688", "20000", "A_SUBMITTED", "2011-10-01T00:38:44.546+02:00", "112"],
        ["173688", "20000", "A_PARTLYSUBMITTED", "2011-10-01T00:38:44.880+02:00", "112"],
        ["173691", "5000", "A_SUBMITTED", "2011-10-01T08:08:58.256+02:00", "112"],
        ["173691", "5000", "A_DECLINED", "2011-10-01T08:09:02.256+02:00", "10862"],
    ]
    proposed = mapping_propose(header, rows, stages=STAGES, characteristics=[])
    assert proposed["preset"] == "event-log"
    assert proposed["shape"] == "events"
    assert proposed["columns"]["case_id"] == "deal_id"
    assert proposed["columns"]["activity"] == "stage"
    assert proposed["columns"]["timestamp"] == "occurred_at"
    # Labels unlike any stage are left for the person (or for "create these stages").
    assert proposed["stage_values"]["A_SUBMITTED"] == ""


def test_hubspot_date_entered_header():
    assert hubspot_entered_stage('Date entered "Contract Sent (Sales Pipeline)"') == "Contract Sent"
    assert hubspot_entered_stage("Date entered Closed Won (Pipeline 2)") == "Closed Won"
    assert hubspot_entered_stage("Date exited Contract Sent (Sales Pipeline)") is None


def test_owner_ids_named_or_kept():
    names = {"0058d000002C3D2AAK": "Dana Scully"}
    assert owner_label("0058d000002C3D2AAK", names) == "Dana Scully"
    assert owner_label("0058d000002C3CyAAK", names) == "Owner 0058d000002C3CyAAK"
    assert owner_label("Fox Mulder", names) == "Fox Mulder"
    assert owner_label("fox@example.com", names) == "fox@example.com"
