"""DynamoDB control plane through boto3 against the real amalgamd."""
import pytest
from botocore.exceptions import ClientError

from conftest import dynamo_client


def create(dynamo, name="Music", range_key=True, **extra):
    keys = [{"AttributeName": "Artist", "KeyType": "HASH"}]
    defs = [{"AttributeName": "Artist", "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": "SongTitle", "KeyType": "RANGE"})
        defs.append({"AttributeName": "SongTitle", "AttributeType": "S"})
    defs += extra.pop("extra_defs", [])
    args = dict(TableName=name, KeySchema=keys, AttributeDefinitions=defs,
                BillingMode="PAY_PER_REQUEST")
    args.update(extra)
    return dynamo.create_table(**args)["TableDescription"]


def code(e):
    return e.value.response["Error"]["Code"]


def message(e):
    return e.value.response["Error"]["Message"]


def test_create_describe_list_delete(dynamo):
    d = create(dynamo)
    assert d["TableName"] == "Music"
    assert d["TableStatus"] == "ACTIVE"
    assert d["KeySchema"] == [{"AttributeName": "Artist", "KeyType": "HASH"},
                              {"AttributeName": "SongTitle", "KeyType": "RANGE"}]
    assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert d["TableArn"] == "arn:aws:dynamodb:us-east-1:000000000000:table/Music"
    assert len(d["TableId"]) == 36
    t = dynamo.describe_table(TableName="Music")["Table"]
    assert t["ItemCount"] == 0 and t["TableSizeBytes"] == 0
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert t["CreationDateTime"] == d["CreationDateTime"]
    dynamo.get_waiter("table_exists").wait(TableName="Music", WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    assert dynamo.list_tables()["TableNames"] == ["Music"]
    deleted = dynamo.delete_table(TableName="Music")["TableDescription"]
    assert deleted["TableStatus"] == "DELETING"
    assert dynamo.list_tables()["TableNames"] == []
    with pytest.raises(ClientError) as e:
        dynamo.describe_table(TableName="Music")
    assert code(e) == "ResourceNotFoundException"
    assert message(e) == "Requested resource not found: Table: Music not found"
    with pytest.raises(ClientError) as e:
        dynamo.delete_table(TableName="Music")
    assert code(e) == "ResourceNotFoundException"


def test_create_existing_table_is_resource_in_use(dynamo):
    create(dynamo)
    with pytest.raises(ClientError) as e:
        create(dynamo)
    assert code(e) == "ResourceInUseException"
    assert message(e) == "Table already exists: Music"


def test_provisioned_table_and_update(dynamo):
    d = create(dynamo, "Prov", BillingMode="PROVISIONED",
               ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7})
    assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert d["ProvisionedThroughput"]["WriteCapacityUnits"] == 7
    assert d["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    u = dynamo.update_table(TableName="Prov", ProvisionedThroughput={"ReadCapacityUnits": 10,
                                                                      "WriteCapacityUnits": 7})
    assert u["TableDescription"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 10
    assert "LastIncreaseDateTime" in u["TableDescription"]["ProvisionedThroughput"]
    u = dynamo.update_table(TableName="Prov", BillingMode="PAY_PER_REQUEST")
    assert u["TableDescription"]["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    with pytest.raises(ClientError) as e:
        dynamo.update_table(TableName="Prov")
    assert code(e) == "ValidationException"


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(TableName="ab"), "Member must have length greater than or equal to 3"),
    (dict(TableName="bad name!"), "Member must satisfy regular expression pattern"),
])
def test_table_name_constraints(amalgamd, kwargs, fragment):
    dynamo = dynamo_client(amalgamd, parameter_validation=False)
    with pytest.raises(ClientError) as e:
        dynamo.create_table(KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST", **kwargs)
    assert code(e) == "ValidationException"
    assert fragment in message(e)
    assert message(e).startswith("1 validation error detected: Value '")


def test_key_schema_validation(dynamo):
    with pytest.raises(ClientError) as e:
        dynamo.create_table(TableName="T1x", KeySchema=[{"AttributeName": "a", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
    assert message(e) == "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"
    with pytest.raises(ClientError) as e:
        dynamo.create_table(TableName="T1x", KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "b", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
    assert "Some index key attributes are not defined in AttributeDefinitions" in message(e)
    with pytest.raises(ClientError) as e:
        dynamo.create_table(TableName="T1x", KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"},
                                                  {"AttributeName": "b", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
    assert "Number of attributes in KeySchema does not exactly match" in message(e)
    with pytest.raises(ClientError) as e:
        dynamo.create_table(TableName="T1x", KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "X"}],
                            BillingMode="PAY_PER_REQUEST")
    assert "Member must satisfy enum value set: [B, N, S]" in message(e)
    with pytest.raises(ClientError) as e:
        dynamo.create_table(TableName="T1x", KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}])
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        dynamo.create_table(TableName="T1x", KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST",
                            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    assert "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified" in message(e)


def test_secondary_indexes_described(dynamo):
    d = create(dynamo, "Idx", extra_defs=[{"AttributeName": "Genre", "AttributeType": "S"},
                                          {"AttributeName": "Year", "AttributeType": "N"}],
               GlobalSecondaryIndexes=[{
                   "IndexName": "ByGenre",
                   "KeySchema": [{"AttributeName": "Genre", "KeyType": "HASH"},
                                 {"AttributeName": "Year", "KeyType": "RANGE"}],
                   "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["Album"]}}],
               LocalSecondaryIndexes=[{
                   "IndexName": "ByYear",
                   "KeySchema": [{"AttributeName": "Artist", "KeyType": "HASH"},
                                 {"AttributeName": "Year", "KeyType": "RANGE"}],
                   "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    gsi = d["GlobalSecondaryIndexes"][0]
    assert gsi["IndexName"] == "ByGenre" and gsi["IndexStatus"] == "ACTIVE"
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["Album"]}
    assert gsi["IndexArn"].endswith("table/Idx/index/ByGenre")
    lsi = d["LocalSecondaryIndexes"][0]
    assert lsi["IndexName"] == "ByYear" and lsi["Projection"]["ProjectionType"] == "KEYS_ONLY"
    # The indexes are engine indexes: delete and re-add one through UpdateTable.
    u = dynamo.update_table(TableName="Idx", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "ByGenre"}}])
    assert "GlobalSecondaryIndexes" not in u["TableDescription"]
    u = dynamo.update_table(
        TableName="Idx",
        AttributeDefinitions=[{"AttributeName": "Genre", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "Genre2", "KeySchema": [{"AttributeName": "Genre", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}}])
    names = [g["IndexName"] for g in u["TableDescription"]["GlobalSecondaryIndexes"]]
    assert names == ["Genre2"]


def test_index_validation(dynamo):
    with pytest.raises(ClientError) as e:
        create(dynamo, "NoRange", range_key=False,
               extra_defs=[{"AttributeName": "Y", "AttributeType": "N"}],
               LocalSecondaryIndexes=[{"IndexName": "Lix1", "KeySchema": [
                   {"AttributeName": "Artist", "KeyType": "HASH"}, {"AttributeName": "Y", "KeyType": "RANGE"}],
                   "Projection": {"ProjectionType": "ALL"}}])
    assert "does not have a range key, which is required when specifying a LocalSecondaryIndex" in message(e)
    with pytest.raises(ClientError) as e:
        create(dynamo, "Inc", extra_defs=[{"AttributeName": "G", "AttributeType": "S"}],
               GlobalSecondaryIndexes=[{"IndexName": "Gix1", "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}],
                                        "Projection": {"ProjectionType": "INCLUDE"}}])
    assert "ProjectionType is INCLUDE, but NonKeyAttributes is not specified" in message(e)
    gsis = [{"IndexName": f"G{i:02d}", "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}} for i in range(21)]
    with pytest.raises(ClientError) as e:
        create(dynamo, "Many", extra_defs=[{"AttributeName": "G", "AttributeType": "S"}],
               GlobalSecondaryIndexes=gsis)
    assert "GlobalSecondaryIndex count exceeds the per-table limit of 20" in message(e)


def test_list_tables_paginates(dynamo):
    names = [f"tbl{i:02d}" for i in range(7)]
    for n in names:
        create(dynamo, n, range_key=False)
    page = dynamo.list_tables(Limit=3)
    assert page["TableNames"] == names[:3] and page["LastEvaluatedTableName"] == names[2]
    page = dynamo.list_tables(Limit=3, ExclusiveStartTableName=page["LastEvaluatedTableName"])
    assert page["TableNames"] == names[3:6]
    seen = []
    for p in dynamo.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 2}):
        seen += p["TableNames"]
    assert seen == names


def test_tags(dynamo):
    arn = create(dynamo, Tags=[{"Key": "env", "Value": "dev"}])["TableArn"]
    assert dynamo.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    dynamo.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "prod"}])
    tags = {t["Key"]: t["Value"] for t in dynamo.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"env": "prod", "team": "a"}
    dynamo.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert dynamo.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    with pytest.raises(ClientError) as e:
        dynamo.list_tags_of_resource(ResourceArn=arn.replace("Music", "Nope"))
    assert code(e) == "ResourceNotFoundException"


def test_ttl_settings(dynamo):
    create(dynamo)
    assert dynamo.describe_time_to_live(TableName="Music")["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "DISABLED"}
    r = dynamo.update_time_to_live(TableName="Music",
                                   TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert r["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "exp"}
    assert dynamo.describe_time_to_live(TableName="Music")["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    with pytest.raises(ClientError) as e:
        dynamo.update_time_to_live(TableName="Music",
                                   TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert message(e) == "TimeToLive is already enabled"


def test_streams_sse_and_class_are_echoed(dynamo):
    d = create(dynamo, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
               SSESpecification={"Enabled": True, "SSEType": "KMS"}, TableClass="STANDARD_INFREQUENT_ACCESS")
    assert d["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert d["LatestStreamArn"] == d["TableArn"] + "/stream/" + d["LatestStreamLabel"]
    assert d["SSEDescription"]["Status"] == "ENABLED"
    assert d["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    u = dynamo.update_table(TableName="Music",
                            StreamSpecification={"StreamEnabled": False})["TableDescription"]
    assert "StreamSpecification" not in u
    dynamo.delete_table(TableName="Music")


def test_account_level_operations(dynamo, amalgamd):
    ep = dynamo.describe_endpoints()["Endpoints"]
    assert ep == [{"Address": f"127.0.0.1:{amalgamd.ports['dynamo']}", "CachePeriodInMinutes": 1440}]
    limits = dynamo.describe_limits()
    assert limits["TableMaxReadCapacityUnits"] == 40000
    create(dynamo)
    backups = dynamo.describe_continuous_backups(TableName="Music")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
