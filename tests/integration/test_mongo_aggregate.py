"""The aggregate command through pymongo: pipelines, cursors and getMore, errors."""
import pymongo
import pytest
from pymongo.errors import OperationFailure


@pytest.fixture
def db(client):
    return client.agg


@pytest.fixture
def sales(db):
    db.sales.insert_many([
        {"_id": 1, "item": "apple", "qty": 5, "price": 2.0, "tags": ["fruit", "red"]},
        {"_id": 2, "item": "pear", "qty": 2, "price": 3.0, "tags": ["fruit"]},
        {"_id": 3, "item": "apple", "qty": 1, "price": 2.5, "tags": []},
        {"_id": 4, "item": "kale", "qty": 7, "price": 4.0, "tags": ["green", "leaf"]},
        {"_id": 5, "item": "pear", "qty": 3, "price": 3.5},
    ])
    return db.sales


def test_count_documents_sends_a_pipeline(sales, db):
    assert sales.count_documents({}) == 5
    assert sales.count_documents({"item": "apple"}) == 2
    assert sales.count_documents({"qty": {"$gte": 2}}, skip=1) == 3
    assert sales.count_documents({}, skip=1, limit=2) == 2
    assert sales.count_documents({"item": "none"}) == 0
    assert db.missing.count_documents({}) == 0


def test_group_with_accumulators(sales):
    out = list(sales.aggregate([
        {"$group": {"_id": "$item", "n": {"$sum": 1}, "qty": {"$sum": "$qty"}, "avg": {"$avg": "$price"},
                    "lo": {"$min": "$price"}, "hi": {"$max": "$price"}, "ids": {"$push": "$_id"},
                    "first": {"$first": "$qty"}, "last": {"$last": "$qty"}}},
        {"$sort": {"_id": 1}},
    ]))
    assert out == [
        {"_id": "apple", "n": 2, "qty": 6, "avg": 2.25, "lo": 2.0, "hi": 2.5, "ids": [1, 3], "first": 5, "last": 1},
        {"_id": "kale", "n": 1, "qty": 7, "avg": 4.0, "lo": 4.0, "hi": 4.0, "ids": [4], "first": 7, "last": 7},
        {"_id": "pear", "n": 2, "qty": 5, "avg": 3.25, "lo": 3.0, "hi": 3.5, "ids": [2, 5], "first": 2, "last": 3},
    ]
    total = list(sales.aggregate([{"$group": {"_id": None, "revenue": {"$sum": {"$multiply": ["$qty", "$price"]}}}}]))
    assert total == [{"_id": None, "revenue": 10.0 + 6.0 + 2.5 + 28.0 + 10.5}]


def test_unwind_and_sort_by_count(sales):
    out = list(sales.aggregate([{"$unwind": "$tags"}, {"$project": {"_id": 1, "tags": 1}}]))
    assert out == [{"_id": 1, "tags": "fruit"}, {"_id": 1, "tags": "red"}, {"_id": 2, "tags": "fruit"},
                   {"_id": 4, "tags": "green"}, {"_id": 4, "tags": "leaf"}]
    kept = list(sales.aggregate([
        {"$unwind": {"path": "$tags", "preserveNullAndEmptyArrays": True, "includeArrayIndex": "i"}},
        {"$match": {"_id": {"$in": [3, 5]}}}, {"$project": {"tags": 1, "i": 1}}]))
    assert kept == [{"_id": 3, "i": None}, {"_id": 5, "i": None}]
    top = list(sales.aggregate([{"$unwind": "$tags"}, {"$sortByCount": "$tags"}, {"$limit": 1}]))
    assert top == [{"_id": "fruit", "count": 2}]


def test_sort_limit_skip(sales):
    out = list(sales.aggregate([{"$sort": {"price": -1}}, {"$limit": 2}, {"$project": {"item": 1, "_id": 0}}]))
    assert out == [{"item": "kale"}, {"item": "pear"}]
    out = list(sales.aggregate([{"$match": {"qty": {"$gt": 1}}}, {"$sort": {"qty": 1}}, {"$skip": 1},
                                {"$limit": 2}, {"$project": {"_id": 1}}]))
    assert out == [{"_id": 5}, {"_id": 1}]
    # A $sort after a reshaping stage runs in the pipeline.
    out = list(sales.aggregate([{"$project": {"v": {"$multiply": ["$qty", "$price"]}}}, {"$sort": {"v": -1}},
                                {"$limit": 1}]))
    assert out == [{"_id": 4, "v": 28.0}]


def test_facet(sales):
    out = list(sales.aggregate([{"$facet": {
        "count": [{"$count": "n"}],
        "cheap": [{"$match": {"price": {"$lt": 3}}}, {"$project": {"_id": 1}}],
        "byItem": [{"$group": {"_id": "$item", "q": {"$sum": "$qty"}}}, {"$sort": {"q": -1}}, {"$limit": 1}],
    }}]))
    assert out == [{"count": [{"n": 5}], "cheap": [{"_id": 1}, {"_id": 3}], "byItem": [{"_id": "kale", "q": 7}]}]


def test_project_set_unset_replace_root(sales):
    out = list(sales.aggregate([
        {"$match": {"_id": 1}},
        {"$project": {"item": {"$toUpper": "$item"}, "total": {"$multiply": ["$qty", "$price"]},
                      "label": {"$concat": ["$item", "-", "x"]}, "ntags": {"$size": "$tags"},
                      "firstTag": {"$arrayElemAt": ["$tags", 0]}}},
    ]))
    assert out == [{"_id": 1, "item": "APPLE", "total": 10.0, "label": "apple-x", "ntags": 2, "firstTag": "fruit"}]
    out = list(sales.aggregate([{"$match": {"_id": 2}}, {"$set": {"meta.kind": "fruit"}}, {"$unset": ["tags", "price"]},
                                {"$replaceWith": {"$mergeObjects": ["$meta", {"item": "$item"}]}}]))
    assert out == [{"kind": "fruit", "item": "pear"}]


def test_getmore_pages_through_an_aggregate_result(db):
    db.many.insert_many([{"_id": i, "g": i % 3} for i in range(250)])
    cursor = db.many.aggregate([{"$match": {"g": {"$ne": 1}}}, {"$sort": {"_id": -1}}], batchSize=20)
    ids = [d["_id"] for d in cursor]
    assert ids == [i for i in range(249, -1, -1) if i % 3 != 1]
    reply = db.command("aggregate", "many", pipeline=[{"$project": {"g": 0}}], cursor={"batchSize": 100})
    assert len(reply["cursor"]["firstBatch"]) == 100
    assert reply["cursor"]["ns"] == "agg.many"
    cid = reply["cursor"]["id"]
    assert cid != 0
    seen = [d["_id"] for d in reply["cursor"]["firstBatch"]]
    while cid:
        more = db.command("getMore", cid, collection="many", batchSize=60)
        seen += [d["_id"] for d in more["cursor"]["nextBatch"]]
        cid = more["cursor"]["id"]
    assert seen == list(range(250))
    # batchSize 0: an empty first batch, an open cursor.
    reply = db.command("aggregate", "many", pipeline=[{"$limit": 3}], cursor={"batchSize": 0})
    assert reply["cursor"]["firstBatch"] == [] and reply["cursor"]["id"] != 0
    more = db.command("getMore", reply["cursor"]["id"], collection="many")
    assert [d["_id"] for d in more["cursor"]["nextBatch"]] == [0, 1, 2]


def test_missing_collection_and_documents(db, client):
    assert list(db.nothere.aggregate([{"$match": {}}, {"$group": {"_id": None, "n": {"$sum": 1}}}])) == []
    out = list(db.aggregate([{"$documents": [{"x": 1}, {"x": 2}, {"x": 3}]}, {"$match": {"x": {"$gte": 2}}}]))
    assert out == [{"x": 2}, {"x": 3}]
    reply = db.command("aggregate", 1, pipeline=[{"$documents": [{"a": 1}]}], cursor={})
    assert reply["cursor"]["ns"] == "agg.$cmd.aggregate"
    with pytest.raises(OperationFailure) as e:
        db.command("aggregate", 1, pipeline=[{"$match": {}}], cursor={})
    assert e.value.code == 73


def test_let_variables_and_index_use(sales):
    out = list(sales.aggregate([{"$match": {"$expr": {"$eq": ["$item", "$$want"]}}}, {"$project": {"_id": 1}}],
                               let={"want": "pear"}))
    assert out == [{"_id": 2}, {"_id": 5}]
    sales.create_index("item")
    plan = sales.database.command("aggregate", "sales", pipeline=[{"$match": {"item": "kale"}}, {"$count": "n"}],
                                  explain=True)
    cursor_stage = plan["stages"][0]["$cursor"]
    assert "IXSCAN" in str(cursor_stage["queryPlanner"]["winningPlan"])
    assert plan["stages"][1] == {"$count": "n"}
    assert list(sales.aggregate([{"$match": {"item": "kale"}}, {"$count": "n"}])) == [{"n": 1}]


def test_errors(sales, db):
    with pytest.raises(OperationFailure) as e:
        list(sales.aggregate([{"$foo": 1}]))
    assert "Unrecognized pipeline stage name: '$foo'" in str(e.value)
    assert e.value.code == 40324
    with pytest.raises(OperationFailure) as e:
        db.command("aggregate", "sales", pipeline=[])
    assert e.value.code == 9
    assert "The 'cursor' option is required, except for aggregate with the explain argument" in str(e.value)
    with pytest.raises(OperationFailure) as e:
        db.command("aggregate", "sales", pipeline={"$match": {}}, cursor={})
    assert e.value.code == 14
    with pytest.raises(OperationFailure) as e:
        list(sales.aggregate([{"$group": {"n": {"$sum": 1}}}]))
    assert "a group specification must include an _id" in str(e.value)
    with pytest.raises(OperationFailure) as e:
        list(sales.aggregate([{"$project": {"x": {"$divide": ["$qty", 0]}}}]))
    assert "can't $divide by zero" in str(e.value)
    with pytest.raises(OperationFailure) as e:
        db.command("aggregate", "sales", pipeline=[], cursor={}, bogus=1)
    assert e.value.code == 40415


def test_options_hint_allow_disk_use_comment_max_time(sales):
    sales.create_index("qty")
    out = list(sales.aggregate([{"$match": {"qty": {"$gte": 3}}}, {"$sort": {"qty": 1}}, {"$project": {"_id": 1}}],
                               hint="qty_1", allowDiskUse=True, comment="c", maxTimeMS=60000))
    assert out == [{"_id": 5}, {"_id": 1}, {"_id": 4}]
    with pytest.raises(OperationFailure) as e:
        list(sales.aggregate([{"$match": {}}], hint="nope_1"))
    assert "hint provided does not correspond to an existing index" in str(e.value)
