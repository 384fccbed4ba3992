"""[$match] + $group over a collection large enough for the parallel scan (query/pipeline.h,
Pipeline::BuildOverScan: _id ranges grouped on several threads and merged in _id order). Every
answer, the order of the groups and of $push/$first/$last included, must equal what one pass in
_id order gives, computed here independently; so must the serial fallback (floating-point sums
spanning ranges)."""
import random

import pymongo
import pytest
from bson.int64 import Int64
from conftest import BINARY, Server
from pymongo.errors import OperationFailure

N = 40_000  # about 12 MB with the padding: well above the parallel threshold (8 MB)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    # One server for the module: loading takes a few seconds.
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run scripts/build.sh amalgamd first")
    data_dir = tmp_path_factory.mktemp("pargroup") / "data"
    server = Server(data_dir, ["--data-dir", str(data_dir), "--bind", "127.0.0.1", "--http-port", "0",
                               "--mongo-port", "0", "--dynamo-port", "0"])
    server.wait_ready()
    client = pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000)
    rng = random.Random(0x9A7)
    docs = []
    for i in range(N):
        docs.append({
            "_id": i,
            "user": rng.randrange(300),
            "tokens": rng.randrange(1, 5000),
            "model": "m%d" % rng.randrange(4),
            "cost": rng.randrange(1, 1000) / 7.0,
            "big": 100_000_000 if i < N // 2 else -100_000_000,
            # incompressible padding, so that size estimates see real bytes
            "pad": "%0192x" % rng.getrandbits(768),
        })
    coll = client.pg.big
    for k in range(0, N, 2000):
        coll.insert_many(docs[k:k + 2000], ordered=True)
    yield coll, docs
    client.close()
    assert server.stop() == 0


def serial_groups(docs, key, match=None):
    """Groups in order of first arrival (documents in _id order), with their documents."""
    groups = {}
    for d in sorted(docs, key=lambda d: d["_id"]):
        if match and not match(d):
            continue
        groups.setdefault(key(d), []).append(d)
    return groups


def test_sum_count_avg_min_max_in_first_arrival_order(big):
    coll, docs = big
    out = list(coll.aggregate([
        {"$match": {"model": "m1"}},
        {"$group": {"_id": "$user", "total": {"$sum": "$tokens"}, "n": {"$sum": 1}, "c": {"$count": {}},
                    "avg": {"$avg": "$tokens"}, "lo": {"$min": "$tokens"}, "hi": {"$max": "$tokens"}}},
    ]))
    expected = serial_groups(docs, lambda d: d["user"], lambda d: d["model"] == "m1")
    assert [g["_id"] for g in out] == list(expected)  # order of first arrival
    for g in out:
        ds = expected[g["_id"]]
        toks = [d["tokens"] for d in ds]
        assert g["total"] == sum(toks)
        assert g["n"] == len(ds) and g["c"] == len(ds)
        assert g["avg"] == sum(toks) / len(toks)
        assert g["lo"] == min(toks) and g["hi"] == max(toks)


def test_order_sensitive_accumulators(big):
    coll, docs = big
    out = list(coll.aggregate([
        {"$match": {"model": {"$in": ["m0", "m2"]}}},
        {"$group": {"_id": {"$mod": ["$user", 7]}, "first": {"$first": "$_id"}, "last": {"$last": "$_id"},
                    "ids": {"$push": "$_id"}, "models": {"$addToSet": "$model"},
                    "f3": {"$firstN": {"input": "$_id", "n": 3}}, "l3": {"$lastN": {"input": "$_id", "n": 3}}}},
    ]))
    expected = serial_groups(docs, lambda d: d["user"] % 7, lambda d: d["model"] in ("m0", "m2"))
    assert [g["_id"] for g in out] == list(expected)
    for g in out:
        ids = [d["_id"] for d in expected[g["_id"]]]
        assert g["first"] == ids[0] and g["last"] == ids[-1]
        assert g["ids"] == ids
        seen = []
        for d in expected[g["_id"]]:
            if d["model"] not in seen:
                seen.append(d["model"])
        assert g["models"] == seen
        assert g["f3"] == ids[:3] and g["l3"] == ids[-3:]


def test_group_all_without_match_and_numeric_keys_of_mixed_types(big):
    coll, docs = big
    out = list(coll.aggregate([{"$group": {"_id": None, "n": {"$sum": 1}, "t": {"$sum": "$tokens"}}}]))
    assert out == [{"_id": None, "n": N, "t": sum(d["tokens"] for d in docs)}]
    # 1 (int) and 1.0 (double) are one group, keyed by the first value seen.
    out = list(coll.aggregate([
        {"$group": {"_id": {"$cond": [{"$lt": ["$_id", N // 2]}, {"$toInt": 1}, {"$toDouble": 1}]},
                    "n": {"$sum": 1}}},
    ]))
    assert out == [{"_id": 1, "n": N}]
    assert isinstance(out[0]["_id"], int)


def test_floating_sums_equal_the_serial_order(big):
    # A double sum spanning ranges cannot be merged exactly: the server groups serially, so the
    # result is bit-for-bit the left-to-right sum in _id order.
    coll, docs = big
    out = list(coll.aggregate([
        {"$match": {"model": "m3"}},
        {"$group": {"_id": "$user", "cost": {"$sum": "$cost"}, "avg": {"$avg": "$cost"}}},
    ]))
    expected = serial_groups(docs, lambda d: d["user"], lambda d: d["model"] == "m3")
    assert [g["_id"] for g in out] == list(expected)
    for g in out:
        s = 0.0
        for d in expected[g["_id"]]:
            s += d["cost"]
        assert g["cost"] == s
        assert g["avg"] == s / len(expected[g["_id"]])


def test_stages_after_the_group_and_unmergeable_accumulators(big):
    coll, docs = big
    out = list(coll.aggregate([
        {"$match": {"tokens": {"$gte": 2500}}},
        {"$group": {"_id": "$model", "sd": {"$stdDevPop": "$tokens"}, "n": {"$sum": 1}}},
        {"$sort": {"_id": 1}},
        {"$project": {"n": 1}},
    ]))
    expected = serial_groups(docs, lambda d: d["model"], lambda d: d["tokens"] >= 2500)
    assert out == [{"_id": m, "n": len(expected[m])} for m in sorted(expected)]


def test_max_time_ms_stops_the_scan(big):
    coll, _ = big
    with pytest.raises(OperationFailure) as e:
        list(coll.aggregate([{"$group": {"_id": "$user", "s": {"$push": "$pad"}}}], maxTimeMS=1))
    assert e.value.code == 50


def test_an_error_in_a_later_range_is_the_serial_error(big):
    # The document with _id 30000 (in a later range) divides by zero: the parallel run fails in
    # that range, and the serial rerun reports what one pass reports.
    coll, _ = big
    with pytest.raises(OperationFailure) as e:
        list(coll.aggregate([
            {"$group": {"_id": {"$divide": ["$tokens", {"$subtract": ["$_id", 30000]}]}, "n": {"$sum": 1}}},
        ]))
    assert "divide by zero" in str(e.value)
    out = list(coll.aggregate([
        {"$match": {"_id": {"$ne": 30000}}},
        {"$group": {"_id": None, "n": {"$sum": {"$divide": ["$tokens", {"$subtract": ["$_id", 30000]}]}}}},
    ]))
    assert len(out) == 1 and out[0]["n"] != 0


def test_integer_sums_widen_as_the_serial_running_sum_does(big):
    # The running sum of `big` in _id order climbs to 2e12 (past int32) and comes back to 0: the
    # serial $sum is then an int64 0, whatever ranges the parallel run merged.
    coll, docs = big
    out = list(coll.aggregate([{"$group": {"_id": None, "s": {"$sum": "$big"}, "t": {"$sum": "$tokens"}}}]))
    assert out == [{"_id": None, "s": 0, "t": sum(d["tokens"] for d in docs)}]
    assert isinstance(out[0]["s"], Int64)
    assert not isinstance(out[0]["t"], Int64)  # 40,000 x < 5,000 stays an int32 all along
    out = list(coll.aggregate([{"$group": {"_id": "$model", "s": {"$sum": "$big"}}}, {"$sort": {"_id": 1}}]))
    for g in out:
        s, widened = 0, False
        for d in docs:
            if d["model"] == g["_id"]:
                s += d["big"]
                widened = widened or not -2**31 <= s < 2**31
        assert g["s"] == s and isinstance(g["s"], Int64) == widened


def test_one_group_per_document_keeps_id_order(big):
    coll, docs = big
    out = list(coll.aggregate([{"$group": {"_id": "$_id", "n": {"$sum": 1}, "u": {"$first": "$user"}}}]))
    assert [g["_id"] for g in out] == list(range(N))
    assert all(g["n"] == 1 and g["u"] == docs[g["_id"]]["user"] for g in out)


def test_group_keys_that_compare_equal_are_one_group(big):
    from bson.decimal128 import Decimal128
    coll = big[0].database.keys
    coll.drop()
    coll.insert_many([
        {"_id": 0, "k": 1}, {"_id": 1, "k": Int64(1)}, {"_id": 2, "k": 1.0}, {"_id": 3, "k": Decimal128("1.00")},
        {"_id": 4, "k": float("nan")}, {"_id": 5, "k": Decimal128("NaN")}, {"_id": 6, "k": -0.0}, {"_id": 7, "k": 0},
        {"_id": 8, "k": "a"}, {"_id": 9, "k": {"x": 1}}, {"_id": 10, "k": {"x": 1.0}}, {"_id": 11, "k": [1, 2]},
        {"_id": 12, "k": [1.0, Int64(2)]}, {"_id": 13}, {"_id": 14, "k": None}, {"_id": 15, "k": 2**53 + 1},
        {"_id": 16, "k": float(2**53)},
    ])
    out = list(coll.aggregate([{"$group": {"_id": "$k", "ids": {"$push": "$_id"}}}]))
    assert [g["ids"] for g in out] == [[0, 1, 2, 3], [4, 5], [6, 7], [8], [9, 10], [11, 12], [13, 14], [15], [16]]
    assert out[0]["_id"] == 1 and not isinstance(out[0]["_id"], (float, Int64))  # the first key seen
