"""A deal row's events, column-wise: its dated stage entries in time order, then its current
stage or outcome at its final date, as funnel.imports.rows._deal_row makes them one row at a time
(and each row's observation time). Part of funnel.imports.columnar."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from funnel.imports.plan import event_id_for
from funnel.imports.reader import RowReader

UTC_TIME = pl.Datetime("us", "UTC")


def deal_row_events(
    out: pl.DataFrame, reader: RowReader, check: Callable[[bool], None]
) -> tuple[pl.DataFrame, pl.Series]:
    """The rows' events in file order (each row's dated stage entries by time, then its
    current stage or outcome), and each row's observation time."""
    columns = reader.columns
    entered_slugs = [slug for _, slug in columns.entered]
    created_stage = reader.created_stage
    # The dated entries: each entered column, then the creation date as the first stage's
    # entry when no entered column of that stage has a date in the row.
    parts = [
        out.select("n", pl.lit(slug).alias("slug"), pl.col(f"entered_{k}").alias("at"))
        .with_columns(pl.lit(k).alias("k"))
        .filter(pl.col("at").is_not_null())
        for k, slug in enumerate(entered_slugs)
    ]
    created_entry = pl.col("created_at").is_not_null()
    if created_stage in entered_slugs:
        k = entered_slugs.index(created_stage)
        created_entry = created_entry & pl.col(f"entered_{k}").is_null()
    parts.append(
        out.filter(created_entry).select(
            "n",
            pl.lit(created_stage).alias("slug"),
            pl.col("created_at").alias("at"),
            pl.lit(len(entered_slugs)).alias("k"),
        )
    )
    dated = (
        pl.concat([p.with_columns(pl.col("k").cast(pl.Int64)) for p in parts])
        .sort(["n", "at", "k"])
        .with_row_index("pos")
        .with_columns(pl.col("pos").cast(pl.Int64))
    )
    latest = dated.group_by("n").agg(pl.col("at").max().alias("latest"))
    # The date of the row's entry into its current stage, if it has one.
    stage_entry = (
        dated.join(out.select("n", "stage"), on="n", how="inner")
        .filter(pl.col("slug") == pl.col("stage"))
        .select("n", pl.col("at").alias("stage_at"))
    )
    rows = out.join(latest, on="n", how="left").join(stage_entry, on="n", how="left")
    default = reader.default_date
    default_lit = pl.lit(default, dtype=UTC_TIME)
    closed = (
        pl.when(pl.col("outcome") == "won")
        .then(pl.coalesce("won_at", "closed_at"))
        .when(pl.col("outcome") == "lost")
        .then(pl.coalesce("lost_at", "closed_at"))
    )
    final = (
        pl.when(pl.col("outcome").is_not_null())
        .then(pl.coalesce(closed, default_lit))
        .when(pl.col("stage").is_not_null())
        .then(pl.coalesce("stage_at", "latest", default_lit))
    )
    rows = rows.with_columns(final.alias("final_at"))
    has_outcome = pl.col("outcome").is_not_null()
    bad = (
        (has_outcome & pl.col("final_at").is_null())
        | (has_outcome & (pl.col("final_at") < pl.col("latest")))
        | (pl.col("stage").is_not_null() & pl.col("final_at").is_null())
        | (pl.col("stage").is_null() & ~has_outcome & pl.col("latest").is_null())
    )
    check(not rows.select(bad.any()).item())
    finals = rows.filter(
        pl.col("final_at").is_not_null()
        & (has_outcome | pl.col("stage_at").is_null() | (pl.col("stage_at") != pl.col("final_at")))
    ).select(
        "n",
        pl.coalesce("outcome", "stage").alias("slug"),
        pl.col("final_at").alias("at"),
        pl.lit(dated.height, dtype=pl.Int64).alias("pos"),
        "stage",
        pl.col("outcome").fill_null(""),
        pl.when(pl.col("outcome") == "lost")
        .then(pl.col("lost_reason_cell"))
        .otherwise(pl.lit(""))
        .alias("lost_reason"),
    )
    entries = dated.with_columns(
        pl.col("slug").alias("stage"),
        pl.lit("").alias("outcome"),
        pl.lit("").alias("lost_reason"),
    ).select(finals.columns)
    events = (
        pl.concat([entries, finals])
        .sort(["n", "pos"])
        .join(out.select("n", "deal"), on="n", how="left")
    )
    events = events.with_columns(_event_ids(events)).select(
        "n",
        "deal",
        "event_id",
        "stage",
        "outcome",
        "lost_reason",
        pl.col("at").alias("occurred_at"),
    )
    observed = rows.select(
        pl.when(has_outcome)
        .then(pl.col("final_at"))
        .otherwise(pl.coalesce("created_at", "latest", "final_at"))
        .alias("observed_at")
    )["observed_at"]
    return events, observed


def _event_ids(events: pl.DataFrame) -> pl.Series:
    """funnel.imports.plan.event_id_for, column-wise: the times' texts once per distinct
    time; the few ids too long for the column hashed one at a time."""
    times = events["at"].unique().to_list()
    texts = {t: t.astimezone(dt.UTC).isoformat() for t in times}
    keys = list(texts)
    iso = events["at"].replace_strict(keys, [texts[k] for k in keys], return_dtype=pl.String)
    ids = "csv:" + events["deal"] + ":" + events["slug"] + ":" + iso
    long = ids.str.len_chars() > 120
    if long.any():
        hashed = [
            event_id_for(d, s, a) if is_long else i
            for i, d, s, a, is_long in zip(
                ids.to_list(),
                events["deal"].to_list(),
                events["slug"].to_list(),
                events["at"].to_list(),
                long.to_list(),
                strict=True,
            )
        ]
        ids = pl.Series(hashed, dtype=pl.String)
    return ids.alias("event_id")
