"""`python manage.py create_org_admin --org SLUG --email EMAIL [--role admin|staff]`."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from entities.models import Organization
from entities.roles import LoginError, organization_login_create


class Command(BaseCommand):
    help = (
        "Create (or link) a staff login of an organization: role 'admin' manages the organization in the "
        "admin, 'staff' uses the portal and reads people and messages. Prints a new login's password once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--email", required=True, help="the person's email; also the login name")
        parser.add_argument("--role", choices=["admin", "staff"], default="admin")

    def handle(self, *args, org, email, role, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"--org: no organization with slug {org!r} (create_api_key --org creates one)")
        try:
            user, password = organization_login_create(organization=organization, email=email, role=role)
        except LoginError as exc:
            raise CommandError(str(exc)) from exc
        base = settings.SMSPORTAL_PUBLIC_BASE_URL
        self.stdout.write(f"{user.get_username()} is a {role} of {organization.name}: {base}/admin/")
        if password is None:
            self.stdout.write("Existing login linked; its password is unchanged.")
        else:
            self.stdout.write(f"Password (shown once; change it at {base}/admin/password_change/): {password}")
