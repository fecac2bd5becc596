"""exhaustion.py - a retrain that cannot get memory or disk fails cleanly; the live model
keeps serving. Also a published candidate whose neighbour lists do not fit in the daemon.

walkrecd trains in a child process (src/trainproc.c), so that running out of memory (xmalloc
aborts, or the kernel's OOM killer) or disk (a file size limit, a full disk) ends that
process and not the daemon. Both cases here, each with a client asking for neighbours the
whole time:
  - memory: the daemon serves a small model under an address-space limit a little above
    what it uses, measured after start-up (prlimit on the running process: glibc arenas,
    thread stacks and OpenBLAS's buffers make the absolute figure machine-dependent); the
    pairs file then grows to a catalogue whose training needs several times that margin.
    The retrain fails, reported in /v1/admin/status and the log; the same generation keeps
    answering; no file of the failed generation is left. With the limit lifted and the
    small pairs file back, the next retrain publishes. Skipped under the sanitizers:
    they reserve terabytes of address space.
  - disk: RLIMIT_FSIZE below the size of a model file but far above the pair log's
    growth. Ingestion is acknowledged, the retrain fails naming the model file and EFBIG,
    no model, side file or temporary of the failed generation is left, the live
    generation keeps serving, and a restart without the limit serves it and the ingested
    pairs, and retrains."""

import os
import resource
import shutil
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402

MIB = 1 << 20
# Address space allowed above what the daemon uses once it serves: the parent's pair
# gathering fits in it (it stays within glibc's arenas there), the child's training of
# 100,000 items does not (it needs about 250 MiB more than the parent at the fork,
# measured: VmPeak of the child 987 MiB against 739 MiB for the daemon).
AS_MARGIN = 96 * MIB
LISTS_MARGIN = 2 * 128 * MIB + 100 * MIB
# A model file of the default catalogue is about 1 MiB, its side file 40 KiB, the pair
# log a few KiB here.
FSIZE_LIMIT = 256 * 1024


class Querier:
    """Asks for neighbours until stopped; keeps every (status, generation)."""

    def __init__(self, d):
        self.d, self.seen, self.errors = d, [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)  # a failure ends it
        self.thread.start()

    def run(self):
        conn = self.d.connection(timeout=10)
        n = 0
        while not self.stop.is_set():
            item = "P%07d" % (1 + n % 1500)
            try:
                r = self.d.request("GET", "/v1/items/%s/neighbors?k=5" % item, conn=conn)
                self.seen.append((r.status, r.json().get("generation")))
            except Exception as e:  # noqa: BLE001 - any failure counts
                self.errors.append(repr(e))
                conn.close()
                conn = self.d.connection(timeout=10)
            n += 1
            time.sleep(0.005)
        conn.close()

    def finish(self):
        self.stop.set()
        self.thread.join()
        return self.seen, self.errors


def wait_run(d, runs, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        if d.proc.poll() is not None:
            raise AssertionError("walkrecd died (%d):\n%s" % (d.proc.returncode, d.log()))
        s = d.get("/v1/admin/status").json()
        if s["runs"] >= runs and s["state"] == "idle":
            return s
        time.sleep(0.05)
    raise AssertionError("retrain did not finish:\n" + d.log())


def leftovers(data, gen):
    """Files of generation gen, and temporaries, in data."""
    return sorted(n for n in os.listdir(data)
                  if ".tmp." in n or n.startswith(("model-%d." % gen, "candidate-%d." % gen)))


class Exhaustion(unittest.TestCase):
    def check_served(self, seen, errors, gen):
        self.assertEqual(errors, [], "queries failed during the retrain")
        self.assertGreaterEqual(len(seen), 20, "too few queries to tell")
        bad = [s for s in seen if s != (200, gen)]
        self.assertEqual(bad, [], "answers other than 200 from generation %d" % gen)

    def failed_retrain(self, d):
        """A retrain asked for while a client queries: the run must fail and every answer
        come from generation 1. Returns the status after it and the number of answers."""
        q = Querier(d)
        self.assertEqual(d.post("/v1/admin/retrain", {}).status, 202)
        s = wait_run(d, 1)
        # and a little after: 20 more answers however slow the machine (not a time window)
        after, end = len(q.seen) + 20, time.time() + 120
        while len(q.seen) < after and time.time() < end and not q.errors:
            time.sleep(0.05)
        seen, errors = q.finish()
        self.assertEqual(s["last_run"]["decision"], "failed", s["last_run"])
        self.assertEqual(s["generation"], 1)
        self.check_served(seen, errors, 1)
        return s, len(seen)

    @unittest.skipIf(wrd.sanitized(), "sanitized build (address space, or no trainer process)")
    def test_retrain_without_memory(self):
        work = wrd.tmpdir()
        pairs = os.path.join(work, "pairs.tsv")
        wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--quiet")
        big = os.path.join(work, "big.tsv")
        wrd.run(wrd.WALKREC, "synth", "-o", big, "--items", "100000", "--pairs", "150000",
                "--categories", "200", "--quiet")
        d = wrd.Daemon("--pairs", pairs, "--retrain-min-pairs", "0", "--retrain-interval", "0",
                       "--train-threads", "2")
        self.assertEqual(d.wait_ready()["generation"], 1)
        limit = wrd.vm_size(d.proc.pid) + AS_MARGIN
        resource.prlimit(d.proc.pid, resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
        shutil.copy(big, pairs + ".new")
        os.rename(pairs + ".new", pairs)

        s, served = self.failed_retrain(d)
        run = s["last_run"]
        # killed for want of memory, or refused first: OpenBLAS's buffers would not fit
        self.assertTrue("trainer process" in run["reason"] or
                        "out of memory: the address-space limit" in run["reason"], run)
        self.assertIn(run["reason"], s["last_error"]["message"])
        self.assertIn(run["reason"], d.log())
        self.assertEqual(leftovers(d.data_dir, run["generation"]), [])
        print("memory: limit %d MiB (%d MiB above the daemon); %s; %d queries served by "
              "generation 1 meanwhile" % (limit // MIB, AS_MARGIN // MIB, run["reason"],
                                          served), file=sys.stderr)

        # the limit lifted and the small catalogue back: the daemon retrains again
        resource.prlimit(d.proc.pid, resource.RLIMIT_AS,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--quiet")
        self.assertEqual(d.post("/v1/admin/retrain", {}).status, 202)
        s = wait_run(d, 2)
        self.assertIn(s["last_run"]["decision"], ("published", "refused"), s["last_run"])
        if s["last_run"]["decision"] == "published":
            self.assertEqual(d.wait_ready(generation=s["last_run"]["generation"])["generation"],
                             s["last_run"]["generation"])
        self.assertEqual(d.stop(), 0)

    @unittest.skipIf(wrd.sanitized(), "sanitized build (address space)")
    def test_index_without_memory(self):
        """The candidate trains (in the trainer process) but its neighbour lists, built there
        too, do not fit: the run fails, leaves nothing on disk, the live generation serves on
        from its stored lists, and once memory is back a retrain publishes a generation that
        carries its lists."""
        work = wrd.tmpdir()
        data = os.path.join(work, "var")
        pairs = os.path.join(work, "pairs.tsv")
        wrd.run(wrd.WALKREC, "synth", "-o", pairs, "--items", "5000", "--pairs", "40000",
                "--quiet")
        # 5,000 items x 4,999 neighbours: 200 MB of lists per generation, over the margin
        d = wrd.Daemon("--pairs", pairs, "--index-k", "10000", "--rank", "cosine",
                       "--retrain-min-pairs", "0",
                       "--retrain-interval", "0", "--gate-max-auc-drop", "1",
                       "--train-threads", "2", data_dir=data)
        self.assertEqual(d.wait_ready()["generation"], 1)
        self.assertEqual(d.get("/v1/model").json()["index"]["lists"], "stored")
        # room for OpenBLAS's buffers of 2 threads and the training, not for 190 MiB of lists
        limit = wrd.vm_size(d.proc.pid) + LISTS_MARGIN
        resource.prlimit(d.proc.pid, resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
        s, served = self.failed_retrain(d)
        run = s["last_run"]
        gen = run["generation"]
        self.assertIn("out of memory for the neighbour lists", run["reason"])
        self.assertEqual(leftovers(data, gen), [])
        print("index: limit %d MiB above the daemon; %s; %d queries served by generation 1 "
              "meanwhile" % (LISTS_MARGIN // MIB, run["reason"], served), file=sys.stderr)
        # with memory back, the next run publishes, its lists stored with it
        resource.prlimit(d.proc.pid, resource.RLIMIT_AS,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self.assertEqual(d.post("/v1/admin/retrain", {}).status, 202)
        s = wait_run(d, 2)
        self.assertEqual(s["last_run"]["decision"], "published", s["last_run"])
        gen = s["last_run"]["generation"]
        self.assertEqual(d.wait_ready(generation=gen)["generation"], gen)
        self.assertEqual(d.get("/v1/model").json()["index"]["lists"], "stored")
        self.assertEqual(d.stop(), 0)

    def test_retrain_without_disk(self):
        work = wrd.tmpdir()
        data = os.path.join(work, "var")
        args = ("--retrain-min-pairs", "0", "--retrain-interval", "0", "--train-threads", "2")
        d = wrd.Daemon(*args, data_dir=data)  # generation 1 of the built-in catalogue
        d.stop()
        model1 = os.path.join(data, "model-1.wr")
        self.assertGreater(os.path.getsize(model1), 2 * FSIZE_LIMIT)

        d = wrd.Daemon(*args, data_dir=data)
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE,
                         (FSIZE_LIMIT, resource.RLIM_INFINITY))
        body = {"pairs": [{"a": "new%d" % i, "b": "P%07d" % (1 + i), "weight": 1.0}
                          for i in range(200)]}
        self.assertEqual(d.post("/v1/pairs", body).status, 202)
        s, served = self.failed_retrain(d)
        run = s["last_run"]
        gen = run["generation"]
        # the first of its files too large: the pair graph (explain.h) or the model
        self.assertRegex(run["reason"], r"(model|candidate)-%d\.(graph|wr)" % gen)
        self.assertIn(os.strerror(27), run["reason"])  # EFBIG: File too large
        self.assertEqual(leftovers(data, gen), [])
        self.assertEqual(d.post("/v1/pairs", body).status, 202, "the log is still writable")
        print("disk: file size limit %d KiB; %s; %d queries served by generation 1 meanwhile" %
              (FSIZE_LIMIT // 1024, run["reason"], served), file=sys.stderr)
        self.assertEqual(d.stop(), 0)

        # a restart without the limit serves the last good generation and the ingested pairs
        d = wrd.Daemon(*args, data_dir=data)
        self.assertEqual(d.wait_ready()["generation"], 1)
        s = d.get("/v1/admin/status").json()
        self.assertEqual(s["log"]["pairs"], 400)
        self.assertEqual(d.post("/v1/admin/retrain", {}).status, 202)
        s = wait_run(d, 1)
        self.assertIn(s["last_run"]["decision"], ("published", "refused"), s["last_run"])
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
