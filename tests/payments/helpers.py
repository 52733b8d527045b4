"""What the patron pages' tests do again and again: pay for fees from the account page,
pick an outcome on the simulated provider's page."""

from django.urls import reverse


def start_payment(client, *fees):
    """Select these fees on the account page and press pay: the answer (a redirect to the
    provider's page when the payment starts)."""
    return client.post(reverse("payments:pay"), {"fee": [fee.pk for fee in fees]})


def choose(client, checkout_url, action, delivery="now"):
    """On the simulated provider's page: pay, pay less, fail, abandon, charge back."""
    return client.post(checkout_url, {"action": action, "delivery": delivery})
