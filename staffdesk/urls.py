from django.urls import path

import staffdesk.converters  # noqa: F401 - registers the converters the paths use
from staffdesk.views import (
    accounting,
    deliveries,
    home,
    order_actions,
    orders,
    patrons,
    provider_reports,
    refunds,
)

app_name = "staffdesk"
urlpatterns = [
    path("", home.home, name="home"),
    path("orders/", orders.orders, name="orders"),
    path("orders/export.csv", orders.orders_export, name="orders_export"),
    path("orders/<reference:reference>/", orders.order_detail, name="order"),
    path("orders/<reference:reference>/refund/", refunds.order_refund, name="order_refund"),
    path(
        "orders/<reference:reference>/refunds/<reference:refund_reference>/ask/",
        refunds.refund_ask_again,
        name="refund_ask_again",
    ),
    path(
        "orders/<reference:reference>/<slug:action>/",
        order_actions.order_action,
        name="order_action",
    ),
    path("provider-reports/", provider_reports.provider_reports, name="provider_reports"),
    path("deliveries/", deliveries.deliveries, name="deliveries"),
    path("patrons/", patrons.patron_lookup, name="patron_lookup"),
    path("patrons/<user_number:user_number>/", patrons.patron_detail, name="patron"),
    path(
        "settlements/<isodate:business_date>.csv",
        accounting.settlement_export,
        name="settlement_export",
    ),
    path("accounting/", accounting.accounting, name="accounting"),
]
