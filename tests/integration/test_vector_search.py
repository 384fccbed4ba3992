"""Vector search through pymongo: search index lifecycle (createSearchIndexes, updateSearchIndex,
dropSearchIndex, $listSearchIndexes), $vectorSearch against an exact brute force computed here,
filters, later stages, freshness, BSON vectors, restart without a rebuild, and bad input."""
import math
import random
import struct
import time

import bson
import pymongo
import pytest
from pymongo.errors import OperationFailure

DIMS = 8


def connect(server):
    return pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000)


@pytest.fixture
def client(amalgamd):
    c = connect(amalgamd)
    yield c
    c.close()


@pytest.fixture
def db(client):
    return client.vs


def vector_def(similarity="cosine", quantization=None, filters=(), dims=DIMS, path="emb"):
    field = {"type": "vector", "path": path, "numDimensions": dims, "similarity": similarity}
    if quantization:
        field["quantization"] = quantization
    return {"fields": [field] + [{"type": "filter", "path": p} for p in filters]}


def create_index(db, coll, definition, name="vidx"):
    return db.command("createSearchIndexes", coll,
                      indexes=[{"name": name, "type": "vectorSearch", "definition": definition}])


def list_indexes(coll, **spec):
    return list(coll.aggregate([{"$listSearchIndexes": spec}]))


def wait_ready(coll, name="vidx", timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [i for i in list_indexes(coll) if i["name"] == name]
        if got and got[0]["status"] == "READY":
            return got[0]
        time.sleep(0.05)
    pytest.fail(f"index {name} not READY within {timeout}s: {list_indexes(coll)}")


def rand_vec(rng, dims=DIMS):
    return [rng.uniform(-1, 1) for _ in range(dims)]


def exact_score(similarity, q, v):
    dot = sum(a * b for a, b in zip(q, v))
    if similarity == "cosine":
        return (1 + dot / (math.sqrt(sum(a * a for a in q)) * math.sqrt(sum(b * b for b in v)))) / 2
    if similarity == "dotProduct":
        return (1 + dot) / 2
    return 1 / (1 + math.sqrt(sum((a - b) ** 2 for a, b in zip(q, v))))


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def brute_force(docs, similarity, q, limit, pred=lambda d: True):
    # The server stores float32: compare against the same rounding.
    qf = [f32(x) for x in q]
    scored = [(exact_score(similarity, qf, [f32(x) for x in d["emb"]]), d["_id"]) for d in docs if pred(d)]
    scored.sort(key=lambda s: -s[0])
    return scored[:limit]


def search(coll, q, limit=10, num_candidates=100, exact=None, filter=None, index="vidx", path="emb",
           extra=()):
    stage = {"index": index, "path": path, "queryVector": q, "limit": limit}
    if exact:
        stage["exact"] = True
    else:
        stage["numCandidates"] = num_candidates
    if filter is not None:
        stage["filter"] = filter
    pipeline = [{"$vectorSearch": stage},
                {"$project": {"_id": 1, "score": {"$meta": "vectorSearchScore"}}}, *extra]
    return list(coll.aggregate(pipeline))


def seed(db, n=200, seed_value=7, name="items", extra=lambda i, rng: {}):
    rng = random.Random(seed_value)
    docs = [{"_id": i, "emb": rand_vec(rng), **extra(i, rng)} for i in range(n)]
    db[name].insert_many(docs)
    return docs


# ---- lifecycle ----------------------------------------------------------------------------------

def test_index_lifecycle_and_statuses(db):
    docs = seed(db, n=50)
    definition = vector_def(filters=["year"])
    reply = create_index(db, "items", definition)
    assert reply["ok"] == 1
    (created,) = reply["indexesCreated"]
    assert created["name"] == "vidx" and len(created["id"]) == 24
    first = list_indexes(db.items)[0]
    assert first["status"] in ("PENDING", "BUILDING", "READY")
    ready = wait_ready(db.items)
    assert ready["id"] == created["id"]
    assert ready["type"] == "vectorSearch"
    assert ready["queryable"] is True
    assert ready["latestDefinition"] == definition
    assert ready["progress"] == 100
    assert ready["amalgamStats"]["documents"] == len(docs)
    assert ready["amalgamStats"]["vectors"] == len(docs)
    assert ready["amalgamStats"]["sizeBytes"] > 0
    # By name, by id, and the command form.
    assert [i["name"] for i in list_indexes(db.items, name="vidx")] == ["vidx"]
    assert [i["name"] for i in list_indexes(db.items, id=created["id"])] == ["vidx"]
    assert list_indexes(db.items, name="other") == []
    cmd = db.command("listSearchIndexes", "items")
    assert [i["name"] for i in cmd["cursor"]["firstBatch"]] == ["vidx"]

    with pytest.raises(OperationFailure) as e:
        create_index(db, "items", definition)
    assert e.value.code == 68

    new_definition = vector_def(similarity="euclidean", filters=["year", "genre"])
    db.command("updateSearchIndex", "items", name="vidx", definition=new_definition)
    updated = wait_ready(db.items)
    assert updated["id"] == created["id"]
    assert updated["latestDefinition"] == new_definition
    assert updated["latestDefinitionVersion"]["version"] == 1
    assert search(db.items, docs[3]["emb"], limit=1)[0] == {"_id": 3, "score": 1.0}

    db.command("dropSearchIndex", "items", name="vidx")
    assert list_indexes(db.items) == []
    with pytest.raises(OperationFailure) as e:
        db.command("dropSearchIndex", "items", name="vidx")
    assert e.value.code == 27
    # Unknown index name: no results, as Atlas.
    assert search(db.items, docs[0]["emb"]) == []


def test_dropping_the_collection_drops_its_indexes(db):
    seed(db, n=20)
    create_index(db, "items", vector_def())
    wait_ready(db.items)
    db.items.drop()
    db.items.insert_one({"_id": 1, "emb": [1.0] * DIMS})
    assert list_indexes(db.items) == []
    assert search(db.items, [1.0] * DIMS) == []
    # The name is free again.
    create_index(db, "items", vector_def())
    assert search(db.items, [1.0] * DIMS, limit=1)[0]["_id"] == 1


@pytest.mark.parametrize("definition, fragment", [
    ({"fields": [{"type": "vector", "path": "v", "numDimensions": 0, "similarity": "cosine"}]}, "numDimensions"),
    ({"fields": [{"type": "vector", "path": "v", "numDimensions": 8193, "similarity": "cosine"}]}, "numDimensions"),
    ({"fields": [{"type": "vector", "path": "v", "numDimensions": 3, "similarity": "manhattan"}]}, "similarity"),
    ({"fields": [{"type": "vector", "path": "v", "numDimensions": 3}]}, "similarity"),
    ({"fields": [{"type": "vector", "path": "v", "numDimensions": 3, "similarity": "cosine",
                  "quantization": "pq"}]}, "quantization"),
    ({"fields": [{"type": "vector", "path": "v", "numDimensions": 3, "similarity": "cosine",
                  "hnswOptions": {"maxEdges": 8}}]}, "maxEdges"),
    ({"fields": [{"type": "vector", "path": "v", "numDimensions": 3, "similarity": "cosine",
                  "hnswOptions": {"numEdgeCandidates": 5000}}]}, "numEdgeCandidates"),
    ({"fields": [{"type": "text", "path": "v"}]}, "type"),
    ({"fields": [{"type": "filter", "path": "v"}]}, "vector"),
    ({"fields": [{"type": "vector", "path": "v", "numDimensions": 3, "similarity": "cosine"},
                 {"type": "filter", "path": "v"}]}, "more than once"),
    ({}, "fields"),
])
def test_invalid_definitions_are_rejected(db, definition, fragment):
    db.items.insert_one({"_id": 1})
    with pytest.raises(OperationFailure) as e:
        create_index(db, "items", definition)
    assert fragment in str(e.value)
    assert list_indexes(db.items) == []


def test_create_on_a_missing_collection_fails(db):
    with pytest.raises(OperationFailure) as e:
        create_index(db, "nothere", vector_def())
    assert e.value.code == 26


def test_accepted_options_round_trip(db):
    db.items.insert_one({"_id": 1, "emb": [0.5] * DIMS})
    definition = {"fields": [{"type": "vector", "path": "emb", "numDimensions": DIMS,
                              "similarity": "dotProduct", "quantization": "scalar",
                              "hnswOptions": {"maxEdges": 32, "numEdgeCandidates": 200}}]}
    create_index(db, "items", definition)
    assert wait_ready(db.items)["latestDefinition"] == definition


# ---- results ------------------------------------------------------------------------------------

@pytest.mark.parametrize("similarity", ["cosine", "euclidean", "dotProduct"])
@pytest.mark.parametrize("quantization", [None, "scalar", "binary"])
def test_results_equal_brute_force(db, similarity, quantization):
    docs = seed(db, n=300, seed_value=11)
    create_index(db, "items", vector_def(similarity, quantization))
    wait_ready(db.items)
    rng = random.Random(5)
    for _ in range(5):
        q = rand_vec(rng)
        expected = brute_force(docs, similarity, q, 10)
        exact = search(db.items, q, limit=10, exact=True)
        assert [d["_id"] for d in exact] == [i for _, i in expected]
        for got, (score, _) in zip(exact, expected):
            assert got["score"] == pytest.approx(score, abs=1e-5)
        ann = search(db.items, q, limit=10, num_candidates=300)
        overlap = len({d["_id"] for d in ann} & {i for _, i in expected})
        assert overlap >= 9, (ann, expected)
        by_id = {d["_id"]: d for d in docs}
        for d in ann:  # scores are exact and sorted
            assert d["score"] == pytest.approx(exact_score(similarity, [f32(x) for x in q],
                                                           [f32(x) for x in by_id[d["_id"]]["emb"]]), abs=1e-5)
        assert [d["score"] for d in ann] == sorted((d["score"] for d in ann), reverse=True)


def test_documents_without_a_valid_vector_are_skipped(db):
    db.items.insert_many([
        {"_id": 1, "emb": [1.0] * DIMS},
        {"_id": 2, "emb": [1.0] * (DIMS - 1)},     # wrong dimension
        {"_id": 3, "emb": "not a vector"},
        {"_id": 4},
        {"_id": 5, "emb": [1.0, "x"] + [0.0] * (DIMS - 2)},
        {"_id": 6, "emb": [0.0] * DIMS},           # zero vector: no cosine
    ])
    create_index(db, "items", vector_def())
    assert wait_ready(db.items)["amalgamStats"]["vectors"] == 1
    assert [d["_id"] for d in search(db.items, [1.0] * DIMS)] == [1]
    db.items.insert_one({"_id": 7, "emb": [2.0] * (DIMS + 1)})  # a write is never refused
    assert [d["_id"] for d in search(db.items, [1.0] * DIMS)] == [1]


def test_bson_vectors(db):
    def f32_vector(values):
        return bson.Binary(bytes([0x27, 0]) + struct.pack(f"<{len(values)}f", *values), 9)

    def int8_vector(values):
        return bson.Binary(bytes([0x03, 0]) + struct.pack(f"<{len(values)}b", *values), 9)

    def bit_vector(bits):
        packed = bytearray((len(bits) + 7) // 8)
        for i, b in enumerate(bits):
            if b:
                packed[i // 8] |= 0x80 >> (i % 8)
        return bson.Binary(bytes([0x10, (8 - len(bits) % 8) % 8]) + bytes(packed), 9)

    db.items.insert_many([
        {"_id": "f", "emb": f32_vector([2, 0, 0, 0, 0, 0, 0, 0])},
        {"_id": "i", "emb": int8_vector([0, 5, 0, 0, 0, 0, 0, 0])},
        {"_id": "b", "emb": bit_vector([0, 0, 1, 0, 0, 0, 0, 0])},
        {"_id": "bad", "emb": bson.Binary(b"\x27\x00\x01", 9)},
    ])
    create_index(db, "items", vector_def(similarity="euclidean"))
    wait_ready(db.items)
    got = search(db.items, f32_vector([0, 5, 0, 0, 0, 0, 0, 0]), limit=3, exact=True)
    assert [d["_id"] for d in got] == ["i", "b", "f"]
    assert got[0]["score"] == pytest.approx(1.0)
    assert got[1]["score"] == pytest.approx(1 / (1 + math.sqrt(26)))
    assert got[2]["score"] == pytest.approx(1 / (1 + math.sqrt(29)))
    got = search(db.items, [0, 0, 1, 0, 0, 0, 0, 0], limit=1, exact=True)
    assert got == [{"_id": "b", "score": 1.0}]


# ---- filters ------------------------------------------------------------------------------------

GENRES = ["drama", "comedy", "horror", "news"]


def rated(d):
    m = d["meta"]
    return any(x["rated"] for x in m) if isinstance(m, list) else m["rated"]


@pytest.fixture
def movies(db):
    docs = seed(db, n=400, seed_value=3, name="movies", extra=lambda i, rng: {
        "year": 1990 + i % 30, "genre": GENRES[i % 4],
        # Some documents hold an array of documents on the filter path.
        "meta": [{"rated": False}, {"rated": True}] if i % 7 == 0 else {"rated": i % 3 == 0},
        "tags": [GENRES[i % 3], f"t{i % 11}"],
        **({"sequel": True} if i % 5 == 0 else {})})
    create_index(db, "movies", vector_def("cosine", filters=["year", "genre", "meta.rated", "sequel", "tags"]))
    wait_ready(db.movies)
    return docs


@pytest.mark.parametrize("filter, pred", [
    ({"year": {"$gte": 2015}}, lambda d: d["year"] >= 2015),
    ({"year": 2000}, lambda d: d["year"] == 2000),
    ({"genre": {"$in": ["news", "horror"]}}, lambda d: d["genre"] in ("news", "horror")),
    ({"genre": {"$nin": ["drama"]}, "year": {"$lt": 2000}}, lambda d: d["genre"] != "drama" and d["year"] < 2000),
    ({"$or": [{"year": {"$lte": 1991}}, {"genre": "comedy"}]}, lambda d: d["year"] <= 1991 or d["genre"] == "comedy"),
    ({"$and": [{"year": {"$gt": 1995}}, {"year": {"$ne": 2001}}]}, lambda d: d["year"] > 1995 and d["year"] != 2001),
    ({"$nor": [{"genre": "drama"}, {"genre": "news"}]}, lambda d: d["genre"] not in ("drama", "news")),
    ({"year": {"$not": {"$gte": 1993}}}, lambda d: d["year"] < 1993),
    ({"sequel": {"$exists": True}}, lambda d: "sequel" in d),
    ({"meta.rated": True, "genre": {"$eq": "news"}}, lambda d: rated(d) and d["genre"] == "news"),
    ({"tags": "t3"}, lambda d: "t3" in d["tags"]),
    ({"tags": {"$in": ["t1", "t2"]}, "year": {"$gte": 2000}}, lambda d: {"t1", "t2"} & set(d["tags"]) and d["year"] >= 2000),
    ({"$and": [{"genre": "comedy"}, {"tags": "t4"}]}, lambda d: d["genre"] == "comedy" and "t4" in d["tags"]),
    ({"year": 1700}, lambda d: False),
])
def test_filters_match_brute_force(db, movies, filter, pred):
    rng = random.Random(9)
    for _ in range(3):
        q = rand_vec(rng)
        expected = brute_force(movies, "cosine", q, 10, pred)
        for exact in (True, False):
            got = search(db.movies, q, limit=10, num_candidates=400, exact=exact, filter=filter)
            assert [d["_id"] for d in got] == [i for _, i in expected], (filter, exact)
            for g, (score, _) in zip(got, expected):
                assert g["score"] == pytest.approx(score, abs=1e-5)


@pytest.mark.parametrize("filter, fragment", [
    ({"title": "x"}, "needs to be indexed as filter"),
    ({"year": {"$regex": "^19"}}, "$regex"),
    ({"$where": "true"}, "$where"),
    ({"genre": {"$elemMatch": {"$eq": "x"}}}, "$elemMatch"),
    ({"$or": []}, "$or"),
])
def test_unsupported_filters_are_rejected(db, movies, filter, fragment):
    with pytest.raises(OperationFailure) as e:
        search(db.movies, [1.0] * DIMS, filter=filter)
    assert fragment in str(e.value)


# ---- later stages -------------------------------------------------------------------------------

def test_later_stages_and_score_meta(db, movies):
    q = movies[17]["emb"]
    pipeline = [
        {"$vectorSearch": {"index": "vidx", "path": "emb", "queryVector": q, "numCandidates": 100, "limit": 20}},
        {"$addFields": {"s": {"$meta": "vectorSearchScore"}, "decade": {"$subtract": ["$year", {"$mod": ["$year", 10]}]}}},
        {"$match": {"genre": {"$ne": "horror"}}},
        {"$sort": {"year": 1, "_id": 1}},
        {"$project": {"_id": 1, "year": 1, "s": 1, "again": {"$meta": "vectorSearchScore"}}},
        {"$limit": 5},
    ]
    got = list(db.movies.aggregate(pipeline))
    top = search(db.movies, q, limit=20)
    by_id = {d["_id"]: d["score"] for d in top}
    kept = [d for d in movies if d["_id"] in by_id and d["genre"] != "horror"]
    kept.sort(key=lambda d: (d["year"], d["_id"]))
    assert [d["_id"] for d in got] == [d["_id"] for d in kept[:5]]
    for d in got:
        assert d["s"] == pytest.approx(by_id[d["_id"]]) and d["again"] == d["s"]
    # Output documents are the stored ones, scores in order.
    full = list(db.movies.aggregate([{"$vectorSearch": {"index": "vidx", "path": "emb", "queryVector": q,
                                                        "numCandidates": 50, "limit": 3}}]))
    assert full[0] == movies[17]
    count = list(db.movies.aggregate([
        {"$vectorSearch": {"index": "vidx", "path": "emb", "queryVector": q, "numCandidates": 50, "limit": 7}},
        {"$group": {"_id": None, "n": {"$sum": 1}}}]))
    assert count == [{"_id": None, "n": 7}]


def test_vector_search_must_be_the_first_stage(db, movies):
    with pytest.raises(OperationFailure) as e:
        list(db.movies.aggregate([{"$match": {}}, {"$vectorSearch": {"index": "vidx", "path": "emb",
                                                                     "queryVector": [1.0] * DIMS,
                                                                     "numCandidates": 10, "limit": 1}}]))
    assert e.value.code == 40602
    with pytest.raises(OperationFailure) as e:
        list(db.movies.aggregate([{"$facet": {"a": [{"$vectorSearch": {}}]}}]))
    assert e.value.code == 40600


@pytest.mark.parametrize("stage, code, fragment", [
    ({"path": "emb", "queryVector": [1.0] * DIMS, "numCandidates": 10, "limit": 1}, 40414, "index"),
    ({"index": "vidx", "path": "emb", "queryVector": [1.0] * DIMS, "numCandidates": 10}, 40414, "limit"),
    ({"index": "vidx", "path": "emb", "queryVector": [1.0] * DIMS, "numCandidates": 10, "limit": 1, "k": 1},
     40415, "k"),
    ({"index": "vidx", "path": "emb", "queryVector": [1.0] * DIMS, "numCandidates": 5, "limit": 6}, 2,
     "greater than or equal to \"limit\""),
    ({"index": "vidx", "path": "emb", "queryVector": [1.0] * DIMS, "numCandidates": 10001, "limit": 6}, 2,
     "numCandidates"),
    ({"index": "vidx", "path": "emb", "queryVector": [1.0] * DIMS, "limit": 6}, 2, "numCandidates"),
    ({"index": "vidx", "path": "emb", "queryVector": [1.0] * DIMS, "limit": 6, "exact": True,
      "numCandidates": 10}, 2, "numCandidates"),
    ({"index": "vidx", "path": "emb", "queryVector": [1.0] * DIMS, "numCandidates": 10, "limit": 0}, 2, "limit"),
    ({"index": "vidx", "path": "emb", "queryVector": [1.0] * (DIMS + 1), "numCandidates": 10, "limit": 1}, 2,
     "dimensions"),
    ({"index": "vidx", "path": "emb", "queryVector": ["a"], "numCandidates": 10, "limit": 1}, 2, "queryVector"),
    ({"index": "vidx", "path": "other", "queryVector": [1.0] * DIMS, "numCandidates": 10, "limit": 1}, 2,
     "indexed as vector"),
    ({"index": "vidx", "path": "emb", "queryVector": "x", "numCandidates": 10, "limit": 1}, 14, "queryVector"),
])
def test_bad_vector_search_input(db, movies, stage, code, fragment):
    with pytest.raises(OperationFailure) as e:
        list(db.movies.aggregate([{"$vectorSearch": stage}]))
    assert e.value.code == code
    assert fragment in str(e.value)


# ---- freshness ----------------------------------------------------------------------------------

def test_writes_are_visible_to_the_next_search(db):
    seed(db, n=300, seed_value=21)
    create_index(db, "items", vector_def("euclidean"))
    wait_ready(db.items)
    rng = random.Random(4)
    for i in range(30):
        v = rand_vec(rng)
        db.items.insert_one({"_id": f"new{i}", "emb": v})
        assert search(db.items, v, limit=1)[0] == {"_id": f"new{i}", "score": 1.0}
        db.items.delete_one({"_id": f"new{i}"})
        assert f"new{i}" not in [d["_id"] for d in search(db.items, v, limit=10)]
        db.items.update_one({"_id": i}, {"$set": {"emb": v}})
        assert search(db.items, v, limit=1)[0] == {"_id": i, "score": 1.0}
    # A whole burst of writes (not yet applied by the background thread) is visible too.
    burst = [{"_id": f"b{i}", "emb": rand_vec(rng)} for i in range(200)]
    db.items.insert_many(burst)
    db.items.delete_many({"_id": {"$lt": 100}})
    for d in burst[::37]:
        assert search(db.items, d["emb"], limit=1)[0]["_id"] == d["_id"]
    got = search(db.items, rand_vec(rng), limit=100, num_candidates=1000)
    assert not [d for d in got if isinstance(d["_id"], int) and d["_id"] < 100]


def test_search_while_building_is_exact(db):
    docs = seed(db, n=2000, seed_value=2)
    create_index(db, "items", vector_def("cosine"))
    q = docs[5]["emb"]
    got = search(db.items, q, limit=5)  # BUILDING or READY: the same answer
    assert [d["_id"] for d in got] == [i for _, i in brute_force(docs, "cosine", q, 5)]
    wait_ready(db.items)


# ---- restart ------------------------------------------------------------------------------------

def test_restart_loads_the_saved_graph_without_a_rebuild(start_amalgamd, tmp_path):
    data = tmp_path / "vsdata"
    server = start_amalgamd(data_dir=data)
    c = connect(server)
    docs = seed(c.vs, n=500, seed_value=8)
    create_index(c.vs, "items", vector_def("cosine", filters=["_id"]))
    before = wait_ready(c.vs.items)
    assert before["amalgamStats"]["builds"] == 1 and before["amalgamStats"]["loadedFromDisk"] is False
    c.vs.items.insert_one({"_id": 1000, "emb": [0.25] * DIMS})  # after the post-build save
    q = docs[42]["emb"]
    expected = search(c.vs.items, q, limit=10)
    c.close()
    assert server.stop() == 0

    server = start_amalgamd(data_dir=data)
    c = connect(server)
    after = list_indexes(c.vs.items)[0]
    assert after["status"] == "READY" and after["queryable"] is True
    assert after["amalgamStats"]["builds"] == 0
    assert after["amalgamStats"]["loadedFromDisk"] is True
    assert after["amalgamStats"]["documents"] == 501
    assert search(c.vs.items, q, limit=10) == expected
    assert search(c.vs.items, [0.25] * DIMS, limit=1)[0]["_id"] == 1000
    # Writes after a crash (kill -9) are caught up from the change log, still without a rebuild.
    c.vs.items.insert_one({"_id": 2000, "emb": [-0.5] * DIMS})
    c.vs.items.delete_one({"_id": 42})
    c.close()
    server.kill()
    (data / "amalgamd.ports").unlink()  # left behind by the killed process

    server = start_amalgamd(data_dir=data)
    c = connect(server)
    info = list_indexes(c.vs.items)[0]
    assert info["status"] == "READY" and info["amalgamStats"]["builds"] == 0
    assert search(c.vs.items, [-0.5] * DIMS, limit=1)[0]["_id"] == 2000
    assert 42 not in [d["_id"] for d in search(c.vs.items, q, limit=10)]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stats = list_indexes(c.vs.items)[0]["amalgamStats"]
        if stats["documents"] == 501:  # +2000, -42: applied from the change log
            break
        time.sleep(0.05)
    assert stats["documents"] == 501
    c.close()
