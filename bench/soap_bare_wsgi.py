"""A bare WSGI upload endpoint without spyne, for ``soap_upload_load.py``'s SOAP-layer ratio.

It parses the same envelope with lxml, takes the header and content, checks Basic
credentials the same way, and calls the very same ``FileStore.upload`` (decode, checksum,
validate, encrypt, store, queue). Run: ``python bench/soap_bare_wsgi.py CONFIG PORT``.
"""
from __future__ import annotations

import base64
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cheroot import wsgi  # noqa: E402
from lxml import etree  # noqa: E402

from b2b_soap.config import load_settings  # noqa: E402
from b2b_soap.context import AppContext  # noqa: E402
from b2b_soap.service.server import limit_malloc_arenas  # noqa: E402
from b2b_soap.security.auth import VerificationCache, authenticate, find_credentials  # noqa: E402
from b2b_soap.files import FileStore, UploadHeader, Uploader  # noqa: E402

TNS = "{http://schemas.b2b-soap.org/student/2026/01}"


def make_app(ctx: AppContext):
    store, cache = FileStore(ctx), VerificationCache()

    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        user = authenticate(ctx.sessions, ctx.settings, find_credentials(environ, None), cache)
        call = etree.fromstring(body, etree.XMLParser(resolve_entities=False, huge_tree=False))[0][0]
        h = call.find(f"{TNS}header")
        header = UploadHeader(h.findtext(f"{TNS}FileGuid"), h.findtext(f"{TNS}DataType"), h.findtext(f"{TNS}FileName"),
                              int(h.findtext(f"{TNS}TotalBytes")), h.findtext(f"{TNS}Sha256"),
                              h.findtext(f"{TNS}Compression"), int(h.findtext(f"{TNS}PartNumber")),
                              int(h.findtext(f"{TNS}PartCount")))
        receipt = store.upload(Uploader(user.id, user.base_id, "9994000"), header,
                               base64.b64decode(call.findtext(f"{TNS}content")))
        answer = f"<r><FileId>{receipt.file_id}</FileId><Status>{receipt.status}</Status></r>".encode()
        start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(answer)))])
        return [answer]

    return app


if __name__ == "__main__":
    limit_malloc_arenas()  # the same process set-up as `serve`, so only the SOAP layer differs
    context = AppContext(load_settings(sys.argv[1]))
    server = wsgi.Server(("127.0.0.1", int(sys.argv[2])), make_app(context),
                         numthreads=context.settings.server.threads)
    server.max_request_body_size = context.settings.server.max_request_bytes
    try:
        server.start()
    except KeyboardInterrupt:
        server.stop()
