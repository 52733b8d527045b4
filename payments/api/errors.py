"""The API's error format, {"error": {"code", "message", "fields"}}, and the answers that
Django and django-ninja give outside the API's own exception handlers (no such path, a
method the path lacks, a request Django refuses, a server error), given in that format
for every path under the API's prefix."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseNotAllowed, JsonResponse
from ninja import Schema

PREFIX = "/api/"


class FieldError(Schema):
    field: str
    message: str


class ErrorDetail(Schema):
    code: str
    message: str
    fields: list[FieldError] = []


class ErrorOut(Schema):
    error: ErrorDetail


def error_response(status: int, code: str, message: str, fields=()) -> JsonResponse:
    body = {"error": {"code": code, "message": message, "fields": list(fields)}}
    return JsonResponse(body, status=status)


def is_api_request(request) -> bool:
    return request.path_info.startswith(PREFIX)


def too_large() -> JsonResponse:
    # 413, not Django's 400: the request may be well formed, only larger than we take.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(
        413, "too_large", f"The request body is larger than the API takes ({limit} bytes)."
    )


def not_found(request, exception=None) -> JsonResponse:
    """Django's handler404 under the prefix: a path the API does not have."""
    return error_response(404, "not_found", "The API has no such path.")


def bad_request(request, exception=None) -> JsonResponse:
    """Django's handler400 under the prefix: a request Django refused before the API saw it
    (an unknown host, a body too large)."""
    if isinstance(exception, RequestDataTooBig):
        return too_large()
    return error_response(400, "bad_request", "The request is not valid.")


def server_error(request) -> JsonResponse:
    """Django's handler500 under the prefix."""
    return error_response(500, "server_error", "The portal could not answer; try again later.")


class MethodNotAllowedMiddleware:
    """django-ninja answers a method that a path lacks with a plain-text 405, with no hook
    to change it; under the prefix that answer is given in the API's error format."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not (isinstance(response, HttpResponseNotAllowed) and is_api_request(request)):
            return response
        allowed = response["Allow"]
        answer = error_response(
            405,
            "method_not_allowed",
            f"This path does not take {request.method}; it takes {allowed}.",
        )
        answer["Allow"] = allowed
        return answer
