"""Generations carry their neighbour lists: the trainer process builds them once and stores
them in the model file; start, restart, publication of the live generation, rollback,
roll-forward and followers map them. A generation without them gets them built and written
back. Vectors trained by gensim are submitted as a candidate and judged like one of ours.
OpenBLAS's kernels are chosen for the CPU."""
import json
import os
import re
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402


def sections(path):
    """Section types of a model file."""
    with open(path, "rb") as f:
        head = f.read(64 + 64 * 24)
    n = struct.unpack_from("<I", head, 32)[0]
    return {struct.unpack_from("<I", head, 64 + 24 * i)[0] for i in range(n)}


LIST_SECTIONS = {5, 6, 7, 8}


def wait_run(d, runs, timeout=180):
    end = time.time() + timeout
    while time.time() < end:
        s = d.get("/v1/admin/status").json()
        if s["runs"] >= runs and s["state"] == "idle":
            return s
        time.sleep(0.1)
    raise AssertionError("run did not finish:\n" + d.log())


class Stored(unittest.TestCase):
    def test_generations_carry_their_lists(self):
        work = wrd.tmpdir()
        data = os.path.join(work, "var")
        with wrd.Daemon("--retrain-min-pairs", "0", "--retrain-interval", "0",
                        data_dir=data) as d:
            self.assertEqual(d.wait_ready()["generation"], 1)
            model1 = os.path.join(data, "model-1.wr")
            self.assertTrue(LIST_SECTIONS <= sections(model1))
            index = d.get("/v1/model").json()["index"]
            self.assertEqual((index["lists"], index["kind"], index["rank"]),
                             ("stored", "exact", "probability"))
            first = d.get("/v1/items/P0000001/neighbors").json()["neighbors"]
            # a retrain: the trainer process builds the new generation's lists
            self.assertEqual(d.post("/v1/admin/retrain", {}).status, 202)
            run = wait_run(d, 1)["last_run"]
            self.assertEqual(run["decision"], "published", run)
            self.assertGreater(run["stage_seconds"]["lists"], 0)
            self.assertTrue(LIST_SECTIONS <= sections(os.path.join(data, "model-2.wr")))
            self.assertEqual(d.get("/v1/model").json()["index"]["lists"], "stored")
            # publishing the live generation again changes nothing
            self.assertEqual(d.post("/v1/admin/publish?generation=2", {}).status, 202)
            time.sleep(1)
            self.assertIn("generation 2 is live already", d.log())
            # rollback, then forward again: mapped, never built
            self.assertEqual(d.post("/v1/admin/rollback", {}).status, 200)
            self.assertEqual(d.get("/v1/items/P0000001/neighbors").json()["neighbors"], first)
            self.assertEqual(d.post("/v1/admin/publish?generation=2", {}).status, 202)
            d.wait_ready(generation=2)
            self.assertNotIn("built here", d.log())
        # a follower maps the trainer's lists, and so does a restart
        with wrd.Daemon("--follow", data, data_dir=os.path.join(work, "f")) as f:
            self.assertEqual(f.wait_ready()["generation"], 2)
            self.assertEqual(f.get("/v1/model").json()["index"]["lists"], "stored")
        with wrd.Daemon(data_dir=data) as d:
            self.assertEqual(d.wait_ready()["generation"], 2)
            self.assertEqual(d.get("/v1/model").json()["index"]["lists"], "stored")
            self.assertNotIn("built here", d.log())

    def test_lists_built_once_and_written_back(self):
        """A generation without lists (trained elsewhere, or before they were stored) gets
        them from a trainer process, written into its file; other settings rebuild them."""
        work = wrd.tmpdir()
        data = os.path.join(work, "var")
        os.makedirs(data)
        pairs = os.path.join(work, "pairs.tsv")
        wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--quiet")
        model = os.path.join(data, "model-1.wr")
        wrd.run(wrd.WALKREC, "train", pairs, "-o", model, "--index-k", "0", "--quiet")
        self.assertFalse(LIST_SECTIONS & sections(model))
        with wrd.Daemon(data_dir=data) as d:
            d.wait_ready()
            self.assertIn("building the neighbour lists of the settings into it", d.log())
            self.assertEqual(d.get("/v1/model").json()["index"]["lists"], "stored")
        self.assertTrue(LIST_SECTIONS <= sections(model))
        with wrd.Daemon("--index-k", "20", data_dir=data) as d:
            d.wait_ready()
            self.assertEqual(d.get("/v1/model").json()["index"]["k"], 20)
            self.assertIn("building the neighbour lists", d.log())
        # --model names the operator's own file: not written, lists built in the daemon
        other = os.path.join(work, "other.wr")
        wrd.run(wrd.WALKREC, "train", pairs, "-o", other, "--index-k", "0", "--quiet")
        with wrd.Daemon("--model", other, data_dir=os.path.join(work, "v2")) as d:
            d.wait_ready()
            self.assertEqual(d.get("/v1/model").json()["index"]["lists"], "built")
        self.assertFalse(LIST_SECTIONS & sections(other))


class Submitted(unittest.TestCase):
    def test_gensim_vectors_as_a_candidate(self):
        """Vectors trained by gensim on the same walks, imported, submitted: evaluated on the
        live model's validation pairs, given lists, and published or kept by the gate."""
        work = wrd.tmpdir()
        data = os.path.join(work, "var")
        pairs = os.path.join(work, "pairs.tsv")
        walks = os.path.join(work, "walks.txt")
        wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--quiet")
        wrd.run(wrd.WALKREC, "train", pairs, "-o", os.path.join(work, "w.wr"), "--walks-out",
                walks, "--epochs", "1", "--quiet")
        vec = os.path.join(work, "gensim.txt")
        subprocess.run([os.environ.get("PY", "/usr/bin/python3"), "-c", """
import sys
from gensim.models import Word2Vec
sentences = [line.split() for line in open(sys.argv[1])]
m = Word2Vec(sentences, vector_size=64, window=5, min_count=1, sg=1, negative=5, epochs=3,
             workers=1, seed=1)
m.wv.save_word2vec_format(sys.argv[2])
""", walks, vec], check=True)
        cand = os.path.join(work, "gensim.wr")
        wrd.run(wrd.WALKREC, "import", vec, "-o", cand, "--quiet")
        with wrd.Daemon("--pairs", pairs, "--gate-max-auc-drop", "1", data_dir=data) as d:
            self.assertEqual(d.wait_ready()["generation"], 1)
            r = d.post("/v1/admin/candidates", {"model": "relative.wr"})
            self.assertEqual(r.status, 400, r)
            r = d.post("/v1/admin/candidates", {"model": os.path.join(work, "none.wr")})
            self.assertEqual((r.status, r.json()["error"]["code"]), (404, "not_found"))
            r = d.post("/v1/admin/candidates", {"model": cand})
            self.assertEqual(r.status, 202, r)
            run = wait_run(d, 1)["last_run"]
            self.assertEqual((run["trigger"], run["start"]), ("submitted", "submitted"))
            self.assertEqual(run["decision"], "published", run)  # gate_max_auc_drop 1
            for key in ("auc_all", "recall_at_10"):
                self.assertGreater(run["candidate"][key], 0)
                self.assertGreater(run["live"][key], 0)
            gen = run["generation"]
            self.assertEqual(d.wait_ready(generation=gen)["generation"], gen)
            m = d.get("/v1/model").json()
            self.assertEqual((m["dim"], m["index"]["lists"]), (64, "stored"))
            self.assertTrue(LIST_SECTIONS <= sections(os.path.join(data, "model-%d.wr" % gen)))
            print("gensim candidate: AUC %.4f against the live %.4f, recall@10 %.4f against "
                  "%.4f" % (run["candidate"]["auc_all"], run["live"]["auc_all"],
                            run["candidate"]["recall_at_10"], run["live"]["recall_at_10"]),
                  file=sys.stderr)


def avx512():
    with open("/proc/cpuinfo") as f:
        flags = next((l for l in f if l.startswith("flags")), "").split()
    return all(x in flags for x in ("avx512f", "avx512bw", "avx512vl", "avx512dq"))


class Kernels(unittest.TestCase):
    @unittest.skipUnless(avx512(), "the CPU has no AVX-512")
    def test_kernel_chosen_for_the_cpu(self):
        env = dict(os.environ, OPENBLAS_CORETYPE="Prescott")
        with wrd.Daemon(env=env) as d:  # the environment's choice stands under auto
            d.wait_ready()
            self.assertRegex(d.log(), r"OpenBLAS kernels: Prescott \(OPENBLAS_CORETYPE=Prescott"
                             r" in the environment; this CPU runs SkylakeX")
        with wrd.Daemon("--blas-kernel", "SkylakeX", env=env) as d:  # a name wins
            d.wait_ready()
            self.assertIn("OpenBLAS kernels: SkylakeX (chosen by walkrec; the library had "
                          "Prescott)", d.log())
        with wrd.Daemon(env={"OPENBLAS_CORETYPE": None}) as d:
            d.wait_ready()
            self.assertRegex(d.log(), r"OpenBLAS kernels: (SkylakeX|Cooperlake|SapphireRapids)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
