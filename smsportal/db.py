"""The hottest statements (one per webhook, one per single send) as prepared statements, and
written-out statements' rows as model instances."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import psycopg
from django.db import connection
from django.db.models import DEFERRED


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


_row_plans: dict = {}


def _row_plan(model, names: tuple[str, ...]):
    """How a row of these column names becomes an instance of `model`: each concrete field's
    position (None: not selected, deferred), its converters, and the extra columns kept as
    attributes."""
    position = {name: i for i, name in reversed(list(enumerate(names)))}  # the first of duplicates
    fields = model._meta.concrete_fields
    positions = [position.get(field.column) for field in fields]
    converters = []
    for field, at in zip(fields, positions, strict=True):
        col = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found and at is not None:
            converters.append((at, found, col))
    taken = {field.column for field in fields}
    extras = [(i, name) for i, name in enumerate(names) if name not in taken]
    return positions, converters, extras


def rows_as(model, sql: str, params: list) -> list:
    """Run a written-out SELECT of `model`'s columns (any others become attributes of the same name)
    and return its rows as instances, converted as the ORM converts them.

    What `model.objects.raw()` returns, without its per-statement set-up (building the cursor's
    description again and again, matching columns to fields, collecting converters): in a routing
    run of one reply that set-up cost more than the statements' own round trips. The plan is
    worked out once per statement text and kept.
    """
    key = (model, sql, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        plan = _row_plans.get(key)
        if plan is None:
            plan = _row_plans[key] = _row_plan(model, tuple(column[0] for column in cursor.description))
        rows = cursor.fetchall()
    positions, converters, extras = plan
    attnames = [field.attname for field in model._meta.concrete_fields]
    alias = connection.alias
    found = []
    for row in rows:
        if converters:
            row = list(row)
            for at, funcs, col in converters:
                for func in funcs:
                    row[at] = func(row[at], col, connection)
        instance = model.from_db(alias, attnames, [DEFERRED if at is None else row[at] for at in positions])
        for at, name in extras:
            setattr(instance, name, row[at])
        found.append(instance)
    return found


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
