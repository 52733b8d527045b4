from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self):
        from fees.signals import settlement_held_debits
        from payments import checks  # noqa: F401 - registers the system check

        settlement_held_debits.connect(_fees_in_open_orders, dispatch_uid="payments.open_orders")


def _fees_in_open_orders(sender, *, patron_ids, **kwargs):
    from payments.selectors import fees_in_open_orders

    return fees_in_open_orders(patron_ids=patron_ids)
