from django.contrib import admin

from fees.admin import ReadOnlyAdmin
from payments.models import OrderFee, PaymentEvent, PaymentOrder, SimulatedCheckout


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class OrderFeeInline(ReadOnlyInline):
    model = OrderFee
    fields = ["fee", "amount_cents", "reserved"]


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fields = ["at", "status", "source", "staff_user", "payment_method", "provider_event_id", "note"]


@admin.register(PaymentOrder)
class PaymentOrderAdmin(ReadOnlyAdmin):
    """Orders change only through their events; the staff desk is where that happens."""

    list_display = [
        "reference",
        "status",
        "patron",
        "amount_cents",
        "currency",
        "provider",
        "mode",
        "created_at",
        "updated_at",
    ]
    list_filter = ["status", "provider", "mode", "created_at"]
    search_fields = ["=reference", "=patron__card_number", "=patron__user_number"]
    list_select_related = ["patron"]
    inlines = [OrderFeeInline, PaymentEventInline]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ["order", "status", "at", "source", "staff_user", "payment_method"]
    list_filter = ["status", "source", "at"]
    search_fields = [
        "=order__reference",
        "=order__patron__card_number",
        "=order__patron__user_number",
        "=provider_event_id",
    ]
    list_select_related = ["order", "staff_user"]
    show_full_result_count = False


@admin.register(SimulatedCheckout)
class SimulatedCheckoutAdmin(ReadOnlyAdmin):
    list_display = ["transaction_id", "order_reference", "amount_cents", "outcome", "created_at"]
    list_filter = ["outcome"]
    search_fields = ["=transaction_id", "=order_reference"]
