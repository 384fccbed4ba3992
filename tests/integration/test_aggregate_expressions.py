"""Expression families through pymongo: variables, strings, arrays, conversions and dates.

Expected values are computed in Python from the same inputs.
"""
import datetime
import re

import pymongo
import pytest
from bson.decimal128 import Decimal128
from bson.objectid import ObjectId
from pymongo.errors import OperationFailure


@pytest.fixture
def client(amalgamd):
    c = pymongo.MongoClient("127.0.0.1", amalgamd.ports["mongo"], serverSelectionTimeoutMS=5000)
    yield c
    c.close()


@pytest.fixture
def coll(client):
    c = client.aggexpr.docs
    c.insert_many([
        {"_id": i, "n": i, "xs": list(range(i)), "s": f"  Item-{i:03d}  ",
         "when": datetime.datetime(2024, 1, 1) + datetime.timedelta(days=37 * i, hours=i)}
        for i in range(12)
    ])
    return c


def project(coll, spec, **kw):
    return list(coll.aggregate([{"$sort": {"_id": 1}}, {"$project": {"_id": 0, **spec}}], **kw))


def test_map_filter_reduce_let(coll):
    out = project(coll, {
        "sq": {"$map": {"input": "$xs", "as": "x", "in": {"$multiply": ["$$x", "$$x"]}}},
        "odd": {"$filter": {"input": "$xs", "cond": {"$eq": [{"$mod": ["$$this", 2]}, 1]}}},
        "sum": {"$reduce": {"input": "$xs", "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}},
        "let": {"$let": {"vars": {"d": {"$multiply": ["$n", 2]}}, "in": {"$add": ["$$d", 1]}}},
        "sw": {"$switch": {"branches": [{"case": {"$lt": ["$n", 4]}, "then": "low"},
                                        {"case": {"$lt": ["$n", 8]}, "then": "mid"}], "default": "high"}},
    })
    for i, doc in enumerate(out):
        xs = list(range(i))
        assert doc["sq"] == [x * x for x in xs]
        assert doc["odd"] == [x for x in xs if x % 2 == 1]
        assert doc["sum"] == sum(xs)
        assert doc["let"] == 2 * i + 1
        assert doc["sw"] == ("low" if i < 4 else "mid" if i < 8 else "high")


def test_strings(coll):
    out = project(coll, {
        "t": {"$trim": {"input": "$s"}}, "l": {"$strLenCP": {"$trim": {"input": "$s"}}},
        "sub": {"$substrCP": [{"$trim": {"input": "$s"}}, 5, 3]},
        "up": {"$toUpper": {"$trim": {"input": "$s"}}},
        "re": {"$regexFind": {"input": "$s", "regex": "(\\d+)"}},
        "rep": {"$replaceAll": {"input": "$s", "find": " ", "replacement": "_"}},
        "idx": {"$indexOfCP": ["$s", "-"]},
        "parts": {"$split": [{"$trim": {"input": "$s"}}, "-"]},
    })
    for i, doc in enumerate(out):
        s = f"  Item-{i:03d}  "
        t = s.strip()
        assert doc["t"] == t and doc["l"] == len(t) and doc["sub"] == t[5:8] and doc["up"] == t.upper()
        m = re.search(r"(\d+)", s)
        assert doc["re"] == {"match": m.group(0), "idx": m.start(), "captures": [m.group(1)]}
        assert doc["rep"] == s.replace(" ", "_") and doc["idx"] == s.index("-")
        assert doc["parts"] == t.split("-")


def test_arrays_and_sets(coll):
    out = project(coll, {
        "sl": {"$slice": ["$xs", -2]}, "rng": {"$range": [0, "$n", 3]},
        "rev": {"$reverseArray": "$xs"}, "in": {"$in": [3, "$xs"]},
        "zip": {"$zip": {"inputs": ["$xs", {"$reverseArray": "$xs"}]}},
        "u": {"$setUnion": ["$xs", [0, 100]]},
        "o": {"$arrayToObject": {"$map": {"input": "$xs", "in": [{"$toString": "$$this"}, "$$this"]}}},
        "srt": {"$sortArray": {"input": "$xs", "sortBy": -1}},
    })
    for i, doc in enumerate(out):
        xs = list(range(i))
        assert doc["sl"] == xs[-2:] and doc["rng"] == list(range(0, i, 3))
        assert doc["rev"] == xs[::-1] and doc["in"] == (3 in xs)
        assert doc["zip"] == [list(p) for p in zip(xs, xs[::-1])]
        assert doc["u"] == sorted(set(xs) | {0, 100})
        assert doc["o"] == {str(x): x for x in xs}
        assert doc["srt"] == sorted(xs, reverse=True)


def test_conversions(coll):
    out = project(coll, {
        "s": {"$toString": "$n"}, "d": {"$toDouble": {"$toString": "$n"}},
        "l": {"$toLong": "$when"}, "dec": {"$toDecimal": "$n"}, "b": {"$toBool": "$n"},
        "bad": {"$convert": {"input": "$s", "to": "int", "onError": "nope"}},
        "isn": {"$isNumber": "$n"}, "t": {"$type": {"$toLong": "$n"}},
    })
    for i, doc in enumerate(out):
        when = datetime.datetime(2024, 1, 1) + datetime.timedelta(days=37 * i, hours=i)
        epoch_ms = int((when - datetime.datetime(1970, 1, 1)).total_seconds() * 1000)
        assert doc == {"s": str(i), "d": float(i), "l": epoch_ms, "dec": Decimal128(str(i)),
                       "b": i != 0, "bad": "nope", "isn": True, "t": "long"}
    oid = ObjectId()
    got = list(coll.aggregate([{"$limit": 1}, {"$project": {"_id": 0, "o": {"$toObjectId": str(oid)}}}]))
    assert got == [{"o": oid}]
    with pytest.raises(OperationFailure) as e:
        list(coll.aggregate([{"$project": {"x": {"$toInt": "$s"}}}]))
    assert e.value.code == 241


def test_dates(coll):
    out = project(coll, {
        "y": {"$year": "$when"}, "m": {"$month": "$when"}, "d": {"$dayOfMonth": "$when"},
        "h": {"$hour": "$when"}, "dow": {"$dayOfWeek": "$when"}, "doy": {"$dayOfYear": "$when"},
        "iw": {"$isoWeek": "$when"}, "str": {"$dateToString": {"date": "$when", "format": "%Y-%m-%d %H"}},
        "tz": {"$hour": {"date": "$when", "timezone": "+05:30"}},
        "add": {"$dateAdd": {"startDate": "$when", "unit": "day", "amount": 10}},
        "diff": {"$dateDiff": {"startDate": datetime.datetime(2024, 1, 1), "endDate": "$when", "unit": "day"}},
        "trunc": {"$dateTrunc": {"date": "$when", "unit": "month"}},
        "back": {"$dateFromString": {"dateString": {"$dateToString": {"date": "$when"}}}},
    })
    for i, doc in enumerate(out):
        w = datetime.datetime(2024, 1, 1) + datetime.timedelta(days=37 * i, hours=i)
        assert (doc["y"], doc["m"], doc["d"], doc["h"]) == (w.year, w.month, w.day, w.hour)
        assert doc["dow"] == (w.isoweekday() % 7) + 1
        assert doc["doy"] == w.timetuple().tm_yday and doc["iw"] == w.isocalendar()[1]
        assert doc["str"] == w.strftime("%Y-%m-%d %H")
        assert doc["tz"] == (w + datetime.timedelta(hours=5, minutes=30)).hour
        assert doc["add"] == w + datetime.timedelta(days=10)
        assert doc["diff"] == (w.date() - datetime.date(2024, 1, 1)).days
        assert doc["trunc"] == datetime.datetime(w.year, w.month, 1)
        assert doc["back"] == w


def test_now_and_remove_and_let(coll):
    before = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    out = list(coll.aggregate([
        {"$match": {"$expr": {"$lt": ["$n", "$$limit"]}}},
        {"$project": {"_id": 0, "now": "$$NOW", "n": {"$cond": [{"$eq": ["$n", 0]}, "$$REMOVE", "$n"]},
                      "scaled": {"$multiply": ["$n", "$$factor"]}}},
    ], let={"limit": 3, "factor": {"$add": [1, 1]}}))
    after = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert len(out) == 3
    assert len({d["now"] for d in out}) == 1
    assert before - datetime.timedelta(seconds=1) <= out[0]["now"] <= after + datetime.timedelta(seconds=1)
    assert [d.get("n") for d in out] == [None, 1, 2] and "n" not in out[0]
    assert [d["scaled"] for d in out] == [0, 2, 4]
