import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from payments.models import PaymentOrder

logger = logging.getLogger(__name__)


def send_receipt(*, order_id: int) -> None:
    """E-mail the receipt of a paid order. Runs after the booking has committed."""
    order = (
        PaymentOrder.objects.select_related("patron", "payment_entry", "owner")
        .prefetch_related("order_fees__fee")
        .get(pk=order_id)
    )
    if not order.patron.email or order.payment_entry is None:
        return
    # Sent in the owner's name, from its sender, with its footer.
    owner = order.payee
    with translation.override(settings.LANGUAGE_CODE):
        context = {"order": order, "owner": owner, "LIBRARY_NAME": owner.name}
        subject = render_to_string("payments/receipt_email_subject.txt", context).strip()
        body = render_to_string("payments/receipt_email.txt", context)
    try:
        send_mail(subject, body, owner.sender, [order.patron.email])
    except OSError:
        # The payment is booked; a lost e-mail must not undo it. The receipt stays printable.
        logger.exception("Could not send the receipt for %s", order.reference)
