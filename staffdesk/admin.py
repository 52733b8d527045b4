from django.contrib import admin

from fees.admin import ReadOnlyAdmin
from staffdesk.models import DeskScope, StaffAction


@admin.register(StaffAction)
class StaffActionAdmin(ReadOnlyAdmin):
    """The audit trail: read-only, like the journal."""

    list_display = ["at", "staff_user", "kind", "patron", "order", "status_before", "status_after"]
    list_filter = ["kind", "at"]
    search_fields = [
        "=patron__user_number",
        "=patron__card_number",
        "=order__reference",
        "staff_user__username",
    ]
    list_select_related = ["staff_user", "patron", "order"]
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(DeskScope)
class DeskScopeAdmin(admin.ModelAdmin):
    """Which owners a desk user works for; a user not listed here works for all."""

    list_display = ["user"]
    filter_horizontal = ["owners"]
    autocomplete_fields = ["user"]
    search_fields = ["user__username"]
