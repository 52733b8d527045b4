"""Checking requests and answers against OpenAPI 3.0 documents (PayPal's), for FakeServer.

``fake_server.SwaggerCheck`` reads OpenAPI 2.0 only: 3.0 moves parameter types under
``schema``, bodies under ``requestBody``/``content`` and answers under ``content`` too.
A request outside every document (or one the caller lets through, see ``unchecked``) is
left to the route that answers it.
"""

import datetime
import json
import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.library_systems.fake_server import Reply, Request

_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value) -> bool:
    if isinstance(value, str):
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _path_pattern(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile(
        "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
            for part in parts
        )
    )


def _absolute_refs(schema, uri: str):
    if isinstance(schema, dict):
        return {
            key: (
                uri + value
                if key == "$ref" and value.startswith("#")
                else _absolute_refs(value, uri)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_absolute_refs(item, uri) for item in schema]
    return schema


class _Document:
    def __init__(self, spec_file: Path):
        self.spec = json.loads(spec_file.read_text())
        self.uri = "urn:spec:" + spec_file.name
        self.registry = Registry().with_resource(
            self.uri, Resource.from_contents(self.spec, default_specification=DRAFT4)
        )
        self.operations = [
            (_path_pattern(template), item) for template, item in self.spec["paths"].items()
        ]

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.spec
            for step in node["$ref"].removeprefix("#/").split("/"):
                target = target[step.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def problems(self, schema: dict, instance, where: str) -> list[str]:
        validator = jsonschema.Draft4Validator(
            _absolute_refs(schema, self.uri), registry=self.registry, format_checker=_FORMATS
        )
        return [
            f"{where}{''.join(f'[{p!r}]' for p in error.absolute_path)}: {error.message}"
            for error in sorted(validator.iter_errors(instance), key=str)
        ]

    def read_only_problems(self, schema, instance, where: str = "body") -> list[str]:
        """Properties the document marks readOnly, which a request must not send."""
        schema = self.resolve(schema)
        if not isinstance(instance, dict) or not isinstance(schema, dict):
            return []
        properties = {}
        for part in [schema, *(self.resolve(s) for s in schema.get("allOf", []))]:
            properties.update(part.get("properties", {}))
        problems = []
        for name, value in instance.items():
            prop = self.resolve(properties.get(name, {}))
            if prop.get("readOnly"):
                problems.append(f"{where}[{name!r}] is read-only")
            else:
                problems += self.read_only_problems(prop, value, f"{where}[{name!r}]")
        return problems


class OpenApi3Check:
    """Checks each request against the operation the documents describe for its path and
    method (path, query and header parameters, the JSON body, read-only properties), and
    each JSON answer against the answer described for its status (or ``default``).
    ``unchecked(request)`` names requests no document describes (OAuth, pages)."""

    def __init__(self, *spec_files: Path, unchecked: Callable[[Request], bool] = lambda r: False):
        self.documents = [_Document(path) for path in spec_files]
        self.unchecked = unchecked

    def _operation(self, request: Request):
        for document in self.documents:
            for pattern, item in document.operations:
                if match := pattern.fullmatch(request.path):
                    return document, match, item
        return None

    def __call__(self, request: Request) -> list[str]:
        if self.unchecked(request):
            return []
        found = self._operation(request)
        if found is None:
            return ["no such path in the description"]
        document, match, item = found
        operation = item.get(request.method.lower())
        if operation is None:
            return [f"the description has no {request.method} here"]
        problems = []
        parameters = [
            document.resolve(p)
            for p in item.get("parameters", []) + operation.get("parameters", [])
        ]
        known_query = set()
        for parameter in parameters:
            name, where = parameter["name"], parameter["in"]
            schema = parameter.get("schema", {})
            if where == "path":
                value = match.group(name)
            elif where == "query":
                known_query.add(name)
                value = request.arg(name)
            elif where == "header":
                value = request.headers.get(name.lower())
            else:
                continue
            if value is None:
                if parameter.get("required"):
                    problems.append(f"{where} parameter {name} is required")
                continue
            if document.resolve(schema).get("type", "string") == "string":
                problems += document.problems(schema, value, f"{where} parameter {name}")
        problems += [
            f"query parameter {name} is not described"
            for name in request.query
            if name not in known_query
        ]
        body = document.resolve(operation.get("requestBody") or {})
        schema = ((body.get("content") or {}).get("application/json") or {}).get("schema")
        if schema is None:
            if request.body:
                problems.append("the description takes no body here")
        elif request.body or body.get("required"):
            if not request.headers.get("content-type", "").startswith("application/json"):
                return [*problems, "body not sent as JSON"]
            try:
                instance = json.loads(request.body)
            except ValueError:
                return [*problems, "body is not JSON"]
            problems += document.problems(schema, instance, "body")
            problems += document.read_only_problems(schema, instance)
        return problems

    def answer_problems(self, request: Request, reply: Reply) -> list[str]:
        """A JSON answer the fake gives must be one the description allows for its status
        (bytes, text, hanging and off_spec replies are faults or pages on purpose)."""
        if isinstance(reply.body, bytes | str) or reply.hang or reply.off_spec:
            return []
        if self.unchecked(request):
            return []
        found = self._operation(request)
        if found is None:
            return []
        document, _match, item = found
        responses = (item.get(request.method.lower()) or {}).get("responses", {})
        answer = responses.get(str(reply.status)) or responses.get("default")
        if answer is None:
            return [f"the description has no {reply.status} answer here"]
        answer = document.resolve(answer)
        content = answer.get("content") or {}
        schema = (content.get("application/json") or {}).get("schema")
        if schema is None:
            return []
        return document.problems(schema, reply.body, "answer")
