"""The WSGI application: the SOAP endpoints behind a front that refuses before spyne parses.

For each POST the front, in order: refuses SOAP 1.2 (415, as WCF's BasicHttpBinding does),
charsets other than UTF-8 (a fault) and bodies over ``server.max_request_bytes`` (413, from
Content-Length before reading); finds credentials (HTTP Basic, or a UsernameToken read from
the body's first bytes, up to the operation element; none: 401 with a Basic challenge),
authenticates and gates the caller; only then reads the rest of the body, within the
process's budget of bytes in flight (``bodies``); parses the envelope itself with entities,
DTDs and network off (any DTD, malformed XML or a non-SOAP-1.1 document gets a clean
fault); answers ``MustUnderstand`` for unknown mandatory headers; checks the operation and
the SOAPAction; and hands the request to spyne. ``?wsdl`` / ``?singleWsdl`` and ``/health``
need no credentials.

``/metrics`` (Prometheus text, no credentials: restrict it at the reverse proxy) is
answered here too. Every request gets a request id (in the log context and the
``X-Request-Id`` response header); every SOAP POST is counted by operation, and every
fault by operation and fault code (never the message).
"""
from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from base64 import b64decode
from types import SimpleNamespace
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from lxml import etree
from spyne import Application
from spyne import const as spyne_const
from spyne.model import complex as spyne_complex
from spyne.model.binary import BINARY_ENCODING_BASE64, binary_decoding_handlers
from spyne.server.wsgi import WsgiApplication
from sqlalchemy import func, select, text
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from .. import metrics
from ..context import AppContext
from ..db import QueueEntry, User, session_scope
from ..errors import AuthenticationFailed, B2BError
from ..licensing import current_licence
from ..logging_setup import new_request_id
from ..security.auth import WSSE_NS, admit, find_credentials
from ..web import make_web_app
from .addresses import HostNotAllowed, ServiceAddress
from .admin import ADMIN_PORT_TYPE, ADMIN_SERVICE_NAME, ADMIN_SERVICES
from .bodies import SAFE_XML, ByteBudget, RequestBody, check_content_type, check_encoding, drained
from .faults import SOAP_ENV, fault_envelope, incident, typed_fault
from .proxies import TrustedProxies
from .refusals import Refusal, fault as _fault, plain as _plain
from .runtime import PRINCIPAL_KEY, Principal, Runtime, la_gate, school_gate
from .school import PORT_TYPE, B2BStudentService
from .types import TNS
from .wcf import PARSED_ENVELOPE, build_wsdl, make_application, operation_names, soap_action

__all__ = ["Endpoint", "B2BWsgiApp", "make_wsgi_app", "framed", "WEB_PATH", "STUDENT_PATH", "ADMIN_PATH", "METRICS_PATH",
           "quiet_spyne_logs"]

STUDENT_PATH = "/B2BStudent.svc"
ADMIN_PATH = "/B2BAdmin.svc"
METRICS_PATH = "/metrics"
OPERATION_KEY = "b2b.operation"
_FAULT_CODE = re.compile(rb"<(?:[\w.-]+:)?Code>\s*([A-Za-z]{1,64})\s*</(?:[\w.-]+:)?Code>")
_WSDL_CACHE_ENTRIES = 8
_FAULT_CODE_SCAN = 64 * 1024  # a fault envelope is small; never scan a large answer
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
REALM = "b2b-soap"
log = logging.getLogger("b2b_soap.service")

Gate = Callable[[Any, AppContext, User], Principal]
Response = tuple[str, list[tuple[str, str]], bytes]


def quiet_spyne_logs() -> None:
    """spyne logs whole requests (passwords included) and every fault with a traceback: silence both."""
    for name in ("spyne.protocol.soap.soap11.invalid", "spyne.protocol.soap.soap11", "spyne.application.client",
                 "spyne.application.server", "spyne.application", "spyne.server.wsgi", "spyne.protocol.xml",
                 "spyne.model.complex"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _from_base64(value: str) -> tuple[bytes]:
    return (b64decode(value),)


def lighten_spyne() -> None:
    """Three costs spyne adds to every upload, about half the CPU of receiving one (bench/soap_upload_load.py).

    - After a call, once a second, a full ``gc.collect()`` for the descriptors of files it
      spools (we spool none): on a server holding a population index every request thread waits
      for it, 140 ms each time under the 2,000-pupil upload load.
    - Its base64 decoder joins the element text (a str, for SOAP) character by character
      before decoding it.
    - Each request and response message it instantiates formats the whole call stack (reading
      every frame's source line) for a debug log line, whatever the log level.
    """
    spyne_const.MIN_GC_INTERVAL = float("inf")
    spyne_complex.traceback = SimpleNamespace(format_stack=lambda: [])  # its only use of traceback
    binary_decoding_handlers[BINARY_ENCODING_BASE64] = _from_base64


class _SpyneWsgi(WsgiApplication):
    """spyne's WSGI application whose every fault carries the typed ``B2BFault`` detail."""

    def handle_error(self, p_ctx, others, error, start_response):
        typed = typed_fault(error)
        if p_ctx.out_error is error:
            p_ctx.out_error = typed
        return super().handle_error(p_ctx, others, typed, start_response)


@dataclass
class Endpoint:
    """One SOAP service at one path."""

    path: str
    port_type: str
    app: Application
    gate: Gate
    operations: set[str] = field(init=False)
    spyne: WsgiApplication = field(init=False)
    _wsdl: dict[str, bytes] = field(default_factory=dict, init=False)
    _wsdl_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.operations = operation_names(self.app)

    def wsdl(self, url: str) -> bytes:
        with self._wsdl_lock:
            if url in self._wsdl:
                return self._wsdl[url]
            wsdl = build_wsdl(self.app, url)
            if len(self._wsdl) < _WSDL_CACHE_ENTRIES:  # bounded: a Host may also vary by port
                self._wsdl[url] = wsdl
            return wsdl


def framed(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    """``headers`` with exactly one Content-Length: spyne sets its own, and two are refused by
    strict HTTP parsers (RFC 9112 section 6.3)."""
    kept = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
    return kept + [("Content-Length", str(length))]


def _mandatory(element: etree._Element) -> bool:
    for name, value in element.attrib.items():
        if name in (f"{{{SOAP_ENV}}}mustUnderstand", "mustUnderstand") and value.strip() in ("1", "true"):
            return True
    return False


def _parse_envelope(body: bytes) -> tuple[etree._Element, etree._Element | None, etree._Element]:
    """(Envelope, Header or None, the operation element) of a SOAP 1.1 request, or a Refusal."""
    check_encoding(body[:512])
    try:
        root = etree.fromstring(body, etree.XMLParser(**SAFE_XML))
    except etree.XMLSyntaxError as exc:
        if "encoding" in exc.msg.lower():
            raise _fault("ValidationFailed", f"the request is not valid UTF-8 ({exc.msg}): send SOAP "
                                             "requests in UTF-8") from None
        raise _fault("ValidationFailed", f"the request is not well-formed XML: {exc.msg}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _fault("ValidationFailed", "a DOCTYPE (DTD) is not allowed in a SOAP message")
    if root.tag == f"{{{SOAP12_ENV}}}Envelope":
        raise _plain("415 Unsupported Media Type", "SOAP 1.2 is not supported: send SOAP 1.1 (text/xml)")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise _fault("ValidationFailed", "the request is not a SOAP 1.1 envelope", soap_code="VersionMismatch")
    header = root.find(f"{{{SOAP_ENV}}}Header")
    body_element = root.find(f"{{{SOAP_ENV}}}Body")
    children = [] if body_element is None else [c for c in body_element if isinstance(c.tag, str)]
    if len(children) != 1:
        raise _fault("ValidationFailed", "the SOAP Body must hold exactly one operation element")
    if header is not None:
        for entry in header:
            if isinstance(entry.tag, str) and _mandatory(entry) and entry.tag != f"{{{WSSE_NS}}}Security":
                raise _fault("ValidationFailed", f"header {entry.tag} is not understood",
                             soap_code="MustUnderstand", typed=False)
    return root, header, children[0]


class B2BWsgiApp:
    """Routes ``/health`` and the SOAP endpoints; refuses hostile and unauthenticated calls early."""

    def __init__(self, rt: Runtime, endpoints: list[Endpoint]) -> None:
        self.runtime = rt
        self.settings = rt.ctx.settings
        self.address = ServiceAddress(self.settings.server)
        self.budget = ByteBudget(self.settings.server.max_body_bytes_in_flight)
        self.endpoints = {e.path.lower(): e for e in endpoints}
        self.metrics = metrics.metrics_app(rt.ctx)
        for endpoint in endpoints:  # WSDL operation names are safe label values
            try:
                metrics.register_operations(endpoint.operations)
            except ValueError:
                metrics.register_operations(n for n in endpoint.operations if metrics.is_operation_name(n))
        for endpoint in endpoints:
            endpoint.app.runtime = rt
            endpoint.spyne = _SpyneWsgi(endpoint.app, max_content_length=self.settings.server.max_request_bytes)

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        started = time.perf_counter()
        rid = new_request_id()
        if environ.get("PATH_INFO", "").rstrip("/") == METRICS_PATH:
            return self.metrics(environ, start_response)
        try:
            status, headers, body = self._respond(environ)
        except Refusal as refusal:
            refusal = drained(environ, self.settings.server, refusal)
            status, body = refusal.status, refusal.body
            headers = [("Content-Type", refusal.content_type)] + refusal.headers
        except (TimeoutError, ConnectionError):
            raise  # the client was too slow or went away: the HTTP server answers 408 or closes
        except Exception as exc:  # never a plain-text 500 with a traceback
            status, body = "500 Internal Server Error", fault_envelope("InternalError", incident(exc, "wsgi").message)
            headers = [("Content-Type", "text/xml; charset=utf-8")]
        headers = headers + [("X-Request-Id", rid)]
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").lower().rstrip("/") \
                in self.endpoints:
            self._count(environ.get(OPERATION_KEY, metrics.OTHER), status, body, time.perf_counter() - started)
        if isinstance(body, bytes):
            start_response(status, framed(headers, len(body)))
            return [body]
        start_response(status, headers)
        return body

    @staticmethod
    def _count(operation: str, status: str, body, seconds: float) -> None:
        """Request and fault counters: the operation name and the fault code only, never data."""
        try:
            metrics.observe_request(operation, seconds)
            if status.startswith("500") and isinstance(body, bytes):
                found = _FAULT_CODE.search(body[:_FAULT_CODE_SCAN])
                metrics.count_fault(operation, found.group(1).decode() if found else metrics.OTHER)
        except Exception:  # metrics never break a request
            log.debug("metrics update failed", exc_info=True)

    def _respond(self, environ: dict) -> Response | tuple[str, list, Iterable[bytes]]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.rstrip("/") == "/health" and method in ("GET", "HEAD"):
            return self._health()
        endpoint = self.endpoints.get(path.lower().rstrip("/"))
        if endpoint is None:
            raise _plain("404 Not Found", f"no service at {path}; try {STUDENT_PATH}?wsdl")
        if method in ("GET", "HEAD"):
            query = environ.get("QUERY_STRING", "").lower()
            if query in ("wsdl", "singlewsdl") or query.startswith(("wsdl=", "singlewsdl=")):
                return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], endpoint.wsdl(self._url(environ, endpoint))
            raise _plain("200 OK", f"{endpoint.port_type}: SOAP 1.1 service. The WSDL is at "
                                   f"{self._url(environ, endpoint)}?wsdl")
        if method != "POST":
            raise _plain("405 Method Not Allowed", "use POST for SOAP calls, GET for ?wsdl",
                         [("Allow", "GET, HEAD, POST")])
        return self._soap(endpoint, environ)

    def _url(self, environ: dict, endpoint: Endpoint) -> str:
        try:
            return self.address.base_url(environ) + endpoint.path
        except HostNotAllowed:
            raise _plain("400 Bad Request", "this server does not answer to that Host name; use its "
                                            "address (the administrator sets server.allowed_hosts)") from None

    def _soap(self, endpoint: Endpoint, environ: dict):
        check_content_type(environ)
        body = RequestBody(environ, self.settings.server)
        with ExitStack() as held:
            # Nothing past the SOAP Header is read for an unknown caller: a refusal here is drained.
            principal = self._caller(endpoint, environ, body)
            held.enter_context(self.budget.hold(body.expected, self.settings.server.upload_wait_seconds))
            return self._call(endpoint, environ, body.read_rest(), principal)

    def _call(self, endpoint: Endpoint, environ: dict, body: bytes, principal: Principal):
        envelope, header, call = _parse_envelope(body)
        name = etree.QName(call)
        if name.namespace != TNS or name.localname not in endpoint.operations:
            raise _fault("ValidationFailed", f"unknown operation {name.localname!r} "
                                             f"for {endpoint.port_type}")
        environ[OPERATION_KEY] = name.localname
        action = environ.get("HTTP_SOAPACTION", "").strip().strip('"')
        if action and action != soap_action(endpoint.port_type, name.localname):
            raise _fault("ValidationFailed", f"SOAPAction {action!r} does not match the operation "
                                             f"{name.localname!r} in the body")
        environ[PRINCIPAL_KEY] = principal
        environ[PARSED_ENVELOPE] = envelope  # spyne reads this tree, not the body again
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, Any] = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        chunks = endpoint.spyne(environ, capture)
        return captured["status"], list(captured["headers"]), b"".join(chunks)

    def _caller(self, endpoint: Endpoint, environ: dict, body: RequestBody) -> Principal:
        header = body.read_head()
        operation = etree.QName(body.operation) if body.operation else None
        if operation is not None and operation.namespace == TNS and operation.localname in endpoint.operations:
            environ[OPERATION_KEY] = operation.localname  # counted in metrics even when refused
        credentials = find_credentials(environ, header)
        challenge = [("WWW-Authenticate", f'Basic realm="{REALM}"')]
        if credentials is None:
            raise _plain("401 Unauthorized", "credentials needed: HTTP Basic or a WS-Security UsernameToken",
                         challenge)

        def gate(session, user: User) -> Principal:
            environ["b2b.username"] = user.username
            return endpoint.gate(session, self.runtime.ctx, user)

        try:
            return admit(self.runtime.ctx.sessions, self.settings, credentials, gate,
                         self.runtime.verifications)
        except AuthenticationFailed:
            if credentials.scheme == "basic":
                raise _plain("401 Unauthorized", "the user name or password is not correct", challenge) from None
            raise _fault("AuthenticationFailed", "the user name or password is not correct") from None
        except B2BError as exc:
            raise _fault(exc.code, exc.message) from None

    def _health(self) -> Response:
        report: dict[str, Any] = {"database": False, "licence": None, "queue_depth": None}
        try:
            with session_scope(self.runtime.ctx.sessions) as session:
                session.execute(text("SELECT 1"))
                report["database"] = True
                report["queue_depth"] = session.scalar(select(func.count()).select_from(QueueEntry))
                info = current_licence(session, self.settings)
                report["licence"] = {"valid": info is not None,
                                     "expires": info.expires.isoformat() if info else None,
                                     "features": list(info.features) if info else []}
        except Exception as exc:  # a health check reports, it does not fail
            report["error"] = type(exc).__name__
        healthy = report["database"] and bool(report["licence"] and report["licence"]["valid"])
        report["status"] = "ok" if healthy else ("degraded" if report["database"] else "down")
        status = "200 OK" if report["database"] else "503 Service Unavailable"
        return status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], \
            json.dumps(report).encode()


def make_endpoints() -> list[Endpoint]:
    """Fresh spyne applications for both services (no database needed: also used for snapshots)."""
    quiet_spyne_logs()
    return [
        Endpoint(STUDENT_PATH, PORT_TYPE, make_application([B2BStudentService], "B2BStudentService"), school_gate),
        Endpoint(ADMIN_PATH, ADMIN_PORT_TYPE, make_application(ADMIN_SERVICES, ADMIN_SERVICE_NAME), la_gate),
    ]


WEB_PATH = "/la"


def make_wsgi_app(ctx: AppContext) -> Callable:
    """The SOAP services, /health and /metrics, with the LA review pages mounted at /la/."""
    lighten_spyne()
    app = DispatcherMiddleware(B2BWsgiApp(Runtime(ctx), make_endpoints()), {WEB_PATH: make_web_app(ctx)})
    return TrustedProxies(app, ctx.settings.web.trusted_proxies)
