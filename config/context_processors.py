from django.conf import settings


def library(request):
    return {
        "LIBRARY_NAME": settings.LIBRARY_NAME,
        "LIBRARY_LOGO_URL": settings.LIBRARY_LOGO_URL,
        "CURRENCY": settings.LIBRARY_CURRENCY,
    }
