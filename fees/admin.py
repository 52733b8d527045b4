from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from fees.models import (
    Allocation,
    Delivery,
    FeeKind,
    JournalEntry,
    Loan,
    Owner,
    PaymentShare,
    Settlement,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is append-only: corrections are new entries booked by the services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FeeTypeFilter(admin.SimpleListFilter):
    title = _("fee type")
    parameter_name = "fee_type"

    def lookups(self, request, model_admin):
        return [(kind.code, kind.name) for kind in FeeKind.objects.all()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(fee_type=self.value())
        return queryset


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "booked_at",
        "business_date",
        "patron",
        "kind",
        "amount_cents",
        "currency",
        "fee_type_name",
        "description",
        "settled_in",
        "cleared_in",
    ]
    list_filter = [
        "kind",
        FeeTypeFilter,
        "business_date",
        ("settled_in", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=patron__user_number", "=patron__card_number", "=reference", "description"]
    list_select_related = ["patron", "settled_in", "cleared_in"]
    date_hierarchy = "business_date"
    show_full_result_count = False

    def get_queryset(self, request):
        # The type's names come with the rows: one query for the page, not one per row.
        kind = FeeKind.objects.filter(code=OuterRef("fee_type"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                fee_type_en=Subquery(kind.values("name_en")[:1]),
                fee_type_de=Subquery(kind.values("name_de")[:1]),
            )
        )

    @admin.display(description=_("fee type"), ordering="fee_type")
    def fee_type_name(self, entry):
        if (get_language() or "").startswith("de") and entry.fee_type_de:
            return entry.fee_type_de
        return entry.fee_type_en or entry.fee_type


@admin.register(FeeKind)
class FeeKindAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name_en",
        "name_de",
        "payable_online",
        "cost_centre",
        "budget_line",
        "object_number",
    ]
    list_filter = ["payable_online"]
    search_fields = ["code", "name_en", "name_de", "cost_centre", "budget_line", "object_number"]

    def get_readonly_fields(self, request, obj=None):
        # Booked fees keep the code: renaming it would cut them off from their type.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Fees in the append-only ledger name their type by code; retire a type by
        # making it not payable online instead.
        return False


@admin.register(PaymentShare)
class PaymentShareAdmin(ReadOnlyAdmin):
    list_display = ["id", "movement", "fee", "amount_cents"]
    search_fields = ["=movement__patron__user_number", "=movement__patron__card_number"]
    list_select_related = ["movement", "fee"]
    show_full_result_count = False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Read here; staff send again or resolve on the desk's deliveries page (audited)."""

    list_display = ["key", "status", "attempts", "next_attempt_at", "delivered_at", "target"]
    list_filter = ["status", "target"]
    search_fields = ["=key", "=entry__patron__user_number", "=entry__patron__card_number"]
    show_full_result_count = False


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ["id", "settlement", "credit", "debit", "amount_cents"]
    list_filter = ["settlement__business_date"]
    search_fields = ["=credit__patron__user_number", "=credit__patron__card_number"]
    list_select_related = ["settlement", "credit", "debit"]
    show_full_result_count = False


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = [
        "business_date",
        "started_at",
        "finished_at",
        "entries_settled",
        "allocations_made",
        "debits_cents",
        "credits_cents",
        "allocated_cents",
    ]
    list_filter = [("finished_at", admin.EmptyFieldListFilter)]
    search_fields = ["business_date"]
    date_hierarchy = "business_date"


@admin.register(Loan)
class LoanAdmin(admin.ModelAdmin):
    list_display = ["patron", "item", "barcode", "due_date", "daily_fine_cents", "fine_cap_cents"]
    list_filter = ["due_date"]
    search_fields = ["=patron__user_number", "=patron__card_number", "item", "=barcode"]
    list_select_related = ["patron"]
    raw_id_fields = ["patron"]


@admin.register(Owner)
class OwnerAdmin(admin.ModelAdmin):
    """The libraries and branches whose fees the portal takes payments for. Their secrets
    are never here: each names the environment variables that hold them."""

    list_display = ["code", "name_en", "name_de", "is_default", "provider", "online_minimum_cents"]
    search_fields = ["code", "name_en", "name_de"]
    fieldsets = [
        (None, {"fields": ["code", "name_en", "name_de", "is_default"]}),
        (
            _("Payment provider"),
            {
                "fields": [
                    "provider",
                    "stripe_secret_key_env",
                    "stripe_webhook_secret_env",
                    "paypal_client_id",
                    "paypal_client_secret_env",
                    "paypal_webhook_id",
                ]
            },
        ),
        (
            _("Payment rules"),
            {"fields": ["online_minimum_cents", "online_maximum_cents", "service_fee_cents"]},
        ),
        (
            _("Library system"),
            {"fields": ["library_system_env", "library_service_point", "library_payment_method"]},
        ),
        (_("Books and receipts"), {"fields": ["cost_centre", "email_sender", "receipt_footer"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        # Fees and orders keep their owner for good.
        return False
