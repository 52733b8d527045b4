from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _

from fees.admin import ReadOnlyAdmin
from payments.api_keys import api_client_create, api_client_revoke
from payments.models import (
    ApiClient,
    ApiRequest,
    ApiScope,
    MoneyReport,
    OrderFee,
    PaymentEvent,
    PaymentOrder,
    Refund,
    RefundEvent,
    SimulatedCheckout,
    UnmatchedProviderReport,
)


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


@admin.register(MoneyReport)
class MoneyReportAdmin(ReadOnlyAdmin):
    list_display = ["id", "received_at", "order", "amount_cents", "currency", "source", "hold",
                    "entry", "closed_at"]  # fmt: skip
    list_filter = ["source", "hold", "currency"]
    search_fields = ["=order__reference", "=patron__user_number", "=external_id"]
    list_select_related = ["order", "entry"]
    show_full_result_count = False


class RefundEventInline(ReadOnlyInline):
    model = RefundEvent
    fields = ["at", "status", "source", "staff_user", "provider_event_id", "note"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    """Refunds move only through the provider's answers; the desk is where they start."""

    list_display = ["reference", "status", "order", "amount_cents", "currency", "source",
                    "requested_by", "created_at"]  # fmt: skip
    list_filter = ["status", "source", "order__provider", "created_at"]
    search_fields = ["=reference", "=order__reference", "=order__patron__user_number",
                     "=provider_refund_id"]  # fmt: skip
    list_select_related = ["order", "requested_by"]
    inlines = [RefundEventInline]
    show_full_result_count = False


@admin.register(UnmatchedProviderReport)
class UnmatchedProviderReportAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "provider",
        "status",
        "payment_id",
        "amount_cents",
        "resolved_at",
    ]
    list_filter = ["provider", "status", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["=payment_id", "=transaction_id", "=order_reference", "=event_id"]


@admin.register(SimulatedCheckout)
class SimulatedCheckoutAdmin(ReadOnlyAdmin):
    list_display = ["transaction_id", "order_reference", "amount_cents", "outcome", "created_at"]
    list_filter = ["outcome"]
    search_fields = ["=transaction_id", "=order_reference"]


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = ApiClient
        fields = ["name", "scopes", "library_system", "note"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ["name", "key_prefix", "scopes", "created_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "=key_prefix"]
    readonly_fields = ["key_prefix", "created_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        client, key = api_client_create(
            name=obj.name, scopes=form.cleaned_data["scopes"], note=obj.note
        )
        obj.pk = client.pk
        obj.key_prefix = client.key_prefix
        self.message_user(
            request,
            _("The key for %(name)s is %(key)s — copy it now: it is stored hashed and will "
              "not be shown again.") % {"name": client.name, "key": key},
            level=messages.WARNING,
        )  # fmt: skip

    @admin.action(description=_("Revoke the selected clients' keys"))
    def revoke(self, request, queryset):
        for client in queryset:
            api_client_revoke(client=client)


@admin.register(ApiRequest)
class ApiRequestAdmin(ReadOnlyAdmin):
    list_display = ["at", "client", "method", "path", "status", "duration_ms"]
    list_filter = ["status", "client", "at"]
    search_fields = ["path"]
    list_select_related = ["client"]
    show_full_result_count = False
