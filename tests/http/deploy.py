"""deploy.py - the deployment files (Dockerfile, deploy/) against the daemon they deploy.

Static cross-checks: compose.yaml and k8s/*.yaml parse (python3-yaml); every WALKREC_*
variable and every flag they, the systemd unit and the Dockerfile use is one walkrecd
--help lists; the ConfigMap's walkrecd.conf loads in walkrecd and means what it says; ports,
probe paths, volume mounts, secret paths, --follow directories, image names, build contexts
and copied files all agree with each other, with the daemon's routes and with the tree.

Live: the compose topology as processes on loopback (a trainer, two followers on its data
directory, deploy/nginx/nginx.conf in front with compose's service names replaced by their
ports): reads through nginx, writes through nginx reaching the trainer, a new generation
reaching both followers, a follower going away, the trainer going away (reads go on,
writes fail), the image's healthcheck script. The nginx part is skipped where nginx is not
installed. A follower answers every write with 409 naming trainer_url, whatever the body."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402

DEPLOY = os.path.join(wrd.SRC, "deploy")
K8S = os.path.join(DEPLOY, "k8s")
TOKEN = "deploy-test-token"


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while not pred():
        if time.time() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def k8s_docs():
    docs = []
    for name in sorted(os.listdir(K8S)):
        if name.endswith(".yaml"):
            docs += [(name, d) for d in load_all(os.path.join(K8S, name))]
    return docs


def find(docs, kind, name=None):
    got = [d for _, d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    if not got:
        raise AssertionError("no %s %s in deploy/k8s" % (kind, name or ""))
    return got


def help_text():
    return wrd.run(wrd.WALKRECD, "--help")[1]


def settings_of(conf_text):
    """walkrecd's effective settings for a config file's text, as {key: value}."""
    d = wrd.tmpdir()
    path = os.path.join(d, "walkrecd.conf")
    with open(path, "w") as f:
        f.write(conf_text)
    env = dict(os.environ, WALKREC_ADMIN_TOKEN=TOKEN)
    p = subprocess.run([wrd.WALKRECD, "--config", path, "--print-config"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise AssertionError("walkrecd refuses the ConfigMap's walkrecd.conf: " + p.stderr)
    return parse_conf(p.stdout)


def parse_conf(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+)\s*=\s*(.*?)\s*$", line)
        if m:
            out[m.group(1)] = m.group(2).strip('"')
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Static(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.help = help_text()
        cls.compose = load_all(os.path.join(DEPLOY, "compose.yaml"))[0]
        cls.k8s = k8s_docs()
        cls.cm = find(cls.k8s, "ConfigMap", "walkrec-config")[0]
        cls.conf = settings_of(cls.cm["data"]["walkrecd.conf"])
        with open(os.path.join(wrd.SRC, "Dockerfile")) as f:
            cls.dockerfile = f.read()
        with open(os.path.join(DEPLOY, "walkrecd.service")) as f:
            cls.unit = f.read()
        with open(os.path.join(DEPLOY, "nginx", "nginx.conf")) as f:
            cls.nginx = f.read()

    def known_variable(self, name):
        self.assertRegex(self.help, r"\b%s\b" % name, "%s is not a walkrecd setting (walkrecd --help)" % name)

    def known_flags(self, argv, what):
        for a in argv:
            if a.startswith("--"):
                self.assertRegex(self.help, r"\n  %s[ \n]" % re.escape(a), "%s: %s" % (what, a))

    # ---- settings ----

    def test_every_variable_is_a_setting(self):
        names = set(re.findall(r"\bWALKREC_[A-Z_]+", self.dockerfile + self.unit))
        for svc in self.compose["services"].values():
            names |= set(k for k in (svc.get("environment") or {}) if k.startswith("WALKREC_"))
        for _, d in self.k8s:
            for c in pod_containers(d):
                names |= set(e["name"] for e in c.get("env", []) if e["name"].startswith("WALKREC_"))
        self.assertIn("WALKREC_ADMIN_TOKEN_FILE", names)
        for n in sorted(names):
            self.known_variable(n)

    def test_every_flag_is_a_setting(self):
        for name, svc in self.compose["services"].items():
            self.known_flags(svc.get("command") or [], "compose " + name)
        for _, d in self.k8s:
            for c in pod_containers(d):
                self.known_flags(c.get("args", []), d["metadata"]["name"])

    def test_configmap_is_what_the_daemon_reads(self):
        written = parse_conf(self.cm["data"]["walkrecd.conf"])
        self.assertTrue(written)
        for k, v in written.items():
            self.assertEqual(self.conf[k], v, "walkrecd reads %s = %r, the ConfigMap says %r" %
                             (k, self.conf[k], v))
        self.assertEqual(self.conf["bind"], "0.0.0.0")

    # ---- ports and probes ----

    def test_ports_agree(self):
        port = int(self.conf["port"])
        self.assertEqual(port, 8080)
        self.assertRegex(self.dockerfile, r"\nEXPOSE %d\n" % port)
        for _, d in self.k8s:
            for c in pod_containers(d):
                self.assertEqual([(p["name"], p["containerPort"]) for p in c["ports"]],
                                 [("http", port)], d["metadata"]["name"])
                for probe in ("readinessProbe", "livenessProbe"):
                    self.assertEqual(c[probe]["httpGet"]["port"], "http")
        for svc in find(self.k8s, "Service"):
            self.assertEqual(svc["spec"]["ports"][0]["targetPort"], "http")
            self.assertTrue(any(set(svc["spec"]["selector"].items()) <=
                                set(d["spec"]["template"]["metadata"]["labels"].items())
                                for _, d in self.k8s if d["kind"] in ("StatefulSet", "Deployment")),
                            "Service %s selects no pods" % svc["metadata"]["name"])
        for name, svc in self.compose["services"].items():
            for p in svc.get("ports", []):
                self.assertRegex(p, r"^127\.0\.0\.1:\d+:%d$" % port, "compose %s: %s" % (name, p))
        upstreams = re.findall(r"server ([a-z0-9-]+):(\d+)", self.nginx)
        self.assertEqual(len(upstreams), 3)
        for host, p in upstreams:
            self.assertIn(host, self.compose["services"])
            self.assertEqual(int(p), port)
        self.assertRegex(self.nginx, r"listen %d;" % port)

    def test_probes_are_the_daemon_routes(self):
        for _, d in self.k8s:
            for c in pod_containers(d):
                self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
                self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
        self.assertIn('CMD ["/usr/local/bin/walkrec-healthcheck"]', self.dockerfile)
        with open(os.path.join(DEPLOY, "docker", "healthcheck.sh")) as f:
            self.assertIn("GET /healthz ", f.read())
        with open(os.path.join(wrd.SRC, "docs", "openapi.yaml")) as f:
            paths = yaml.safe_load(f)["paths"]
        for route in ("/healthz", "/readyz", "/v1/pairs"):
            self.assertIn(route, paths)
        self.assertTrue(any(p.startswith("/v1/admin/") for p in paths))
        self.assertIn("location = /v1/pairs", self.nginx)
        self.assertIn("location /v1/admin/", self.nginx)
        self.assertIn("location ~ ^/v1/items/[^/]+/hidden$", self.nginx)
        self.assertIn("/v1/items/{id}/hidden", paths)

    # ---- volumes, secrets, images, files ----

    def test_kubernetes_mounts_agree_with_settings(self):
        pvc = find(self.k8s, "PersistentVolumeClaim")[0]
        self.assertEqual(pvc["spec"]["accessModes"], ["ReadWriteMany"])
        secret = find(self.k8s, "Secret", "walkrec-admin-token")[0]
        token_dir, token_key = os.path.split(self.conf["admin_token_file"])
        self.assertIn(token_key, secret["stringData"])
        self.assertRegex(secret["stringData"][token_key], r"\s", "the placeholder must be refused")
        trainer = find(self.k8s, "StatefulSet", "walkrec-trainer")[0]
        follower = find(self.k8s, "Deployment", "walkrec-follower")[0]
        self.assertEqual(trainer["spec"]["replicas"], 1)
        for d in (trainer, follower):
            spec = d["spec"]["template"]["spec"]
            c = spec["containers"][0]
            self.assertEqual(c["image"], "walkrec:latest")
            vols = {v["name"]: v for v in spec["volumes"]}
            mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
            env = {e["name"]: e["value"] for e in c["env"]}
            conf_dir, conf_key = os.path.split(env["WALKREC_CONFIG"])
            self.assertEqual(vols[mounts[conf_dir]["name"]]["configMap"]["name"], "walkrec-config")
            self.assertIn(conf_key, self.cm["data"])
            self.assertEqual(vols[mounts[token_dir]["name"]]["secret"]["secretName"],
                             "walkrec-admin-token")
            models = [p for p, m in mounts.items()
                      if "persistentVolumeClaim" in vols[m["name"]]]
            self.assertEqual(len(models), 1)
            self.assertEqual(vols[mounts[models[0]]["name"]]["persistentVolumeClaim"]["claimName"],
                             pvc["metadata"]["name"])
            if d is trainer:
                self.assertEqual(models[0], self.conf["data_dir"])
            else:
                self.assertTrue(mounts[models[0]].get("readOnly"))
                self.assertEqual(c["args"], ["--follow", models[0]])
                self.assertEqual(env["WALKREC_TRAINER_URL"], "http://walkrec-trainer:8080")
            # The image's user, and the group that may read the 0440 token file.
            self.assertEqual(spec["securityContext"]["runAsUser"], 10001)
            self.assertEqual(spec["securityContext"]["fsGroup"], 10001)
            mode = vols[mounts[token_dir]["name"]]["secret"]["defaultMode"]
            self.assertEqual(mode & 0o040, 0o040, "the token file must be group-readable")
        hpa = find(self.k8s, "HorizontalPodAutoscaler")[0]
        self.assertEqual(hpa["spec"]["scaleTargetRef"]["name"], "walkrec-follower")
        with open(os.path.join(K8S, "kustomization.yaml")) as f:
            listed = yaml.safe_load(f)["resources"]
        self.assertEqual(sorted(listed), sorted(n for n in os.listdir(K8S)
                                                if n.endswith(".yaml") and n != "kustomization.yaml"))

    def test_resources_are_quantities(self):
        for _, d in self.k8s:
            for c in pod_containers(d):
                r = c["resources"]
                for kind in ("requests", "limits"):
                    self.assertRegex(str(r[kind]["memory"]), r"^\d+(Mi|Gi)$")
                self.assertLessEqual(mebibytes(r["requests"]["memory"]), mebibytes(r["limits"]["memory"]))

    def test_compose_agrees_with_the_image(self):
        s = self.compose["services"]
        self.assertEqual(sorted(s), ["follower-1", "follower-2", "lb", "trainer"])
        secret = self.compose["secrets"]["admin_token"]["file"]
        with open(os.path.join(DEPLOY, ".gitignore")) as f:
            self.assertIn(os.path.basename(secret), f.read().split(), "the token file must be ignored")
        for name, svc in s.items():
            ctx = os.path.normpath(os.path.join(DEPLOY, svc["build"]["context"]))
            self.assertTrue(os.path.isfile(os.path.join(ctx, svc["build"]["dockerfile"])), name)
            if name == "lb":
                self.assertEqual(svc["image"], "walkrec-lb:latest")
                continue
            self.assertEqual(svc["image"], "walkrec:latest")
            self.assertEqual(ctx, wrd.SRC)
            self.assertEqual(svc["environment"]["WALKREC_ADMIN_TOKEN_FILE"], "/run/secrets/admin_token")
            self.assertEqual(svc["secrets"], ["admin_token"])
            mounts = dict(v.split(":", 1) for v in svc["volumes"])
            if name == "trainer":
                self.assertEqual(mounts["models"], "/var/lib/walkrec")
                self.assertIn("VOLUME /var/lib/walkrec", self.dockerfile)
                self.assertIn("--data-dir /var/lib/walkrec", self.dockerfile)
            else:
                path, mode = mounts["models"].split(":")
                self.assertEqual((svc["command"], mode), (["--follow", path], "ro"))

    def test_copied_files_exist(self):
        for src in re.findall(r"^COPY (?!--from)(.+) \S+$", self.dockerfile, re.M):
            for p in src.split():
                self.assertTrue(os.path.exists(os.path.join(wrd.SRC, p)), "Dockerfile copies " + p)
        with open(os.path.join(DEPLOY, "nginx", "Dockerfile")) as f:
            for src in re.findall(r"^COPY (.+) \S+$", f.read(), re.M):
                self.assertTrue(os.path.exists(os.path.join(DEPLOY, "nginx", src)), src)

    def test_systemd_unit(self):
        unit = parse_unit(self.unit)
        # Where `meson install` puts the daemon (meson introspect on the build in use).
        build = os.path.dirname(wrd.WALKRECD)
        p = subprocess.run(["meson", "introspect", build, "--installed"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode == 0:
            import json
            installed = json.loads(p.stdout)
            self.assertEqual(unit["ExecStart"][0], installed[os.path.realpath(wrd.WALKRECD)])
        env = dict(e.split("=", 1) for e in unit["Environment"])
        self.assertEqual(env["WALKREC_DATA_DIR"], "/var/lib/" + unit["StateDirectory"][0])
        self.assertEqual(env["WALKREC_ADMIN_TOKEN_FILE"],
                         "%d/" + unit["LoadCredential"][0].split(":")[0])
        for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "DynamicUser"):
            self.assertEqual(unit[key], ["yes"], key)
        self.assertEqual(unit["ProtectSystem"], ["strict"])
        self.assertEqual(unit["Restart"], ["on-failure"])
        self.assertEqual(unit["ExecReload"], ["/bin/kill", "-HUP", "$MAINPID"])


def pod_containers(d):
    if d["kind"] in ("StatefulSet", "Deployment"):
        return d["spec"]["template"]["spec"]["containers"]
    return []


def mebibytes(q):
    q = str(q)
    return int(q[:-2]) * (1024 if q.endswith("Gi") else 1)


def parse_unit(text):
    out = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    out["ExecStart"] = out["ExecStart"][0].split()
    out["ExecReload"] = out["ExecReload"][0].split()
    return out


@unittest.skipUnless(shutil.which("nginx"), "nginx is not installed")
class Topology(unittest.TestCase):
    """compose.yaml's services as processes: the trainer, two followers, nginx."""

    def setUp(self):
        d = wrd.tmpdir()
        self.token_file = os.path.join(d, "admin_token")
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n")
        models = os.path.join(d, "models")
        env = {"WALKREC_ADMIN_TOKEN_FILE": self.token_file}
        self.trainer = wrd.Daemon(data_dir=models, env=env)
        self.followers = [wrd.Daemon("--follow", models, "--follow-interval", "1", env=dict(
            env, WALKREC_TRAINER_URL="http://localhost:8080")) for _ in range(2)]
        self.lb_port = free_port()
        prefix = os.path.join(d, "nginx")
        os.makedirs(os.path.join(prefix, "tmp"))
        with open(os.path.join(DEPLOY, "nginx", "nginx.conf")) as f:
            conf = f.read()
        ports = {"trainer": self.trainer.port, "follower-1": self.followers[0].port,
                 "follower-2": self.followers[1].port}
        for name, port in ports.items():
            conf = conf.replace("server %s:8080" % name, "server 127.0.0.1:%d" % port)
        conf = conf.replace("listen 8080;", "listen 127.0.0.1:%d;" % self.lb_port)
        self.conf = os.path.join(prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        t = subprocess.run(["nginx", "-t", "-p", prefix + "/", "-c", self.conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(t.returncode, 0, "nginx -t: " + t.stdout)
        self.nginx_log = os.path.join(d, "nginx.log")
        with open(self.nginx_log, "w") as log:
            self.nginx = subprocess.Popen(["nginx", "-p", prefix + "/", "-c", self.conf,
                                           "-g", "daemon off;"], stdout=log, stderr=log)
        self.addCleanup(self.stop_nginx)
        self.lb = LB(self.lb_port)
        end = time.time() + 10
        while True:
            try:
                if self.lb.get("/lb-healthz").status == 200:
                    break
            except OSError:
                pass
            if self.nginx.poll() is not None or time.time() > end:
                with open(self.nginx_log) as f:
                    raise AssertionError("nginx did not start: " + f.read())
            time.sleep(0.05)

    def stop_nginx(self):
        """SIGQUIT: the master lets its workers finish and takes them down with it."""
        if self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()

    def test_reads_writes_generations_and_outages(self):
        for f in self.followers:
            f.wait_ready(generation=1, timeout=60)
        seen = set()
        for _ in range(6):
            r = self.lb.get("/v1/items/P0000001/neighbors?k=5")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(len(r.json()["neighbors"]), 5)
        auth = {"Authorization": "Bearer " + TOKEN}
        body = {"pairs": [{"a": "P0000001", "b": "P0000002", "weight": 1}]}
        self.assertEqual(self.lb.post("/v1/pairs", body).status, 401)
        r = self.lb.post("/v1/pairs", body, headers=auth)
        self.assertEqual(r.status, 202, r)
        r = self.followers[0].post("/v1/pairs", body, headers=auth)
        self.assertEqual(r.status, 409, r)
        self.assertIn("http://localhost:8080", r.json()["error"]["message"])
        # hiding through nginx reaches the trainer; the followers take it from its log, and
        # an item's GET stays a read on them
        hide = "/v1/items/P0000009/hidden"
        self.assertEqual(self.lb.request("PUT", hide).status, 401)
        self.assertEqual(self.lb.request("PUT", hide, headers=auth).status, 204)
        for f in self.followers:
            wait_for(lambda f=f: f.get("/v1/items/P0000009").json()["hidden"], 30,
                     "a follower hiding P0000009")
        self.assertTrue(self.lb.get("/v1/items/P0000009").json()["hidden"])
        self.assertEqual(self.lb.request("DELETE", hide, headers=auth).status, 204)
        self.assertEqual(self.lb.request("DELETE", "/v1/items/NO-SUCH-ITEM",
                                         headers=auth).status, 204)
        self.assertIn(self.lb.post("/v1/admin/retrain", {}, headers=auth).status, (200, 202))
        for f in self.followers:
            f.wait_ready(generation=2, timeout=120)
        for _ in range(6):
            seen.add(self.lb.get("/v1/items/P0000001/neighbors?k=5").json()["generation"])
        self.assertEqual(seen, {2})

        # A follower goes away: nginx sends every read to the other one.
        self.followers[0].stop()
        for _ in range(8):
            self.assertEqual(self.lb.get("/v1/items/P0000002/neighbors?k=3").status, 200)
        # The trainer goes away: reads go on, writes fail at the balancer.
        self.assertEqual(self.trainer.stop(), 0)
        for _ in range(4):
            r = self.lb.get("/v1/score?a=P0000001&b=P0000002")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["generation"], 2)
        self.assertEqual(self.lb.post("/v1/pairs", body, headers=auth).status, 502)

    def test_image_healthcheck_script(self):
        env = dict(os.environ, PATH=os.path.dirname(wrd.WALKRECD) + ":" + os.environ["PATH"],
                   WALKREC_BIND="127.0.0.1")
        script = os.path.join(DEPLOY, "docker", "healthcheck.sh")
        p = subprocess.run([script], env=dict(env, WALKREC_PORT=str(self.trainer.port)),
                           stdout=subprocess.PIPE, text=True)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("200", p.stdout)
        p = subprocess.run([script], env=dict(env, WALKREC_PORT=str(free_port())),
                           stdout=subprocess.PIPE, text=True)
        self.assertEqual(p.returncode, 1, p.stdout)


class FollowerWrites(unittest.TestCase):
    """A follower (compose's follower-N, the k8s Deployment) takes no writes of any kind: every
    write route answers 409 naming trainer_url once the token is checked, before the body's
    size or Content-Type is looked at, so a client learns where writes go."""

    MAX_BODY = 1024
    ROUTES = ("/v1/pairs", "/v1/admin/retrain", "/v1/admin/publish?generation=1",
              "/v1/admin/rollback")
    BODIES = (  # what, body, headers
        ("Content-Type text/plain", b"P0000001\tP0000002\n", {"Content-Type": "text/plain"}),
        ("a body over max_body_bytes", b"x" * (MAX_BODY + 1),
         {"Content-Type": "application/json"}),
        ("no body", None, {}),
    )

    def test_every_write_answers_409_naming_trainer_url(self):
        models = os.path.join(wrd.tmpdir(), "models")
        os.makedirs(models)
        env = {"WALKREC_ADMIN_TOKEN": TOKEN, "WALKREC_TRAINER_URL": "http://trainer:8080"}
        # No generation in the directory yet: writes are refused all the same.
        with wrd.Daemon("--follow", models, "--max-body-bytes", str(self.MAX_BODY), env=env,
                        ready=False) as f:
            auth = {"Authorization": "Bearer " + TOKEN}
            for route in self.ROUTES:
                self.assertEqual(f.post(route, None).status, 401, route)  # the token first
                for what, body, headers in self.BODIES:
                    with self.subTest(route=route, body=what):
                        r = f.post(route, body, headers=dict(auth, **headers))
                        self.assertEqual(r.status, 409, r)
                        err = r.json()["error"]
                        self.assertEqual(err["code"], "follower")
                        self.assertIn("http://trainer:8080", err["message"])
            # The one read among the admin routes still answers.
            r = f.get("/v1/admin/status", headers=auth)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["role"], "follower")


class LB:
    """HTTP to nginx: the same request helper as wrd.Daemon."""

    def __init__(self, port):
        self.port = port

    connection = wrd.Daemon.connection
    request = wrd.Daemon.request
    get = wrd.Daemon.get
    post = wrd.Daemon.post


if __name__ == "__main__":
    unittest.main(verbosity=2)
