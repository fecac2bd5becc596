"""dashboard.py - the dashboard page (GET /) end to end in headless Chromium.

Starts walkrecd with an admin token, side information with titles, and a model trained with
--val (so it holds a learning curve); opens the page in Debian's Chromium, driven over the
DevTools protocol through --remote-debugging-pipe (NUL-terminated JSON on file descriptors
3 and 4, so the Python standard library is enough: no websocket package, no Playwright, no
browser download). Then, as an operator would:

- the page meets a 401 and asks for the token; a wrong one is refused and asked again, the
  right one is kept in sessionStorage only;
- the model card, the trainer's state and the learning curve (one marker per recorded point)
  appear;
- typing part of an id lists the ids the API gives for that prefix; clicking one shows its
  neighbours, the same items and scores as the API, with their titles;
- clicking a neighbour walks on: the list becomes that item's neighbours; Back returns;
- the item view's Hide button hides the item (gone from the lists), Unhide brings it back;
- a retraining run (from scratch, 0 epochs: the gate refuses it) shows its numbers;
- no script error and no Content-Security-Policy violation was reported.

It saves a screenshot of the whole page and prints its path (SCREENSHOT_DIR, else the current
directory: meson runs tests in the build directory). Exits 77 (meson: skipped) when there is
no Chromium (the environment variable CHROMIUM names another binary)."""

import atexit
import base64
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402

TOKEN = "s3cret-dashboard-token"
ITEM = "P0000123"
WAIT = 30  # seconds for any one thing to appear; the machine may be busy


def find_chromium():
    if "CHROMIUM" in os.environ:
        candidates = [os.environ["CHROMIUM"]]
    else:
        candidates = ["/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


class Chromium:
    """A headless Chromium in its own process group, one page, commands over the pipe."""

    def __init__(self, binary, width=1360, height=900):
        self.profile = tempfile.mkdtemp(prefix="walkrec-chromium.")
        self.events = []
        self.buf = b""
        self.next_id = 0
        to_r, self.to_w = os.pipe()      # our commands: the browser's fd 3
        self.from_r, from_w = os.pipe()  # its answers and events: the browser's fd 4

        def fds():
            a, b = os.dup(to_r), os.dup(from_w)  # dup2 onto 3 and 4 must clear CLOEXEC
            os.dup2(a, 3)
            os.dup2(b, 4)

        argv = [binary, "--headless", "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
                # the page is our own, from loopback; a sandbox needs privileges tests lack
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update",
                "--hide-scrollbars", "--mute-audio", "--window-size=%d,%d" % (width, height),
                "about:blank"]
        self.log = open(os.path.join(self.profile, "chromium.log"), "w")
        self.proc = subprocess.Popen(argv, preexec_fn=fds, close_fds=False,
                                     start_new_session=True, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        os.close(to_r)
        os.close(from_w)
        atexit.register(self.close)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width,
                  height=height, deviceScaleFactor=1, mobile=False)

    def _read(self, timeout):
        while b"\0" not in self.buf:
            ready, _, _ = select.select([self.from_r], [], [], timeout)
            if not ready:
                raise AssertionError("Chromium did not answer within %ss" % timeout)
            data = os.read(self.from_r, 1 << 20)
            if not data:
                raise AssertionError("Chromium closed the pipe (exit %s); its log:\n%s" %
                                     (self.proc.poll(), self.browser_log()))
            self.buf += data
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, session=False, timeout=WAIT, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read(timeout)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise AssertionError("%s: %s" % (method, m["error"]))
                return m["result"]
            self.events.append(m)

    def browser_log(self):
        with open(os.path.join(self.profile, "chromium.log")) as f:
            return f.read()[-3000:]

    def close(self):
        """Asks the browser to quit, then kills its whole process group (renderer, GPU and
        zygote processes included), and removes the profile."""
        if self.proc.poll() is None:
            try:
                self.call("Browser.close", timeout=5)
            except (AssertionError, OSError):
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own group: start_new_session
        except ProcessLookupError:
            pass
        self.proc.wait()
        for fd in (self.to_w, self.from_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.to_w = self.from_r = -1
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    # ---- the page ----

    def navigate(self, url):
        self.call("Page.navigate", session=True, url=url)
        self.wait("document.readyState === 'complete' && location.href === %s" %
                  json.dumps(url), "the page to load")

    def js(self, expr):
        r = self.call("Runtime.evaluate", session=True, expression=expr, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise AssertionError("script %r failed: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def wait(self, expr, what, timeout=WAIT):
        end = time.time() + timeout
        while True:
            v = self.js(expr)
            if v:
                return v
            if time.time() > end:
                raise AssertionError("timed out waiting for %s (%s)" % (what, expr))
            time.sleep(0.05)

    def click(self, selector):
        """A real mouse click in the middle of the element."""
        box = self.js("""(() => { const e = document.querySelector(%s);
            if (!e) return null; e.scrollIntoView({block: 'center'});
            const r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2]; })()""" % json.dumps(selector))
        assert box, "nothing matches %s" % selector
        x, y = box
        self.call("Input.dispatchMouseEvent", session=True, type="mouseMoved", x=x, y=y)
        for t in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", session=True, type=t, x=x, y=y,
                      button="left", clickCount=1)

    def type(self, selector, text):
        self.js("document.querySelector(%s).focus()" % json.dumps(selector))
        self.call("Input.insertText", session=True, text=text)

    def press_enter(self):
        # the text makes it a key that types: what submits a form
        self.call("Input.dispatchKeyEvent", session=True, type="keyDown", key="Enter",
                  code="Enter", windowsVirtualKeyCode=13, text="\r")
        self.call("Input.dispatchKeyEvent", session=True, type="keyUp", key="Enter",
                  code="Enter", windowsVirtualKeyCode=13)

    def screenshot(self, path):
        h = self.js("Math.ceil(document.documentElement.scrollHeight)")
        w = self.js("document.documentElement.clientWidth")
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=w, height=h,
                  deviceScaleFactor=1, mobile=False)
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def problems(self):
        """Script exceptions and console errors (CSP violations among them) so far."""
        out = []
        for e in self.events:
            if e.get("method") == "Runtime.exceptionThrown":
                d = e["params"]["exceptionDetails"]
                out.append("exception: %s" % d.get("exception", {}).get("description", d))
            elif e.get("method") == "Log.entryAdded":
                entry = e["params"]["entry"]
                # the 401s are how the page learns it needs the token
                expected = entry["source"] == "network" and "status of 401" in entry["text"]
                if entry["level"] == "error" and not expected:
                    out.append("console %s: %s" % (entry["source"], entry["text"]))
            elif e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error":
                out.append("console.error: %s" % e["params"]["args"])
        return out


# ---- the daemon and its data ----

COLOURS = ["Red", "Blue", "Green", "Black", "White", "Silver", "Amber", "Teal"]
THINGS = ["kettle", "desk lamp", "headphones", "backpack", "teapot", "keyboard", "notebook",
          "tent", "road bike", "mug", "phone case", "blender", "pillow", "watch", "lens",
          "speaker", "jacket", "drill", "frying pan", "charger"]


def title(item, category):
    n = int(item[1:])
    return "%s %s, model %d" % (COLOURS[n % len(COLOURS)], THINGS[int(category[1:]) %
                                                                   len(THINGS)], n)


def prepare(d):
    """Pairs, titles and a model with a learning curve in d; returns (data dir, items file,
    titles by id, model)."""
    W = wrd.WALKREC
    pairs, cats = os.path.join(d, "pairs.tsv"), os.path.join(d, "categories.tsv")
    train, val = os.path.join(d, "train.tsv"), os.path.join(d, "val.tsv")
    var = os.path.join(d, "var")
    os.mkdir(var)
    model = os.path.join(var, "model-1.wr")
    wrd.run(W, "synth", "-o", pairs, "--items-out", cats, "--quiet")
    wrd.run(W, "split", pairs, "--train", train, "--val", val, "--val-frac", "0.1", "--quiet")
    wrd.run(W, "train", train, "-o", model, "--val", val, "--threads", "1", "--quiet")
    wrd.run(W, "graph", model, train, "--quiet")  # the pairs that explanations read
    header, rows = wrd.read_tsv(cats)
    assert header[:2] == ["item", "category"], header
    titles = {r[0]: title(r[0], r[1]) for r in rows}
    items = os.path.join(d, "items.tsv")
    with open(items, "w") as f:
        f.write("item\ttitle\tcategory\n")
        for r in rows:
            f.write("%s\t%s\t%s\n" % (r[0], titles[r[0]], r[1]))
    return var, items, pairs, titles, wrd.Model(model)


def get_json(daemon, path):
    r = daemon.get(path)
    assert r.status == 200, (path, r)
    return r.json()


NEIGHBOUR_ROWS = """Array.from(document.querySelectorAll('#neighbors tbody tr[data-id]')).map(tr => [
    tr.dataset.id, parseFloat(tr.querySelector('td.score .num').textContent),
    tr.querySelector('td.title').textContent, tr.querySelector('td.prob').textContent,
    getComputedStyle(tr.querySelector('td.prob')).display !== 'none'])"""


def check_neighbours(b, daemon, item, titles):
    b.wait("document.getElementById('neighbors').dataset.state === 'ready' && "
           "document.getElementById('neighbors').dataset.item === %s" % json.dumps(item),
           "the neighbours of " + item)
    rows = b.js(NEIGHBOUR_ROWS)
    want = get_json(daemon, "/v1/items/%s/neighbors?k=10" % item)["neighbors"]
    assert len(rows) == len(want) == 10, (item, rows)
    for (got_id, got_score, got_title, got_prob, shown), w in zip(rows, want):
        assert got_id == w["item"], (item, rows, want)
        assert abs(got_score - w["score"]) < 1e-4, (item, got_id, got_score, w["score"])
        # the probability column is there exactly when the answer has probabilities
        assert shown == (w.get("probability") is not None), (got_id, shown, w)
        if shown:
            assert abs(float(got_prob) - w["probability"]) < 1e-3, (got_id, got_prob, w)
        assert got_title == titles[got_id], (got_id, got_title, titles[got_id])
    assert b.js("document.getElementById('item-id').textContent") == item
    assert b.js("document.getElementById('item-title').textContent") == titles[item]
    return [r[0] for r in rows]


def main():
    binary = find_chromium()
    if not binary:
        print("SKIP: no Chromium (install Debian's chromium package, or set CHROMIUM)")
        return 77
    t0 = time.time()
    d = wrd.tmpdir()
    var, items, pairs, titles, model = prepare(d)
    curve = model.meta["learning_curve"]
    daemon = wrd.Daemon("--items-file", items, "--pairs", pairs, "--retrain-mode", "scratch",
                        "--retrain-epochs", "0", "--retrain-interval", "0",
                        "--retrain-min-pairs", "0",
                        data_dir=var, env={"WALKREC_ADMIN_TOKEN": TOKEN})
    url = "http://127.0.0.1:%d/" % daemon.port
    print("walkrecd at %s, model with %d learning-curve points (%.1f s)" %
          (url, len(curve), time.time() - t0))
    b = Chromium(binary)
    shots = os.environ.get("SCREENSHOT_DIR") or os.getcwd()
    try:
        run_page(b, daemon, url, model, titles)
        out = os.path.join(shots, "dashboard.png")
        b.screenshot(out)
        print("screenshot: %s" % out)
    except AssertionError:
        # whether the daemon was still there, and what it said last
        code = daemon.proc.poll()
        print("walkrecd at the failure: %s; its log ends:\n%s" % (
            "running" if code is None else "exited with %d" % code,
            "\n".join(daemon.log().splitlines()[-15:])))
        out = os.path.join(shots, "dashboard-failed.png")
        try:
            b.screenshot(out)
            print("screenshot of the page at the failure: %s" % out)
        except (AssertionError, OSError):
            pass
        raise
    finally:
        b.close()
    assert daemon.stop() == 0, daemon.log()
    print("dashboard: ok in %.1f s" % (time.time() - t0))
    return 0


def run_page(b, daemon, url, model, titles):
    curve = model.meta["learning_curve"]
    b.navigate(url)

    # The status route needs the token: the page asks; a wrong token is asked again.
    b.wait("!document.getElementById('token-panel').hidden", "the token panel")
    b.type("#token-input", "wrong")
    b.press_enter()
    b.wait("!document.getElementById('token-error').hidden && "
           "!document.getElementById('token-panel').hidden", "the refusal")
    b.type("#token-input", TOKEN)
    b.press_enter()
    b.wait("document.getElementById('token-panel').hidden", "the panel to close")
    assert b.js("sessionStorage.getItem('walkrecd.admin_token')") == TOKEN
    assert b.js("localStorage.length") == 0
    print("token: asked on 401, wrong one refused, right one kept in sessionStorage")

    # Model, trainer and learning curve.
    b.wait("document.getElementById('gen-badge').textContent === 'generation 1'",
           "the model")
    b.wait("document.getElementById('state').textContent === 'idle'", "the trainer state")
    model_text = b.js("document.getElementById('model').textContent")
    assert "Items{:,}".format(model.n) in model_text, model_text
    assert "Dimensions%d" % model.dim in model_text, model_text
    marks = b.js("document.querySelectorAll('#curve circle.point').length")
    assert marks == len(curve), (marks, len(curve))
    assert b.js("document.querySelectorAll('#curve polyline').length") == 2
    print("model card, trainer state and learning curve (%d points) shown" % marks)

    # Search: the suggestions are the API's ids for the prefix; pick one.
    b.click("#search")
    b.type("#search", ITEM[:-1])
    want = get_json(daemon, "/v1/items?prefix=%s&limit=10" % ITEM[:-1])["items"]
    b.wait("document.querySelectorAll('#suggestions li[data-id]').length === %d" % len(want),
           "the suggestions")
    got = b.js("Array.from(document.querySelectorAll('#suggestions li[data-id]'))"
               ".map(li => li.dataset.id)")
    assert got == want and ITEM in got, (got, want)
    b.click('#suggestions li[data-id="%s"]' % ITEM)
    first = check_neighbours(b, daemon, ITEM, titles)
    print("search '%s': %d suggestions; %s has neighbours %s" %
          (ITEM[:-1], len(got), ITEM, " ".join(first[:4]) + " ..."))

    # Why: the second neighbour's evidence row opens without leaving the item, and says what
    # the API's explanation says.
    why = '#neighbors tbody tr[data-id="%s"]' % first[1]
    assert b.js("document.querySelector('%s').nextElementSibling.hidden" % why)
    b.click(why + " button.why")
    b.wait("!document.querySelector('%s').nextElementSibling.hidden" % why, "the evidence row")
    text = b.js("document.querySelector('%s').nextElementSibling.textContent" % why)
    e = get_json(daemon, "/v1/items/%s/neighbors?k=10&explain=1" % ITEM)["neighbors"][1]["explain"]
    assert "%s shared partners" % "{:,}".format(e["shared"]["count"]) in text, (text, e)
    assert ("Paired directly, weight" in text) == (e["pair"] is not None), (text, e)
    assert b.js("document.getElementById('neighbors').dataset.item") == ITEM
    print("why %s: %s" % (first[1], text[:120]))

    # Walk on: click the third neighbour; Back returns; Forward again.
    nxt = first[2]
    b.click('#neighbors tbody tr[data-id="%s"] button.walk' % nxt)
    second = check_neighbours(b, daemon, nxt, titles)
    assert second != first
    trail = b.js("document.getElementById('trail').textContent")
    assert trail == "%s→%s" % (ITEM, nxt), trail
    b.js("history.back()")
    check_neighbours(b, daemon, ITEM, titles)
    b.js("history.forward()")
    check_neighbours(b, daemon, nxt, titles)
    print("clicked %s: the list followed (%s ...); Back and Forward too" %
          (nxt, " ".join(second[:4])))

    # Hide the item shown (PUT /v1/items/{id}/hidden with the kept token), then unhide it.
    b.wait("document.getElementById('item-hide').textContent === 'Hide from every list'",
           "the Hide button")
    b.click("#item-hide")
    b.wait("!document.getElementById('item-hidden').hidden && "
           "document.getElementById('item-hide').textContent === 'Unhide'", "the item hidden")
    assert get_json(daemon, "/v1/items/%s" % nxt)["hidden"] is True
    listed = [n["item"] for n in
              get_json(daemon, "/v1/items/%s/neighbors?k=10" % ITEM)["neighbors"]]
    assert nxt not in listed, (nxt, listed)
    b.click("#item-hide")
    b.wait("document.getElementById('item-hidden').hidden && "
           "document.getElementById('item-hide').textContent === 'Hide from every list'",
           "the item unhidden")
    assert get_json(daemon, "/v1/items/%s" % nxt)["hidden"] is False
    print("hid %s from the item view (gone from %s's list), then unhid it" % (nxt, ITEM))

    # A retraining run the gate refuses: its numbers appear in the evaluation card.
    r = daemon.post("/v1/admin/retrain", {}, headers={"Authorization": "Bearer " + TOKEN})
    assert r.status == 202, r
    saw_progress = False
    end = time.time() + WAIT
    while not b.js("(document.querySelector('#run .decision') || {}).textContent "
                   "=== 'refused'"):
        saw_progress |= bool(b.js("!document.getElementById('progress').hidden"))
        assert time.time() < end, "the refused run never showed"
        time.sleep(0.05)
    status = daemon.get("/v1/admin/status",
                        headers={"Authorization": "Bearer " + TOKEN}).json()
    run = status["last_run"]
    assert run["decision"] == "refused", run
    for key in ("auc_all", "auc_seen", "recall_at_10"):
        cell = b.js("document.querySelector('[data-metric=candidate-%s]').textContent" % key)
        assert cell == "%.4f" % run["candidate"][key], (key, cell, run["candidate"])
    print("retraining run refused by the gate shown: candidate AUC %s against live %.4f "
          "(progress bar seen while running: %s)" % (
              b.js("document.querySelector('[data-metric=candidate-auc_all]').textContent"),
              run["live"]["auc_all"], "yes" if saw_progress else "no, the run was quick"))

    problems = b.problems()
    assert not problems, "the page reported:\n" + "\n".join(problems)


if __name__ == "__main__":
    sys.exit(main())
