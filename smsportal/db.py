"""The hottest statements (one per webhook, one per single send) as prepared statements."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import psycopg
from django.db import connection


def execute_hot(sql: str, params: list) -> tuple[int, tuple | None]:
    """Run `sql` and return (rowcount, first row or None).

    On PostgreSQL: a prepared statement with server-side binding on Django's connection (same
    transaction). psycopg's C dumpers send the parameters instead of Django's client-side quoting
    in Python, and the server parses and plans the statement once per connection; together about
    a third of the CPU of such a request (docs/performance.md). Elsewhere: Django's cursor.
    With PgBouncer in transaction mode this needs PgBouncer ≥ 1.21 (`max_prepared_statements`).
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount, (cursor.fetchone() if cursor.description else None)
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.rowcount, (cursor.fetchone() if cursor.description else None)


def update_from_values_sql(
    table: str, *, assignments: str, columns: Sequence[tuple[str, str]], rows: int, where: str = ""
) -> str:
    """`UPDATE table AS m SET … FROM (VALUES …) AS v(…) WHERE m.key = v.key`: many rows, each its own
    values, in one statement (PostgreSQL). `columns` are (name, SQL type) with the key first; the
    parameters are those of `assignments`, then each row's values in column order.

    Django's bulk_update builds a CASE per field and row instead: most of the CPU of a batch of a
    few hundred rows (docs/performance.md)."""
    row = "(" + ", ".join(f"%s::{sql_type}" for _, sql_type in columns) + ")"
    key = columns[0][0]
    return (
        f"UPDATE {table} AS m SET {assignments} "  # noqa: S608 — identifiers from the models
        f"FROM (VALUES {', '.join([row] * rows)}) AS v({', '.join(name for name, _ in columns)}) "
        f"WHERE m.{key} = v.{key}{where}"
    )


def insert_rows_sql(model, *, rows: int = 1, conflict: str = "", returning: str = "") -> str:
    """`INSERT INTO table (every concrete column) VALUES (…) ON CONFLICT … DO NOTHING [RETURNING …]`;
    the parameters of each row come from `insert_row_params`. `conflict` is the conflict target
    ("" for any conflict)."""
    ops = connection.ops
    fields = model._meta.concrete_fields
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({', '.join(ops.quote_name(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * rows)} ON CONFLICT {conflict + ' ' if conflict else ''}DO NOTHING"
    )
    return f"{sql} RETURNING {returning}" if returning else sql


def insert_row_params(instance) -> list:
    """One row's parameters for `insert_rows_sql`, as Django's own INSERT would prepare them."""
    return [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in instance._meta.concrete_fields]


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value) -> str:
    """One value in COPY's text format, as the column's get_db_prep_save() prepared it (the outbox's COPY)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(COPY_ESCAPES)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | int | float | Decimal):
        return str(value)
    if hasattr(value, "obj") and hasattr(value, "dumps"):  # psycopg Json/Jsonb, as JSONField prepares it
        return value.dumps(value.obj).translate(COPY_ESCAPES)
    raise TypeError(f"no COPY text form for {type(value).__name__}")
