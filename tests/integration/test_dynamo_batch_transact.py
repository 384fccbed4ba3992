"""BatchGetItem, BatchWriteItem, TransactGetItems, TransactWriteItems through boto3."""
import threading

import pytest
from botocore.exceptions import ClientError

from conftest import dynamo_client


@pytest.fixture
def tables(dynamo):
    for name in ("A1x", "B1x"):
        dynamo.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    return "A1x", "B1x"


def code(e):
    return e.value.response["Error"]["Code"]


def test_batch_write_then_get(dynamo, tables):
    a, b = tables
    r = dynamo.batch_write_item(RequestItems={
        a: [{"PutRequest": {"Item": {"k": {"S": f"a{i}"}, "v": {"N": str(i)}}}} for i in range(20)],
        b: [{"PutRequest": {"Item": {"k": {"S": "b0"}}}}]}, ReturnConsumedCapacity="TOTAL")
    assert r["UnprocessedItems"] == {}
    assert {c["TableName"]: c["CapacityUnits"] for c in r["ConsumedCapacity"]} == {a: 20.0, b: 1.0}
    r = dynamo.batch_get_item(RequestItems={
        a: {"Keys": [{"k": {"S": f"a{i}"}} for i in range(0, 20, 2)] + [{"k": {"S": "missing"}}],
            "ProjectionExpression": "v"},
        b: {"Keys": [{"k": {"S": "b0"}}], "ConsistentRead": True}})
    assert sorted(int(i["v"]["N"]) for i in r["Responses"][a]) == list(range(0, 20, 2))
    assert r["Responses"][b] == [{"k": {"S": "b0"}}]
    assert r["UnprocessedKeys"] == {}
    dynamo.batch_write_item(RequestItems={a: [{"DeleteRequest": {"Key": {"k": {"S": "a0"}}}}]})
    assert "Item" not in dynamo.get_item(TableName=a, Key={"k": {"S": "a0"}})


def test_batch_limits_and_all_or_nothing_validation(dynamo, tables):
    a, b = tables
    with pytest.raises(ClientError) as e:
        dynamo.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": {"k": {"S": f"x{i}"}}}} for i in range(26)]})
    assert code(e) == "ValidationException"
    # One bad item (wrong key type) rejects the whole batch: nothing is written.
    with pytest.raises(ClientError) as e:
        dynamo.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": {"k": {"S": "good"}}}},
                                                  {"PutRequest": {"Item": {"k": {"N": "1"}}}}]})
    assert code(e) == "ValidationException"
    assert "Item" not in dynamo.get_item(TableName=a, Key={"k": {"S": "good"}})
    with pytest.raises(ClientError) as e:
        dynamo.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": {"k": {"S": "d"}}}},
                                                  {"DeleteRequest": {"Key": {"k": {"S": "d"}}}}]})
    assert e.value.response["Error"]["Message"] == "Provided list of item keys contains duplicates"
    with pytest.raises(ClientError) as e:
        dynamo.batch_get_item(RequestItems={a: {"Keys": [{"k": {"S": f"x{i}"}} for i in range(101)]}})
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        dynamo.batch_get_item(RequestItems={"Nope": {"Keys": [{"k": {"S": "x"}}]}})
    assert code(e) == "ResourceNotFoundException"


def test_transact_write_all_or_nothing(dynamo, tables):
    a, b = tables
    dynamo.put_item(TableName=a, Item={"k": {"S": "acct1"}, "bal": {"N": "100"}})
    dynamo.put_item(TableName=a, Item={"k": {"S": "acct2"}, "bal": {"N": "0"}})
    transfer = lambda amount: [
        {"Update": {"TableName": a, "Key": {"k": {"S": "acct1"}}, "UpdateExpression": "SET bal = bal - :a",
                    "ConditionExpression": "bal >= :a", "ExpressionAttributeValues": {":a": {"N": str(amount)}}}},
        {"Update": {"TableName": a, "Key": {"k": {"S": "acct2"}}, "UpdateExpression": "SET bal = bal + :a",
                    "ExpressionAttributeValues": {":a": {"N": str(amount)}}}},
        {"Put": {"TableName": b, "Item": {"k": {"S": f"log{amount}"}}}},
        {"ConditionCheck": {"TableName": b, "Key": {"k": {"S": "lock"}},
                            "ConditionExpression": "attribute_not_exists(k)"}},
    ]
    dynamo.transact_write_items(TransactItems=transfer(60))
    with pytest.raises(ClientError) as e:
        dynamo.transact_write_items(TransactItems=transfer(60))
    assert code(e) == "TransactionCanceledException"
    reasons = e.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["ConditionalCheckFailed", "None", "None", "None"]
    assert "[ConditionalCheckFailed, None, None, None]" in e.value.response["Error"]["Message"]
    got = dynamo.transact_get_items(TransactItems=[
        {"Get": {"TableName": a, "Key": {"k": {"S": "acct1"}}}},
        {"Get": {"TableName": a, "Key": {"k": {"S": "acct2"}}, "ProjectionExpression": "bal"}},
        {"Get": {"TableName": b, "Key": {"k": {"S": "log60"}}}},
        {"Get": {"TableName": b, "Key": {"k": {"S": "nothing"}}}}])["Responses"]
    assert got[0]["Item"]["bal"] == {"N": "40"} and got[1]["Item"] == {"bal": {"N": "60"}}
    assert got[2]["Item"] == {"k": {"S": "log60"}} and got[3] == {}


def test_transact_validation(dynamo, tables):
    a, _ = tables
    with pytest.raises(ClientError) as e:
        dynamo.transact_write_items(TransactItems=[
            {"Put": {"TableName": a, "Item": {"k": {"S": "same"}}}},
            {"Delete": {"TableName": a, "Key": {"k": {"S": "same"}}}}])
    assert e.value.response["Error"]["Message"] == "Transaction request cannot include multiple operations on one item"
    with pytest.raises(ClientError) as e:
        dynamo.transact_write_items(TransactItems=[
            {"Put": {"TableName": a, "Item": {"k": {"S": f"i{i}"}}}} for i in range(101)])
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        dynamo.transact_write_items(TransactItems=[
            {"Update": {"TableName": a, "Key": {"k": {"S": "t"}}, "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}}])
    assert code(e) == "TransactionCanceledException"
    assert e.value.response["CancellationReasons"][0]["Code"] == "ValidationError"


def test_client_request_token_is_idempotent(dynamo, tables):
    a, _ = tables
    dynamo.put_item(TableName=a, Item={"k": {"S": "ctr"}, "n": {"N": "0"}})
    req = [{"Update": {"TableName": a, "Key": {"k": {"S": "ctr"}}, "UpdateExpression": "ADD n :one",
                       "ExpressionAttributeValues": {":one": {"N": "1"}}}}]
    dynamo.transact_write_items(TransactItems=req, ClientRequestToken="tok-1")
    dynamo.transact_write_items(TransactItems=req, ClientRequestToken="tok-1")
    assert dynamo.get_item(TableName=a, Key={"k": {"S": "ctr"}})["Item"]["n"] == {"N": "1"}
    other = [{"Put": {"TableName": a, "Item": {"k": {"S": "zzz"}}}}]
    with pytest.raises(ClientError) as e:
        dynamo.transact_write_items(TransactItems=other, ClientRequestToken="tok-1")
    assert code(e) == "IdempotentParameterMismatchException"


def test_concurrent_transactions_never_lose_updates(amalgamd, tables):
    a, _ = tables
    clients = [dynamo_client(amalgamd) for _ in range(4)]
    clients[0].put_item(TableName=a, Item={"k": {"S": "hot"}, "n": {"N": "0"}})
    ok = [0] * 4

    def work(i):
        for _ in range(25):
            try:
                clients[i].transact_write_items(TransactItems=[
                    {"Update": {"TableName": a, "Key": {"k": {"S": "hot"}}, "UpdateExpression": "ADD n :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}}}}])
                ok[i] += 1
            except ClientError as e:
                assert code_of(e) == "TransactionCanceledException"

    def code_of(e):
        return e.response["Error"]["Code"]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    n = int(clients[0].get_item(TableName=a, Key={"k": {"S": "hot"}})["Item"]["n"]["N"])
    assert n == sum(ok) and n > 0


def test_batch_and_transaction_reply_shapes_with_indexes(dynamo):
    """ConsumedCapacity (TOTAL / INDEXES) and ItemCollectionMetrics (SIZE, tables with an LSI)
    on BatchWriteItem, BatchGetItem, TransactWriteItems and TransactGetItems."""
    dynamo.create_table(
        TableName="Shapes", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "l", "g")],
        LocalSecondaryIndexes=[{"IndexName": "LIdx", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                                   {"AttributeName": "l", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "ALL"}}],
        GlobalSecondaryIndexes=[{"IndexName": "GIdx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    full = {"pk": {"S": "a"}, "sk": {"S": "1"}, "l": {"S": "x"}, "g": {"S": "y"}}
    r = dynamo.batch_write_item(RequestItems={"Shapes": [{"PutRequest": {"Item": full}}]})
    assert r["UnprocessedItems"] == {} and "ConsumedCapacity" not in r and "ItemCollectionMetrics" not in r
    r = dynamo.batch_write_item(RequestItems={"Shapes": [
        {"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"S": "1"}, "l": {"S": "x"}}}},
        {"DeleteRequest": {"Key": {"pk": {"S": "a"}, "sk": {"S": "1"}}}}]},
        ReturnConsumedCapacity="INDEXES", ReturnItemCollectionMetrics="SIZE")
    assert r["UnprocessedItems"] == {}
    [c] = r["ConsumedCapacity"]
    # Put b: table + LSI; delete a: table + LSI + GSI.
    assert c["TableName"] == "Shapes" and c["CapacityUnits"] == 5.0
    assert c["Table"]["CapacityUnits"] == 2.0
    assert c["LocalSecondaryIndexes"]["LIdx"]["CapacityUnits"] == 2.0
    assert c["GlobalSecondaryIndexes"]["GIdx"]["CapacityUnits"] == 1.0
    keys = sorted(m["ItemCollectionKey"]["pk"]["S"] for m in r["ItemCollectionMetrics"]["Shapes"])
    assert keys == ["a", "b"]
    assert all(m["SizeEstimateRangeGB"] == [0.0, 1.0] for m in r["ItemCollectionMetrics"]["Shapes"])
    r = dynamo.batch_get_item(RequestItems={"Shapes": {"Keys": [{"pk": {"S": "b"}, "sk": {"S": "1"}}]}},
                              ReturnConsumedCapacity="TOTAL")
    assert r["UnprocessedKeys"] == {} and r["ConsumedCapacity"] == [
        {"TableName": "Shapes", "CapacityUnits": 0.5, "ReadCapacityUnits": 0.5}]
    r = dynamo.transact_write_items(TransactItems=[{"Put": {"TableName": "Shapes", "Item": full}}],
                                    ReturnConsumedCapacity="INDEXES", ReturnItemCollectionMetrics="SIZE")
    [c] = r["ConsumedCapacity"]
    assert c["CapacityUnits"] == 6.0 and c["Table"]["CapacityUnits"] == 2.0  # transactions cost double
    assert r["ItemCollectionMetrics"]["Shapes"][0]["ItemCollectionKey"] == {"pk": {"S": "a"}}
    r = dynamo.transact_get_items(TransactItems=[{"Get": {"TableName": "Shapes", "Key": {
        "pk": {"S": "a"}, "sk": {"S": "1"}}}}], ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"][0]["CapacityUnits"] == 2.0 and r["Responses"][0]["Item"] == full


def test_item_collection_metrics_absent_without_lsi(dynamo, tables):
    """ItemCollectionMetrics describes LSI item collections: a table without an LSI gets no
    member at all, not an empty map."""
    a = tables[0]
    r = dynamo.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": {"k": {"S": "icm"}}}}]},
                                ReturnItemCollectionMetrics="SIZE")
    assert r["UnprocessedItems"] == {} and "ItemCollectionMetrics" not in r
    r = dynamo.transact_write_items(TransactItems=[{"Put": {"TableName": a, "Item": {"k": {"S": "icm2"}}}}],
                                    ReturnItemCollectionMetrics="SIZE")
    assert "ItemCollectionMetrics" not in r
    r = dynamo.put_item(TableName=a, Item={"k": {"S": "icm3"}}, ReturnItemCollectionMetrics="SIZE")
    assert "ItemCollectionMetrics" not in r
