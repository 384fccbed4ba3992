"""$lookup, $unionWith, $bucket, $bucketAuto and let through pymongo against the real server.

Every expected result is computed in Python from the inserted data, not copied from the server.
"""
import random

import pymongo
import pytest
from pymongo.errors import OperationFailure


@pytest.fixture
def db(client):
    return client.aggstages


@pytest.fixture
def shop(db):
    rng = random.Random(7)
    products = [{"_id": i, "sku": f"p{i}", "price": rng.randint(1, 50), "cat": rng.choice("abc")}
                for i in range(30)]
    orders = [{"_id": i, "sku": f"p{rng.randint(0, 34)}", "qty": rng.randint(1, 5)} for i in range(200)]
    db.products.insert_many(products)
    db.orders.insert_many(orders)
    db.products.create_index("sku")
    return products, orders


def test_lookup_equality_joins_every_order(db, shop):
    products, orders = shop
    by_sku = {}
    for p in products:
        by_sku.setdefault(p["sku"], []).append(p)
    out = list(db.orders.aggregate([
        {"$lookup": {"from": "products", "localField": "sku", "foreignField": "sku", "as": "product"}},
        {"$sort": {"_id": 1}},
    ]))
    assert len(out) == len(orders)
    for o, got in zip(orders, out):
        assert got["_id"] == o["_id"]
        assert got["product"] == by_sku.get(o["sku"], [])


def test_lookup_then_group_revenue_per_category(db, shop):
    products, orders = shop
    price = {p["sku"]: (p["price"], p["cat"]) for p in products}
    want = {}
    for o in orders:
        if o["sku"] in price:
            p, cat = price[o["sku"]]
            want[cat] = want.get(cat, 0) + p * o["qty"]
    out = list(db.orders.aggregate([
        {"$lookup": {"from": "products", "localField": "sku", "foreignField": "sku", "as": "p"}},
        {"$unwind": "$p"},
        {"$group": {"_id": "$p.cat", "revenue": {"$sum": {"$multiply": ["$qty", "$p.price"]}}}},
        {"$sort": {"_id": 1}},
    ]))
    assert out == [{"_id": k, "revenue": want[k]} for k in sorted(want)]


def test_lookup_pipeline_with_let_and_command_let(db, shop):
    products, orders = shop
    threshold = 25
    out = list(db.orders.aggregate([
        {"$match": {"_id": {"$lt": 20}}},
        {"$lookup": {"from": "products", "let": {"s": "$sku", "q": "$qty"},
                     "pipeline": [{"$match": {"$expr": {"$and": [{"$eq": ["$sku", "$$s"]},
                                                                 {"$gte": [{"$multiply": ["$price", "$$q"]}, "$$min"]}]}}},
                                  {"$project": {"_id": 0, "cost": {"$multiply": ["$price", "$$q"]}}}],
                     "as": "big"}},
        {"$project": {"big": 1}},
        {"$sort": {"_id": 1}},
    ], let={"min": threshold}))
    price = {p["sku"]: p["price"] for p in products}
    want = []
    for o in orders[:20]:
        cost = price.get(o["sku"], 0) * o["qty"]
        want.append({"_id": o["_id"], "big": [{"cost": cost}] if o["sku"] in price and cost >= threshold else []})
    assert out == want


def test_union_with_and_sub_pipeline(db, shop):
    products, orders = shop
    out = list(db.products.aggregate([
        {"$match": {"cat": "a"}}, {"$project": {"_id": 0, "k": "$sku"}},
        {"$unionWith": {"coll": "orders", "pipeline": [{"$match": {"qty": 5}}, {"$project": {"_id": 0, "k": "$_id"}}]}},
    ]))
    want = [{"k": p["sku"]} for p in products if p["cat"] == "a"] + [{"k": o["_id"]} for o in orders if o["qty"] == 5]
    assert sorted(map(str, out)) == sorted(map(str, want))
    assert len(list(db.products.aggregate([{"$unionWith": "nonexistent"}]))) == len(products)


def test_bucket_and_bucket_auto(db, shop):
    products, _ = shop
    bounds = [0, 10, 20, 40]
    want = {}
    for p in products:
        key = "big"
        for lo, hi in zip(bounds, bounds[1:]):
            if lo <= p["price"] < hi:
                key = lo
        want.setdefault(key, []).append(p["price"])
    out = list(db.products.aggregate([
        {"$bucket": {"groupBy": "$price", "boundaries": bounds, "default": "big",
                     "output": {"n": {"$sum": 1}, "total": {"$sum": "$price"}}}}]))
    keys = sorted([k for k in want if k != "big"]) + (["big"] if "big" in want else [])
    assert out == [{"_id": k, "n": len(want[k]), "total": sum(want[k])} for k in keys]

    autos = list(db.products.aggregate([{"$bucketAuto": {"groupBy": "$price", "buckets": 4}}]))
    assert sum(b["count"] for b in autos) == len(products)
    assert autos[0]["_id"]["min"] == min(p["price"] for p in products)
    assert autos[-1]["_id"]["max"] == max(p["price"] for p in products)
    for a, b in zip(autos, autos[1:]):
        assert a["_id"]["max"] == b["_id"]["min"]


def test_lookup_errors_carry_mongodb_codes(db, shop):
    with pytest.raises(OperationFailure) as e:
        list(db.orders.aggregate([{"$lookup": {"from": "products", "localField": "sku", "as": "x"}}]))
    assert e.value.code == 9
    with pytest.raises(OperationFailure) as e:
        list(db.orders.aggregate([{"$lookup": {"from": "products", "pipeline": [{"$out": "z"}], "as": "x"}}]))
    assert e.value.code == 51047


def test_set_window_fields_running_totals_and_ranks(db):
    rng = random.Random(11)
    rows = [{"_id": i, "user": rng.choice(["u1", "u2", "u3"]), "t": i, "tokens": rng.randint(1, 100)}
            for i in range(60)]
    db.usage.insert_many(rows)
    out = list(db.usage.aggregate([
        {"$setWindowFields": {"partitionBy": "$user", "sortBy": {"t": 1}, "output": {
            "running": {"$sum": "$tokens", "window": {"documents": ["unbounded", "current"]}},
            "moving": {"$avg": "$tokens", "window": {"documents": [-2, 0]}},
            "n": {"$documentNumber": {}},
            "total": {"$sum": "$tokens"}}}},
        {"$sort": {"_id": 1}},
    ]))
    by_user = {}
    for r in rows:
        by_user.setdefault(r["user"], []).append(r)
    want = {}
    for user, rs in by_user.items():
        rs.sort(key=lambda r: r["t"])
        total = sum(r["tokens"] for r in rs)
        for k, r in enumerate(rs):
            window = [x["tokens"] for x in rs[max(0, k - 2):k + 1]]
            want[r["_id"]] = {**r, "running": sum(x["tokens"] for x in rs[:k + 1]),
                              "moving": sum(window) / len(window), "n": k + 1, "total": total}
    assert out == [want[i] for i in range(60)]


def test_out_replaces_the_target_collection(db, shop):
    products, _ = shop
    db.summary.insert_one({"_id": "stale"})
    res = list(db.products.aggregate([{"$group": {"_id": "$cat", "n": {"$sum": 1}, "max": {"$max": "$price"}}},
                                      {"$out": "summary"}]))
    assert res == []
    want = {}
    for p in products:
        n, mx = want.get(p["cat"], (0, 0))
        want[p["cat"]] = (n + 1, max(mx, p["price"]))
    got = {d["_id"]: (d["n"], d["max"]) for d in db.summary.find()}
    assert got == want
    assert "stale" not in got
    names = db.list_collection_names()
    assert not any(n.startswith("tmp.agg_out") for n in names)


def test_merge_modes(db, shop):
    products, _ = shop
    db.target.insert_many([{"_id": 0, "keep": True, "price": -1}, {"_id": 1, "keep": True}])
    db.products.aggregate([{"$match": {"_id": {"$lt": 3}}}, {"$project": {"price": 1}},
                           {"$merge": {"into": "target", "whenMatched": "merge", "whenNotMatched": "insert"}}])
    got = {d["_id"]: d for d in db.target.find()}
    assert got[0] == {"_id": 0, "keep": True, "price": products[0]["price"]}
    assert got[1] == {"_id": 1, "keep": True, "price": products[1]["price"]}
    assert got[2] == {"_id": 2, "price": products[2]["price"]}
    with pytest.raises(OperationFailure) as e:  # MongoDB refuses this pair of modes
        db.products.aggregate([{"$match": {"_id": {"$lt": 5}}}, {"$project": {"sku": 1}},
                               {"$merge": {"into": "target", "whenMatched": "keepExisting", "whenNotMatched": "discard"}}])
    assert e.value.code == 51181
    assert db.target.count_documents({}) == 3
    db.products.aggregate([{"$match": {"_id": {"$lt": 5}}}, {"$project": {"sku": 1}},
                           {"$merge": {"into": "target", "whenMatched": "keepExisting", "whenNotMatched": "insert"}}])
    assert db.target.find_one({"_id": 0}) == {"_id": 0, "keep": True, "price": products[0]["price"]}
    assert db.target.find_one({"_id": 4}) == {"_id": 4, "sku": products[4]["sku"]}
    assert db.target.count_documents({}) == 5
    db.products.aggregate([{"$match": {"_id": 0}}, {"$project": {"sku": 1}},
                           {"$merge": {"into": "target", "whenMatched": "replace"}}])
    assert db.target.find_one({"_id": 0}) == {"_id": 0, "sku": products[0]["sku"]}
    with pytest.raises(OperationFailure) as e:
        db.products.aggregate([{"$match": {"_id": 10}}, {"$merge": {"into": "target", "whenNotMatched": "fail"}}])
    assert e.value.code == 13113
    with pytest.raises(OperationFailure) as e:
        db.products.aggregate([{"$out": "x"}, {"$match": {}}])
    assert e.value.code == 40601


def test_index_stats_and_coll_stats(db, shop):
    products, _ = shop
    stats = list(db.products.aggregate([{"$indexStats": {}}, {"$sort": {"name": 1}}]))
    assert [s["name"] for s in stats] == sorted(i["name"] for i in db.products.list_indexes())
    sku = next(s for s in stats if s["name"] == "sku_1")
    assert sku["key"] == {"sku": 1} and sku["accesses"]["ops"] == 0 and sku["spec"]["key"] == {"sku": 1}
    cs = list(db.products.aggregate([{"$collStats": {"count": {}, "storageStats": {}}}]))
    assert len(cs) == 1 and cs[0]["ns"] == "aggstages.products"
    assert cs[0]["count"]["count"] == len(products) and cs[0]["storageStats"]["count"] == len(products)
    with pytest.raises(OperationFailure) as e:
        list(db.products.aggregate([{"$match": {}}, {"$indexStats": {}}]))
    assert e.value.code == 40602


def test_out_and_merge_refuse_documents_too_large_to_store(db):
    db.big_src.drop()
    db.big_src.insert_one({"_id": 1, "s": "x" * (9 << 20)})  # 9 MiB: fine alone
    doubled = [{"$project": {"a": "$s", "b": "$s"}}]  # 18 MiB: too large to store
    db.big_out.insert_one({"_id": "kept"})
    for last in ({"$out": "big_out"}, {"$merge": {"into": "big_out"}}):
        with pytest.raises(OperationFailure) as err:
            list(db.big_src.aggregate(doubled + [last]))
        assert err.value.code == 10334, last
        assert "too large" in str(err.value)
    # Nothing half-written: the target keeps what it had.
    assert list(db.big_out.find()) == [{"_id": "kept"}]
    # Documents without _id get one, and _id comes first, as insert does.
    db.small_src.drop()
    db.small_src.insert_many([{"_id": i, "v": i} for i in range(3)])
    list(db.small_src.aggregate([{"$project": {"_id": 0, "v": 1}}, {"$out": "small_out"}]))
    out = list(db.small_out.find())
    assert sorted(d["v"] for d in out) == [0, 1, 2]
    assert all(list(d)[0] == "_id" for d in out)
