from django.urls import path

import payments.converters  # noqa: F401 - registers <reference:...>
from payments import views, views_simulated

app_name = "payments"
urlpatterns = [
    path("account/", views.account, name="account"),
    path("pay/", views.pay, name="pay"),
    path("orders/", views.orders, name="orders"),
    path("orders/<reference:reference>/", views.order, name="order"),
    path("orders/<reference:reference>/give-up/", views.abandon, name="abandon"),
    path("orders/<reference:reference>/receipt/", views.receipt, name="receipt"),
    path("webhooks/<slug:provider_name>/", views.webhook, name="webhook"),
    path(
        "simulated-provider/order/<reference:reference>/",
        views_simulated.simulated_checkout_of_order,
        name="simulated_checkout_of_order",
    ),
    path(
        "simulated-provider/<slug:transaction_id>/",
        views_simulated.simulated_checkout,
        name="simulated_checkout",
    ),
]
