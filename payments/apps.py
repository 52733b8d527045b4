from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self):
        from fees.signals import reserved_debits
        from payments import checks  # noqa: F401 - registers the system check

        reserved_debits.connect(_reserved_fee_ids, dispatch_uid="payments.open_orders")


def _reserved_fee_ids(sender, *, patron_ids, **kwargs):
    from payments.selectors import reserved_fee_ids

    return reserved_fee_ids(patron_ids=patron_ids)
