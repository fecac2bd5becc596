"""attrs.py - filters on item attributes and attributes set at run time, against the real
daemon on the Amazon gift cards set and its items file.

A table of filters (equality, membership, a list attribute's items, ranges, a boolean, not,
any, several at once), each in the GET form and the JSON form, on precomputed lists, exact
scans, batches and baskets, is checked against a recomputation here from the model file and
the items file; an unknown attribute and a value of the wrong type are a 400 naming them.
PATCH /v1/items/{id} moves an item in and out of a price range without a new generation, on
the trainer and on a follower reading its log, and the change holds across a restart."""

import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrd  # noqa: E402
from retrain import wait_for  # noqa: E402

SET = os.path.join(os.environ.get("DATA", ""), "amazon-gift-cards-2018")
TOKEN = "attrs-token-for-tests"
AUTH = {"Authorization": "Bearer " + TOKEN}
ENV = {"WALKREC_ADMIN_TOKEN": TOKEN}
# Lists of 10 by cosine: k = 10 answers from them while enough pass, k = 30 scans.
ARGS = ("--rank", "cosine", "--index-k", "10", "--retrain-min-pairs", "0")


def number(v):
    """side.h's reading of a number: a currency sign, thousands commas, a range's low end."""
    v = v.strip().lstrip("$\u00a3\u20ac").replace(",", "")
    v = v.split(" - ")[0].strip().lstrip("$\u00a3\u20ac")
    try:
        x = float(v)
    except ValueError:
        return None
    return x if x == x and abs(x) != float("inf") else None


class Catalogue:
    """The items file as filters read it, with an in_stock column added here (a boolean:
    the gift cards file has none)."""

    def __init__(self, model):
        header, rows = wrd.read_tsv(os.path.join(SET, "items.tsv"))
        self.path = os.path.join(wrd.tmpdir(), "items.tsv")
        self.attrs = {}
        with open(self.path, "w") as f:
            f.write("\t".join(header + ["in_stock"]) + "\n")
            for i, row in enumerate(rows):
                stock = "yes" if i % 3 else "no"
                f.write("\t".join(row + [""] * (len(header) - len(row)) + [stock]) + "\n")
                a = {h: v.strip() for h, v in zip(header[1:], row[1:]) if v.strip()}
                a["in_stock"] = stock == "yes"
                self.attrs[row[0]] = a
        for a in self.attrs.values():
            if "price" in a:
                a["price"] = number(a["price"])
            if "category" in a:
                a["category_items"] = [c.strip() for c in a["category"].split(" > ")]
        self.model = model

    def get(self, item, name):
        return self.attrs.get(item, {}).get(name)


def brand_in(c, *brands):
    return lambda i: c.get(i, "brand") in brands


def price_in(c, lo, hi, lo_open=False, hi_open=False):
    def keep(i):
        p = c.get(i, "price")
        return p is not None and (p > lo if lo_open else p >= lo) and (p < hi if hi_open
                                                                       else p <= hi)
    return keep


class Filters(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        data = os.path.join(wrd.tmpdir(), "var")
        os.mkdir(data)
        cls.model_path = os.path.join(data, "model-1.wr")
        wrd.run(wrd.WALKREC, "train", os.path.join(SET, "pairs.tsv"), "-o", cls.model_path,
                "--dim", "16", "--epochs", "1", "--threads", "1", "--seed", "3", "--quiet")
        cls.M = wrd.Model(cls.model_path)
        cls.C = Catalogue(cls.M)
        cls.data = data
        cls.d = wrd.Daemon(*ARGS, "--items-file", cls.C.path, data_dir=data, env=ENV)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_table(self):
        M, C, d = self.M, self.C, self.d
        types = d.get("/v1/model").json()["side_info"]["types"]
        self.assertEqual((types["brand"], types["price"], types["category"], types["in_stock"]),
                         ("string", "number", "list", "boolean"))
        gift = lambda i: "Gift Card Accessories" in (C.get(i, "category_items") or [])  # noqa
        table = [  # (what, GET form, JSON form, recomputation)
            ("equality", "brand:Amazon", {"brand": "Amazon"}, brand_in(C, "Amazon")),
            ("membership", "brand:Visa|Starbucks|Amazon",
             {"brand": ["Visa", "Starbucks", "Amazon"]}, brand_in(C, "Visa", "Starbucks", "Amazon")),
            ("list item", "category:Gift%20Card%20Accessories",
             {"category": "Gift Card Accessories"}, gift),
            ("range", "price:20..50", {"price": {"gte": 20, "lte": 50}}, price_in(C, 20, 50)),
            ("open range", "price:..25", {"price": {"lte": 25}}, price_in(C, -1e300, 25)),
            ("exclusive range", None, {"price": {"gt": 25, "lt": 100}},
             price_in(C, 25, 100, True, True)),
            ("boolean", "in_stock:true", {"in_stock": True}, lambda i: C.get(i, "in_stock")),
            ("not", "!brand:Amazon", {"not": {"brand": "Amazon"}},
             lambda i: C.get(i, "brand") != "Amazon"),
            ("any", None, {"any": [{"brand": "Visa"}, {"price": {"lt": 10}}]},
             lambda i: C.get(i, "brand") == "Visa" or price_in(C, -1e300, 10, False, True)(i)),
            ("all", "in_stock:false,price:1..", {"in_stock": False, "price": {"gte": 1}},
             lambda i: C.get(i, "in_stock") is False and price_in(C, 1, 1e300)(i)),
        ]
        # the most connected items with side information, and one without
        items = [i for i in M.ids if i in C.attrs][:4] + [next(i for i in M.ids
                                                               if i not in C.attrs)]
        for what, get, body, keep in table:
            passing = sum(1 for i in M.ids if keep(i))
            self.assertGreater(passing, 10, what)  # else the test proves little
            self.assertLess(passing, M.n - 10, what)
            for item in items:
                for k in (10, 30):
                    want = M.neighbors(item, k, keep=keep)
                    if get:
                        r = d.get("/v1/items/%s/neighbors?k=%d&filter=%s" % (item, k, get))
                        self.assertEqual(r.status, 200, (what, r))
                        wrd.same_ranking(r.json()["neighbors"], want, "GET %s %s" % (what, item))
                    r = d.post("/v1/neighbors", {"items": [item], "k": k, "filter": body})
                    self.assertEqual(r.status, 200, (what, r))
                    wrd.same_ranking(r.json()["results"][0]["neighbors"], want,
                                     "POST %s %s" % (what, item))
            r = d.post("/v1/neighbors", {"queries": [{"item": items[0], "k": 5, "filter": body},
                                                     {"item": items[1], "k": 7}]})
            res = r.json()["results"]
            wrd.same_ranking(res[0]["neighbors"], M.neighbors(items[0], 5, keep=keep),
                             "queries " + what)
            wrd.same_ranking(res[1]["neighbors"], M.neighbors(items[1], 7), "queries, none")
            r = d.post("/v1/neighbors", {"items": items[:2], "mode": "basket", "k": 8,
                                         "filter": body})
            wrd.same_ranking(r.json()["neighbors"], M.basket(items[:2], 8, keep=keep),
                             "basket " + what)
        print("%d filters x %d items, GET and POST, lists and scans: as recomputed"
              % (len(table), len(items)), file=sys.stderr)

    def test_refused(self):
        d, item = self.d, self.M.ids[0]
        for get, body, says in [
                ("colour:red", {"colour": "red"}, "unknown attribute 'colour'"),
                ("price:cheap", {"price": "cheap"}, "price is a number attribute"),
                ("in_stock:maybe", {"in_stock": "maybe"}, "in_stock is a boolean attribute"),
                ("brand", {"brand": {"gte": 1}}, "brand")]:
            r = d.get("/v1/items/%s/neighbors?filter=%s" % (item, urllib.parse.quote(get)))
            self.assertEqual((r.status, r.json()["error"]["code"]), (400, "bad_request"), get)
            self.assertIn(says, r.json()["error"]["message"])
            for doc in ({"items": [item], "filter": body},
                        {"queries": [{"item": item, "filter": body}]},
                        {"items": [item], "mode": "basket", "filter": body}):
                r = d.post("/v1/neighbors", doc)
                self.assertEqual(r.status, 400, doc)
                self.assertIn(says, r.json()["error"]["message"])
        # category= is the filter category:value, and a value no item has finds nothing
        r = d.get("/v1/items/%s/neighbors?category=no-such-category" % item)
        self.assertEqual((r.status, r.json()["neighbors"]), (200, []))


class Patch(unittest.TestCase):
    def test_price_moves_in_and_out(self):
        """A price set at run time moves an item in and out of a price-range filter without a
        new generation, on the trainer and on a follower, and holds across a restart."""
        data = os.path.join(wrd.tmpdir(), "var")
        os.mkdir(data)
        model = os.path.join(data, "model-1.wr")
        wrd.run(wrd.WALKREC, "train", os.path.join(SET, "pairs.tsv"), "-o", model, "--dim", "16",
                "--epochs", "1", "--threads", "1", "--seed", "3", "--quiet")
        M = wrd.Model(model)
        C = Catalogue(M)
        a = M.ids[0]
        rng = "price:20..30"
        # x: a's nearest neighbour priced outside the range (or not at all)
        x = next(i for i, _ in M.neighbors(a, 50) if not price_in(C, 20, 30)(i))

        def listed(daemon):
            r = daemon.get("/v1/items/%s/neighbors?k=10&filter=%s" % (a, rng))
            assert r.status == 200, r
            return [h["item"] for h in r.json()["neighbors"]], r.json()["generation"]

        def patch(daemon, doc, status=200):
            r = daemon.request("PATCH", "/v1/items/" + x, body=doc,
                               headers=dict(AUTH, **{"Content-Type": "application/json"}))
            self.assertEqual(r.status, status, r)
            return r

        with wrd.Daemon(*ARGS, "--items-file", C.path, data_dir=data, env=ENV) as d, \
                wrd.Daemon("--follow", data, "--follow-interval", "1", "--items-file", C.path,
                           *ARGS[:4]) as f:
            got, gen = listed(d)
            self.assertNotIn(x, got)
            r = patch(d, {"price": 25, "in_stock": False})
            self.assertEqual(r.json()["attributes"]["price"], 25)
            got, gen2 = listed(d)
            self.assertEqual((got[0], gen2), (x, gen))  # the nearest of those in range now
            self.assertEqual(d.get("/v1/items/" + x).json()["attributes"]["price"], 25)
            wait_for(lambda: listed(f)[0][:1] == [x], 30, "the follower listing x")
            patch(d, {"price": 300})
            self.assertNotIn(x, listed(d)[0])
            wait_for(lambda: x not in listed(f)[0], 30, "the follower leaving x out")
            patch(d, {"price": 21.5})
            self.assertEqual(listed(d)[0][0], x)
            # the follower takes no changes; wrong types and names are refused, nothing kept
            self.assertEqual(patch(f, {"price": 1}, 409).json()["error"]["code"], "follower")
            self.assertIn("price: the attribute is a number",
                          patch(d, {"price": "cheap"}, 400).json()["error"]["message"])
            patch(d, {"item": "x"}, 400)
            r = d.request("PATCH", "/v1/items/" + x, body={"price": 1})
            self.assertEqual(r.status, 401)
            # many items at once: every change checked before any is logged, then one batch
            near = [i for i, _ in M.neighbors(a, 80) if i != x and not price_in(C, 20, 30)(i)][:6]

            def in_range(daemon):
                r = daemon.get("/v1/items/%s/neighbors?k=100&filter=%s" % (a, rng))
                return {h["item"] for h in r.json()["neighbors"]}
            bad = {i: {"price": 22} for i in near}
            bad["zz-unknown"] = {"price": "cheap"}
            r = d.request("PATCH", "/v1/items", body={"items": bad}, headers=AUTH)
            self.assertEqual(r.status, 400, r)
            self.assertIn('items["zz-unknown"]: price', r.json()["error"]["message"])
            self.assertFalse(in_range(d) & set(near))
            r = d.request("PATCH", "/v1/items", body={"items": {i: {"price": 22} for i in near}},
                          headers=AUTH)
            self.assertEqual((r.status, r.json()), (200, {"items": len(near)}), r)
            self.assertLessEqual(set(near), in_range(d))
            wait_for(lambda: set(near) <= in_range(f), 30, "the follower taking the batch")
            self.assertEqual(f.request("PATCH", "/v1/items", body={"items": {x: {"price": 1}}},
                                       headers=AUTH).status, 409)
            # a name the items file lacks becomes an attribute to filter on, and explanations
            # name the values two items share, run-time ones included
            patch(d, {"colour": "red"})
            r = d.request("PATCH", "/v1/items/" + a, body={"colour": "red", "price": 21.5},
                          headers=AUTH)
            self.assertEqual(r.status, 200, r)
            ex = d.get("/v1/score?a=%s&b=%s&explain=1" % (a, x)).json()["explain"]
            self.assertEqual((ex["attributes"]["colour"], ex["attributes"]["price"]),
                             ("red", 21.5), ex)
            r = d.get("/v1/items/%s/neighbors?k=10&filter=colour:red" % a).json()
            self.assertEqual([h["item"] for h in r["neighbors"]], [x])
        with wrd.Daemon(*ARGS, "--items-file", C.path, data_dir=data, env=ENV) as d:
            self.assertEqual(listed(d)[0][0], x)  # the log kept the change
            self.assertEqual(d.get("/v1/items/" + x).json()["attributes"]["colour"], "red")
            patch(d, {"price": None})  # no price at all, whatever the items file says
            self.assertNotIn(x, listed(d)[0])
            self.assertNotIn("price", d.get("/v1/items/" + x).json()["attributes"])


if __name__ == "__main__":
    if not os.path.isdir(SET):
        print("SKIP: %s not found" % SET)
        sys.exit(77)
    unittest.main()
