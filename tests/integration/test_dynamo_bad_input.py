"""Bad input on the DynamoDB port: wrong parameter types, deep nesting, pathological expressions.
Every case is a clear 400 with DynamoDB's error type, nothing is half-applied, and the server
keeps serving."""
import pytest

from conftest import dynamo_request


@pytest.fixture
def table(dynamo):
    dynamo.create_table(TableName="Bad", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    return "Bad"


def error_type(body):
    return body["__type"].split("#")[-1]


@pytest.mark.parametrize("op,payload,expected", [
    ("GetItem", {"TableName": 5, "Key": {"k": {"S": "a"}}}, "SerializationException"),
    ("GetItem", {"TableName": "Bad", "Key": "k"}, "SerializationException"),
    ("GetItem", {"TableName": "Bad", "Key": {"k": {"S": 1}}}, "SerializationException"),
    ("GetItem", {"TableName": "Bad", "Key": {"k": {"X": "a"}}}, None),
    ("PutItem", {"TableName": "Bad", "Item": [1, 2]}, "SerializationException"),
    ("PutItem", {"TableName": "Bad", "Item": {"k": {"S": "a"}, "n": {"N": "abc"}}}, "ValidationException"),
    ("PutItem", {"TableName": "Bad", "Item": {"k": {"S": "a"}, "s": {"SS": []}}}, "ValidationException"),
    ("PutItem", {"TableName": "Bad", "Item": {"k": {"S": "a"}, "s": {"SS": ["x", "x"]}}}, "ValidationException"),
    ("PutItem", {"TableName": "Bad", "Item": {"k": {"S": ""}}}, "ValidationException"),
    ("Query", {"TableName": "Bad", "KeyConditionExpression": "k = :k", "Limit": "x",
               "ExpressionAttributeValues": {":k": {"S": "a"}}}, "SerializationException"),
    ("Query", {"TableName": "Bad", "KeyConditionExpression": "k = :k",
               "ExpressionAttributeValues": {":k": {"S": "a"}}, "ScanIndexForward": "yes"}, "SerializationException"),
    ("Scan", {"TableName": "Bad", "Segment": 1}, "ValidationException"),
    ("Scan", {"TableName": "Bad", "Limit": 0}, "ValidationException"),
    ("BatchWriteItem", {"RequestItems": {"Bad": {"PutRequest": {}}}}, "SerializationException"),
    ("TransactWriteItems", {"TransactItems": {}}, "SerializationException"),
    ("CreateTable", {"TableName": "Xyz", "KeySchema": "k"}, "SerializationException"),
    ("UpdateItem", {"TableName": "Bad", "Key": {"k": {"S": "a"}}, "UpdateExpression": "SET"}, "ValidationException"),
])
def test_wrong_types_are_clear_400s(amalgamd, table, op, payload, expected):
    status, body = dynamo_request(amalgamd, op, payload)
    assert status == 400, body
    if expected:
        assert error_type(body) == expected, body
    assert body.get("message")
    status, _ = dynamo_request(amalgamd, "ListTables", {})
    assert status == 200


def test_deep_nesting_is_rejected(amalgamd, table):
    value = {"S": "leaf"}
    for _ in range(40):
        value = {"M": {"a": value}}
    status, body = dynamo_request(amalgamd, "PutItem", {"TableName": "Bad", "Item": {"k": {"S": "deep"}, "v": value}})
    assert status == 400 and error_type(body) == "ValidationException"
    status, body = dynamo_request(amalgamd, "GetItem", {"TableName": "Bad", "Key": {"k": {"S": "deep"}}})
    assert status == 200 and "Item" not in body


def test_pathological_expressions(amalgamd, table):
    deep = "(" * 5000 + "a = :v" + ")" * 5000
    long_expr = " AND ".join(["a = :v"] * 2000)
    for cond in (deep, long_expr, "a = = :v", "attribute_exists(", "NOT " * 3000 + "a = :v"):
        status, body = dynamo_request(amalgamd, "PutItem", {
            "TableName": "Bad", "Item": {"k": {"S": "x"}}, "ConditionExpression": cond,
            "ExpressionAttributeValues": {":v": {"S": "1"}}})
        assert status == 400 and error_type(body) == "ValidationException", body
    status, body = dynamo_request(amalgamd, "GetItem", {"TableName": "Bad", "Key": {"k": {"S": "x"}}})
    assert status == 200 and "Item" not in body  # nothing was written


def test_oversized_item_in_batch_applies_nothing(amalgamd, table):
    status, body = dynamo_request(amalgamd, "BatchWriteItem", {"RequestItems": {"Bad": [
        {"PutRequest": {"Item": {"k": {"S": "ok"}}}},
        {"PutRequest": {"Item": {"k": {"S": "huge"}, "b": {"S": "x" * (401 * 1024)}}}}]}})
    assert status == 400 and error_type(body) == "ValidationException"
    status, body = dynamo_request(amalgamd, "GetItem", {"TableName": "Bad", "Key": {"k": {"S": "ok"}}})
    assert "Item" not in body


def test_return_values_on_condition_failure_enum(amalgamd, table):
    status, body = dynamo_request(amalgamd, "PutItem", {
        "TableName": "Bad", "Item": {"k": {"S": "a"}}, "ReturnValuesOnConditionCheckFailure": "ALL_NEW"})
    assert status == 400 and error_type(body) == "ValidationException"
    assert "Member must satisfy enum value set: [ALL_OLD, NONE]" in body["message"]
