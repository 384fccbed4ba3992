"""$merge on fields other than _id, $merge with a whenMatched pipeline, $out/$merge refused in a
transaction, and $lookup/$unionWith reading a transaction's own writes, through pymongo against
the real server.

Every expected result is computed in Python from the inserted data, not copied from the server.
"""
import random

import pymongo
import pytest
from pymongo.errors import OperationFailure


@pytest.fixture
def db(client):
    return client.aggmerge


@pytest.fixture
def sales(db):
    rng = random.Random(11)
    rows = [{"_id": i, "day": f"d{rng.randint(0, 6)}", "store": rng.choice("xyz"), "qty": rng.randint(1, 9)}
            for i in range(120)]
    db.sales.insert_many(rows)
    return rows


def totals(rows):
    out = {}
    for r in rows:
        key = (r["day"], r["store"])
        out[key] = out.get(key, 0) + r["qty"]
    return out


GROUP_BY_DAY_STORE = [
    {"$group": {"_id": {"day": "$day", "store": "$store"}, "qty": {"$sum": "$qty"}}},
    {"$project": {"_id": 0, "day": "$_id.day", "store": "$_id.store", "qty": 1}},
]


def error_code(fn):
    with pytest.raises(OperationFailure) as e:
        fn()
    return e.value.code


def test_merge_on_compound_fields_inserts_then_updates_in_place(db, sales):
    db.daily.create_index([("store", 1), ("day", 1)], unique=True)
    want = totals(sales)
    db.sales.aggregate(GROUP_BY_DAY_STORE + [{"$merge": {"into": "daily", "on": ["day", "store"]}}])
    docs = list(db.daily.find())
    assert {(d["day"], d["store"]): d["qty"] for d in docs} == want
    ids = {(d["day"], d["store"]): d["_id"] for d in docs}
    assert len(set(ids.values())) == len(ids)  # each inserted document got its own _id

    # New sales, merged again: matched documents keep their _id and take the new totals.
    extra = [{"_id": 1000 + i, "day": "d0", "store": "x", "qty": 5} for i in range(3)]
    db.sales.insert_many(extra)
    db.daily.update_one({"day": "d1", "store": "y"}, {"$set": {"note": "kept"}})
    db.sales.aggregate(GROUP_BY_DAY_STORE + [{"$merge": {"into": "daily", "on": ["store", "day"],
                                                         "whenMatched": "merge"}}])
    want = totals(sales + extra)
    docs = list(db.daily.find())
    assert {(d["day"], d["store"]): d["qty"] for d in docs} == want
    assert {(d["day"], d["store"]): d["_id"] for d in docs} == ids
    noted = [d for d in docs if d.get("note")]
    if ("d1", "y") in want:
        assert [(d["day"], d["store"]) for d in noted] == [("d1", "y")]

    # whenMatched: replace drops fields the result does not carry, and still keeps the _id.
    db.sales.aggregate(GROUP_BY_DAY_STORE + [{"$merge": {"into": "daily", "on": ["day", "store"],
                                                         "whenMatched": "replace"}}])
    docs = list(db.daily.find())
    assert not any("note" in d for d in docs)
    assert {(d["day"], d["store"]): d["_id"] for d in docs} == ids


def test_merge_on_single_field_modes(db):
    db.src.insert_many([{"_id": i, "k": f"k{i}", "v": i * 10} for i in range(6)])
    db.dst.create_index("k", unique=True)
    db.dst.insert_many([{"_id": "a", "k": "k1", "v": -1, "old": True}, {"_id": "b", "k": "k4", "v": -4}])
    # The result's _id differs from the matched document's: MongoDB's ImmutableField.
    code = error_code(lambda: db.src.aggregate([{"$merge": {"into": "dst", "on": "k", "whenMatched": "replace"}}]))
    assert code == 66
    # Without _id in the results: replace keeps the target's _id, inserts get new ones.
    db.src.aggregate([{"$project": {"_id": 0}},
                      {"$merge": {"into": "dst", "on": "k", "whenMatched": "replace", "whenNotMatched": "insert"}}])
    got = {d["k"]: d for d in db.dst.find()}
    assert got["k1"] == {"_id": "a", "k": "k1", "v": 10}
    assert got["k4"] == {"_id": "b", "k": "k4", "v": 40}
    assert sorted(got) == [f"k{i}" for i in range(6)]
    # keepExisting leaves matches alone; discard drops non-matches.
    db.src.insert_one({"_id": 99, "k": "k99", "v": 990})
    db.src.aggregate([{"$project": {"_id": 0, "k": 1, "v": {"$add": ["$v", 1]}}},
                      {"$merge": {"into": "dst", "on": "k", "whenMatched": "keepExisting"}}])
    got = {d["k"]: d["v"] for d in db.dst.find()}
    assert got == {**{f"k{i}": i * 10 for i in range(6)}, "k99": 991}
    db.src.aggregate([{"$project": {"_id": 0, "k": 1, "v": {"$literal": 7}}},
                      {"$merge": {"into": "dst", "on": "k", "whenMatched": "merge", "whenNotMatched": "discard"}}])
    assert {d["k"]: d["v"] for d in db.dst.find()} == {k: 7 for k in got}
    # whenMatched: fail on a match is the duplicate key on the `on` index.
    code = error_code(lambda: db.src.aggregate([{"$match": {"_id": 2}}, {"$project": {"_id": 0}},
                                               {"$merge": {"into": "dst", "on": "k", "whenMatched": "fail"}}]))
    assert code == 11000
    # whenNotMatched: fail when nothing matches.
    code = error_code(lambda: db.src.aggregate([{"$project": {"_id": 0, "k": "nope"}},
                                               {"$merge": {"into": "dst", "on": "k", "whenNotMatched": "fail"}}]))
    assert code == 13113


def test_merge_on_requires_a_unique_index_and_usable_values(db):
    db.src.insert_many([{"_id": 1, "k": 1, "arr": [1, 2], "n": None}])
    db.dst.create_index("k")  # not unique
    db.dst.create_index("u", unique=True, partialFilterExpression={"u": {"$gt": 0}})
    db.dst.create_index([("k", 1), ("u", 1)], unique=True)  # unique, but over more fields
    for on in ("k", "u", ["u"], ["k", "z"]):
        assert error_code(lambda: db.src.aggregate([{"$merge": {"into": "dst", "on": on}}])) == 51183, on
    # A target that does not exist has only the _id index to offer.
    assert error_code(lambda: db.src.aggregate([{"$merge": {"into": "absent", "on": "k"}}])) == 51183
    db.src.aggregate([{"$merge": {"into": "absent2", "on": "_id"}}])
    assert list(db.absent2.find()) == [{"_id": 1, "k": 1, "arr": [1, 2], "n": None}]
    assert db.dst.count_documents({}) == 0  # nothing written by the refused stages
    db.dst.create_index("arr", unique=True)
    db.dst.create_index("n", unique=True)
    db.dst.create_index("missing", unique=True)
    assert error_code(lambda: db.src.aggregate([{"$merge": {"into": "dst", "on": "arr"}}])) == 51185
    assert error_code(lambda: db.src.aggregate([{"$merge": {"into": "dst", "on": "n"}}])) == 51132
    assert error_code(lambda: db.src.aggregate([{"$merge": {"into": "dst", "on": "missing"}}])) == 51132


def test_merge_spec_errors(db):
    db.src.insert_one({"_id": 1})
    cases = [
        ({"into": "t", "on": 5}, 51186),
        ({"into": "t", "on": [1]}, 51134),
        ({"into": "t", "on": []}, 51187),
        ({"into": "t", "on": ["a", "a"]}, 2),
        ({"into": "t", "whenMatched": 3}, 51191),
        ({"into": "t", "whenMatched": "pipeline"}, 2),
        ({"into": "t", "whenMatched": "keepExisting", "whenNotMatched": "discard"}, 51181),
        ({"into": "t", "whenMatched": "fail", "whenNotMatched": "fail"}, 51181),
        ({"into": "t", "whenMatched": "merge", "let": {"x": 1}}, 51199),
        ({"into": "t", "whenMatched": [{"$set": {"a": 1}}], "let": {"new": "$a"}}, 51273),
        ({"into": "t", "whenMatched": [{"$set": {"a": 1}}], "let": 1}, 14),
        ({"into": "t", "whenMatched": [{"$match": {}}]}, 72),
    ]
    for spec, want in cases:
        assert error_code(lambda: db.src.aggregate([{"$merge": spec}])) == want, spec
    assert "t" not in db.list_collection_names()


def test_merge_when_matched_pipeline_with_new_and_let(db):
    db.counts.insert_many([{"_id": "a", "n": 1, "seen": 1}, {"_id": "b", "n": 5, "seen": 2}])
    db.events.insert_many([{"_id": "a", "n": 3}, {"_id": "b", "n": 4}, {"_id": "c", "n": 9}])
    # Default let: $$new is the result document; $field is the existing target document.
    db.events.aggregate([{"$merge": {"into": "counts", "whenMatched": [
        {"$set": {"n": {"$add": ["$n", "$$new.n"]}, "seen": {"$add": ["$seen", 1]}}}]}}])
    assert sorted(db.counts.find(), key=lambda d: d["_id"]) == [
        {"_id": "a", "n": 4, "seen": 2}, {"_id": "b", "n": 9, "seen": 3}, {"_id": "c", "n": 9}]
    # Explicit let (expressions over the result document), the aggregate's own let, $unset,
    # and whenNotMatched: discard.
    db.events.aggregate([{"$merge": {"into": "counts", "let": {"inc": {"$multiply": ["$n", 10]}},
                                     "whenMatched": [{"$set": {"n": {"$add": ["$n", "$$inc", "$$base"]}}},
                                                     {"$unset": "seen"}],
                                     "whenNotMatched": "discard"}}],
                         let={"base": 1000})
    assert sorted(db.counts.find(), key=lambda d: d["_id"]) == [
        {"_id": "a", "n": 4 + 30 + 1000}, {"_id": "b", "n": 9 + 40 + 1000}, {"_id": "c", "n": 9 + 90 + 1000}]
    # $replaceWith in the pipeline, matching on another field.
    db.byname.create_index("name", unique=True)
    db.byname.insert_one({"_id": 7, "name": "a", "hits": 2})
    db.events.aggregate([{"$project": {"_id": 0, "name": "$_id", "n": 1}},
                         {"$merge": {"into": "byname", "on": "name", "whenMatched": [
                             {"$replaceWith": {"$mergeObjects": ["$$ROOT", {"hits": {"$add": ["$hits", "$$new.n"]}}]}}]}}])
    got = {d["name"]: d for d in db.byname.find()}
    assert got["a"] == {"_id": 7, "name": "a", "hits": 5}
    assert {k: v["n"] for k, v in got.items() if k != "a"} == {"b": 4, "c": 9}
    # A pipeline that would change _id: ImmutableField.
    code = error_code(lambda: db.events.aggregate([{"$merge": {"into": "counts", "whenMatched": [
        {"$set": {"_id": "changed"}}]}}]))
    assert code == 66
    # whenNotMatched: fail with a pipeline.
    code = error_code(lambda: db.events.aggregate([{"$project": {"_id": "zz"}},
                                                   {"$merge": {"into": "counts", "whenMatched": [{"$set": {"x": 1}}],
                                                               "whenNotMatched": "fail"}}]))
    assert code == 13113


def test_out_and_merge_are_refused_in_a_transaction(client, db):
    db.src.insert_one({"_id": 1})
    db.create_collection("dst")
    with client.start_session() as s:
        for last in ({"$out": "dst"}, {"$merge": {"into": "dst"}}):
            s.start_transaction()
            with pytest.raises(OperationFailure) as e:
                list(db.src.aggregate([{"$match": {}}, last], session=s))
            assert e.value.code == 263, last
            if s.in_transaction:
                s.abort_transaction()
    assert db.dst.count_documents({}) == 0


def test_lookup_and_union_with_see_the_transactions_own_writes(client, db):
    db.orders.insert_many([{"_id": i, "item": f"i{i % 3}"} for i in range(6)])
    db.items.insert_many([{"_id": "i0", "price": 1}, {"_id": "i1", "price": 2}])
    db.extra.insert_one({"_id": "e0"})
    other = pymongo.MongoClient("127.0.0.1", client.address[1], serverSelectionTimeoutMS=5000)
    lookup = [{"$lookup": {"from": "items", "localField": "item", "foreignField": "_id", "as": "it"}},
              {"$project": {"n": {"$size": "$it"}}}, {"$sort": {"_id": 1}}]
    lookup_pipeline = [{"$lookup": {"from": "items", "let": {"i": "$item"},
                                    "pipeline": [{"$match": {"$expr": {"$eq": ["$_id", "$$i"]}}}], "as": "it"}},
                       {"$project": {"n": {"$size": "$it"}}}, {"$sort": {"_id": 1}}]
    union = [{"$project": {"_id": 1}}, {"$unionWith": "extra"}, {"$sort": {"_id": 1}}]
    try:
        with client.start_session() as s:
            s.start_transaction()
            db.items.insert_one({"_id": "i2", "price": 3}, session=s)
            db.items.delete_one({"_id": "i0"}, session=s)
            db.extra.insert_one({"_id": "e1"}, session=s)
            want_in = [{"_id": i, "n": 0 if i % 3 == 0 else 1} for i in range(6)]
            want_out = [{"_id": i, "n": 0 if i % 3 == 2 else 1} for i in range(6)]
            assert list(db.orders.aggregate(lookup, session=s)) == want_in
            assert list(db.orders.aggregate(lookup_pipeline, session=s)) == want_in
            assert list(db.orders.aggregate(union, session=s)) == [{"_id": i} for i in range(6)] + [
                {"_id": "e0"}, {"_id": "e1"}]
            # A reader outside the transaction sees none of it.
            odb = other.aggmerge
            assert list(odb.orders.aggregate(lookup)) == want_out
            assert list(odb.orders.aggregate(lookup_pipeline)) == want_out
            assert list(odb.orders.aggregate(union)) == [{"_id": i} for i in range(6)] + [{"_id": "e0"}]
            s.commit_transaction()
        assert list(other.aggmerge.orders.aggregate(lookup)) == want_in
    finally:
        other.close()


def test_lookup_in_an_aborted_transaction_leaves_nothing_behind(client, db):
    db.orders.insert_many([{"_id": i, "item": "x"} for i in range(3)])
    db.create_collection("items")  # no DDL inside the transaction
    with client.start_session() as s:
        s.start_transaction()
        db.items.insert_one({"_id": "x"}, session=s)
        got = list(db.orders.aggregate([{"$lookup": {"from": "items", "localField": "item", "foreignField": "_id",
                                                     "as": "it"}}], session=s))
        assert [len(d["it"]) for d in got] == [1, 1, 1]
        s.abort_transaction()
    got = list(db.orders.aggregate([{"$lookup": {"from": "items", "localField": "item", "foreignField": "_id",
                                                 "as": "it"}}]))
    assert [len(d["it"]) for d in got] == [0, 0, 0]


def test_out_keeps_the_targets_options_indexes_and_their_constraints(db):
    db.src.insert_many([{"_id": i, "email": f"u{i}@x", "age": 20 + i} for i in range(5)])
    db.create_collection("people", validator={"email": {"$type": "string"}})
    db.people.insert_one({"_id": "old", "email": "old@x"})
    db.people.create_index("email", unique=True, name="email_u")
    db.people.create_index([("age", -1)], name="age_desc")
    db.src.aggregate([{"$out": "people"}])
    idx = {i["name"]: i for i in db.people.list_indexes()}
    assert set(idx) == {"_id_", "email_u", "age_desc"}
    assert idx["email_u"].get("unique") is True and dict(idx["age_desc"]["key"]) == {"age": -1}
    assert sorted(d["_id"] for d in db.people.find()) == list(range(5))
    assert db.people.options().get("validator") == {"email": {"$type": "string"}}
    # The unique index still holds: results with a duplicate email fail and the target stays.
    with pytest.raises(OperationFailure) as e:
        db.src.aggregate([{"$project": {"email": "same@x"}}, {"$out": "people"}])
    assert e.value.code == 11000
    assert sorted(d["_id"] for d in db.people.find()) == list(range(5))
    assert not any(n.startswith("tmp.agg_out") for n in db.list_collection_names())
    # The index serves queries on the new contents.
    plan = db.people.find({"email": "u3@x"}).explain()["queryPlanner"]["winningPlan"]
    assert "email_u" in str(plan)
    assert db.people.find_one({"email": "u3@x"})["_id"] == 3


def test_lookup_batches_join_against_one_snapshot(db):
    db.orders.insert_many([{"_id": i, "item": "x"} for i in range(10)])
    db.items.insert_one({"k": "x"})
    pipeline = [{"$lookup": {"from": "items", "localField": "item", "foreignField": "k", "as": "it"}},
                {"$project": {"n": {"$size": "$it"}}}]
    union = [{"$project": {"_id": 1}}, {"$unionWith": "items"}, {"$count": "n"}]
    cur = db.orders.aggregate(pipeline, batchSize=2)
    first = [next(cur)["n"] for _ in range(2)]
    db.items.insert_one({"k": "x"})  # committed while the cursor is open
    rest = [d["n"] for d in cur]
    assert first + rest == [1] * 10  # later batches still join against the first state
    assert [d["n"] for d in db.orders.aggregate(pipeline)] == [2] * 10  # a new command sees it
    assert list(db.orders.aggregate(union)) == [{"n": 12}]


def test_merge_keeps_the_writes_before_a_failing_result(db):
    db.src.insert_many([{"_id": i, "k": f"k{i}"} for i in range(600)])
    db.dst.insert_one({"_id": 450, "k": "taken"})
    with pytest.raises(OperationFailure) as e:
        db.src.aggregate([{"$sort": {"_id": 1}}, {"$merge": {"into": "dst", "whenMatched": "fail"}}])
    assert e.value.code == 11000
    assert "$merge with whenMatched: fail found an existing document" in str(e.value)
    # MongoDB does not revert the results written before the failing one; nothing after it.
    assert sorted(d["_id"] for d in db.dst.find()) == list(range(451))
    assert db.dst.find_one({"_id": 450}) == {"_id": 450, "k": "taken"}
    # The same for a result whose `on` value is unusable.
    db.dst2.create_index("k", unique=True)
    db.src.update_one({"_id": 300}, {"$unset": {"k": 1}})
    with pytest.raises(OperationFailure) as e:
        db.src.aggregate([{"$sort": {"_id": 1}}, {"$project": {"_id": 0}}, {"$merge": {"into": "dst2", "on": "k"}}])
    assert e.value.code == 51132
    assert sorted(int(d["k"][1:]) for d in db.dst2.find()) == list(range(300))


def test_merge_results_sharing_an_on_value_apply_in_order(db):
    db.src.insert_many([{"_id": 1, "k": "a", "x": 1}, {"_id": 2, "k": "a", "y": 2}, {"_id": 3, "k": "b"}])
    db.dst.create_index("k", unique=True)
    db.src.aggregate([{"$sort": {"_id": 1}}, {"$project": {"_id": 0}}, {"$merge": {"into": "dst", "on": "k"}}])
    assert sorted((d["k"], d.get("x"), d.get("y")) for d in db.dst.find()) == [("a", 1, 2), ("b", None, None)]
    db.src.aggregate([{"$sort": {"_id": 1}}, {"$merge": {"into": "byid", "whenMatched": [
        {"$set": {"n": {"$add": [{"$ifNull": ["$n", 1]}, 1]}}}]}},
    ])
    db.src.aggregate([{"$sort": {"_id": 1}}, {"$project": {"_id": {"$literal": 7}}},
                      {"$merge": {"into": "byid", "whenMatched": [{"$set": {"n": {"$add": [{"$ifNull": ["$n", 0]}, 1]}}}]}}])
    assert db.byid.find_one({"_id": 7}) == {"_id": 7, "n": 2}  # inserted once, then updated twice


def test_lookup_in_a_transaction_pages_through_getmore(client, db):
    db.orders.insert_many([{"_id": i, "item": "x"} for i in range(7)])
    db.create_collection("items")
    pipeline = [{"$lookup": {"from": "items", "localField": "item", "foreignField": "k", "as": "it"}},
                {"$project": {"n": {"$size": "$it"}}}]
    with client.start_session() as s:
        s.start_transaction()
        db.items.insert_many([{"k": "x"}, {"k": "x"}], session=s)
        got = [d["n"] for d in db.orders.aggregate(pipeline, session=s, batchSize=2)]
        assert got == [2] * 7  # every batch, getMores included, reads through the transaction
        s.commit_transaction()
    assert [d["n"] for d in db.orders.aggregate(pipeline)] == [2] * 7
