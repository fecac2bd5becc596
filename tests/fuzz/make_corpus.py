#!/usr/bin/python3
"""make_corpus.py - writes the seed corpora of the fuzz drivers: tests/fuzz/corpus/NAME/.

Small hand-made inputs in every format the drivers read (the Amazon lines come from the
fixtures in tests/data/amazon). Each seed is named after what it shows. Run it again after
changing it; the corpora are committed, the shared data sets never are.
Usage: tests/fuzz/make_corpus.py"""

import gzip
import json
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..")


def write(driver, name, data):
    d = os.path.join(HERE, "corpus", driver)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def pairs():
    write("pairs", "tsv-header-weights", "item_a\titem_b\tweight\nA1\tB1\t2\nB1\tA1\t0.5\nA1\tC1\t1e-3\n")
    write("pairs", "tsv-relationships", "A1\tB1\talso_bought\nA1\tC1\tbought_together\n"
          "B1\tC1\talso_viewed\nC1\tD1\tbuy_after_viewing\nD1\tE1\n")
    write("pairs", "csv-quoted", 'src,dst,weight\n"a,1","b ""2""",3\nplain,"x",\n"y",z,1.5\n')
    write("pairs", "comments-crlf-blank", "# comment\r\n\r\nA\tB\t1\r\nA\tA\t1\r\nB\tC\r\n")
    write("pairs", "malformed", "A\nA\t\t1\nA\tB\t-1\nA\tB\tnan\nA\tB\tinf\n\tB\t1\nA\tB\tfoo\n"
          "A\t\xff\t1\n")
    write("pairs", "utf8-ids", "caf\u00e9\t\U0001F600\t1\n\u00e9t\u00e9\tcaf\u00e9\t2.5\n")
    write("pairs", "gzip", gzip.compress(b"item_a\titem_b\tweight\nA\tB\t1\nB\tC\t2\n", mtime=0))


def side():
    write("side", "items", "item\tcategory\tbrand\tprice\tgift\n"
          "a\tX > Y > Z\t Acme \t$1,250.00\ttrue\nb\tX|Y\t\t3.5\tno\nc\n\n")
    write("side", "utf8-ragged", "item\tname\tsize\n\u00e9t\u00e9\tcaf\u00e9\nx\t\t$5.00 - $10.00\n")
    write("side", "malformed", "item\tb\tb\n\ta\nz\t1\t2\t3\nz\t1\n")
    write("side", "gzip", gzip.compress(b"item\tbrand\nA\tB\nC\tD\n", mtime=0))


def amazon():
    for src, kind in (("meta_2014.txt", "2014"), ("meta_2018.json", "2018")):
        path = os.path.join(SRC, "tests", "data", "amazon", src)
        with open(path, "rb") as f:
            data = f.read()
        write("amazon", kind + "-file", data)
        for i, line in enumerate(data.splitlines()):
            write("amazon", "%s-line-%d" % (kind, i + 1), line + b"\n")


def model_file(ids, vecs, dim, meta=b"{}", bias=None, extra=None, created=1700000000):
    secs = [(1, meta), (2, b"".join(i.encode() + b"\0" for i in ids)),
            (3, b"".join(struct.pack("<%df" % dim, *v) for v in vecs))]
    if bias is not None:
        secs.append((4, struct.pack("<%df" % len(bias), *bias)))
    if extra is not None:
        secs.append(extra)
    table_end = 64 + 24 * len(secs)
    offs, end = [], table_end
    for _, body in secs:
        off = (end + 63) // 64 * 64
        offs.append(off)
        end = off + len(body)
    body = bytearray(end - 64)
    for i, ((typ, data), off) in enumerate(zip(secs, offs)):
        struct.pack_into("<IIQQ", body, 24 * i, typ, 0, off, len(data))
        body[off - 64:off - 64 + len(data)] = data
    hdr = bytearray(64)
    struct.pack_into("<8sIIQqIIQI", hdr, 0, b"WALKREC\0", 1, dim, len(ids), created, len(secs),
                     0, end, zlib.crc32(bytes(body)))
    struct.pack_into("<I", hdr, 60, zlib.crc32(bytes(hdr[:60])))
    return bytes(hdr) + bytes(body)


def model():
    ids = ["A1", "B1", "caf\u00e9"]
    vecs = [[1, 0, 0.5, -2], [0, 1, 0, 0], [0.25, -0.5, 1e-3, 3e5]]
    write("model", "three-items", model_file(ids, vecs, 4, b'{"dim": 4, "trainer": "sgns"}'))
    write("model", "bias", model_file(ids, vecs, 4, bias=[0.5, -1, 0]))
    write("model", "unknown-section", model_file(ids, vecs, 4, extra=(9, b"future")))
    write("model", "empty", model_file([], [], 2))
    write("model", "one-dim", model_file(["x"], [[1]], 1, b'{"a": [1, {"b": null}]}'))


def w2v():
    write("w2v", "text", "3 4\nA1 1 0 0.5 -2\nB1 0 1 0 0\ncaf\u00e9 0.25 -0.5 0.001 3e5\n")
    write("w2v", "text-crlf-trailing", "2 2\r\nA 1.5 -1 \r\nB 0 2\r\n")
    rows = b"".join(i + b" " + struct.pack("<3f", *v) + b"\n"
                    for i, v in ((b"A1", (1, 2, 3)), (b"B1", (-1, 0.5, 0))))
    write("w2v", "binary", b"2 3\n" + rows)
    write("w2v", "binary-no-newline", b"2 2\n" + b"x " + struct.pack("<2f", 1, 2) + b"y " +
          struct.pack("<2f", 3, 4))


def wal_record(off, pairs, durable=None):
    payload = struct.pack("<I", len(pairs))
    for a, b, w in pairs:
        payload += struct.pack("<HHf", len(a), len(b), w) + a + b
    rest = struct.pack("<IQQ", len(payload), off, off if durable is None else durable) + payload
    return struct.pack("<I", zlib.crc32(rest)) + rest


def wal_item(off, kind, ident, durable=None):
    payload = struct.pack("<IHH", 0, kind, len(ident)) + ident
    rest = struct.pack("<IQQ", len(payload), off, off if durable is None else durable) + payload
    return struct.pack("<I", zlib.crc32(rest)) + rest


def wal():
    hdr = b"WRPAIRS\n" + struct.pack("<I", 1)
    hdr += struct.pack("<I", zlib.crc32(hdr))
    r1 = wal_record(16, [(b"A1", b"B1", 1.0), (b"B1", b"C1", 2.5)])
    r2 = wal_record(16 + len(r1), [(b"caf\xc3\xa9", b"A1", 0.5)])
    write("wal", "two-records", hdr + r1 + r2)
    write("wal", "torn-tail", hdr + r1 + r2[:-3])
    write("wal", "header-only", hdr)
    write("wal", "half-header", hdr[:7])
    bad = bytearray(r1)
    bad[30] ^= 0xff
    r3 = wal_record(16 + len(r1) + len(r2), [(b"D", b"E", 1.0)], durable=16 + len(r1) + len(r2))
    write("wal", "corrupt-middle", hdr + bytes(bad) + r2 + r3)
    write("wal", "self-pair", hdr + wal_record(16, [(b"A", b"A", 1.0), (b"A", b"B", 3.0)]))
    hdr2 = b"WRPAIRS\n" + struct.pack("<I", 2)
    hdr2 += struct.pack("<I", zlib.crc32(hdr2))
    i1 = wal_item(16 + len(r1), 1, b"B1")
    i2 = wal_item(16 + len(r1) + len(i1), 3, b"caf\xc3\xa9")
    i3 = wal_item(16 + len(r1) + len(i1) + len(i2), 2, b"B1")
    write("wal", "item-records", hdr2 + r1 + i1 + i2 + i3)
    write("wal", "item-torn", hdr2 + r1 + i1 + i2[:-2])


def config():
    shutil.copy(os.path.join(SRC, "config", "walkrecd.conf"),
                os.path.join(HERE, "corpus", "config", "shipped"))
    write("config", "quotes", 'bind = "127.0.0.1"\ndata_dir = "  spaced \\" quoted \\\\ "\n'
          "# comment\n\nport=0\n")
    write("config", "numbers", "validation_fraction = 0.25\ngate_max_auc_drop = 1e-3\n"
          "retrain_min_pairs = 0\nmax_body_bytes = 64\ncors_origins = http://a.test:8080,*\n")
    write("config", "errors", "port = 70000\nnope = 1\nbind = nowhere\n= 3\njust words\n")


def api_body():
    bodies = {
        "neighbors-each": {"items": ["P0020", "a,b", "unknown", "new-1"], "k": 3},
        "neighbors-basket": {"items": ["P0020", "P0021", "nope"], "mode": "basket", "k": 7,
                             "exclude": ["P0022"], "min_score": -0.5},
        "neighbors-category": {"items": ["caf\u00e9"], "category": "Books", "k": 50},
        "score": {"pairs": [["P0020", "P0021"], ["a,b", "new-1"], ["x", "missing"]]},
        "ingest": {"pairs": [{"a": "P0020", "b": "new-3", "weight": 2},
                             {"a": "A", "b": "B", "relationship": "also_bought"}]},
        "ingest-bad": {"pairs": [{"a": "A", "b": "B", "weight": -1}]},
        "wrong-types": {"items": "P0020", "pairs": [1, [2]], "k": "3", "mode": 1},
        "neighbors-filter": {"items": ["P0001", "P0002"], "k": 5, "category": "Books",
                             "filter": {"any": [{"brand": ["Brand 1", "Brand 2"]},
                                                {"not": {"degree": {"gte": 7, "lt": 100}}}]}},
        "patch": {"queries": [{"item": "P0003", "filter": {"price": {"gt": 1}}}], "price": 2,
                  "brand": "x", "tags": ["a", "b"], "on": True, "degree": None},
        "patch-good": {"price": 2.5, "brand": "Brand 9", "tags": ["a", "b"], "on_sale": True,
                       "category": None},
        "patch-items": {"items": {"P0001": {"price": 3}, "new-9": {"tags": ["x"]},
                                  "a\tb": {"price": 1}}},
    }
    for name, doc in bodies.items():
        write("api_body", name, json.dumps(doc, ensure_ascii=False))
    write("api_body", "not-json", '{"items": [')
    write("api_body", "escapes", '{"items": ["q\\"uote", "back\\\\slash", "\\u00e9", "\\ud83d\\ude00"]}')


def url():
    for name, target in {
        "neighbors": "/v1/items/P0020/neighbors?k=5&exclude=P0021,a%2Cb&min_score=0.1",
        "neighbors-category": "/v1/items/caf%C3%A9/neighbors?category=Toys+%26+Games&k=20",
        "neighbors-provisional": "/v1/items/new-1/neighbors",
        "neighbors-relation": "/v1/items/P0020/neighbors?relation=complement&k=3",
        "neighbors-filter": "/v1/items/P0003/neighbors?k=12&filter=brand:Brand%201|Brand%202,"
                            "degree:7..,!category:a%2Cb,colour%3Ared",
        "item": "/v1/items/a%2Cb",
        "item-bad-escape": "/v1/items/%zz/neighbors",
        "score": "/v1/score?a=P0020&b=new%202",
        "prefix": "/v1/items?prefix=P00&limit=3",
        "model": "/v1/model",
        "publish": "/v1/admin/publish?generation=3",
        "status": "/v1/admin/status",
        "metrics": "/metrics",
        "ui": "/ui/app.js",
        "unknown": "/v2/nothing?x",
        "keys-only": "/v1/score?a&b=&=c&&",
        "hide": "PUT /v1/items/P0020/hidden",
        "unhide": "DELETE /v1/items/P0020/hidden",
        "delete": "DELETE /v1/items/new-1",
    }.items():
        write("url", name, target)


if __name__ == "__main__":
    shutil.rmtree(os.path.join(HERE, "corpus"), ignore_errors=True)
    os.makedirs(os.path.join(HERE, "corpus", "config"))
    for make in (pairs, side, amazon, model, w2v, wal, config, api_body, url):
        make()
