"""find, getMore, count, distinct, update, delete, findAndModify and explain through pymongo."""
import pymongo
import pytest
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, OperationFailure


@pytest.fixture
def db(amalgamd):
    c = pymongo.MongoClient("127.0.0.1", amalgamd.ports["mongo"], serverSelectionTimeoutMS=5000)
    yield c.crud
    c.close()


@pytest.fixture
def people(db):
    docs = [
        {"_id": 1, "name": "ada", "age": 36, "tags": ["math", "code"], "addr": {"city": "london"}},
        {"_id": 2, "name": "bob", "age": 25, "tags": ["code"], "addr": {"city": "paris"}},
        {"_id": 3, "name": "cy", "age": 41, "tags": [], "addr": {"city": "london"}},
        {"_id": 4, "name": "dee", "age": None},
        {"_id": 5, "name": "eve", "age": 25.0, "tags": ["sec", "code"]},
    ]
    db.people.insert_many(docs)
    return db.people


def ids(cursor):
    return [d["_id"] for d in cursor]


def test_find_filters_with_operators_and_dotted_paths(people):
    assert ids(people.find({"age": 25})) == [2, 5]
    assert ids(people.find({"age": {"$gte": 36}})) == [1, 3]
    assert ids(people.find({"tags": "code"})) == [1, 2, 5]
    assert ids(people.find({"tags": {"$size": 0}})) == [3]
    assert ids(people.find({"addr.city": "london"})) == [1, 3]
    assert ids(people.find({"age": None})) == [4]
    assert ids(people.find({"$or": [{"name": "bob"}, {"age": {"$gt": 40}}]})) == [2, 3]
    assert ids(people.find({"name": {"$regex": "^[a-c]"}})) == [1, 2, 3]
    assert ids(people.find({"tags": {"$all": ["code", "sec"]}})) == [5]
    assert ids(people.find({"$expr": {"$gt": ["$age", 30]}})) == [1, 3]


def test_find_sort_projection_skip_limit(people):
    assert ids(people.find({}, sort=[("age", -1), ("_id", 1)])) == [3, 1, 2, 5, 4]
    assert ids(people.find({}, sort=[("name", 1)], skip=1, limit=2)) == [2, 3]
    doc = people.find_one({"_id": 1}, {"name": 1, "addr.city": 1})
    assert doc == {"_id": 1, "name": "ada", "addr": {"city": "london"}}
    doc = people.find_one({"_id": 1}, {"tags": 0, "addr": 0, "_id": 0})
    assert doc == {"name": "ada", "age": 36}
    doc = people.find_one({"tags": "code"}, {"tags.$": 1})
    assert doc == {"_id": 1, "tags": ["code"]}


def test_cursor_paging_through_get_more(db):
    db.many.insert_many([{"_id": i, "v": i % 7} for i in range(1000)])
    cur = db.many.find({}, batch_size=50)
    assert ids(cur) == list(range(1000))
    assert len(list(db.many.find({"v": 3}).batch_size(10))) == len([i for i in range(1000) if i % 7 == 3])
    cur = db.many.find({}, batch_size=10)
    next(cur)
    cur.close()  # killCursors


def count(coll, query=None, **kw):
    # count_documents() runs an aggregation (issue 4); the count command is what this tests.
    return coll.database.command("count", coll.name, query=query or {}, **kw)["n"]


def test_count_and_distinct(people):
    assert count(people) == 5
    assert count(people, {"tags": "code"}) == 3
    assert count(people, {"tags": "code"}, skip=1, limit=1) == 1
    assert people.estimated_document_count() == 5
    assert people.distinct("tags") == ["code", "math", "sec"]
    assert people.distinct("addr.city", {"age": {"$gt": 30}}) == ["london"]


def test_update_operators_upsert_and_multi(people, db):
    r = people.update_one({"_id": 2}, {"$set": {"age": 26}, "$push": {"tags": "ops"}})
    assert (r.matched_count, r.modified_count) == (1, 1)
    assert people.find_one({"_id": 2})["tags"] == ["code", "ops"]
    r = people.update_one({"_id": 2}, {"$set": {"age": 26}})
    assert (r.matched_count, r.modified_count) == (1, 0)
    r = people.update_many({"tags": "code"}, {"$inc": {"age": 1}})
    assert r.matched_count == 3
    r = people.update_one({"name": "zed"}, {"$set": {"age": 1}}, upsert=True)
    assert r.upserted_id is not None and isinstance(r.upserted_id, ObjectId)
    assert people.find_one({"name": "zed"})["age"] == 1
    r = people.replace_one({"_id": 3}, {"name": "cy", "age": 42})
    assert people.find_one({"_id": 3}) == {"_id": 3, "name": "cy", "age": 42}
    people.update_one({"_id": 1}, {"$set": {"tags.$[t]": "MATH"}}, array_filters=[{"t": "math"}])
    assert people.find_one({"_id": 1})["tags"] == ["MATH", "code"]
    with pytest.raises(OperationFailure) as e:
        people.update_one({"_id": 1}, {"$set": {"_id": 9}})
    assert e.value.code == 66
    with pytest.raises(OperationFailure) as e:
        people.update_one({"_id": 1}, {"$inc": {"name": 1}})
    assert e.value.code == 14


def test_update_respects_unique_indexes(people):
    people.create_index("name", unique=True)
    with pytest.raises(DuplicateKeyError):
        people.update_one({"_id": 2}, {"$set": {"name": "ada"}})
    assert people.find_one({"_id": 2})["name"] == "bob"


def test_delete_one_and_many(people):
    assert people.delete_one({"tags": "code"}).deleted_count == 1
    assert people.delete_many({"age": {"$lt": 30}}).deleted_count == 2
    assert ids(people.find()) == [3, 4]
    assert people.delete_many({}).deleted_count == 2
    assert count(people) == 0


def test_find_one_and_modify_variants(people):
    doc = people.find_one_and_update({"tags": "code"}, {"$set": {"x": 1}}, sort=[("age", -1)],
                                     return_document=ReturnDocument.AFTER)
    assert doc["_id"] == 1 and doc["x"] == 1
    doc = people.find_one_and_update({"name": "new"}, {"$set": {"y": 2}}, upsert=True,
                                     return_document=ReturnDocument.AFTER)
    assert doc["name"] == "new" and doc["y"] == 2
    doc = people.find_one_and_delete({"name": "bob"}, projection={"name": 1})
    assert doc == {"_id": 2, "name": "bob"}
    assert people.find_one({"_id": 2}) is None
    assert people.find_one_and_update({"name": "nobody"}, {"$set": {"a": 1}}) is None


def test_explain_shows_the_index_and_stats(people):
    people.create_index([("age", 1)])
    plan = people.find({"age": {"$gt": 30}}).explain()
    winning = plan["queryPlanner"]["winningPlan"]
    assert winning["stage"] == "FETCH" and winning["inputStage"]["stage"] == "IXSCAN"
    assert winning["inputStage"]["indexName"] == "age_1"
    stats = plan["executionStats"]
    assert stats["nReturned"] == 2 and stats["totalKeysExamined"] == 2 and stats["totalDocsExamined"] == 2
    plan = people.find({"name": "ada"}).explain()
    assert plan["queryPlanner"]["winningPlan"]["stage"] == "COLLSCAN"
    plan = people.find({"_id": 3}).explain()
    assert plan["queryPlanner"]["winningPlan"]["stage"] == "IDHACK"
    plan = people.find({"age": {"$gt": 30}}).hint([("$natural", 1)]).explain()
    assert plan["queryPlanner"]["winningPlan"]["stage"] == "COLLSCAN"
    with pytest.raises(OperationFailure) as e:
        list(people.find({}).hint("nope"))
    assert e.value.code == 2


def test_index_serves_sort_without_blocking(db):
    db.s.create_index([("k", 1)])
    db.s.insert_many([{"_id": i, "k": (i * 37) % 100} for i in range(100)])
    assert [d["k"] for d in db.s.find({"k": {"$gte": 0}}).sort("k", -1).limit(3)] == [99, 98, 97]
    plan = db.s.find({"k": {"$gte": 10}}).sort("k", 1).explain()["queryPlanner"]["winningPlan"]
    assert plan["stage"] == "FETCH"  # no SORT stage


def test_query_errors_have_mongo_codes(people):
    with pytest.raises(OperationFailure) as e:
        list(people.find({"a": {"$foo": 1}}))
    assert e.value.code == 2 and "unknown operator: $foo" in str(e.value)
    with pytest.raises(OperationFailure) as e:
        list(people.find({"$foo": 1}))
    assert e.value.code == 2
    with pytest.raises(OperationFailure) as e:
        list(people.find({}, {"a": 1, "b": 0}))
    assert e.value.code == 31254
    with pytest.raises(OperationFailure) as e:
        people.database.command("find", "people", limit=-1)
    assert e.value.code == 51024


def test_max_time_ms_stops_a_long_scan(db):
    db.big.insert_many([{"_id": i, "v": i} for i in range(60000)])
    with pytest.raises(pymongo.errors.ExecutionTimeout) as e:
        list(db.big.find({"$expr": {"$eq": [{"$mod": ["$v", 7]}, 99]}}).max_time_ms(1))
    assert e.value.code == 50
    assert len(list(db.big.find({"v": {"$lt": 10}}).max_time_ms(60000))) == 10


def test_let_variables_reach_expr(db):
    db.lv.insert_many([{"_id": 1, "a": 5}, {"_id": 2, "a": 7}])
    reply = db.command("find", "lv", filter={"$expr": {"$gt": ["$a", "$$limit"]}}, let={"limit": 6})
    assert [d["_id"] for d in reply["cursor"]["firstBatch"]] == [2]


def test_compound_index_on_fields_under_one_array(db):
    db.orders.create_index([("items.sku", 1), ("items.qty", 1)])
    db.orders.insert_one({"_id": 1, "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 5}]})
    # Different elements satisfy the two predicates: MongoDB matches, so must the index plan.
    assert [d["_id"] for d in db.orders.find({"items.sku": "a", "items.qty": 5})] == [1]
    assert [d["_id"] for d in db.orders.find({"items": {"$elemMatch": {"sku": "a", "qty": 2}}})] == [1]
    assert db.orders.find({"items.sku": "a", "items.qty": 5}).explain()["queryPlanner"]["winningPlan"][
        "inputStage"]["indexName"] == "items.sku_1_items.qty_1"
    assert db.command("validate", "orders")["valid"] is True


def test_list_indexes_and_collections_page_with_batch_size(db):
    db = db.client.listing_paging  # a database of its own: the listing below is exact
    coll = db.paged
    coll.insert_one({"a": 1, "b": 2, "c": 3})
    for name in ("a", "b", "c"):
        coll.create_index(name)
    first = db.command({"listIndexes": "paged", "cursor": {"batchSize": 2}})
    assert [i["name"] for i in first["cursor"]["firstBatch"]] == ["_id_", "a_1"]
    cursor_id = first["cursor"]["id"]
    assert cursor_id != 0
    rest = db.command({"getMore": cursor_id, "collection": "paged"})
    assert [i["name"] for i in rest["cursor"]["nextBatch"]] == ["b_1", "c_1"]
    assert rest["cursor"]["id"] == 0
    assert [i["name"] for i in coll.list_indexes()] == ["_id_", "a_1", "b_1", "c_1"]
    for i in range(3):
        db.create_collection(f"extra{i}")
    listed = db.command({"listCollections": 1, "nameOnly": True, "cursor": {"batchSize": 1}})
    assert len(listed["cursor"]["firstBatch"]) == 1 and listed["cursor"]["id"] != 0
    assert sorted(db.list_collection_names()) == ["extra0", "extra1", "extra2", "paged"]
    empty = db.command({"listIndexes": "paged", "cursor": {"batchSize": 0}})
    assert empty["cursor"]["firstBatch"] == [] and empty["cursor"]["id"] != 0
    with pytest.raises(pymongo.errors.OperationFailure) as err:
        db.command({"listIndexes": "paged", "cursor": {"batchSize": -1}})
    assert err.value.code == 51024
    with pytest.raises(pymongo.errors.OperationFailure) as err:
        db.command({"listCollections": 1, "cursor": 5})
    assert err.value.code == 14
