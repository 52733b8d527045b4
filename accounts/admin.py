from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Patron
from accounts.passwords import set_password_email_send


@admin.register(Patron)
class PatronAdmin(admin.ModelAdmin):
    list_display = ["user_number", "card_number", "last_name", "first_name", "email", "created_at"]
    search_fields = ["=user_number", "=card_number", "last_name", "first_name", "email"]
    list_filter = ["created_at"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]
    actions = ["send_set_password_email"]

    @admin.action(description=_("E-mail a link to choose a password"))
    def send_set_password_email(self, request, queryset):
        sent = [p for p in queryset.select_related("user") if set_password_email_send(
            patron=p, request=request
        )]  # fmt: skip
        self.message_user(
            request,
            ngettext(
                "%(count)d patron was e-mailed a link to choose a password.",
                "%(count)d patrons were e-mailed a link to choose a password.",
                len(sent),
            )
            % {"count": len(sent)},
            messages.SUCCESS,
        )
        if skipped := queryset.count() - len(sent):
            self.message_user(
                request,
                ngettext(
                    "%(count)d patron has no e-mail address or cannot log in, and got none.",
                    "%(count)d patrons have no e-mail address or cannot log in, and got none.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
