"""Writes and reads whose filter pins the _id (the _id fast path of update, delete, findAndModify
and find: candidates read under their lock without planning a snapshot read first). Every case
is checked against what the documents are known to hold."""
import threading

import pymongo
import pytest
from bson import Int64, ObjectId
from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure


@pytest.fixture
def coll(client):
    c = client.idw.docs
    c.insert_many([
        {"_id": 1, "v": 10, "tag": "a"},
        {"_id": 2, "v": 20, "tag": "b"},
        {"_id": {"k": 1, "s": "x"}, "v": 30, "tag": "nested"},
        {"_id": "str", "v": 40, "arr": [{"x": 1}, {"x": 5}]},
        {"_id": 5.5, "v": 50},
        {"_id": None, "v": 60},
    ])
    return c


def test_update_by_plain_eq_and_dollar_eq(coll):
    r = coll.update_one({"_id": 1}, {"$inc": {"v": 1}})
    assert (r.matched_count, r.modified_count) == (1, 1)
    r = coll.update_one({"_id": {"$eq": 2}}, {"$inc": {"v": 2}})
    assert (r.matched_count, r.modified_count) == (1, 1)
    assert coll.find_one({"_id": 1})["v"] == 11
    assert coll.find_one({"_id": 2})["v"] == 22


def test_numeric_id_matches_across_number_types(coll):
    r = coll.update_one({"_id": 1.0}, {"$set": {"t": "double"}})
    assert r.matched_count == 1
    r = coll.update_one({"_id": Int64(2)}, {"$set": {"t": "long"}})
    assert r.matched_count == 1
    assert coll.find_one({"_id": 1})["t"] == "double"
    assert coll.find_one({"_id": 2.0})["t"] == "long"


def test_nested_document_id(coll):
    r = coll.update_one({"_id": {"k": 1, "s": "x"}}, {"$set": {"hit": True}})
    assert (r.matched_count, r.modified_count) == (1, 1)
    # Field order matters for document equality: no match, nothing changed.
    r = coll.update_one({"_id": {"s": "x", "k": 1}}, {"$set": {"hit": False}})
    assert r.matched_count == 0
    assert coll.find_one({"_id": {"k": 1, "s": "x"}})["hit"] is True
    assert coll.find_one({"_id": {"s": "x", "k": 1}}) is None
    # A dotted path into the _id is not an _id equality and still works.
    assert coll.update_one({"_id.k": 1}, {"$inc": {"v": 1}}).matched_count == 1
    assert coll.find_one({"_id.s": "x"})["v"] == 31


def test_null_id(coll):
    assert coll.update_one({"_id": None}, {"$inc": {"v": 1}}).matched_count == 1
    assert coll.find_one({"_id": None})["v"] == 61


def test_id_with_other_predicates(coll):
    # _id matches but the other predicate does not: nothing changes.
    r = coll.update_one({"_id": 1, "tag": "b"}, {"$set": {"v": 0}})
    assert (r.matched_count, r.modified_count) == (0, 0)
    assert coll.find_one({"_id": 1})["v"] == 10
    r = coll.update_one({"_id": 1, "tag": "a"}, {"$set": {"v": 0}})
    assert (r.matched_count, r.modified_count) == (1, 1)
    r = coll.update_one({"$and": [{"_id": 2}, {"v": {"$gt": 100}}]}, {"$set": {"v": 0}})
    assert r.matched_count == 0
    assert coll.delete_one({"_id": 2, "tag": "zzz"}).deleted_count == 0
    assert coll.find_one_and_update({"_id": 2, "tag": "zzz"}, {"$set": {"v": 0}}) is None
    assert coll.find_one({"_id": 2})["v"] == 20


def test_unchanged_update_counts_match_not_modify(coll):
    r = coll.update_one({"_id": 1}, {"$set": {"v": 10}})
    assert (r.matched_count, r.modified_count) == (1, 0)


def test_not_found_without_and_with_upsert(coll):
    r = coll.update_one({"_id": 99}, {"$set": {"v": 1}})
    assert (r.matched_count, r.modified_count, r.upserted_id) == (0, 0, None)
    assert coll.find_one({"_id": 99}) is None
    r = coll.update_one({"_id": 99}, {"$set": {"v": 1}, "$setOnInsert": {"new": True}}, upsert=True)
    assert (r.matched_count, r.upserted_id) == (0, 99)
    assert coll.find_one({"_id": 99}) == {"_id": 99, "v": 1, "new": True}
    # Now it exists: the same upsert updates it, $setOnInsert does not apply.
    r = coll.update_one({"_id": 99}, {"$set": {"v": 2}, "$setOnInsert": {"new": False}}, upsert=True)
    assert (r.matched_count, r.modified_count, r.upserted_id) == (1, 1, None)
    assert coll.find_one({"_id": 99}) == {"_id": 99, "v": 2, "new": True}
    # Replacement upsert with {_id: {$eq: X}} seeds the _id from the query.
    r = coll.replace_one({"_id": {"$eq": 100}}, {"v": 7}, upsert=True)
    assert r.upserted_id == 100
    assert coll.find_one({"_id": 100}) == {"_id": 100, "v": 7}


def test_upsert_when_id_exists_but_other_predicate_fails_is_duplicate_key(coll):
    with pytest.raises(DuplicateKeyError):
        coll.update_one({"_id": 1, "tag": "other"}, {"$set": {"v": 0}}, upsert=True)
    assert coll.find_one({"_id": 1}) == {"_id": 1, "v": 10, "tag": "a"}


def test_multi_with_id_equality_and_in(coll):
    r = coll.update_many({"_id": 1}, {"$inc": {"v": 5}})
    assert (r.matched_count, r.modified_count) == (1, 1)
    r = coll.update_many({"_id": {"$in": [1, 2, 77]}}, {"$inc": {"v": 1}})
    assert (r.matched_count, r.modified_count) == (2, 2)
    assert [d["v"] for d in coll.find({"_id": {"$in": [1, 2]}}).sort("_id", 1)] == [16, 21]
    # update_one over an $in picks one document only.
    r = coll.update_one({"_id": {"$in": [77, 2, 1]}}, {"$inc": {"v": 100}})
    assert r.matched_count == 1
    assert sorted(d["v"] for d in coll.find({"_id": {"$in": [1, 2]}})) in ([16, 121], [21, 116])
    # $in with a further predicate that only the second candidate satisfies.
    r = coll.update_one({"_id": {"$in": [1, 2]}, "tag": "b"}, {"$set": {"picked": True}})
    assert r.matched_count == 1
    assert coll.find_one({"_id": 2})["picked"] is True
    assert "picked" not in coll.find_one({"_id": 1})


def test_array_filters_and_positional_with_id(coll):
    r = coll.update_one({"_id": "str"}, {"$set": {"arr.$[e].x": 0}}, array_filters=[{"e.x": {"$gt": 2}}])
    assert r.modified_count == 1
    assert coll.find_one({"_id": "str"})["arr"] == [{"x": 1}, {"x": 0}]
    r = coll.update_one({"_id": "str", "arr.x": 1}, {"$set": {"arr.$.x": 9}})
    assert r.modified_count == 1
    assert coll.find_one({"_id": "str"})["arr"] == [{"x": 9}, {"x": 0}]


def test_hint_still_checked_with_id_filter(coll):
    with pytest.raises(OperationFailure) as e:
        coll.update_one({"_id": 1}, {"$set": {"v": 0}}, hint="no_such_index")
    assert e.value.code == 2
    assert coll.update_one({"_id": 1}, {"$set": {"v": 3}}, hint="_id_").modified_count == 1
    assert coll.find_one({"_id": 1})["v"] == 3


def test_immutable_id_error_and_write_errors_in_bulk(coll):
    with pytest.raises(OperationFailure) as e:
        coll.update_one({"_id": 1}, {"$set": {"_id": 2}})
    assert e.value.code == 66
    with pytest.raises(BulkWriteError) as e:
        coll.bulk_write([UpdateOne({"_id": 1}, {"$inc": {"v": 1}}),
                         UpdateOne({"_id": 2}, {"$inc": {"tag": 1}}),  # $inc on a string
                         UpdateOne({"_id": 5.5}, {"$inc": {"v": 1}})], ordered=False)
    details = e.value.details
    assert [(w["index"], w["code"]) for w in details["writeErrors"]] == [(1, 14)]
    assert details["nMatched"] == 2 and details["nModified"] == 2
    assert coll.find_one({"_id": 1})["v"] == 11 and coll.find_one({"_id": 5.5})["v"] == 51


def test_delete_by_id(coll):
    assert coll.delete_one({"_id": 99}).deleted_count == 0
    assert coll.delete_one({"_id": {"$eq": 1}}).deleted_count == 1
    assert coll.delete_many({"_id": {"$in": [2, 5.5, 1000]}}).deleted_count == 2
    assert coll.delete_one({"_id": {"k": 1, "s": "x"}}).deleted_count == 1
    assert sorted(map(str, coll.distinct("_id"))) == ["None", "str"]


def test_find_and_modify_by_id(coll):
    before = coll.find_one_and_update({"_id": 1}, {"$inc": {"v": 1}})
    assert before == {"_id": 1, "v": 10, "tag": "a"}
    after = coll.find_one_and_update({"_id": {"$eq": 1}}, {"$inc": {"v": 1}}, return_document=ReturnDocument.AFTER,
                                     projection={"v": 1, "_id": 0})
    assert after == {"v": 12}
    assert coll.find_one_and_update({"_id": 404}, {"$set": {"v": 1}}) is None
    up = coll.find_one_and_update({"_id": 404}, {"$set": {"v": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
    assert up == {"_id": 404, "v": 1}
    gone = coll.find_one_and_delete({"_id": {"k": 1, "s": "x"}})
    assert gone["v"] == 30 and coll.find_one({"_id": {"k": 1, "s": "x"}}) is None
    # Several candidates with a sort: the first in sort order, not in _id order.
    got = coll.find_one_and_update({"_id": {"$in": [1, 2]}}, {"$set": {"s": 1}}, sort=[("v", -1)])
    assert got["_id"] == 2
    # Several candidates without a sort: the first in _id order that matches.
    got = coll.find_one_and_update({"_id": {"$in": [2, 1]}, "tag": {"$in": ["a", "b"]}}, {"$set": {"u": 1}})
    assert got["_id"] == 1
    raw = coll.database.command("findAndModify", "docs", query={"_id": 1}, update={"$set": {"w": 1}}, new=True)
    assert raw["lastErrorObject"] == {"n": 1, "updatedExisting": True}
    assert raw["value"]["w"] == 1


def test_find_by_id_shapes(coll):
    assert coll.find_one({"_id": 1}) == {"_id": 1, "v": 10, "tag": "a"}
    assert coll.find_one({"_id": {"$eq": 2}})["v"] == 20
    assert coll.find_one({"_id": {"k": 1, "s": "x"}})["v"] == 30
    assert coll.find_one({"_id": 1, "tag": "b"}) is None
    assert coll.find_one({"_id": 1}, {"v": 1, "_id": 0}) == {"v": 10}
    assert coll.find_one({"_id": 12345}) is None
    assert list(coll.find({"_id": 1}).skip(1)) == []
    assert [d["_id"] for d in coll.find({"_id": {"$in": [2, 1]}}).sort("_id", -1)] == [2, 1]
    assert coll.find_one({"_id": ObjectId()}) is None


def test_id_updates_in_a_transaction_and_retryable(client, coll):
    with client.start_session() as s:
        with s.start_transaction():
            coll.bulk_write([UpdateOne({"_id": i}, {"$inc": {"v": 1}}) for i in (1, 2, 5.5)], session=s)
            coll.update_one({"_id": 300}, {"$set": {"v": 3}}, upsert=True, session=s)
            assert coll.find_one({"_id": 1}, session=s)["v"] == 11
            assert coll.find_one({"_id": 1})["v"] == 10  # not visible outside before commit
        assert [coll.find_one({"_id": i})["v"] for i in (1, 2, 5.5, 300)] == [11, 21, 51, 3]
        with pytest.raises(RuntimeError):
            with s.start_transaction():
                coll.update_one({"_id": 1}, {"$inc": {"v": 100}}, session=s)
                raise RuntimeError("abort")
        assert coll.find_one({"_id": 1})["v"] == 11


def test_concurrent_id_increments_end_exact(amalgamd, coll):
    threads, per_thread, errors = 4, 150, []

    def work():
        c = pymongo.MongoClient("127.0.0.1", amalgamd.ports["mongo"], serverSelectionTimeoutMS=5000)
        try:
            for k in range(per_thread):
                c.idw.docs.update_one({"_id": 1 + (k % 2)}, {"$inc": {"n": 1}})
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            c.close()

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert not errors
    assert coll.find_one({"_id": 1})["n"] + coll.find_one({"_id": 2})["n"] == threads * per_thread
    assert coll.find_one({"_id": 1})["n"] == threads * per_thread // 2


def test_bulk_statements_sharing_or_differing_in_their_update(coll):
    # The same update on several statements, then one that differs only in upsert, one with
    # arrayFilters, and a replacement: each statement gets the update it carries.
    r = coll.bulk_write([
        UpdateOne({"_id": 1}, {"$inc": {"v": 1}}),
        UpdateOne({"_id": 2}, {"$inc": {"v": 1}}),
        UpdateOne({"_id": 700}, {"$inc": {"v": 1}}),
        UpdateOne({"_id": 701}, {"$inc": {"v": 1}}, upsert=True),
        UpdateOne({"_id": "str"}, {"$inc": {"arr.$[e].x": 1}}, array_filters=[{"e.x": 1}]),
        UpdateOne({"_id": "str"}, {"$inc": {"arr.$[e].x": 1}}, array_filters=[{"e.x": 5}]),
        UpdateOne({"_id": 5.5}, {"$inc": {"v": 2}}),
    ])
    assert (r.matched_count, r.modified_count, r.upserted_ids) == (5, 5, {3: 701})
    assert [coll.find_one({"_id": i})["v"] for i in (1, 2, 5.5)] == [11, 21, 52]
    assert coll.find_one({"_id": 700}) is None
    assert coll.find_one({"_id": 701}) == {"_id": 701, "v": 1}
    assert coll.find_one({"_id": "str"})["arr"] == [{"x": 2}, {"x": 6}]
