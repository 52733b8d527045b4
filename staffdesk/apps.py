from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffdeskConfig(AppConfig):
    name = "staffdesk"
    verbose_name = _("Staff desk")
