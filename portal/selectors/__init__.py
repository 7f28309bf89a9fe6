"""Reads for the portal pages, one module per page. Every function takes the organization and
queries only its rows.

Query counts do not grow with the number of patients, days or messages: counts and charts are one
GROUP BY each, lists are paged (tests/portal/test_dashboard.py, tests/portal/test_message_log.py).
Views import the package (`from portal import selectors`); the names below are its surface.
"""

from portal.selectors.adherence import (
    FROZEN_CACHE_SECONDS,
    DayBar,
    PatientRates,
    adherence_by_day,
    adherence_by_patient,
    adherence_summary,
    confirmations_for_export,
    patient_recent_doses,
    patients_attach,
    rates,
)
from portal.selectors.common import org_today, phone_key, phone_masked
from portal.selectors.conversations import (
    ThreadItem,
    ThreadSummary,
    entities_search,
    entity_by_phone,
    entity_get,
    number_of_message,
    recent_threads,
    thread_messages,
)
from portal.selectors.simulator import simulator_numbers, simulator_phone
from portal.selectors.today import STATUS_FILTERS, next_reminder, today_counts, today_doses

__all__ = [
    "FROZEN_CACHE_SECONDS",
    "STATUS_FILTERS",
    "next_reminder",
    "DayBar",
    "PatientRates",
    "ThreadItem",
    "ThreadSummary",
    "adherence_by_day",
    "adherence_by_patient",
    "adherence_summary",
    "confirmations_for_export",
    "entities_search",
    "entity_by_phone",
    "entity_get",
    "number_of_message",
    "org_today",
    "patient_recent_doses",
    "patients_attach",
    "phone_key",
    "phone_masked",
    "rates",
    "recent_threads",
    "simulator_numbers",
    "simulator_phone",
    "thread_messages",
    "today_counts",
    "today_doses",
]
