"""crosssite.py - a page of another site cannot write through a visitor's browser.

walkrecd runs as it does by default: loopback, no admin token, so its writes are open to
this machine's own clients. A page served from a second loopback origin (127.0.0.2, another
site to the browser) is opened in Debian's Chromium (driven as in dashboard.py) and tries
the writes that need no CORS preflight: a no-cors fetch of a Blob typed JSON (the browser
drops the type), a form posted as text/plain with a JSON-looking body, a body-less POST to
/v1/admin/retrain, the same to rollback, and a JSON fetch (which needs a preflight the
daemon does not grant). All must be refused (403, counted in /metrics), nothing ingested and
no retrain started. The same writes from the daemon's own page, as its own scripts send
them (Content-Type: application/json), are taken.

Exits 77 (meson: skipped) when there is no Chromium."""

import http.server
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402
from dashboard import WAIT, Chromium, find_chromium  # noqa: E402

PAIR = {"pairs": [{"a": "P0000001", "b": "CROSS-SITE-ITEM", "weight": 1}]}


class Page(http.server.BaseHTTPRequestHandler):
    """The other site: one empty page."""

    def do_GET(self):  # noqa: N802 - the name http.server calls
        body = b"<!doctype html><title>another site</title><iframe name=sink></iframe>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def refused(daemon):
    """403 answers to POSTs so far, by route."""
    text = daemon.get("/metrics").body.decode()
    return {m.group(1): int(m.group(2)) for m in re.finditer(
        r'^walkrec_http_requests_total\{route="([^"]+)",method="POST",code="403"\} (\d+)$',
        text, re.M)}


def status(daemon):
    return daemon.get("/v1/admin/status").json()


def wait_for(what, cond, timeout=WAIT):
    end = time.time() + timeout
    while not cond():
        if time.time() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def main():
    binary = find_chromium()
    if not binary:
        print("SKIP: no Chromium (install Debian's chromium package, or set CHROMIUM)")
        return 77
    data = os.path.join(wrd.tmpdir(), "var")
    os.mkdir(data)
    pairs = wrd.small_model(os.path.join(data, "model-1.wr"))
    daemon = wrd.Daemon("--pairs", pairs, "--retrain-min-pairs", "0", "--retrain-interval", "0",
                        "--retrain-epochs", "1", "--retrain-warm-epochs", "1", data_dir=data,
                        env={"WALKREC_ADMIN_TOKEN": None})
    site = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    own = "http://127.0.0.1:%d" % daemon.port
    other = "http://127.0.0.2:%d" % site.server_address[1]
    b = Chromium(binary)
    try:
        attack(b, daemon, own, other)
        own_page(b, daemon, own)
    finally:
        b.close()
        site.shutdown()
    assert daemon.stop() == 0, daemon.log()
    print("crosssite: ok")
    return 0


def attack(b, daemon, own, other):
    before, runs, no = status(daemon)["log"]["records"], status(daemon)["runs"], refused(daemon)
    b.navigate(other + "/")
    body = json.dumps(json.dumps(PAIR))
    attempts = [
        ("a no-cors fetch of a Blob typed JSON", "/v1/pairs",
         "fetch(%s + '/v1/pairs', {method: 'POST', mode: 'no-cors', body: new Blob([%s], "
         "{type: 'application/json'})}).then(() => 'sent')" % (json.dumps(own), body)),
        ("a body-less no-cors POST", "/v1/admin/retrain",
         "fetch(%s + '/v1/admin/retrain', {method: 'POST', mode: 'no-cors'}).then(() => 'sent')"
         % json.dumps(own)),
        ("a body-less no-cors POST", "/v1/admin/rollback",
         "fetch(%s + '/v1/admin/rollback', {method: 'POST', mode: 'no-cors'}).then(() => 'sent')"
         % json.dumps(own)),
        # text/plain: name + '=' + value, so the body reads as the JSON document
        ("a form posted as text/plain", "/v1/pairs", """(() => {
            const f = document.createElement('form');
            f.method = 'POST'; f.enctype = 'text/plain'; f.target = 'sink';
            f.action = %s + '/v1/pairs';
            const i = document.createElement('input');
            i.name = '{"pairs":[{"a":"P0000001","b":"CROSS-SITE-ITEM","x":"';
            i.value = '"}]}';
            f.append(i); document.body.append(f); f.submit(); return 'sent'; })()"""
         % json.dumps(own)),
    ]
    want = dict(no)
    for what, route, script in attempts:
        assert b.js(script) == "sent", what
        want[route] = want.get(route, 0) + 1
        wait_for("the 403 of " + what, lambda: refused(daemon).get(route, 0) >= want[route])
        print("%s to %s from %s: 403" % (what, route, other))
    # a JSON fetch needs a preflight, which names no origin to allow: never sent
    got = b.js("fetch(%s + '/v1/pairs', {method: 'POST', headers: {'Content-Type': "
               "'application/json'}, body: %s}).then(r => 'status ' + r.status, "
               "e => 'blocked: ' + e.name)" % (json.dumps(own), body))
    assert got.startswith("blocked"), got
    print("a JSON fetch from %s: %s by the browser (no CORS for that origin)" % (other, got))
    # PUT and DELETE always need a preflight (no-cors refuses them outright): never sent
    for method in ("PUT", "DELETE"):
        got = b.js("fetch(%s + '/v1/items/P0000001/hidden', {method: '%s'}).then(r => "
                   "'status ' + r.status, e => 'blocked: ' + e.name)" % (json.dumps(own), method))
        assert got.startswith("blocked"), (method, got)
    print("a hide or unhide fetch from %s: blocked by the browser" % other)
    time.sleep(0.5)
    s = status(daemon)
    assert s["log"]["records"] == before, ("pairs ingested from another site", s["log"])
    assert s["runs"] == runs and s["state"] == "idle", ("a retrain from another site", s)
    assert daemon.get("/v1/items/CROSS-SITE-ITEM").status == 404
    assert daemon.get("/v1/items/P0000001").json()["hidden"] is False
    assert refused(daemon) == want, (refused(daemon), want)


def own_page(b, daemon, own):
    before, runs = status(daemon)["log"]["records"], status(daemon)["runs"]
    b.navigate(own + "/")
    got = b.js("fetch('/v1/pairs', {method: 'POST', headers: {'Content-Type': "
               "'application/json'}, body: %s}).then(r => r.status)" % json.dumps(json.dumps(PAIR)))
    assert got == 202, got
    got = b.js("fetch('/v1/admin/retrain', {method: 'POST', headers: {'Content-Type': "
               "'application/json'}}).then(r => r.status)")
    assert got == 202, got
    wait_for("the retrain", lambda: status(daemon)["runs"] > runs, 120)
    assert status(daemon)["log"]["records"] == before + 1
    wait_for("the provisional item", lambda: daemon.get("/v1/items/CROSS-SITE-ITEM").status
             == 200 or status(daemon)["generation"] > 1, 60)
    print("the daemon's own page: a pair ingested (202) and a retrain started (202)")


if __name__ == "__main__":
    sys.exit(main())
