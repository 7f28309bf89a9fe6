"""Writing one send's outbox rows (messages_queue in outbound.py decides what they hold).

Rows are built as column values in model field order from a prototype, so a recipient costs a
copy and a few assignments (its id, number, sender and, with prefix routes, gateway); they are
written by one prepared INSERT (a single send, with the opt-out check in the same statement), one
raw INSERT, or PostgreSQL COPY (from COPY_THRESHOLD rows, streamed in COPY_CHUNK chunks for large
sends). Other databases: the ORM.
"""

import uuid
from functools import lru_cache

from django.db import connection, models
from django.db.models import prefetch_related_objects

from gateways.route_selectors import route_gateway, route_match
from gateways.selectors import gateway_senders
from messaging.models import OptOut, OutboundMessage
from smsportal.db import copy_text, execute_hot
from smsportal.phones import country_of

Status = OutboundMessage.Status

COPY_THRESHOLD = 50  # rows; below this a plain INSERT is as fast
COPY_CHUNK = 1000  # rows per write while streaming


# Field types whose Python values (as messages_queue builds them: aware datetimes, UUIDs, str,
# int, bool, None) psycopg adapts as they are; get_db_prep_save() would return them unchanged.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.UUIDField,
    models.DateTimeField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)


@lru_cache(maxsize=1)
def _layout() -> tuple[list, list[str], list[bool], list, str, str]:
    """The outbox table's fields, column names, which need preparing, the constant defaults, and
    quoted SQL names: the same for every send."""
    fields = list(OutboundMessage._meta.concrete_fields)
    plain = [isinstance(f, _PLAIN_FIELDS) for f in fields]
    # Callable defaults (the id) are set per row; every other default is a constant.
    defaults = [None if callable(f.default) else f.get_default() for f in fields]
    table = connection.ops.quote_name(OutboundMessage._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    return fields, [f.attname for f in fields], plain, defaults, table, names


class OutboxRows:
    """The outbox rows of one send, as column values in model field order."""

    def __init__(self, prototype: dict, *, gateway, now, routes=()):
        self.fields, self.columns, self.plain, defaults, self.table, self.names = _layout()
        self.base = [prototype.get(name, default) for name, default in zip(self.columns, defaults, strict=True)]
        index = {name: i for i, name in enumerate(self.columns)}
        self.i_id, self.i_recipient, self.i_sender = index["id"], index["recipient"], index["sender"]
        self.i_gateway = index["gateway_id"]
        self.i_reason = index["error_reason"]
        self.failed = [(index["status"], Status.FAILED), (index["failed_at"], now), (index["result_code"], "FAILED")]
        self.gateway = gateway
        # One query for the gateway's local numbers, not one per recipient; without local numbers
        # every recipient gets the gateway's configured sender (no country lookup per number).
        if "inbound_numbers" not in getattr(gateway, "_prefetched_objects_cache", {}):
            prefetch_related_objects([gateway], "inbound_numbers")
        self.local_senders = gateway_senders(gateway, organization_id=prototype["organization_id"])
        self.default_sender = gateway.config.get("from", "") or ""
        self.organization_id = prototype["organization_id"]
        self.routes = routes
        self._route_senders: dict = {}  # gateway id → (local numbers, its `from`), built once per send
        self.values: list[list] = []
        self.queued = 0
        self._templates: dict[str, list[str]] = {}  # COPY text of a queued row ("") and per refusal reason

    def add(self, number: str, given: str, refused: dict[str, str], refusals: list) -> list:
        """The row for `number`; refused (its reason in `refused`) → `failed`, (given, reason) in `refusals`."""
        row = self.base.copy()
        row[self.i_id] = uuid.uuid4()
        row[self.i_recipient] = number
        route = route_match(self.routes, number) if self.routes else None
        if route is not None:
            routed = route_gateway(route)
            row[self.i_gateway] = routed.pk
            local, default = self._senders_of(routed)
        else:
            local, default = self.local_senders, self.default_sender
        if local:  # as gateway_sender_for(), with the map built once per send
            row[self.i_sender] = local.get(country_of(number)) or default
        else:
            row[self.i_sender] = default
        reason = refused.get(number)
        if reason is not None:
            for i, value in self.failed:
                row[i] = value
            row[self.i_reason] = reason
            refusals.append((given, reason))
        else:
            self.queued += 1
        self.values.append(row)
        return row

    def _senders_of(self, gateway) -> tuple[dict, str]:
        senders = self._route_senders.get(gateway.pk)
        if senders is None:
            local = gateway_senders(gateway, organization_id=self.organization_id)
            senders = self._route_senders[gateway.pk] = (local, gateway.config.get("from", "") or "")
        return senders

    def _params(self, row: list) -> list:
        prepared = zip(self.fields, self.plain, row, strict=True)
        return [v if plain else f.get_db_prep_save(v, connection) for f, plain, v in prepared]

    def insert_unless_opted_out(self, organization) -> bool:
        """PostgreSQL, one row: INSERT it only if its number has not opted out, in one statement
        (the single-send APIs' check and insert in one round trip). False when opted out.

        The busiest statement of the API, so a prepared one (smsportal/db.py).
        """
        (row,) = self.values
        placeholders = ", ".join(["%s"] * len(self.fields))
        sql = (
            f"INSERT INTO {self.table} ({self.names}) SELECT {placeholders} "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM {OptOut._meta.db_table} WHERE organization_id = %s AND phone_number = %s)"
        )
        rowcount, _ = execute_hot(sql, [*self._params(row), organization.pk, row[self.i_recipient]])
        inserted = rowcount == 1
        if not inserted:
            self.values.clear()
            self.queued = 0
        return inserted

    def insert(self) -> None:
        """PostgreSQL: COPY from COPY_THRESHOLD rows, else one raw INSERT (the ORM's INSERT compiler
        costs more CPU than the statement itself on the single-send path). Others: the ORM."""
        if not self.values:
            return
        if connection.vendor == "postgresql":
            if len(self.values) >= COPY_THRESHOLD:
                self._copy([self.values])
                return
            values = ", ".join(["(" + ", ".join(["%s"] * len(self.fields)) + ")"] * len(self.values))
            params = [p for row in self.values for p in self._params(row)]
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {self.table} ({self.names}) VALUES {values}", params)  # noqa: S608
            return
        instances = [OutboundMessage.from_db("default", self.columns, row) for row in self.values]
        if len(instances) == 1:
            # save() inserts without bulk_create's own transaction (no BEGIN/COMMIT in autocommit).
            instances[0]._state.adding = True
            instances[0].save(force_insert=True)
            return
        OutboundMessage.objects.bulk_create(instances, batch_size=1000)

    def copy_streaming(self, numbers, refused: dict[str, str], refusals: list) -> None:
        """Build rows from `numbers` as they are validated and COPY them in chunks: the database
        (the other core) inserts one chunk while this process validates the next."""

        def chunks():
            chunk: list[list] = []
            for number, given in numbers:
                chunk.append(self.add(number, given, refused, refusals))
                if len(chunk) == COPY_CHUNK:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk

        self._copy(chunks())

    def _copy(self, chunks) -> None:
        sql = f"COPY {self.table} ({self.names}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for chunk in chunks:
                copy.write(self._copy_lines(chunk))

    def _copy_lines(self, rows: list[list]) -> str:
        """Rows in COPY's text format. Only id, recipient and sender differ from row to row (plus
        the failure columns of refused rows): every other value is converted once per send (and
        refusal reason), not once per row as psycopg's write_row would (that was most of accepting
        10,000 recipients)."""
        i_reason, i_id, i_recipient, i_sender = self.i_reason, self.i_id, self.i_recipient, self.i_sender
        lines = []
        for row in rows:
            reason = row[i_reason]
            template = self._templates.get(reason)
            if template is None:
                prepared = [f.get_db_prep_save(v, connection) for f, v in zip(self.fields, row, strict=True)]
                template = self._templates[reason] = [copy_text(v) for v in prepared]
            line = template.copy()
            line[i_id] = str(row[i_id])
            line[i_recipient] = row[i_recipient]  # E.164: digits and "+", nothing to escape
            line[i_sender] = copy_text(row[i_sender])
            if self.routes:
                line[self.i_gateway] = str(row[self.i_gateway])
            lines.append("\t".join(line))
        return "\n".join(lines) + "\n"
