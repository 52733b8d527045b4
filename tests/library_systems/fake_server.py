"""A small local HTTP server that stands in for a library system in the adapter tests.

It records every request, answers from scripted replies, and hands each request to a checker
first: ``SwaggerCheck`` (Koha's OpenAPI 2.0 document) and ``RamlCheck`` (FOLIO's RAML and
JSON schemas) check requests against the vendor's own description kept in ``specs/``; Alma
and Aleph tests pass a function that checks the parameters their documentation lists. A
request the checker rejects is answered 400 and listed in ``violations``, which every test
asserts to be empty, so an adapter cannot pass by sending what the vendor would refuse.
"""

import datetime
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).parent / "specs"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self):
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class Reply:
    status: int = 200
    body: object = b""  # bytes, str, or anything JSON can write
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # keep the client waiting until the server stops
    delay: float = 0.0  # seconds to wait before answering
    # A fault the test sends on purpose (an answer the vendor's description does not allow);
    # every other JSON answer is checked against the description.
    off_spec: bool = False

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            kind = "application/xml" if self.body.lstrip().startswith("<") else "text/plain"
            return self.body.encode(), kind
        return json.dumps(self.body).encode(), "application/json"


Responder = Reply | Callable[[Request], Reply]


class FakeServer:
    """Start with ``with FakeServer(check) as server:``; ``server.url`` is its base URL."""

    def __init__(self, check: Callable[[Request], list[str]] | None = None):
        self.check = check
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self._routes: list[tuple[str, re.Pattern, list[Responder]]] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def route(self, method: str, path: str, *replies: Responder) -> None:
        """Answer ``method`` on paths matching the regex ``path`` (whole path, no query).

        Replies are used in turn; the last one keeps answering. Later routes win.
        """
        self._routes.insert(0, (method, re.compile(path), list(replies)))

    def sent(self, method: str | None = None, path: str | None = None) -> list[Request]:
        """The recorded requests, optionally only those for a method and path regex."""
        return [
            request
            for request in self.requests
            if (method is None or request.method == method)
            and (path is None or re.fullmatch(path, request.path))
        ]

    def _answer(self, request: Request) -> Reply:
        if self.check is not None:
            problems = self.check(request)
            if problems:
                with self._lock:
                    self.violations.extend(
                        f"{request.method} {request.path}: {problem}" for problem in problems
                    )
                return Reply(400, {"error": "; ".join(problems)})
        with self._lock:
            for method, pattern, replies in self._routes:
                if method == request.method and pattern.fullmatch(request.path):
                    responder = replies.pop(0) if len(replies) > 1 else replies[0]
                    break
            else:
                return Reply(404, {"error": f"no route for {request.method} {request.path}"})
        reply = responder(request) if callable(responder) else responder
        answer_problems = getattr(self.check, "answer_problems", None)
        if answer_problems is not None:
            problems = answer_problems(request, reply)
            with self._lock:
                self.violations.extend(
                    f"answer to {request.method} {request.path}: {problem}" for problem in problems
                )
        return reply

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                with server._lock:
                    server.requests.append(request)
                reply = server._answer(request)
                if reply.hang:
                    server._stopping.wait(30)
                    return
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                body, kind = reply.encoded()
                self.send_response(reply.status)
                headers = {"Content-Type": kind, "Content-Length": str(len(body))}
                headers.update(reply.headers)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args):
                pass

        return Handler


def closed_port_url() -> str:
    """A URL on which nothing listens, so a connection is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- Checking requests against a vendor's description ------------------------------------

_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value) -> bool:
    if isinstance(value, str):
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _schema_problems(schema: dict, registry: Registry, instance) -> list[str]:
    validator = jsonschema.Draft4Validator(schema, registry=registry, format_checker=_FORMATS)
    return [
        f"body{''.join(f'[{p!r}]' for p in error.absolute_path)}: {error.message}"
        for error in sorted(validator.iter_errors(instance), key=str)
    ]


def _json_body(request: Request) -> tuple[object, list[str]]:
    """The request's JSON body, or the problems that keep it from being one."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        return None, [f"body sent as {request.headers.get('content-type')!r}, not JSON"]
    try:
        return json.loads(request.body), []
    except ValueError:
        return None, ["body is not JSON"]


def _path_pattern(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}/]+\})", template)
    regex = "".join(
        f"(?P<{part[1:-1].replace('-', '_')}>[^/]+)" if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(regex)


def _scalar_problems(name: str, value: str, spec: dict) -> list[str]:
    kind = spec.get("type", "string")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", value):
            return [f"{name}={value!r} is not an integer"]
        number = int(value)
        if "minimum" in spec and number < spec["minimum"]:
            return [f"{name}={value} is below {spec['minimum']}"]
        if "maximum" in spec and number > spec["maximum"]:
            return [f"{name}={value} is above {spec['maximum']}"]
    if kind == "boolean" and value not in ("true", "false"):
        return [f"{name}={value!r} is not a boolean"]
    if "enum" in spec and value not in [str(v) for v in spec["enum"]]:
        return [f"{name}={value!r} is not one of {spec['enum']}"]
    if "pattern" in spec and not re.search(spec["pattern"], value):
        return [f"{name}={value!r} does not match {spec['pattern']!r}"]
    return []


def _with_refs(schema, uri: str):
    """The schema with its local "$ref"s made absolute, to be resolved in the document."""
    if isinstance(schema, dict):
        return {
            key: (
                uri + value if key == "$ref" and value.startswith("#") else _with_refs(value, uri)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_with_refs(item, uri) for item in schema]
    return schema


class SwaggerCheck:
    """Checks requests against an OpenAPI 2.0 (Swagger) document: operation, path, query,
    form and body parameters, including ``readOnly`` properties, which Koha's validator
    refuses in requests."""

    def __init__(self, spec_file: Path):
        self.spec = yaml.safe_load(spec_file.read_text())
        self.base = self.spec.get("basePath", "")
        self.uri = "urn:spec:" + spec_file.name
        self.registry = Registry().with_resource(
            self.uri, Resource.from_contents(self.spec, default_specification=DRAFT4)
        )
        self.operations = [
            (_path_pattern(self.base + template), item)
            for template, item in self.spec["paths"].items()
        ]

    def _resolve(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"].removeprefix("#/").split("/")
            node = self.spec
            for step in pointer:
                node = node[step.replace("~1", "/").replace("~0", "~")]
        return node

    def __call__(self, request: Request) -> list[str]:
        found = next(
            (
                (match, item)
                for pattern, item in self.operations
                if (match := pattern.fullmatch(request.path))
            ),
            None,
        )
        if found is None:
            return ["no such path in the description"]
        match, item = found
        operation = item.get(request.method.lower())
        if operation is None:
            return [f"the description has no {request.method} here"]
        problems = []
        parameters = [self._resolve(p) for p in operation.get("parameters", [])]
        form = request.form() if any(p["in"] == "formData" for p in parameters) else {}
        known = {"query": set(), "formData": set()}
        for parameter in parameters:
            name, where = parameter["name"], parameter["in"]
            if where == "path":
                value = match.group(name.replace("-", "_"))
                problems += _scalar_problems(name, value, parameter)
            elif where in ("query", "formData"):
                known[where].add(name)
                values = (request.query if where == "query" else form).get(name)
                if not values:
                    if parameter.get("required"):
                        problems.append(f"{where} parameter {name} is required")
                    continue
                if parameter.get("type") == "array":
                    if parameter.get("collectionFormat", "csv") != "multi":
                        values = [v for value in values for v in value.split(",")]
                    for value in values:
                        problems += _scalar_problems(name, value, parameter.get("items", {}))
                elif len(values) > 1:
                    problems.append(f"{where} parameter {name} given {len(values)} times")
                else:
                    problems += _scalar_problems(name, values[0], parameter)
            elif where == "body" and request.method != "GET":
                problems += self._body_problems(request, parameter)
        if request.body and not any(p["in"] in ("body", "formData") for p in parameters):
            problems.append("the description takes no body here")
        for where, given in (("query", request.query), ("formData", form)):
            problems += [
                f"{where} parameter {name} is not described"
                for name in given
                if name not in known[where]
            ]
        return problems

    def answer_problems(self, request: Request, reply: Reply) -> list[str]:
        """A JSON answer the fake gives must be one the description allows for its status:
        the fake cannot hand the adapter what the vendor would never send. (Scripted
        faults, bytes, text and answers marked off_spec, are left alone.)"""
        if isinstance(reply.body, bytes | str) or reply.hang or reply.off_spec:
            return []
        found = next(
            (item for pattern, item in self.operations if pattern.fullmatch(request.path)), None
        )
        operation = (found or {}).get(request.method.lower()) or {}
        answer = operation.get("responses", {}).get(str(reply.status))
        if answer is None:
            return [f"the description has no {reply.status} answer here"]
        if "schema" not in answer:
            return []
        return _schema_problems(_with_refs(answer["schema"], self.uri), self.registry, reply.body)

    def _body_problems(self, request: Request, parameter: dict) -> list[str]:
        if not request.body:
            return ["a JSON body is required"] if parameter.get("required") else []
        instance, problems = _json_body(request)
        if problems:
            return problems
        schema = parameter["schema"]
        if "$ref" in schema:
            schema = {"$ref": self.uri + schema["$ref"]}
        problems = _schema_problems(schema, self.registry, instance)
        return problems + self._read_only_problems(self._resolve(parameter["schema"]), instance)

    def _read_only_problems(self, schema: dict, instance, where: str = "body") -> list[str]:
        if not isinstance(instance, dict):
            return []
        problems = []
        for name, value in instance.items():
            prop = self._resolve(schema.get("properties", {}).get(name, {}))
            if prop.get("readOnly"):
                problems.append(f"{where}[{name!r}] is read-only")
            else:
                problems += self._read_only_problems(prop, value, f"{where}[{name!r}]")
        return problems


class _Include:
    def __init__(self, path: Path):
        self.path = path


class _RamlLoader(yaml.SafeLoader):
    pass


def _include(loader: _RamlLoader, node: yaml.Node) -> _Include:
    return _Include(Path(loader.name).parent / loader.construct_scalar(node))


_RamlLoader.add_constructor("!include", _include)


def _load_raml(path: Path):
    with path.open() as stream:
        loader = _RamlLoader(stream)
        loader.name = str(path)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()


def _named(entry) -> tuple[str, dict]:
    """A trait or resource type use: ``name`` or ``{name: {parameter: value}}``."""
    if isinstance(entry, dict):
        ((name, parameters),) = entry.items()
        return name, parameters or {}
    return entry, {}


def _fill(node, parameters: dict):
    """A trait's or resource type's body with its <<parameters>> filled in."""
    if isinstance(node, str):
        return re.sub(r"<<(\w+)(?:\|[^>]*)?>>", lambda m: str(parameters.get(m.group(1), "")), node)
    if isinstance(node, dict):
        return {key: _fill(value, parameters) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, parameters) for value in node]
    return node


def _json_type(document: dict, answer) -> _Include | None:
    """The JSON schema a RAML answer's body names (None: it has no JSON body)."""
    body = ((answer or {}).get("body") or {}).get("application/json") or {}
    name = body.get("type") if isinstance(body, dict) else None
    return document.get("types", {}).get(name) if isinstance(name, str) else None


class RamlCheck:
    """Checks requests against RAML 1.0 files the way RAML Module Builder enforces them: the
    resource and method must exist, query parameters must be declared (by the method, its
    traits or its resource type) and of their type, and a JSON body must validate against
    the JSON schema its type names."""

    def __init__(self, *raml_files: Path):
        self.methods: list[tuple[re.Pattern, str, dict, list, _Include | None]] = []
        for raml_file in raml_files:
            document = _load_raml(raml_file)
            self._walk(document, document, "")

    def _walk(self, document: dict, node: dict, prefix: str) -> None:
        for key, child in node.items():
            if not key.startswith("/"):
                continue
            path = prefix + key
            resource_type, type_parameters = ({}, {})
            if "type" in child:
                name, type_parameters = _named(child["type"])
                resource_type = self._fragment(document["resourceTypes"][name])
            methods = {m for m in ("get", "post", "put", "delete") if m in child}
            methods |= {m for m in ("get", "post", "put", "delete") if m in resource_type}
            for method in sorted(methods):
                parameters = {"resourcePathName": path.rsplit("/", 1)[-1], **type_parameters}
                merged = _fill(resource_type.get(method) or {}, parameters)
                own = child.get(method) or {}
                declared = dict(merged.get("queryParameters") or {})
                declared.update(own.get("queryParameters") or {})
                traits = [
                    (document["traits"][trait_name], trait_parameters)
                    for trait_name, trait_parameters in map(
                        _named, (merged.get("is") or []) + (own.get("is") or [])
                    )
                ]
                body = (own.get("body") or merged.get("body") or {}).get("application/json")
                schema = None
                # RAML 1.0 names a body's type by `type`, or by `schema`, its older alias.
                if body and (body.get("type") or body.get("schema")):
                    schema = document["types"].get(body.get("type") or body["schema"])
                responses = dict(merged.get("responses") or {})
                responses.update(own.get("responses") or {})
                answers = {
                    int(status): _json_type(document, answer)
                    for status, answer in responses.items()
                }
                self.methods.append(
                    (_path_pattern(path), method.upper(), declared, traits, schema, answers)
                )
            self._walk(document, child, path)

    @staticmethod
    def _fragment(node):
        return _load_raml(node.path) if isinstance(node, _Include) else node

    def __call__(self, request: Request) -> list[str]:
        candidates = [m for m in self.methods if m[0].fullmatch(request.path)]
        if not candidates:
            return ["no such resource in the description"]
        chosen = next((c for c in candidates if c[1] == request.method), None)
        if chosen is None:
            return [f"the description has no {request.method} here"]
        _pattern, _method, declared, traits, schema, _answers = chosen
        # Traits are read only for the methods requests use: the kept files cover those.
        declared = dict(declared)
        for trait, parameters in traits:
            declared.update(_fill(self._fragment(trait), parameters).get("queryParameters") or {})
        problems = []
        for name, values in request.query.items():
            spec = declared.get(name)
            if spec is None:
                problems.append(f"query parameter {name} is not described")
                continue
            for value in values:
                problems += _scalar_problems(name, value, spec)
        for name, spec in declared.items():
            if isinstance(spec, dict) and spec.get("required") and name not in request.query:
                problems.append(f"query parameter {name} is required")
        if schema is not None:
            problems += self._body_problems(request, schema)
        elif request.body:
            problems.append("the description takes no body here")
        return problems

    def answer_problems(self, request: Request, reply: Reply) -> list[str]:
        """A JSON answer must be what the description says the method answers with that
        status (bytes, text, hanging and off_spec replies are faults on purpose)."""
        if isinstance(reply.body, bytes | str) or reply.hang or reply.off_spec:
            return []
        chosen = next(
            (m for m in self.methods if m[0].fullmatch(request.path) and m[1] == request.method),
            None,
        )
        if chosen is None:
            return []  # the request was refused already
        answers = chosen[5]
        if reply.status not in answers:
            return [f"the description has no {reply.status} answer here"]
        if answers[reply.status] is None:
            return [f"the description's {reply.status} answer here is not JSON"]
        return self._instance_problems(reply.body, answers[reply.status])

    @staticmethod
    def _body_problems(request: Request, schema_file: _Include) -> list[str]:
        instance, problems = _json_body(request)
        if problems:
            return problems
        return RamlCheck._instance_problems(instance, schema_file)

    @staticmethod
    def _instance_problems(instance, schema_file: _Include) -> list[str]:
        def retrieve(uri: str) -> Resource:
            contents = json.loads(Path(uri.removeprefix("file://")).read_text())
            return Resource.from_contents(contents, default_specification=DRAFT4)

        uri = schema_file.path.resolve().as_uri()
        registry = Registry(retrieve=retrieve)
        return _schema_problems({"$ref": uri}, registry, instance)
