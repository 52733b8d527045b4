"""The JSON API for other systems, /api/v1/. Its OpenAPI document is generated from the
schemas (django-ninja): /api/v1/openapi.json. One module per resource; importing them
registers their endpoints."""

from payments.api import accounts, fees, movements, patrons, payments  # noqa: F401
from payments.api.core import ApiRequestLogMiddleware, api

__all__ = ["ApiRequestLogMiddleware", "api"]
