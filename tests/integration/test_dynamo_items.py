"""PutItem / GetItem / UpdateItem / DeleteItem through boto3 against the real amalgamd."""
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from conftest import dynamo_request


@pytest.fixture
def table(dynamo):
    dynamo.create_table(
        TableName="Items", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"}])
    return "Items"


def code(e):
    return e.value.response["Error"]["Code"]


def message(e):
    return e.value.response["Error"]["Message"]


ALL_TYPES = {
    "pk": {"S": "alice"}, "sk": {"N": "1"},
    "s": {"S": ""}, "n": {"N": "-12.50"}, "big": {"N": "12345678901234567890123456789012345678"},
    "tiny": {"N": "0.000001"}, "b": {"B": b"\x00\xffbin"}, "t": {"BOOL": True}, "nul": {"NULL": True},
    "m": {"M": {"x": {"L": [{"N": "1"}, {"S": "two"}, {"M": {}}]}}},
    "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"\x01", b"\x02"]},
}


def test_round_trip_of_every_type(dynamo, table):
    dynamo.put_item(TableName=table, Item=ALL_TYPES)
    got = dynamo.get_item(TableName=table, Key={"pk": {"S": "alice"}, "sk": {"N": "1"}})["Item"]
    expected = dict(ALL_TYPES)
    expected["n"] = {"N": "-12.5"}  # DynamoDB's canonical number form
    got["ss"]["SS"].sort(); got["ns"]["NS"].sort(); got["bs"]["BS"].sort()
    assert got == expected


def test_get_missing_item_and_projection(dynamo, table):
    assert "Item" not in dynamo.get_item(TableName=table, Key={"pk": {"S": "nobody"}, "sk": {"N": "1"}})
    dynamo.put_item(TableName=table, Item=ALL_TYPES)
    got = dynamo.get_item(TableName=table, Key={"pk": {"S": "alice"}, "sk": {"N": "1"}},
                          ProjectionExpression="#m.x[1], t", ExpressionAttributeNames={"#m": "m"},
                          ConsistentRead=True)["Item"]
    assert got == {"m": {"M": {"x": {"L": [{"S": "two"}]}}}, "t": {"BOOL": True}}


def test_key_validation(dynamo, table):
    with pytest.raises(ClientError) as e:
        dynamo.get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert code(e) == "ValidationException"
    assert message(e) == "The provided key element does not match the schema"
    with pytest.raises(ClientError) as e:
        dynamo.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "not a number"}})
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        dynamo.get_item(TableName="Missing", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert code(e) == "ResourceNotFoundException"


def test_conditional_put_and_return_values(dynamo, table, amalgamd):
    key = {"pk": {"S": "c"}, "sk": {"N": "1"}}
    dynamo.put_item(TableName=table, Item={**key, "v": {"N": "1"}},
                    ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError) as e:
        dynamo.put_item(TableName=table, Item={**key, "v": {"N": "2"}},
                        ConditionExpression="attribute_not_exists(pk)")
    assert code(e) == "ConditionalCheckFailedException"
    assert message(e) == "The conditional request failed"
    status, body = dynamo_request(amalgamd, "PutItem", {
        "TableName": table, "Item": {**key, "v": {"N": "2"}}, "ConditionExpression": "v = :x",
        "ExpressionAttributeValues": {":x": {"N": "5"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    assert status == 400
    assert body["__type"].endswith("#ConditionalCheckFailedException")
    assert body["Item"] == {**key, "v": {"N": "1"}}
    r = dynamo.put_item(TableName=table, Item={**key, "v": {"N": "3"}}, ReturnValues="ALL_OLD",
                        ConditionExpression="v = :x", ExpressionAttributeValues={":x": {"N": "1"}})
    assert r["Attributes"] == {**key, "v": {"N": "1"}}
    with pytest.raises(ClientError) as e:
        dynamo.put_item(TableName=table, Item=key, ReturnValues="ALL_NEW")
    assert message(e) == "ReturnValues can only be ALL_OLD or NONE"


def test_update_item_expressions_and_return_values(dynamo, table):
    key = {"pk": {"S": "u"}, "sk": {"N": "1"}}
    r = dynamo.update_item(TableName=table, Key=key, UpdateExpression="SET a = :a, c = :zero ADD n :one",
                           ExpressionAttributeValues={":a": {"S": "x"}, ":zero": {"N": "0"}, ":one": {"N": "1"}},
                           ReturnValues="ALL_NEW")
    assert r["Attributes"] == {**key, "a": {"S": "x"}, "c": {"N": "0"}, "n": {"N": "1"}}
    r = dynamo.update_item(TableName=table, Key=key, UpdateExpression="SET c = c + :one REMOVE a",
                           ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_OLD")
    assert r["Attributes"] == {"a": {"S": "x"}, "c": {"N": "0"}}
    r = dynamo.update_item(TableName=table, Key=key, UpdateExpression="ADD n :one",
                           ExpressionAttributeValues={":one": {"N": "41"}}, ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"n": {"N": "42"}}
    with pytest.raises(ClientError) as e:
        dynamo.update_item(TableName=table, Key=key, UpdateExpression="SET pk = :v",
                           ExpressionAttributeValues={":v": {"S": "x"}})
    assert code(e) == "ValidationException" and "part of the key" in message(e)
    with pytest.raises(ClientError) as e:
        dynamo.update_item(TableName=table, Key=key, UpdateExpression="SET a = :v",
                           ExpressionAttributeValues={":v": {"S": "x"}, ":unused": {"S": "y"}})
    assert code(e) == "ValidationException" and "unused" in message(e)
    with pytest.raises(ClientError) as e:
        dynamo.update_item(TableName=table, Key=key, UpdateExpression="SET a = :v",
                           ConditionExpression="n > :big",
                           ExpressionAttributeValues={":v": {"S": "x"}, ":big": {"N": "100"}})
    assert code(e) == "ConditionalCheckFailedException"


def test_delete_item(dynamo, table):
    key = {"pk": {"S": "d"}, "sk": {"N": "1"}}
    dynamo.put_item(TableName=table, Item={**key, "v": {"S": "x"}})
    with pytest.raises(ClientError) as e:
        dynamo.delete_item(TableName=table, Key=key, ConditionExpression="v = :y",
                           ExpressionAttributeValues={":y": {"S": "y"}})
    assert code(e) == "ConditionalCheckFailedException"
    r = dynamo.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {**key, "v": {"S": "x"}}
    assert "Item" not in dynamo.get_item(TableName=table, Key=key)
    r = dynamo.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD")
    assert "Attributes" not in r


def test_item_size_limit(dynamo, table):
    key = {"pk": {"S": "big"}, "sk": {"N": "1"}}
    with pytest.raises(ClientError) as e:
        dynamo.put_item(TableName=table, Item={**key, "blob": {"S": "x" * (400 * 1024)}})
    assert code(e) == "ValidationException"
    assert message(e) == "Item size has exceeded the maximum allowed size"
    dynamo.put_item(TableName=table, Item={**key, "blob": {"S": "x" * (390 * 1024)}})
    with pytest.raises(ClientError) as e:
        dynamo.update_item(TableName=table, Key=key, UpdateExpression="SET more = :m",
                           ExpressionAttributeValues={":m": {"S": "y" * (20 * 1024)}})
    assert message(e) == "Item size has exceeded the maximum allowed size"


def test_consumed_capacity(dynamo, table):
    key = {"pk": {"S": "cap"}, "sk": {"N": "1"}}
    r = dynamo.put_item(TableName=table, Item={**key, "v": {"S": "x" * 1500}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}
    r = dynamo.get_item(TableName=table, Key=key, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 0.5
    r = dynamo.get_item(TableName=table, Key=key, ReturnConsumedCapacity="INDEXES", ConsistentRead=True)
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0
    assert r["ConsumedCapacity"]["Table"]["CapacityUnits"] == 1.0


def test_boto3_resource_layer(dynamo, table, amalgamd):
    import boto3
    res = boto3.resource("dynamodb", endpoint_url=f"http://127.0.0.1:{amalgamd.ports['dynamo']}",
                         region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    t = res.Table(table)
    t.put_item(Item={"pk": "r", "sk": 7, "price": Decimal("19.99"), "tags": {"a", "b"}})
    item = t.get_item(Key={"pk": "r", "sk": 7})["Item"]
    assert item == {"pk": "r", "sk": Decimal(7), "price": Decimal("19.99"), "tags": {"a", "b"}}
