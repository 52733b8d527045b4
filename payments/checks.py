from django.core.checks import Error, register

from payments.providers import check_provider_settings


@register()
def payment_provider_check(app_configs, **kwargs):
    return [
        Error(problem, id="payments.E001", hint="See .env.example.")
        for problem in check_provider_settings()
    ]


# The library systems whose targets check a card's PIN (check_pin).
PIN_TARGETS = ("koha", "alma", "folio", "aleph")


@register()
def sign_in_check(app_configs, **kwargs):
    """Every sign-in method named exists, and a library-system check has a system that can
    check PINs."""
    from django.conf import settings

    from accounts.signin import LIBRARY_CARD, METHODS

    problems = [
        Error(
            f"SIGN_IN_METHODS names {method!r}, which is not one of {', '.join(METHODS)}.",
            id="payments.E002",
        )
        for method in settings.SIGN_IN_METHODS
        if method not in METHODS
    ]
    target = settings.LIBRARY_SYSTEM_TARGET
    if LIBRARY_CARD in settings.SIGN_IN_METHODS and target not in PIN_TARGETS:
        problems.append(
            Error(
                f"SIGN_IN_METHODS has {LIBRARY_CARD!r}, but LIBRARY_SYSTEM_TARGET is "
                f"{target!r}: card and PIN are checked by Koha, Alma, "
                "FOLIO or Aleph.",
                id="payments.E003",
            )
        )
    return problems


@register()
def oidc_check(app_configs, **kwargs):
    """Single sign-on through an OpenID provider has what it needs, when enabled."""
    from accounts.oidc import configuration_problems
    from accounts.signin import OIDC, is_enabled

    if not is_enabled(OIDC):
        return []
    return [
        Error(problem, id="payments.E004", hint="See docs/sign-in-oidc.md.")
        for problem in configuration_problems()
    ]


@register()
def saml_check(app_configs, **kwargs):
    """Single sign-on through a SAML IdP has what it needs, when enabled."""
    from accounts.saml.config import configuration_problems
    from accounts.signin import SAML, is_enabled

    if not is_enabled(SAML):
        return []
    return [
        Error(problem, id="payments.E005", hint="See docs/sign-in-saml.md.")
        for problem in configuration_problems()
    ]


@register(deploy=True)
def handoff_check(app_configs, **kwargs):
    """The demo's catalogue-link secret is known to everyone: never outside development."""
    from django.conf import settings

    from accounts.handoff import DEMO_SECRET

    if settings.DEBUG or settings.HANDOFF_SECRET != DEMO_SECRET:
        return []
    return [
        Error(
            "HANDOFF_SECRET is the demo's, which anyone can read in .env.example.",
            id="payments.E006",
            hint="Set a long random secret shared with the catalogue (README, Sign-in).",
        )
    ]
