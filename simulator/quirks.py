"""HTTP-level quirks of real firmwares, applied around the ONVIF answers (opt-in per device;
the names are in faults.QUIRKS).

- soap_http_digest: SOAP calls other than GetSystemDateAndTime need HTTP Digest (a 401
  with a Digest challenge first); a WS-Security token is ignored, as on firmwares that
  authenticate ONVIF by Digest only. soap_http_digest_all: GetSystemDateAndTime too.
- soap11_faults: faults come back as SOAP 1.1 envelopes (faultcode/faultstring), HTTP 500;
  soap11_envelopes: every answer is SOAP 1.1 (old firmwares answering 1.2 requests in 1.1).
- plain_http_errors: faults come back as plain text, 401 for auth refusals, 400 otherwise.
- html_login: every SOAP request is answered 200 with the web UI's HTML login page.
- snapshot_basic / snapshot_wrong_ctype: the snapshot needs Basic auth / is served as
  text/plain.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from . import digest
from .faults import DeviceState
from .onvif import PRE_AUTH, OnvifContext, SoapError, fault_body, parse_request, ENVELOPE

NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
LOGIN_HTML = (b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Login</title></head>'
              b'<body><form action="/doc/page/login.asp" method="post">'
              b'<input name="username"><input type="password" name="password">'
              b'<button>Login</button></form></body></html>')

SOAP11 = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
          'xmlns:ter="http://www.onvif.org/ver10/error"><SOAP-ENV:Body><SOAP-ENV:Fault>'
          '<faultcode>SOAP-ENV:{code}</faultcode><faultstring>{reason}</faultstring>'
          '<detail><ter:Subcode>{sub}</ter:Subcode></detail>'
          '</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>')


def realm(st: DeviceState) -> str:
    return f"IP Camera({st.spec.serial[-8:]})"


def soap(ctx: OnvifContext, st: DeviceState, auth_header: str, path: str, body: bytes,
         now: float, password_ok: bool) -> tuple[int, bytes | str, str, list[tuple[str, str]]]:
    """(status, body, content type, extra headers) for one SOAP request."""
    q = st.faults
    soap_ct = "application/soap+xml; charset=utf-8"
    if "html_login" in q:
        return 200, LOGIN_HTML, "text/html", []
    wsse = True
    if "soap_http_digest" in q or "soap_http_digest_all" in q:
        try:
            op_name = parse_request(body)[0]
        except SoapError:
            op_name = ""
        if op_name not in PRE_AUTH or "soap_http_digest_all" in q:
            if not (password_ok and digest.verify(auth_header, "POST", realm(st),
                                                   st.spec.username, st.spec.password)):
                return 401, b"401 Unauthorized", "text/html", [
                    ("WWW-Authenticate", digest.challenge(realm(st)))]
            wsse = False
    try:
        text = ENVELOPE.format(body=ctx.answer_body(st, path, body, now, password_ok, wsse))
        if "soap11_envelopes" in q:
            return 200, text.replace(NS_SOAP12, NS_SOAP11, 1), "text/xml; charset=utf-8", []
        return 200, text, soap_ct, []
    except SoapError as err:
        auth = "NotAuthorized" in err.subcode
        if "plain_http_errors" in q:
            return (401, b"401 Unauthorized", "text/plain", []) if auth else \
                (400, b"400 Bad Request", "text/plain", [])
        if "soap11_faults" in q or "soap11_envelopes" in q:
            text = SOAP11.format(code="Client" if err.sender else "Server",
                                 reason=escape(err.reason), sub=escape(err.subcode))
            return 500, text, "text/xml; charset=utf-8", []
        return (400 if err.sender else 500), ENVELOPE.format(body=fault_body(err)), soap_ct, []


def snapshot_auth_ok(st: DeviceState, method: str, auth_header: str) -> bool:
    if "snapshot_basic" in st.faults or "snapshot_uri_creds" in st.faults:
        import base64
        want = base64.b64encode(f"{st.spec.username}:{st.spec.password}".encode()).decode()
        return auth_header.strip() == f"Basic {want}"
    return digest.verify(auth_header, method, realm(st), st.spec.username, st.spec.password)


def snapshot_challenge(st: DeviceState) -> str:
    if "snapshot_basic" in st.faults or "snapshot_uri_creds" in st.faults:
        return f'Basic realm="{realm(st)}"'
    return digest.challenge(realm(st))


def snapshot_content_type(st: DeviceState) -> str:
    return "text/plain" if "snapshot_wrong_ctype" in st.faults else "image/jpeg"
