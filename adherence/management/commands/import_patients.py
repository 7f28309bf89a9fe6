"""`python manage.py import_patients FILE [--org SLUG] [--dry-run]`: patients (with caregivers) from CSV/XLSX.

Same columns and rules as the admin import (adherence.resources.PatientResource). Prints a
progress bar on stderr and a summary: rows created, updated, unchanged and rejected with reasons.
"""

import sys
from pathlib import Path

import tablib
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from import_export.formats.base_formats import CSV, XLSX

from adherence.resources import PatientResource
from entities.models import Organization

CHUNK = 200


class Command(BaseCommand):
    help = "Import patients and their caregivers from a CSV or XLSX file."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--org", help="organization slug (else an `organization` column names it per row)")
        parser.add_argument("--dry-run", action="store_true", help="validate and report; change nothing")

    def handle(self, *args, file, org=None, dry_run=False, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        organization = None
        if org:
            organization = Organization.objects.filter(slug=org).first()
            if organization is None:
                raise CommandError(f"unknown organization {org!r}")
        dataset = self.read(path)
        total = len(dataset)
        counts = {"new": 0, "update": 0, "skip": 0}
        rejected: list[str] = []
        resource = PatientResource(organization=organization)
        done = 0
        for start in range(0, total, CHUNK):
            chunk = tablib.Dataset(*dataset[start : start + CHUNK], headers=dataset.headers)
            with transaction.atomic():
                result = resource.import_data(chunk, dry_run=dry_run, use_transactions=False)
                if dry_run:
                    transaction.set_rollback(True)
            if result.base_errors:
                raise CommandError(f"cannot import this file: {result.base_errors[0].error}")
            for row in result.rows:
                if row.import_type in counts:
                    counts[row.import_type] += 1
            for invalid in result.invalid_rows:
                reasons = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in invalid.error_dict.items())
                rejected.append(f"row {start + invalid.number}: {reasons}")
            for number, errors in result.row_errors():
                rejected.append(f"row {start + number}: {errors[0].error}")
            done = min(total, start + CHUNK)
            self.progress(done, total)
        sys.stderr.write("\n")
        verb = "would be " if dry_run else ""
        self.stdout.write(
            f"{total} rows: {counts['new']} {verb}created, {counts['update']} {verb}updated, "
            f"{counts['skip']} unchanged, {len(rejected)} rejected"
        )
        for line in rejected:
            self.stdout.write(f"  rejected {line}")
        if rejected and not counts["new"] and not counts["update"] and not counts["skip"]:
            raise CommandError("no row could be imported")

    def read(self, path: Path) -> tablib.Dataset:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            with path.open("rb") as fh:
                return XLSX().create_dataset(fh.read())
        if path.suffix.lower() == ".csv":
            return CSV().create_dataset(path.read_text(encoding="utf-8-sig"))
        raise CommandError("the file must be .csv or .xlsx")

    def progress(self, done: int, total: int, width: int = 30) -> None:
        filled = width * done // total if total else width
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()
