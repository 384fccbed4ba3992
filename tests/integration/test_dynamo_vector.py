"""DynamoDB vector indexes over raw JSON requests (Debian's boto3 predates the vector API):
an index and its DynamoDB-only settings survive a restart, and an index created through the
MongoDB face is searchable with SearchVectors."""
import math
import random
import time

import pymongo

from conftest import dynamo_request

DIMS = 6


def _vec(rng):
    return [round(rng.uniform(-1, 1), 4) for _ in range(DIMS)]


def _l2(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def _ok(server, op, payload):
    status, body = dynamo_request(server, op, payload)
    assert status == 200, (op, body)
    return body


def _put_all(server, table, rows):
    for pk, v in rows.items():
        _ok(server, "PutItem", {"TableName": table, "Item": {
            "pk": {"S": pk}, "emb": {"L": [{"N": str(x)} for x in v]}, "kind": {"S": "k" + pk[-1]}}})


def _search(server, table, index, q, k, **extra):
    return _ok(server, "SearchVectors", {"TableName": table, "IndexName": index, "TopK": k,
                                         "SearchVector": [{"N": str(x)} for x in q], **extra})["SearchResults"]


def test_vector_index_survives_a_restart(start_amalgamd, tmp_path):
    rng = random.Random(7)
    data = tmp_path / "persist"
    server = start_amalgamd(data_dir=data)
    _ok(server, "CreateTable", {
        "TableName": "Vec", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "kind", "AttributeType": "S"}],
        "VectorIndexes": [{"IndexName": "emb_idx", "VectorAttribute": {"AttributeName": "emb"}, "Dimensions": DIMS,
                           "DistanceFunction": "EUCLIDEAN", "Projection": {"ProjectionType": "KEYS_ONLY"},
                           "SearchSchema": [{"AttributeName": "kind", "SearchSchemaElementType": "HASH"}]}]})
    rows = {f"p{i}": _vec(rng) for i in range(120)}
    _put_all(server, "Vec", rows)
    q = _vec(rng)
    cond = {"SearchConditionExpression": "kind = :k", "ExpressionAttributeValues": {":k": {"S": "k3"}}}
    before = _search(server, "Vec", "emb_idx", q, 5, **cond)
    expected = sorted((pk for pk in rows if pk.endswith("3")), key=lambda pk: _l2(q, rows[pk]))[:5]
    assert [r["Item"]["pk"]["S"] for r in before] == expected
    assert all(set(r["Item"]) == {"pk", "kind"} for r in before)
    assert server.stop() == 0

    server = start_amalgamd(data_dir=data)
    desc = _ok(server, "DescribeTable", {"TableName": "Vec"})["Table"]["VectorIndexes"]
    assert len(desc) == 1
    assert desc[0]["SearchSchema"] == [{"AttributeName": "kind", "SearchSchemaElementType": "HASH"}]
    assert desc[0]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert desc[0]["DistanceFunction"] == "EUCLIDEAN" and desc[0]["Dimensions"] == DIMS
    after = _search(server, "Vec", "emb_idx", q, 5, **cond)
    assert after == before
    status, body = dynamo_request(server, "SearchVectors", {
        "TableName": "Vec", "IndexName": "emb_idx", "TopK": 5, "SearchVector": [{"N": str(x)} for x in q]})
    assert status == 400 and body["__type"].endswith("ValidationException")
    assert body["message"] == "SearchConditionExpression must be provided when SearchSchema has a HASH key"


def test_index_created_through_mongodb_serves_search_vectors(amalgamd):
    rng = random.Random(11)
    _ok(amalgamd, "CreateTable", {
        "TableName": "FromMongo", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
    rows = {f"m{i}": _vec(rng) for i in range(80)}
    _put_all(amalgamd, "FromMongo", rows)
    client = pymongo.MongoClient("127.0.0.1", amalgamd.ports["mongo"], directConnection=True,
                                 serverSelectionTimeoutMS=5000)
    try:
        db = client["dynamodb"]
        db.command({"createSearchIndexes": "FromMongo", "indexes": [{
            "name": "cos", "type": "vectorSearch",
            "definition": {"fields": [{"type": "vector", "path": "emb", "numDimensions": DIMS,
                                       "similarity": "cosine"}]}}]})
        desc = _ok(amalgamd, "DescribeTable", {"TableName": "FromMongo"})["Table"]["VectorIndexes"]
        assert [d["IndexName"] for d in desc] == ["cos"] and desc[0]["DistanceFunction"] == "COSINE"
        assert desc[0]["Projection"] == {"ProjectionType": "ALL"}
        q = _vec(rng)

        def cos_dist(v):
            return 1 - sum(a * b for a, b in zip(q, v)) / (math.sqrt(sum(a * a for a in q)) * math.sqrt(sum(b * b for b in v)))
        got = _search(amalgamd, "FromMongo", "cos", q, 4)
        expected = sorted(rows, key=lambda pk: cos_dist(rows[pk]))[:4]
        assert [r["Item"]["pk"]["S"] for r in got] == expected
        for r in got:
            assert abs(r["Score"] - cos_dist(rows[r["Item"]["pk"]["S"]])) < 1e-4
        db.command({"dropSearchIndex": "FromMongo", "name": "cos"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "VectorIndexes" in _ok(amalgamd, "DescribeTable", {"TableName": "FromMongo"})["Table"]:
            time.sleep(0.05)
        status, body = dynamo_request(amalgamd, "SearchVectors", {
            "TableName": "FromMongo", "IndexName": "cos", "TopK": 1, "SearchVector": [{"N": "1"}] * DIMS})
        assert status == 400 and body["__type"].endswith("ResourceNotFoundException")
    finally:
        client.close()


def test_vector_attribute_writes_are_validated_against_the_index(amalgamd):
    server = amalgamd
    _ok(server, "CreateTable", {
        "TableName": "VecW", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "VectorIndexes": [{"IndexName": "emb_idx", "VectorAttribute": {"AttributeName": "emb"}, "Dimensions": 3,
                           "DistanceFunction": "COSINE", "Projection": {"ProjectionType": "ALL"}}]})

    def vec(*xs):
        return {"L": [{"N": str(x)} for x in xs]}

    def rejected(op, payload, contains):
        status, body = dynamo_request(server, op, payload)
        assert status == 400 and body["__type"].endswith("#ValidationException"), body
        assert contains in body["message"], body
        return body["message"]

    # Fine: a right vector, and an item without the attribute (not indexed, as DynamoDB).
    _ok(server, "PutItem", {"TableName": "VecW", "Item": {"pk": {"S": "a"}, "emb": vec(1, 0, 0)}})
    _ok(server, "PutItem", {"TableName": "VecW", "Item": {"pk": {"S": "none"}}})
    msg = rejected("PutItem", {"TableName": "VecW", "Item": {"pk": {"S": "b"}, "emb": vec(1, 2)}},
                   "Vector attribute emb has 2 dimensions but vector index emb_idx has 3")
    assert msg.startswith("One or more parameter values were invalid: ")
    rejected("PutItem", {"TableName": "VecW", "Item": {"pk": {"S": "b"}, "emb": {"S": "1,2,3"}}},
             "Invalid type for vector attribute emb: expected a list (L) of numbers, got S")
    rejected("PutItem", {"TableName": "VecW", "Item": {"pk": {"S": "b"}, "emb": {"NS": ["1", "2", "3"]}}}, "got NS")
    rejected("PutItem", {"TableName": "VecW", "Item": {"pk": {"S": "b"}, "emb": {"L": [
        {"N": "1"}, {"S": "2"}, {"N": "3"}]}}}, "element [1] is of type S, expected N")
    rejected("PutItem", {"TableName": "VecW", "Item": {"pk": {"S": "b"}, "emb": vec("1e39", 0, 0)}},
             "element [0] 1" + "0" * 39 + " is outside the 32-bit floating point range")
    # UpdateItem checks the item it would write; nothing changes.
    rejected("UpdateItem", {"TableName": "VecW", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET emb = :v",
                            "ExpressionAttributeValues": {":v": vec(1, 2, 3, 4)}}, "has 4 dimensions")
    rejected("UpdateItem", {"TableName": "VecW", "Key": {"pk": {"S": "a"}},
                            "UpdateExpression": "SET emb = list_append(emb, :v)",
                            "ExpressionAttributeValues": {":v": vec(9)}}, "has 4 dimensions")
    _ok(server, "UpdateItem", {"TableName": "VecW", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET emb[1] = :x",
                               "ExpressionAttributeValues": {":x": {"N": "0.5"}}})
    _ok(server, "UpdateItem", {"TableName": "VecW", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "REMOVE emb"})
    _ok(server, "UpdateItem", {"TableName": "VecW", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET emb = :v",
                               "ExpressionAttributeValues": {":v": vec(0, 1, 0)}})
    # A batch is validated whole before anything is applied.
    rejected("BatchWriteItem", {"RequestItems": {"VecW": [
        {"PutRequest": {"Item": {"pk": {"S": "c"}, "emb": vec(1, 1, 1)}}},
        {"PutRequest": {"Item": {"pk": {"S": "d"}, "emb": vec(1, 1)}}}]}}, "has 2 dimensions")
    assert "Item" not in _ok(server, "GetItem", {"TableName": "VecW", "Key": {"pk": {"S": "c"}}})
    rejected("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "VecW", "Item": {"pk": {"S": "c"}, "emb": vec(1, 1, 1)}}},
        {"Put": {"TableName": "VecW", "Item": {"pk": {"S": "e"}, "emb": {"L": [{"BOOL": True}] * 3}}}}]},
        "element [0] is of type BOOL, expected N")
    status, body = dynamo_request(server, "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "VecW", "Item": {"pk": {"S": "c"}, "emb": vec(1, 1, 1)}}},
        {"Update": {"TableName": "VecW", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET emb = :v",
                    "ExpressionAttributeValues": {":v": vec(1)}}}]})
    assert status == 400 and body["__type"].endswith("#TransactionCanceledException"), body
    assert [r["Code"] for r in body["CancellationReasons"]] == ["None", "ValidationError"]
    assert "Item" not in _ok(server, "GetItem", {"TableName": "VecW", "Key": {"pk": {"S": "c"}}})
    got = _ok(server, "GetItem", {"TableName": "VecW", "Key": {"pk": {"S": "a"}}})["Item"]
    assert got["emb"] == vec(0, 1, 0)
