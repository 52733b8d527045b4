from django.urls import path

import payments.converters  # noqa: F401 - registers <reference:...>
from payments.views import patron, simulated, webhooks

app_name = "payments"
urlpatterns = [
    path("account/", patron.account, name="account"),
    path("pay/", patron.pay, name="pay"),
    path("orders/", patron.orders, name="orders"),
    path("orders/<reference:reference>/", patron.order, name="order"),
    path("orders/<reference:reference>/give-up/", patron.abandon, name="abandon"),
    path("orders/<reference:reference>/cancelled/", patron.cancelled, name="cancelled"),
    path("orders/<reference:reference>/receipt/", patron.receipt, name="receipt"),
    path("webhooks/<slug:provider_name>/", webhooks.webhook, name="webhook"),
    path(
        "simulated-provider/order/<reference:reference>/",
        simulated.simulated_checkout_of_order,
        name="simulated_checkout_of_order",
    ),
    path(
        "simulated-provider/<slug:transaction_id>/",
        simulated.simulated_checkout,
        name="simulated_checkout",
    ),
]
