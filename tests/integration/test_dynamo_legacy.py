"""The legacy (pre-expression) parameters through boto3."""
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def table(dynamo):
    dynamo.create_table(
        TableName="Legacy", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                              {"AttributeName": "s", "AttributeType": "N"}])
    for i in range(1, 6):
        dynamo.put_item(TableName="Legacy", Item={"p": {"S": "a"}, "s": {"N": str(i)}, "v": {"N": str(i * 10)}})
    return "Legacy"


def test_expected_attribute_updates_and_attributes_to_get(dynamo, table):
    key = {"p": {"S": "a"}, "s": {"N": "1"}}
    with pytest.raises(ClientError) as e:
        dynamo.put_item(TableName=table, Item=key, Expected={"v": {"Value": {"N": "99"}}})
    assert e.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    dynamo.update_item(TableName=table, Key=key, Expected={"v": {"ComparisonOperator": "EQ",
                                                                 "AttributeValueList": [{"N": "10"}]}},
                       AttributeUpdates={"v": {"Action": "ADD", "Value": {"N": "5"}},
                                         "w": {"Action": "PUT", "Value": {"S": "x"}}})
    item = dynamo.get_item(TableName=table, Key=key, AttributesToGet=["v", "w"])["Item"]
    assert item == {"v": {"N": "15"}, "w": {"S": "x"}}


def test_key_conditions_and_filters(dynamo, table):
    r = dynamo.query(TableName=table, KeyConditions={
        "p": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
        "s": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "2"}]}},
        QueryFilter={"v": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "50"}]}})
    assert [i["s"]["N"] for i in r["Items"]] == ["3", "4"]
    r = dynamo.scan(TableName=table, ScanFilter={"v": {"ComparisonOperator": "BETWEEN",
                                                       "AttributeValueList": [{"N": "20"}, {"N": "30"}]}})
    assert r["Count"] == 2 and r["ScannedCount"] == 5


def test_mixing_legacy_and_expressions_is_rejected(dynamo, table):
    with pytest.raises(ClientError) as e:
        dynamo.put_item(TableName=table, Item={"p": {"S": "a"}, "s": {"N": "9"}},
                        Expected={"v": {"Exists": False}}, ConditionExpression="attribute_not_exists(v)")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "Can not use both expression and non-expression parameters" in e.value.response["Error"]["Message"]
