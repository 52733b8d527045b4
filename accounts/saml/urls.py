"""The SAML sign-in's addresses under /saml2/, at djangosaml2's own URL names (its views
reverse them): the IdP is told the ACS and the logout service from the portal's metadata."""

from django.urls import path

from accounts.saml import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="saml2_login"),
    path("acs/", views.AssertionConsumerServiceView.as_view(), name="saml2_acs"),
    path("ls/", views.LogoutServiceView.as_view(), name="saml2_ls"),
    path("ls/post/", views.LogoutServiceView.as_view(), name="saml2_ls_post"),
    path("metadata/", views.MetadataView.as_view(), name="saml2_metadata"),
]
