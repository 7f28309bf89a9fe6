"""The hottest statements (one per webhook, one per single send) as prepared statements."""

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
