import datetime

from django.urls import path, register_converter

from staffdesk import views


class IsoDateConverter:
    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError as error:
            raise ValueError(value) from error

    def to_url(self, value):
        return value if isinstance(value, str) else value.isoformat()


register_converter(IsoDateConverter, "isodate")

app_name = "staffdesk"
urlpatterns = [
    path("", views.home, name="home"),
    path("orders/", views.orders, name="orders"),
    path("orders/export.csv", views.orders_export, name="orders_export"),
    path("orders/<str:reference>/", views.order_detail, name="order"),
    path("orders/<str:reference>/<slug:action>/", views.order_action, name="order_action"),
    path("patrons/", views.patron_lookup, name="patron_lookup"),
    path("patrons/<str:user_number>/", views.patron_detail, name="patron"),
    path(
        "settlements/<isodate:business_date>.csv", views.settlement_export, name="settlement_export"
    ),
]
