"""Each distinct outbound text stored once per organization (OutboundText), for the message log's search.

A send resolves its body to a text id before its rows are written, and every row carries that id.
Ids are remembered per process once their row is committed, so the single-send path, which mostly
repeats a few texts, spends no query on it; a new text costs two or three.
"""

import hashlib

from django.db import transaction

from messaging.models import OutboundText

KNOWN_LIMIT = 4096  # (organization, digest) → id entries kept per process; cleared when full
_known: dict[tuple, int] = {}


def text_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def outbound_text_id(*, organization_id, body: str) -> int:
    """The id of the organization's OutboundText for `body`, created if new (concurrent sends of the
    same new text get the same row: the unique constraint decides, and both read the winner)."""
    digest = text_digest(body)
    key = (organization_id, digest)
    found = _known.get(key)
    if found is not None:
        return found
    texts = OutboundText.objects.filter(organization_id=organization_id, digest=digest).values_list("id", flat=True)
    found = next(iter(texts[:1]), None)
    if found is None:
        OutboundText.objects.bulk_create(
            [OutboundText(organization_id=organization_id, digest=digest, body=body)], ignore_conflicts=True
        )
        found = texts.get()
    # Only a committed id is remembered: a send rolled back with its new text must not leave the
    # next send pointing at a row that never existed.
    transaction.on_commit(lambda: _remember(key, found))
    return found


def _remember(key: tuple, text_id: int) -> None:
    if len(_known) >= KNOWN_LIMIT:
        _known.clear()
    _known[key] = text_id
