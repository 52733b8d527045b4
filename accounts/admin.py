from django.contrib import admin

from accounts.models import Patron


@admin.register(Patron)
class PatronAdmin(admin.ModelAdmin):
    list_display = ["user_number", "card_number", "last_name", "first_name", "email", "created_at"]
    search_fields = ["=user_number", "=card_number", "last_name", "first_name", "email"]
    list_filter = ["created_at"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]
