"""Exportable entities and formats, and the COPY statements that read them.

Only whitelisted columns of whitelisted tables are ever named in SQL, and
every query is scoped to one org by a bind parameter, so neither a request
nor an edited replay can read another tenant's rows or an unlisted column.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ExportEntity:
    table: str
    columns: tuple[str, ...]
    time_column: str  # what the `from`/`to` filters apply to, and the export order


@dataclass(frozen=True)
class ExportFormat:
    extension: str
    content_type: str
    copy_options: dict[str, Any]
    rows_per_line: bool = True


ENTITIES: dict[str, ExportEntity] = {
    "sessions": ExportEntity(
        table="sessions",
        columns=(
            "id",
            "user_id",
            "started_at",
            "ended_at",
            "duration_seconds",
            "country",
            "device",
            "page_views",
            "landing_page",
            "note",
        ),
        time_column="started_at",
    ),
    "job_runs": ExportEntity(
        table="job_runs",
        columns=(
            "id",
            "job_id",
            "job_name",
            "status",
            "user_id",
            "entity_type",
            "entity_id",
            "progress",
            "attempt",
            "error",
            "correlation_id",
            "queued_at",
            "started_at",
            "finished_at",
        ),
        time_column="queued_at",
    ),
}

FORMATS: dict[str, ExportFormat] = {
    "csv": ExportFormat("csv", "text/csv; charset=utf-8", {"format": "csv", "header": True}),
    # row_to_json escapes every control character, so a CSV COPY whose quote
    # and delimiter bytes cannot occur in JSON writes each document verbatim.
    "ndjson": ExportFormat(
        "ndjson",
        "application/x-ndjson",
        {"format": "csv", "quote": "\x01", "delimiter": "\x02"},
    ),
}


@dataclass(frozen=True)
class ExportQuery:
    copy_sql: str
    count_sql: str
    args: tuple[Any, ...]


def build_query(
    entity_name: str, format_name: str, org_id: str, since: datetime | None, until: datetime | None
) -> ExportQuery:
    """The org-scoped SELECT behind an export, as a COPY source and as a row count."""
    entity = ENTITIES[entity_name]
    conditions = ["org_id = $1"]
    args: list[Any] = [org_id]
    for operator, bound in ((">=", since), ("<", until)):
        if bound is not None:
            args.append(bound)
            conditions.append(f"{entity.time_column} {operator} ${len(args)}")
    where = " AND ".join(conditions)
    select = (
        f"SELECT {', '.join(entity.columns)} FROM {entity.table} WHERE {where}"
        f" ORDER BY {entity.time_column}, id"
    )
    if format_name == "ndjson":
        select = f"SELECT row_to_json(r) FROM ({select}) r"
    return ExportQuery(select, f"SELECT count(*) FROM {entity.table} WHERE {where}", tuple(args))


def allowed(names: dict[str, Any]) -> str:
    return ", ".join(sorted(names))
