"""Make spyne speak WCF's BasicHttpBinding dialect.

- :func:`operation` is ``@rpc`` with WCF's conventions: ``parameters`` part names, the
  service's portType, and the typed ``B2BFault`` declared on every operation.
- :class:`WcfApplication` turns every exception escaping an operation into a fault (only
  through ``service.faults``).
- :class:`WcfSoap11` reads the envelope the WSGI front already parsed (:data:`PARSED_ENVELOPE`)
  rather than parsing the body again, and decodes an operation's binary parameters itself,
  once, strictly, before the schema validates the rest: an upload's megabytes of base64 are
  neither parsed twice nor checked twice.
- :func:`build_wsdl` post-processes spyne's WSDL: spyne hard-codes ``soapAction="<Operation>"``
  and names the binding and port after the portType; WCF writes
  ``{ns}/{PortType}/{Operation}`` and ``BasicHttpBinding_{PortType}``.
"""
from __future__ import annotations

import inspect
from base64 import b64decode
from typing import Any, Callable, Iterable

from lxml import etree
from spyne import Application, ByteArray, DateTime, Fault, ServiceBase, rpc
from spyne.interface.wsdl import Wsdl11
from spyne.protocol.soap import Soap11

from ..errors import ValidationFailed
from .faults import to_fault
from .types import TNS, B2BFault

__all__ = ["operation", "WcfApplication", "WcfSoap11", "make_application", "build_wsdl", "soap_action",
           "binding_name", "operation_names", "decode_base64", "PARSED_ENVELOPE"]

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_BINDING_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP_HTTP = "http://schemas.xmlsoap.org/soap/http"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
PARSED_ENVELOPE = "b2b.envelope"  # environ key: the front's parse of the request, for spyne
_DECODED = "b2b.decoded"  # environ key: {element: bytes} of the binary parameters
_XML_SPACE = str.maketrans("", "", " \t\r\n")


def soap_action(port_type: str, operation_name: str) -> str:
    return f"{TNS}/{port_type}/{operation_name}"


def binding_name(port_type: str) -> str:
    return f"BasicHttpBinding_{port_type}"


def operation(port_type: str, *params: Any, **kwargs: Any) -> Callable:
    """``@rpc`` for one operation of ``port_type``, with WCF's part names and the typed fault."""
    decorate = rpc(*params, _port_type=port_type, _wsdl_part_name="parameters", _throws=[B2BFault],
                   _logged=False, **kwargs)

    def documented(function: Callable) -> Callable:
        # Python 3.13 strips docstring indentation at compile time and 3.11 does not: clean it
        # here so the WSDL's documentation, and so the contract, is the same on every version.
        if function.__doc__:
            function.__doc__ = inspect.cleandoc(function.__doc__)
        return decorate(function)
    return documented


class WcfApplication(Application):
    """An application whose operations answer every error as a typed fault."""

    def call_wrapper(self, ctx):
        try:
            return super().call_wrapper(ctx)
        except Fault:
            raise
        except Exception as exc:  # every error, expected or not, leaves as a fault
            raise to_fault(exc, ctx.method_request_string) from None


def decode_base64(text: str, name: str) -> bytes:
    """The bytes of an ``xs:base64Binary`` text (whitespace allowed anywhere), or a ValidationFailed fault."""
    try:
        return b64decode(text, validate=True)
    except ValueError:
        pass
    try:
        return b64decode(text.translate(_XML_SPACE), validate=True)
    except ValueError:
        raise to_fault(ValidationFailed(f"the request does not match the contract: {name} is not valid "
                                        "base64 (xs:base64Binary)")) from None


class WcfSoap11(Soap11):
    """SOAP 1.1 whose datetimes honour their type's format (spyne's Soap11 forces ``isoformat()``,
    which writes naive UTC without a zone; the contract sends UTC as ``...Z``), reading the
    envelope the front parsed and decoding binary parameters once (see the module's notes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._to_unicode_handlers[DateTime] = self.datetime_to_unicode

    def create_in_document(self, ctx, charset=None):
        root = getattr(ctx.transport, "req_env", {}).pop(PARSED_ENVELOPE, None)
        if root is None:
            return super().create_in_document(ctx, charset)
        # the ids lxml's XMLID (spyne's parse) collects, for spyne's href resolution
        ctx.in_document = root, {e.get("id"): e for e in root.iter(etree.Element) if e.get("id")}

    def validate_body(self, ctx, message):
        """Decode the operation's binary parameters and blank their text, then validate the rest."""
        environ = getattr(ctx.transport, "req_env", None)
        if environ is not None and message is self.REQUEST and ctx.in_body_doc is not None:
            environ[_DECODED] = decoded = {}
            for element in self._binary_parameters(ctx.in_body_doc):
                decoded[element] = decode_base64(element.text, etree.QName(element).localname)
                element.text = None
        return super().validate_body(ctx, message)

    def _binary_parameters(self, body: etree._Element) -> list[etree._Element]:
        descriptors = self.app.interface.service_method_map.get(body.tag)
        if not descriptors:
            return []
        message = descriptors[0].in_message
        names = {f"{{{message.get_namespace()}}}{name}" for name, kind in message._type_info.items()
                 if issubclass(kind, ByteArray)}
        return [child for child in body if child.tag in names and child.text]

    def byte_array_from_element(self, ctx, cls, element):
        decoded = getattr(ctx.transport, "req_env", {}).get(_DECODED, {})
        if element in decoded:
            return (decoded.pop(element),)
        return super().byte_array_from_element(ctx, cls, element)


def make_application(services: Iterable[type[ServiceBase]], name: str) -> WcfApplication:
    return WcfApplication(list(services), tns=TNS, name=name,
                          in_protocol=WcfSoap11(validator="lxml"), out_protocol=WcfSoap11())


def operation_names(app: Application) -> set[str]:
    """Names of the operations an application serves (the body element's local names)."""
    return {d.operation_name for d in app.interface.method_id_map.values()}


def _canonical_order(root: etree._Element) -> None:
    """Sort schema types and messages by name: spyne's order varies between processes."""
    for schema in root.iter(f"{{{XSD_NS}}}schema"):
        items = [c for c in schema if c.tag in (f"{{{XSD_NS}}}complexType", f"{{{XSD_NS}}}element")]
        for item in items:
            schema.remove(item)
        items.sort(key=lambda c: (c.tag != f"{{{XSD_NS}}}complexType", c.get("name")))
        schema.extend(items)
    messages = root.findall(f"{{{WSDL_NS}}}message")
    anchor = messages[0].getprevious() if messages else None
    for message in messages:
        root.remove(message)
    for message in sorted(messages, key=lambda m: m.get("name")):
        if anchor is None:
            root.insert(0, message)
        else:
            anchor.addnext(message)
        anchor = message


def build_wsdl(app: Application, url: str) -> bytes:
    """The application's WSDL 1.1 for an endpoint address, with WCF's names and SOAPActions."""
    wsdl = Wsdl11(app.interface)
    wsdl.build_interface_document(url)
    root = etree.fromstring(wsdl.get_interface_document(), etree.XMLParser(remove_blank_text=True))
    _canonical_order(root)
    for binding in root.iterfind(f"{{{WSDL_NS}}}binding"):
        port_type = binding.get("type").split(":")[-1]
        old = binding.get("name")
        binding.find(f"{{{SOAP_BINDING_NS}}}binding").set("transport", SOAP_HTTP)
        binding.set("name", binding_name(port_type))
        for op in binding.iterfind(f"{{{WSDL_NS}}}operation"):
            op.find(f"{{{SOAP_BINDING_NS}}}operation").set("soapAction", soap_action(port_type, op.get("name")))
        for port in root.iter(f"{{{WSDL_NS}}}port"):
            if port.get("binding").split(":")[-1] == old:
                prefix = port.get("binding").rpartition(":")[0]
                port.set("binding", f"{prefix}:{binding_name(port_type)}" if prefix else binding_name(port_type))
                port.set("name", binding_name(port_type))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
