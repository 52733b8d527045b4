from django.contrib import admin
from django.urls import include, path

from payments.api import api

# 403.html and 404.html are rendered by Django's own views, with the request's context.
handler500 = "config.views.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("desk/", include("staffdesk.urls")),
    path("", include("accounts.urls")),
    path("", include("payments.urls")),
]
