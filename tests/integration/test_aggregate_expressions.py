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


# ---- Olson time zones (expected values from Python's zoneinfo over the system tzdata) ----------

from zoneinfo import ZoneInfo  # noqa: E402

UTC = datetime.timezone.utc
ZONES = ["America/New_York", "Europe/Paris", "Asia/Kolkata", "Australia/Lord_Howe"]


def as_utc(naive):
    return naive.replace(tzinfo=UTC)


def naive_utc(aware):
    return aware.astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def tzcoll(client):
    c = client.aggexpr.tz
    c.drop()
    # Every 29 hours through 2021 and into 2022: both DST changes of every zone above.
    start = datetime.datetime(2021, 1, 1, 0, 17)
    c.insert_many([{"_id": i, "d": start + datetime.timedelta(hours=29 * i, seconds=i)} for i in range(330)])
    return c


def test_olson_zones_to_string_and_parts(tzcoll):
    spec = {"d": 1}
    for k, z in enumerate(ZONES):
        spec[f"s{k}"] = {"$dateToString": {"date": "$d", "format": "%Y-%m-%dT%H:%M:%S %z %Z", "timezone": z}}
        spec[f"h{k}"] = {"$hour": {"date": "$d", "timezone": z}}
        spec[f"dow{k}"] = {"$dayOfWeek": {"date": "$d", "timezone": z}}
    out = list(tzcoll.aggregate([{"$sort": {"_id": 1}}, {"$project": spec}]))
    assert len(out) == 330
    offsets_seen = {z: set() for z in ZONES}
    for doc in out:
        for k, z in enumerate(ZONES):
            local = as_utc(doc["d"]).astimezone(ZoneInfo(z))
            off = int(local.utcoffset().total_seconds()) // 60
            offsets_seen[z].add(off)
            want = local.strftime("%Y-%m-%dT%H:%M:%S %z") + f" {off}"
            assert doc[f"s{k}"] == want, (doc["d"], z)
            assert doc[f"h{k}"] == local.hour
            assert doc[f"dow{k}"] == local.isoweekday() % 7 + 1
    # The data crosses DST changes: New York, Paris and Lord Howe show two offsets, Kolkata one.
    assert offsets_seen["America/New_York"] == {-300, -240}
    assert offsets_seen["Europe/Paris"] == {60, 120}
    assert offsets_seen["Australia/Lord_Howe"] == {630, 660}
    assert offsets_seen["Asia/Kolkata"] == {330}


def test_date_trunc_by_day_across_dst(tzcoll):
    ny = ZoneInfo("America/New_York")
    out = list(tzcoll.aggregate([
        {"$sort": {"_id": 1}},
        {"$project": {"d": 1, "t": {"$dateTrunc": {"date": "$d", "unit": "day", "timezone": "America/New_York"}},
                      "w": {"$dateTrunc": {"date": "$d", "unit": "week", "timezone": "Europe/Paris",
                                           "startOfWeek": "monday"}}}},
    ]))
    day_lengths = set()
    for doc in out:
        local = as_utc(doc["d"]).astimezone(ny)
        midnight = datetime.datetime(local.year, local.month, local.day, tzinfo=ny)
        assert doc["t"] == naive_utc(midnight), doc["d"]
        nxt = datetime.datetime.combine(midnight.date() + datetime.timedelta(days=1), datetime.time(), ny)
        day_lengths.add((nxt.astimezone(UTC) - midnight.astimezone(UTC)).total_seconds() / 3600)
        pl = as_utc(doc["d"]).astimezone(ZoneInfo("Europe/Paris"))
        monday = pl.date() - datetime.timedelta(days=pl.weekday())
        assert doc["w"] == naive_utc(datetime.datetime.combine(monday, datetime.time(), ZoneInfo("Europe/Paris")))
    assert {23.0, 24.0, 25.0} <= day_lengths  # the truncated days include both DST changes


def test_date_add_and_diff_across_dst(client):
    c = client.aggexpr.tzadd
    c.drop()
    ny = ZoneInfo("America/New_York")
    starts = [datetime.datetime(2021, 3, 13, 12), datetime.datetime(2021, 11, 6, 12),
              datetime.datetime(2021, 3, 14, 6, 30), datetime.datetime(2021, 7, 4, 3)]
    c.insert_many([{"_id": i, "d": d} for i, d in enumerate(starts)])
    out = list(c.aggregate([{"$sort": {"_id": 1}}, {"$project": {
        "day": {"$dateAdd": {"startDate": "$d", "unit": "day", "amount": 1, "timezone": "America/New_York"}},
        "h24": {"$dateAdd": {"startDate": "$d", "unit": "hour", "amount": 24, "timezone": "America/New_York"}},
        "mon": {"$dateSubtract": {"startDate": "$d", "unit": "month", "amount": 4, "timezone": "America/New_York"}},
        "dd": {"$dateDiff": {"startDate": "$d", "endDate": {"$add": ["$d", 86400000]}, "unit": "day",
                             "timezone": "America/New_York"}},
    }}]))
    for d, doc in zip(starts, out):
        local = as_utc(d).astimezone(ny)
        # Python's aware arithmetic within one zone moves the wall clock, as MongoDB does for days.
        want_day = naive_utc(local + datetime.timedelta(days=1))
        assert doc["day"] == want_day, d
        assert doc["h24"] == d + datetime.timedelta(hours=24)
        m = local.month - 4
        y = local.year + (m - 1) // 12
        m = (m - 1) % 12 + 1
        assert doc["mon"] == naive_utc(local.replace(year=y, month=m)), d
        end_local = as_utc(d + datetime.timedelta(days=1)).astimezone(ny)
        assert doc["dd"] == (end_local.date() - local.date()).days
    # Across the spring change one local day is 23 hours, across the fall change 25.
    assert out[0]["day"] - starts[0] == datetime.timedelta(hours=23)
    assert out[1]["day"] - starts[1] == datetime.timedelta(hours=25)


def test_date_from_parts_and_string_with_zones(client):
    c = client.aggexpr.tzone
    c.drop()
    c.insert_one({"_id": 1})
    out = list(c.aggregate([
        {"$limit": 1},
        {"$project": {"_id": 0,
                      "p": {"$dateFromParts": {"year": 2021, "month": 7, "day": 1, "hour": 14, "minute": 5,
                                               "timezone": "Europe/Paris"}},
                      "w": {"$dateFromParts": {"year": 2021, "month": 12, "day": 24, "hour": 9,
                                               "timezone": "America/New_York"}},
                      "lh": {"$dateFromParts": {"year": 2021, "month": 12, "day": 24, "hour": 9,
                                                "timezone": "Australia/Lord_Howe"}},
                      "s": {"$dateFromString": {"dateString": "2021-07-01 08:00:00",
                                                "timezone": "America/New_York"}},
                      "parts": {"$dateToParts": {"date": {"$dateFromString": {"dateString": "2021-07-01T12:00:00Z"}},
                                                 "timezone": "Asia/Kolkata"}}}},
    ]))
    assert len(out) == 1
    doc = out[0]
    assert doc["p"] == naive_utc(datetime.datetime(2021, 7, 1, 14, 5, tzinfo=ZoneInfo("Europe/Paris")))
    assert doc["w"] == naive_utc(datetime.datetime(2021, 12, 24, 9, tzinfo=ZoneInfo("America/New_York")))
    assert doc["lh"] == naive_utc(datetime.datetime(2021, 12, 24, 9, tzinfo=ZoneInfo("Australia/Lord_Howe")))
    assert doc["s"] == naive_utc(datetime.datetime(2021, 7, 1, 8, tzinfo=ZoneInfo("America/New_York")))
    assert doc["parts"] == {"year": 2021, "month": 7, "day": 1, "hour": 17, "minute": 30, "second": 0,
                            "millisecond": 0}


def test_unknown_time_zone_and_undefined_variable_codes(coll):
    for bad in ["Mars/Olympus", "Europe/Pariss", "../../etc/passwd", "/etc/localtime"]:
        with pytest.raises(OperationFailure) as e:
            project(coll, {"h": {"$hour": {"date": "$when", "timezone": bad}}})
        assert e.value.code == 40485
        assert f'unrecognized time zone identifier: "{bad}"' in str(e.value)
    with pytest.raises(OperationFailure) as e:
        project(coll, {"v": "$$nope"})
    assert e.value.code == 17276
    assert "Use of undefined variable: nope" in str(e.value)


def test_every_installed_zone_agrees_with_zoneinfo(client):
    """Offsets of every zone in the system tzdata at instants from 1901 to 2300 (the far ones from
    the POSIX footer rule), against Python's independent TZif reader."""
    import zoneinfo
    names = sorted(n for n in zoneinfo.available_timezones()
                   if not n.startswith(("posix/", "right/")) and n not in ("localtime", "posixrules")
                   and "." not in n)
    assert len(names) > 300
    c = client.aggexpr.tzall
    c.drop()
    instants = [datetime.datetime(1901, 1, 1) + datetime.timedelta(hours=15881 * i + 0.5) for i in range(220)]
    c.insert_many([{"_id": i, "d": d} for i, d in enumerate(instants)])
    for start in range(0, len(names), 40):
        chunk = names[start:start + 40]
        spec = {f"z{k}": {"$dateToString": {"date": "$d", "format": "%Y-%m-%d %H:%M %Z", "timezone": z}}
                for k, z in enumerate(chunk)}
        out = list(c.aggregate([{"$sort": {"_id": 1}}, {"$project": spec}]))
        assert len(out) == len(instants)
        for d, doc in zip(instants, out):
            for k, z in enumerate(chunk):
                local = as_utc(d).astimezone(ZoneInfo(z))
                off = int(local.utcoffset().total_seconds())
                want = local.strftime("%Y-%m-%d %H:%M") + f" {int(off / 60)}"
                assert doc[f"z{k}"] == want, (z, d)
