"""openapi.py - docs/openapi.yaml against the real daemon.

Every route in src/http.c's table is documented with the same methods and nothing else is;
every documented operation, sent with the spec's own examples, answers its documented
success status with a body of the documented shape (types, required keys, enums, $refs
followed); the documented error responses of the item routes have the Error shape.

The YAML is read by a small reader for the subset the document uses (block mappings and
sequences, flow sequences, plain and quoted scalars), since PyYAML may be absent; where
PyYAML is installed, both readings must agree."""

import json
import os
import re
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402

SPEC_PATH = os.path.join(wrd.SRC, "docs", "openapi.yaml")


# ---- a YAML subset reader ----

def _scalar(s):
    s = s.strip()
    if s.startswith('"'):
        return json.loads(s)
    if s.startswith("'"):
        return s[1:-1].replace("''", "'")
    if s.startswith("["):
        inner = s[1:-1].strip()
        return [_scalar(x) for x in _split_flow(inner)] if inner else []
    if s in ("true", "false"):
        return s == "true"
    if s in ("null", "~", ""):
        return None
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    if re.fullmatch(r"-?\d+\.\d*(e-?\d+)?", s):
        return float(s)
    return s


def _split_flow(s):
    out, cur, quote = [], "", None
    for ch in s:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            cur += ch
        elif ch == ",":
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _strip_comment(line):
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] == " "):
            return line[:i]
    return line


def _key_value(text):
    """'key: value' -> (key, value text); 'key:' -> (key, None); else None."""
    if text.startswith('"'):
        end = text.index('"', 1)
        key, rest = json.loads(text[:end + 1]), text[end + 1:]
    else:
        m = re.match(r"([^:\s][^:]*?):(\s|$)", text)
        if not m:
            return None
        key, rest = m.group(1), text[m.end(1):]
    if not rest.startswith(":"):
        return None
    rest = rest[1:].strip()
    return key, (rest if rest else None)


def load_yaml(text):
    lines = []
    for raw in text.splitlines():
        line = _strip_comment(raw).rstrip()
        if line.strip():
            lines.append((len(line) - len(line.lstrip(" ")), line.strip()))
    pos = 0

    def block(indent):
        nonlocal pos
        if lines[pos][1].startswith("- "):
            return seq(indent)
        return mapping(indent)

    def mapping(indent, first=None):
        nonlocal pos
        out = {}
        while pos < len(lines) or first:
            if first:
                text, first = first, None
            else:
                ind, text = lines[pos]
                if ind != indent or text.startswith("- "):
                    break
                pos += 1
            kv = _key_value(text)
            if not kv:
                raise ValueError("cannot read %r" % text)
            key, value = kv
            if value is not None:
                out[key] = _scalar(value)
            elif pos < len(lines) and lines[pos][0] > indent:
                out[key] = block(lines[pos][0])
            elif pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("- "):
                out[key] = seq(indent)
            else:
                out[key] = None
        return out

    def seq(indent):
        nonlocal pos
        out = []
        while pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("- "):
            text = lines[pos][1][2:].strip()
            pos += 1
            if _key_value(text) and not text.startswith("["):
                # a mapping whose first key shares the dash's line
                out.append(mapping(indent + 2, first=text))
            else:
                out.append(_scalar(text))
        return out

    return block(lines[0][0])


# ---- a JSON-schema subset checker (OpenAPI 3.0 flavour) ----

def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = spec
        for part in ref[2:].split("/"):
            node = node[part]
    return node


def check(spec, schema, value, where):
    schema = resolve(spec, schema)
    if value is None:
        if not schema.get("nullable"):
            raise AssertionError("%s: null where %s is documented" % (where, schema.get("type")))
        return
    if "oneOf" in schema:
        errors = []
        for alt in schema["oneOf"]:
            try:
                check(spec, alt, value, where)
                return
            except AssertionError as e:
                errors.append(str(e))
        raise AssertionError("%s: matches none of oneOf: %s" % (where, errors))
    t = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool,
             "integer": int, "number": (int, float)}
    if t and (not isinstance(value, types[t]) or (t in ("integer", "number") and
                                                    isinstance(value, bool))):
        raise AssertionError("%s: %r is not of type %s" % (where, value, t))
    if "enum" in schema and value not in schema["enum"]:
        raise AssertionError("%s: %r is not one of %s" % (where, value, schema["enum"]))
    if t == "object":
        for k in schema.get("required", []):
            if k not in value:
                raise AssertionError("%s: required key %r missing from %s" %
                                     (where, k, sorted(value)))
        props = schema.get("properties", {})
        for k, v in value.items():
            if k in props:
                check(spec, props[k], v, "%s.%s" % (where, k))
            elif isinstance(schema.get("additionalProperties"), dict):
                check(spec, schema["additionalProperties"], v, "%s.%s" % (where, k))
    if t == "array":
        if len(value) < schema.get("minItems", 0):
            raise AssertionError("%s: fewer than %d items" % (where, schema["minItems"]))
        for i, v in enumerate(value):
            check(spec, schema.get("items", {}), v, "%s[%d]" % (where, i))


# ---- the tests ----

D = SPEC = None


def setUpModule():
    global D, SPEC
    with open(SPEC_PATH) as f:
        SPEC = load_yaml(f.read())
    D = wrd.Daemon()  # trains on the built-in catalogue, whose ids the examples use


def tearDownModule():
    assert D.stop() == 0, D.log()


def routes_in_source():
    with open(os.path.join(wrd.SRC, "src", "api_routes.c")) as f:
        src = f.read()
    table = re.search(r"static const wr_route routes\[\] = \{(.*?)\n\};", src, re.S).group(1)
    out = {}
    for path, get, post, params, put, delete, patch in re.findall(
            r'\{"([^"]+)", (\w+), (\w+), \d, \w+, \d,\s*(NULL|"[^"]*"),\s*(\w+),\s*(\w+),\s*(\w+)\}',
            table):
        out[path] = {m for m, fn in (("get", get), ("post", post), ("put", put),
                                     ("delete", delete), ("patch", patch)) if fn != "NULL"}
        PARAMS[path] = None if params == "NULL" else {p for p in params.strip('"').split(",") if p}
    return out


PARAMS = {}  # path: the query parameters the route reads (routes_in_source), None: unchecked


def build_request(op, path):
    query = {}
    for p in op.get("parameters", []):
        p = resolve(SPEC, p)
        if "example" not in p:
            continue
        if p["in"] == "path":
            path = path.replace("{%s}" % p["name"], urllib.parse.quote(str(p["example"]), ""))
        elif p["in"] == "query":
            query[p["name"]] = str(p["example"])
    if query:
        path += "?" + urllib.parse.urlencode(query)
    body = None
    if "requestBody" in op:
        body = op["requestBody"]["content"]["application/json"]["example"]
    return path, body


class OpenAPI(unittest.TestCase):
    def test_reader_agrees_with_pyyaml(self):
        try:
            import yaml
        except ImportError:
            self.skipTest("PyYAML absent: only the built-in reader is used")
        with open(SPEC_PATH) as f:
            text = f.read()
        self.assertEqual(load_yaml(text), yaml.safe_load(text))

    def test_document(self):
        self.assertTrue(SPEC["openapi"].startswith("3.0."))
        self.assertIn("title", SPEC["info"])
        for path, item in SPEC["paths"].items():
            for method, op in item.items():
                self.assertIn("operationId", op, path)
                self.assertTrue(any(c.startswith("2") for c in op["responses"]), (path, method))

    def test_routes_match_source(self):
        source = routes_in_source()
        self.assertEqual(len(source), 19)
        documented = {p: set(item) for p, item in SPEC["paths"].items()}
        self.assertEqual(documented, source)
        # the query parameters documented are those the route reads (strict_params)
        for path, item in SPEC["paths"].items():
            if PARAMS[path] is None:
                continue
            named = {resolve(SPEC, p)["name"] for op in item.values()
                     for p in op.get("parameters", []) if resolve(SPEC, p)["in"] == "query"}
            self.assertEqual(named, PARAMS[path], path)

    def test_operations_answer_as_documented(self):
        for path, item in SPEC["paths"].items():
            for method, op in item.items():
                if op.get("x-side-effects"):
                    continue  # retrain, publish, rollback: retrain.py; hiding: hidden.py
                url, body = build_request(op, path)
                r = D.request(method.upper(), url, body=body)
                ok = sorted(c for c in op["responses"] if c.startswith("2"))[0]
                self.assertEqual(str(r.status), ok, (method, url, r))
                media, doc = next(iter(resolve(SPEC, op["responses"][ok])["content"].items()))
                self.assertTrue(r.headers["content-type"].startswith(media), (url, media))
                value = r.json() if media == "application/json" else r.body.decode()
                check(SPEC, doc["schema"], value, "%s %s" % (method, path))
                if "ETag" in resolve(SPEC, op["responses"][ok]).get("headers", {}):
                    self.assertRegex(r.headers["etag"], r'^"%d-[0-9a-f]{16}"$' %
                                     value["generation"])

    def test_error_responses(self):
        cases = [("get", "/v1/items/{id}/neighbors", "/v1/items/nope/neighbors", "404"),
                 ("get", "/v1/items/{id}/neighbors", "/v1/items/P0000001/neighbors?k=0", "400"),
                 ("get", "/v1/items/{id}", "/v1/items/nope", "404"),
                 ("get", "/v1/score", "/v1/score?a=P0000001&b=nope", "404"),
                 ("post", "/v1/neighbors", "/v1/neighbors", "400"),
                 ("post", "/v1/score", "/v1/score", "400"),
                 ("get", "/v1/items", "/v1/items?limit=0", "400"),
                 ("get", "/v1/items", "/v1/items?prefix=%FF", "400"),
                 ("get", "/ui/{id}", "/ui/nope.js", "404")]
        for method, path, url, status in cases:
            r = D.request(method.upper(), url, body="{}" if method == "post" else None)
            self.assertEqual(str(r.status), status, (url, r))
            resp = resolve(SPEC, SPEC["paths"][path][method]["responses"][status])
            check(SPEC, resp["content"]["application/json"]["schema"], r.json(), url)


if __name__ == "__main__":
    unittest.main(verbosity=2)
