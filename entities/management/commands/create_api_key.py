from django.core.management.base import BaseCommand

from entities.services import api_key_create, organization_get_or_create


class Command(BaseCommand):
    help = "Create an organization API key (the organization too, if it does not exist). Prints the key last."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--org-name", help="organization name, when it is created")
        parser.add_argument("--name", default="default", help="a label for the key")

    def handle(self, *args, org, org_name, name, **options):
        organization = organization_get_or_create(slug=org, name=org_name)
        api_key, raw = api_key_create(organization=organization, name=name)
        self.stderr.write(f"API key {api_key.prefix}… for organization {organization.slug} (shown once):")
        self.stdout.write(raw)
