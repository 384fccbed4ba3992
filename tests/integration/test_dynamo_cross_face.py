"""Items written through the DynamoDB API are documents of dynamodb.<Table> on the MongoDB face."""
from decimal import Decimal

import pymongo
from bson.decimal128 import Decimal128


def test_item_put_with_boto3_is_read_with_pymongo(dynamo, amalgamd):
    dynamo.create_table(TableName="Shared", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "user", "KeyType": "HASH"},
                                   {"AttributeName": "ts", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "user", "AttributeType": "S"},
                                              {"AttributeName": "ts", "AttributeType": "N"}])
    dynamo.put_item(TableName="Shared", Item={
        "user": {"S": "alice"}, "ts": {"N": "17"}, "text": {"S": "hello"}, "score": {"N": "0.5"},
        "ok": {"BOOL": True}, "tags": {"SS": ["x", "y"]}, "meta": {"M": {"n": {"L": [{"N": "1"}, {"NULL": True}]}}}})
    client = pymongo.MongoClient("127.0.0.1", amalgamd.ports["mongo"], directConnection=True,
                                 serverSelectionTimeoutMS=10000)
    try:
        coll = client["dynamodb"]["Shared"]
        docs = list(coll.find({}))
        assert len(docs) == 1
        doc = docs[0]
        assert doc["_id"] == {"user": "alice", "ts": Decimal128("17")}
        assert doc["user"] == "alice" and doc["ts"] == Decimal128("17")
        assert doc["text"] == "hello" and doc["score"] == Decimal128("0.5") and doc["ok"] is True
        assert sorted(doc["tags"]) == ["x", "y"]
        assert doc["meta"] == {"n": [Decimal128("1"), None]}
        # A MongoDB query over the table's documents, and a write seen back through DynamoDB.
        assert coll.count_documents({"text": "hello"}) == 1
        coll.update_one({"_id": doc["_id"]}, {"$set": {"text": "edited", "views": 3}})
        item = dynamo.get_item(TableName="Shared", Key={"user": {"S": "alice"}, "ts": {"N": "17"}})["Item"]
        assert item["text"] == {"S": "edited"} and item["views"] == {"N": "3"}
        assert "Shared" in client["dynamodb"].list_collection_names()
    finally:
        client.close()


def test_tables_and_items_survive_a_restart(start_amalgamd, tmp_path):
    from conftest import dynamo_client
    data = tmp_path / "persist"
    server = start_amalgamd(data_dir=data)
    dynamo = dynamo_client(server)
    dynamo.create_table(TableName="Keep", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "_id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "_id", "AttributeType": "S"},
                                              {"AttributeName": "g", "AttributeType": "N"}],
                        GlobalSecondaryIndexes=[{"IndexName": "ByG", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                                 "Projection": {"ProjectionType": "ALL"}}])
    dynamo.put_item(TableName="Keep", Item={"_id": {"S": "one"}, "g": {"N": "7"}, "big": {"N": "1" * 38}})
    assert server.stop() == 0
    server = start_amalgamd(data_dir=data)
    dynamo = dynamo_client(server)
    t = dynamo.describe_table(TableName="Keep")["Table"]
    assert t["ItemCount"] == 1 and t["GlobalSecondaryIndexes"][0]["ItemCount"] == 1
    item = dynamo.get_item(TableName="Keep", Key={"_id": {"S": "one"}})["Item"]
    assert item == {"_id": {"S": "one"}, "g": {"N": "7"}, "big": {"N": "1" * 38}}
    r = dynamo.query(TableName="Keep", IndexName="ByG", KeyConditionExpression="g = :g",
                     ExpressionAttributeValues={":g": {"N": "7"}})
    assert r["Count"] == 1
    client = pymongo.MongoClient("127.0.0.1", server.ports["mongo"], directConnection=True,
                                 serverSelectionTimeoutMS=10000)
    try:
        assert client["dynamodb"]["Keep"].find_one({"_id": "one"})["g"] == Decimal128("7")
    finally:
        client.close()
