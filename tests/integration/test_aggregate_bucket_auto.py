"""$bucketAuto with granularity: the MongoDB manual's "Comparing Different Granularities" table
(groupBy over the values 0..99, 5 buckets) and the errors, through pymongo."""
import pymongo
import pytest
from pymongo.errors import OperationFailure


@pytest.fixture
def db(amalgamd):
    c = pymongo.MongoClient("127.0.0.1", amalgamd.ports["mongo"], serverSelectionTimeoutMS=5000)
    yield c.bucketauto
    c.close()


# (granularity, [(min, max, count), ...]) as the manual lists them.
MANUAL_TABLE = [
    (None, [(0, 20, 20), (20, 40, 20), (40, 60, 20), (60, 80, 20), (80, 99, 20)]),
    ("R20", [(0, 20, 20), (20, 40, 20), (40, 63, 23), (63, 90, 27), (90, 100, 10)]),
    ("E24", [(0, 20, 20), (20, 43, 23), (43, 68, 25), (68, 91, 23), (91, 100, 9)]),
    ("1-2-5", [(0, 20, 20), (20, 50, 30), (50, 100, 50)]),
    ("POWERSOF2", [(0, 32, 32), (32, 64, 32), (64, 128, 36)]),
]


@pytest.mark.parametrize("granularity,want", MANUAL_TABLE)
def test_granularity_matches_the_manuals_table(db, granularity, want):
    db.things.drop()
    db.things.insert_many([{"_id": i} for i in range(100)])
    spec = {"groupBy": "$_id", "buckets": 5}
    if granularity:
        spec["granularity"] = granularity
    got = list(db.things.aggregate([{"$bucketAuto": spec}]))
    assert [(d["_id"]["min"], d["_id"]["max"], d["count"]) for d in got] == [
        (pytest.approx(lo), pytest.approx(hi), n) for lo, hi, n in want]
    # Boundaries chain: each bucket starts where the previous one ends.
    assert all(got[k]["_id"]["min"] == got[k - 1]["_id"]["max"] for k in range(1, len(got)))


def test_granularity_scales_by_powers_of_ten_and_keeps_accumulators(db):
    values = [0.012, 0.3, 0.45, 7, 12, 130, 2700, 2701]
    db.small.insert_many([{"v": v} for v in values])
    got = list(db.small.aggregate([{"$bucketAuto": {"groupBy": "$v", "buckets": 4, "granularity": "E6",
                                                    "output": {"n": {"$sum": 1}, "vs": {"$push": "$v"}}}}]))
    # Every document lands in exactly one bucket, in order, inside [min, max).
    assert [v for d in got for v in d["vs"]] == values
    assert sum(d["n"] for d in got) == len(values)
    e6 = [1.0, 1.5, 2.2, 3.3, 4.7, 6.8]
    for d in got:
        lo, hi = d["_id"]["min"], d["_id"]["max"]
        assert all(lo <= v < hi for v in d["vs"])
        for bound in (lo, hi):  # each boundary is an E6 value times a power of ten
            if bound:
                mantissa = bound
                while mantissa >= 10:
                    mantissa /= 10
                while mantissa < 1:
                    mantissa *= 10
                assert any(abs(mantissa - s) < 1e-9 for s in e6), bound


def test_granularity_errors(db):
    db.mixed.insert_many([{"v": 1}, {"v": "x"}])
    db.neg.insert_many([{"v": 1}, {"v": -2}])
    cases = [
        (db.mixed, {"groupBy": "$v", "buckets": 2, "granularity": "R5"}, 40258),
        (db.neg, {"groupBy": "$v", "buckets": 2, "granularity": "R5"}, 40260),
        (db.neg, {"groupBy": "$v", "buckets": 2, "granularity": "R7"}, 40257),
        (db.neg, {"groupBy": "$v", "buckets": 2, "granularity": 5}, 40261),
    ]
    for coll, spec, code in cases:
        with pytest.raises(OperationFailure) as e:
            list(coll.aggregate([{"$bucketAuto": spec}]))
        assert e.value.code == code, spec
