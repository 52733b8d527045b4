from django.core.checks import Error, register

from payments.providers import check_provider_settings


@register()
def payment_provider_check(app_configs, **kwargs):
    return [
        Error(problem, id="payments.E001", hint="See .env.example.")
        for problem in check_provider_settings()
    ]
