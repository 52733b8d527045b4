"""Print a signed "Pay fees" link for a patron, as a catalogue would make it: to try a
catalogue's set-up against the portal's HANDOFF_SECRET, and for the demo."""

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from accounts.handoff import HandoffRefused, link_query


class Command(BaseCommand):
    help = "Print a signed hand-off link (HANDOFF_SECRET) that signs PATRON in once."

    def add_arguments(self, parser):
        parser.add_argument("patron", help="the patron, as HANDOFF_PATRON_MATCH reads it")
        parser.add_argument(
            "--return",
            dest="return_url",
            default="",
            help="the way back to the catalogue (a HANDOFF_RETURN_HOSTS host)",
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="the portal's address (default: %(default)s)",
        )
        parser.add_argument(
            "--seconds",
            type=int,
            default=None,
            help="how long it works (at most HANDOFF_MAX_AGE_SECONDS)",
        )

    def handle(self, *args, patron, return_url, base_url, seconds, **options):
        try:
            query = link_query(patron=patron, return_url=return_url, lifetime=seconds)
        except HandoffRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        self.stdout.write(f"{base_url.rstrip('/')}{reverse('accounts:handoff')}?{query}")
