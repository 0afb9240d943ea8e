"""The one place that makes lxml parsers for transfer files.

Like zeep's ``loader.py``: entities, DTDs and network access are off, and lxml
errors come back as :class:`TransferXmlError` with a line and column.
"""

from __future__ import annotations

import re

from lxml import etree

from .errors import TransferXmlError

__all__ = ["safe_parser", "refuse_dtd", "to_transfer_error"]

_POSITION_SUFFIX = re.compile(r"(, line \d+)+, column \d+$")
DTD_MESSAGE = "a DOCTYPE (DTD) is not allowed in a transfer file"


def safe_parser(schema: etree.XMLSchema | None = None) -> etree.XMLParser:
    """Make a new parser with every dangerous feature off.

    A new parser per call: lxml serialises concurrent use of one parser, and
    creating one costs microseconds.

    Args:
        schema: validate while parsing against this schema (parse errors and
            schema errors both raise ``XMLSyntaxError``).
    """
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        dtd_validation=False,
        remove_comments=False,
        schema=schema,
    )


def refuse_dtd(tree: etree._ElementTree) -> None:
    """Raise :class:`TransferXmlError` when the document has a DOCTYPE.

    Checked on every parse: libxml2's schema validation fails with an internal
    error on a document that carries a DTD, and an entity reference without one
    silently reads as empty text.
    """
    docinfo = tree.docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise TransferXmlError(1, 1, DTD_MESSAGE)


def to_transfer_error(exc: etree.XMLSyntaxError) -> TransferXmlError:
    """Turn an lxml syntax error into a :class:`TransferXmlError`.

    Uses the exception's own position and message: its ``error_log`` can hold
    stale entries of earlier parses in the same thread.
    """
    line, column = exc.position if exc.position else (0, 0)
    message = _POSITION_SUFFIX.sub("", exc.msg or "") or "malformed XML"
    return TransferXmlError(line or 0, column or 0, message)
