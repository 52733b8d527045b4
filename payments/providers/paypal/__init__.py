"""PayPal Checkout: orders and captures (provider), PayPal's REST API through its SDK
(client), amounts and orders in PayPal's terms (orders), webhook events (events) and
their signatures, verified offline (signatures)."""

from payments.providers.paypal.provider import PayPalProvider

__all__ = ["PayPalProvider"]
