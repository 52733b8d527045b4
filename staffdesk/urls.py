import datetime

from django.urls import path, register_converter

import payments.converters  # noqa: F401 - registers <reference:...>
from staffdesk import views, views_accounting, views_refunds


class IsoDateConverter:
    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError as error:
            raise ValueError(value) from error

    def to_url(self, value):
        return value if isinstance(value, str) else value.isoformat()


class UserNumberConverter:
    # A NUL byte can't be compared with PostgreSQL text: no such patron, a 404.
    regex = r"[^/\x00]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(IsoDateConverter, "isodate")
register_converter(UserNumberConverter, "user_number")

app_name = "staffdesk"
urlpatterns = [
    path("", views.home, name="home"),
    path("orders/", views.orders, name="orders"),
    path("orders/export.csv", views.orders_export, name="orders_export"),
    path("orders/<reference:reference>/", views.order_detail, name="order"),
    path("orders/<reference:reference>/refund/", views_refunds.order_refund, name="order_refund"),
    path(
        "orders/<reference:reference>/refunds/<reference:refund_reference>/ask/",
        views_refunds.refund_ask_again,
        name="refund_ask_again",
    ),
    path("orders/<reference:reference>/<slug:action>/", views.order_action, name="order_action"),
    path("provider-reports/", views.provider_reports, name="provider_reports"),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("patrons/", views.patron_lookup, name="patron_lookup"),
    path("patrons/<user_number:user_number>/", views.patron_detail, name="patron"),
    path(
        "settlements/<isodate:business_date>.csv", views.settlement_export, name="settlement_export"
    ),
    path("accounting/", views_accounting.accounting, name="accounting"),
]
