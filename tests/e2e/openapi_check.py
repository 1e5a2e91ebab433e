"""Checks HTTP responses against the OpenAPI document the gateway serves.

check_request(method, path, body) checks a request body that the API
accepted against the operation's request schema, so that request schemas
are no stricter than the API itself.

check(method, path, status, headers, body_bytes) finds the operation for
method and path (the path may carry a query string), the response for
status (then its NXX range, then "default"), the media type of the
Content-Type header, and validates the body against that media type's
schema with Debian's python3-jsonschema (JSON Schema 2020-12, as OpenAPI 3.1
uses). It raises Mismatch when the document does not describe the response;
it returns the operationId it checked, or None for a request the document
does not cover at all (/healthz, /metrics, pages, or a method the path does
not have), which is no mismatch.

The document comes from load(port) (fetched once per process from a running
gateway, then kept) or use(document); check_at(port, ...) does both. Only the standard library and
jsonschema are used; run with /usr/bin/python3.
"""

import http.client
import json
import re

import jsonschema

# Operations that accept a batch whose items each get their own status: a
# success says nothing of whether each item was valid.
PER_ITEM = {"screenings_batch"}

_doc = None
_routes = None  # [(regex, template, path item)], literal paths first
_validators = {}


class Mismatch(AssertionError):
    pass


def _closed(node):
    """A copy of a schema tree in which every object schema that lists its
    properties and says nothing of others admits no others."""
    if isinstance(node, list):
        return [_closed(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _closed(v) for k, v in node.items()}
    if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def use(document, strict=True):
    """Check against this document (a dict) from now on. strict: a response
    object may hold only the properties its schema lists, so that the
    document names every field the API returns."""
    global _doc, _routes
    _doc = document
    if strict:
        _doc = dict(document)
        _doc["components"] = _closed(document.get("components", {}))
        _doc["paths"] = _closed(document.get("paths", {}))
        document = _doc
    _validators.clear()
    routes = []
    for template, item in document.get("paths", {}).items():
        rx = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)) + "$"
        # More literal segments first: /v1/agreements/calendar.ics before
        # /v1/agreements/{id}.
        literal = sum(1 for seg in template.split("/") if seg and "{" not in seg)
        routes.append((-literal, template.count("{"), re.compile(rx), template, item))
    routes.sort(key=lambda r: (r[0], r[1]))
    _routes = [(rx, t, item) for _, _, rx, t, item in routes]


def load(port, host="127.0.0.1"):
    """Fetch the served document from a gateway once; later calls keep it."""
    if _doc is None:
        c = http.client.HTTPConnection(host, port, timeout=15)
        try:
            c.request("GET", "/v1/openapi.json")
            r = c.getresponse()
            body = r.read()
        finally:
            c.close()
        if r.status != 200:
            raise Mismatch("GET /v1/openapi.json answered %d" % r.status)
        use(json.loads(body))
    return _doc


def check_at(port, method, path, status, headers, body_bytes):
    """load(port), then check(...): one call for a stack's request helper."""
    load(port)
    return check(method, path, status, headers, body_bytes)


def document():
    return _doc


def find(method, path):
    """(template, operation) for method and path, or (None, None)."""
    if _routes is None:
        raise Mismatch("no OpenAPI document loaded: call load(port) or use(doc)")
    path = path.split("?", 1)[0]
    for rx, template, item in _routes:
        if rx.match(path):
            op = item.get(method.lower())
            return (template, op) if op else (template, None)
    return None, None


def _header(headers, name):
    for k, v in headers or ():
        if k.lower() == name.lower():
            return v
    return None


def _resolve(obj):
    """Follow a local $ref of a response or header object."""
    seen = 0
    while isinstance(obj, dict) and "$ref" in obj and seen < 16:
        node = _doc
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
        seen += 1
    return obj


def validator(schema):
    """A validator for schema, whose $refs point into the document."""
    key = json.dumps(schema, sort_keys=True)
    v = _validators.get(key)
    if v is None:
        resolver = jsonschema.RefResolver.from_schema(_doc)
        v = jsonschema.Draft202012Validator(schema, resolver=resolver,
                                            format_checker=jsonschema.FormatChecker())
        _validators[key] = v
    return v


def _is_json(media):
    return media == "application/json" or media.endswith("+json")


def check_request(method, path, body):
    """Raise Mismatch unless body (a decoded JSON value, or None for no body)
    is valid for the operation's request schema; for requests the API
    accepted, so that request schemas are no stricter than the API. Return
    the operationId checked, or None when the document does not cover it."""
    template, op = find(method, path)
    if op is None:
        return None
    if op.get("operationId") in PER_ITEM:
        return op.get("operationId")
    where = "%s %s request" % (method, path.split("?", 1)[0])
    rb = _resolve(op.get("requestBody")) or {}
    if body is None:
        if rb.get("required"):
            raise Mismatch("%s: the body is required" % where)
        return op.get("operationId")
    content = rb.get("content") or {}
    media = next((m for m in ("application/json", "application/merge-patch+json")
                  if m in content), None)
    if media is None:
        raise Mismatch("%s: documented without a JSON body" % where)
    errors = list(validator(content[media]["schema"]).iter_errors(body))
    if errors:
        raise Mismatch("\n".join("%s at /%s: %s" % (where, "/".join(str(p) for p in e.path),
                                                    e.message[:300]) for e in errors[:5]))
    return op.get("operationId")


def check(method, path, status, headers, body_bytes):
    """Raise Mismatch unless the document describes this response; return
    the operationId checked, or None when the document does not cover the
    request."""
    template, op = find(method, path)
    if op is None:
        return None
    where = "%s %s -> %d" % (method, path.split("?", 1)[0], status)
    responses = op.get("responses", {})
    resp = (responses.get(str(status)) or responses.get("%dXX" % (status // 100))
            or responses.get("default"))
    if resp is None:
        raise Mismatch("%s: status %d not documented for %s (%s)" %
                       (where, status, op.get("operationId"), ", ".join(sorted(responses))))
    resp = _resolve(resp)
    for name, h in (resp.get("headers") or {}).items():
        h = _resolve(h)
        if h.get("required") and _header(headers, name) is None:
            raise Mismatch("%s: required header %s missing" % (where, name))
    content = resp.get("content") or {}
    body_bytes = body_bytes or b""
    if not content:
        if body_bytes and method.upper() != "HEAD":
            raise Mismatch("%s: documented without a body, got %d bytes" %
                           (where, len(body_bytes)))
        return op.get("operationId")
    ctype = _header(headers, "Content-Type")
    if ctype is None:
        raise Mismatch("%s: no Content-Type; documented %s" % (where, ", ".join(content)))
    media = ctype.split(";", 1)[0].strip().lower()
    if media not in content:
        raise Mismatch("%s: Content-Type %s not documented (%s)" %
                       (where, media, ", ".join(content)))
    schema = content[media].get("schema")
    if schema is None:
        raise Mismatch("%s: %s has no schema" % (where, media))
    if _is_json(media):
        try:
            value = json.loads(body_bytes)
        except ValueError as e:
            raise Mismatch("%s: body is not JSON: %s" % (where, e)) from None
        if media == "application/problem+json" and isinstance(value, dict) \
                and value.get("status") not in (None, status):
            raise Mismatch("%s: problem status %r" % (where, value.get("status")))
    else:
        try:
            value = body_bytes.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Mismatch("%s: %s body is not UTF-8: %s" % (where, media, e)) from None
    errors = sorted(validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        lines = ["%s at /%s: %s" % (where, "/".join(str(p) for p in e.path), e.message[:300])
                 for e in errors[:5]]
        raise Mismatch("\n".join(lines))
    return op.get("operationId")
