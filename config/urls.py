from django.contrib import admin
from django.urls import include, path

from payments.api import api

# Django's own views render 403.html and 404.html with the request's context, and a plain
# 400; under /api/ the 400, 404 and 500 are the API's JSON errors instead.
handler400 = "config.views.bad_request"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("desk/", include("staffdesk.urls")),
    # Single sign-on through an OpenID provider, at mozilla-django-oidc's own URL names
    # (accounts.oidc_views): the provider redirects back to /oidc/callback/.
    path("oidc/", include("mozilla_django_oidc.urls")),
    # Single sign-on through a SAML 2 IdP, at djangosaml2's URL names (accounts.saml.views):
    # the IdP posts its response to /saml2/acs/.
    path("saml2/", include("accounts.saml.urls")),
    path("", include("accounts.urls")),
    path("", include("payments.urls")),
]
