// DescribeTable, ListTables, tags, TTL settings and the small account-level operations.
#include "api/dynamo/table_describe.h"
#include "api/dynamo/vector.h"

#include <algorithm>
#include <cmath>

#include "api/dynamo/model/bson_mapping.h"
#include "api/dynamo/streams.h"

namespace amalgam::api::dynamo {

namespace {

void WriteKeySchema(JsonWriter& w, const KeySchema& key) {
  w.StartArray();
  w.StartObject();
  WriteKey(w, "AttributeName");
  WriteString(w, key.hash_name);
  WriteKey(w, "KeyType");
  w.String("HASH");
  w.EndObject();
  if (key.has_range()) {
    w.StartObject();
    WriteKey(w, "AttributeName");
    WriteString(w, *key.range_name);
    WriteKey(w, "KeyType");
    w.String("RANGE");
    w.EndObject();
  }
  w.EndArray();
}

void WriteThroughput(JsonWriter& w, const Throughput& t, double last_increase, double last_decrease) {
  w.StartObject();
  if (last_increase > 0) {
    WriteKey(w, "LastIncreaseDateTime");
    w.Double(last_increase);
  }
  if (last_decrease > 0) {
    WriteKey(w, "LastDecreaseDateTime");
    w.Double(last_decrease);
  }
  WriteKey(w, "NumberOfDecreasesToday");
  w.Int(0);
  WriteKey(w, "ReadCapacityUnits");
  w.Int64(t.read);
  WriteKey(w, "WriteCapacityUnits");
  w.Int64(t.write);
  w.EndObject();
}

std::string StreamArn(const DynamoService::State& state, const TableMeta& meta) {
  return TableArn(state, meta.name) + "/stream/" + meta.stream_label;
}

}  // namespace

Status WriteTableDescription(OpContext& ctx, const Table& table, std::string_view status, bool count) {
  const TableMeta& m = *table.meta;
  TableFigures counts;
  if (count) {
    AMALGAM_ASSIGN_OR_RETURN(counts, ctx.state.stats.Get(table.handle, table.meta));
  }
  JsonWriter& w = ctx.out;
  std::string arn = TableArn(ctx.state, m.name);
  w.StartObject();
  WriteKey(w, "AttributeDefinitions");
  w.StartArray();
  for (const auto& [name, type] : m.attribute_definitions) {
    w.StartObject();
    WriteKey(w, "AttributeName");
    WriteString(w, name);
    WriteKey(w, "AttributeType");
    WriteString(w, std::string_view(&type, 1));
    w.EndObject();
  }
  w.EndArray();
  WriteKey(w, "TableName");
  WriteString(w, m.name);
  WriteKey(w, "KeySchema");
  WriteKeySchema(w, m.key);
  WriteKey(w, "TableStatus");
  WriteString(w, status);
  WriteKey(w, "CreationDateTime");
  w.Double(m.creation_time);
  WriteKey(w, "ProvisionedThroughput");
  WriteThroughput(w, m.pay_per_request ? Throughput{} : m.throughput, m.last_increase_time,
                  m.last_decrease_time);
  WriteKey(w, "TableSizeBytes");
  w.Int64(counts.bytes);
  WriteKey(w, "ItemCount");
  w.Int64(counts.items);
  WriteKey(w, "TableArn");
  WriteString(w, arn);
  WriteKey(w, "TableId");
  WriteString(w, m.table_id);
  WriteKey(w, "BillingModeSummary");
  w.StartObject();
  WriteKey(w, "BillingMode");
  w.String(m.pay_per_request ? "PAY_PER_REQUEST" : "PROVISIONED");
  if (m.pay_per_request) {
    WriteKey(w, "LastUpdateToPayPerRequestDateTime");
    w.Double(m.creation_time);
  }
  w.EndObject();
  for (int global = 0; global < 2; ++global) {
    bool any = false;
    for (size_t i = 0; i < m.indexes.size(); ++i) {
      const SecondaryIndex& index = m.indexes[i];
      if (index.global != (global == 1)) continue;
      if (!any) {
        WriteKey(w, global ? "GlobalSecondaryIndexes" : "LocalSecondaryIndexes");
        w.StartArray();
        any = true;
      }
      w.StartObject();
      WriteKey(w, "IndexName");
      WriteString(w, index.name);
      WriteKey(w, "KeySchema");
      WriteKeySchema(w, index.key);
      WriteKey(w, "Projection");
      w.StartObject();
      WriteKey(w, "ProjectionType");
      WriteString(w, index.projection);
      if (index.projection == "INCLUDE") {
        WriteKey(w, "NonKeyAttributes");
        w.StartArray();
        for (const std::string& a : index.non_key) WriteString(w, a);
        w.EndArray();
      }
      w.EndObject();
      if (index.global) {
        const catalog::IndexSpec* spec = table.handle->info->FindIndex(index.name);
        WriteKey(w, "IndexStatus");
        w.String(status == "DELETING"                                            ? "DELETING"
                 : spec && spec->state == catalog::IndexSpec::State::kBuilding ? "CREATING"
                                                                                 : "ACTIVE");
        if (spec && spec->state == catalog::IndexSpec::State::kBuilding) {
          WriteKey(w, "Backfilling");
          w.Bool(true);
        }
        WriteKey(w, "ProvisionedThroughput");
        WriteThroughput(w, m.pay_per_request ? Throughput{} : index.throughput, 0, 0);
      }
      TableFigures::Index figures;
      if (auto it = counts.indexes.find(index.name); it != counts.indexes.end()) figures = it->second;
      WriteKey(w, "IndexSizeBytes");
      w.Int64(figures.bytes);
      WriteKey(w, "ItemCount");
      w.Int64(figures.items);
      WriteKey(w, "IndexArn");
      WriteString(w, arn + "/index/" + index.name);
      w.EndObject();
    }
    if (any) w.EndArray();
  }
  if (m.stream_enabled) {
    WriteKey(w, "StreamSpecification");
    w.StartObject();
    WriteKey(w, "StreamEnabled");
    w.Bool(true);
    WriteKey(w, "StreamViewType");
    WriteString(w, m.stream_view_type);
    w.EndObject();
  }
  if (!m.stream_label.empty()) {
    WriteKey(w, "LatestStreamLabel");
    WriteString(w, m.stream_label);
    WriteKey(w, "LatestStreamArn");
    WriteString(w, StreamArn(ctx.state, m));
  }
  if (m.sse_enabled) {
    WriteKey(w, "SSEDescription");
    w.StartObject();
    WriteKey(w, "Status");
    w.String("ENABLED");
    WriteKey(w, "SSEType");
    WriteString(w, m.sse_type.empty() ? "KMS" : m.sse_type);
    WriteKey(w, "KMSMasterKeyArn");
    WriteString(w, m.sse_kms_key.empty()
                       ? "arn:aws:kms:" + ctx.state.options.region + ":" + ctx.state.options.account_id +
                             ":key/aws-managed-dynamodb"
                       : m.sse_kms_key);
    w.EndObject();
  }
  if (!m.table_class.empty()) {
    WriteKey(w, "TableClassSummary");
    w.StartObject();
    WriteKey(w, "TableClass");
    WriteString(w, m.table_class);
    w.EndObject();
  }
  WriteKey(w, "DeletionProtectionEnabled");
  w.Bool(m.deletion_protection);
  WriteVectorIndexDescriptions(ctx, m);
  w.EndObject();
  return Status::OK();
}

Result<std::string> TableNameFromArn(const DynamoService::State& state, std::string_view arn) {
  constexpr std::string_view kPrefix = "arn:aws:dynamodb:";
  size_t table = arn.find(":table/");
  if (arn.substr(0, kPrefix.size()) != kPrefix || table == std::string_view::npos) {
    return Validation("Invalid TableArn: Invalid ResourceArn provided as input " + std::string(arn));
  }
  std::string_view name = arn.substr(table + 7);
  name = name.substr(0, name.find('/'));
  return std::string(name);
}

Status DescribeTable(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> name, ctx.params.String("TableName"));
  ValidationErrors errors;
  if (!name) {
    errors.AddNull("tableName");
  } else {
    CheckTableName(*name, "tableName", &errors);
  }
  AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
  AMALGAM_ASSIGN_OR_RETURN(Table table, ctx.state.tables.Open(ctx.state.engine, *name, /*detailed=*/true));
  ctx.out.StartObject();
  WriteKey(ctx.out, "Table");
  AMALGAM_RETURN_IF_ERROR(WriteTableDescription(ctx, table, "ACTIVE", /*count=*/true));
  ctx.out.EndObject();
  return Status::OK();
}

Status ListTables(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> start, ctx.params.String("ExclusiveStartTableName"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<int64_t> limit, ctx.params.Int("Limit"));
  ValidationErrors errors;
  if (start) CheckTableName(*start, "exclusiveStartTableName", &errors);
  if (limit && *limit < 1) {
    errors.AddValue(std::to_string(*limit), "limit", "Member must have value greater than or equal to 1");
  } else if (limit && *limit > 100) {
    errors.AddValue(std::to_string(*limit), "limit", "Member must have value less than or equal to 100");
  }
  AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
  size_t max = limit ? static_cast<size_t>(*limit) : 100;
  std::vector<std::string> names;
  for (const catalog::CollectionPtr& info : ctx.state.engine.catalog().ListCollections(kDynamoDb)) {
    if (info->options.view().Get("dynamodb").missing()) continue;  // not made by CreateTable
    if (start && info->name <= *start) continue;
    names.push_back(info->name);
  }
  std::sort(names.begin(), names.end());
  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "TableNames");
  w.StartArray();
  for (size_t i = 0; i < names.size() && i < max; ++i) WriteString(w, names[i]);
  w.EndArray();
  if (names.size() > max) {
    WriteKey(w, "LastEvaluatedTableName");
    WriteString(w, names[max - 1]);
  }
  w.EndObject();
  return Status::OK();
}

Status DescribeEndpoints(OpContext& ctx) {
  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "Endpoints");
  w.StartArray();
  w.StartObject();
  WriteKey(w, "Address");
  WriteString(w, ctx.state.options.endpoint_address);
  WriteKey(w, "CachePeriodInMinutes");
  w.Int(1440);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return Status::OK();
}

Status DescribeLimits(OpContext& ctx) {
  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "AccountMaxReadCapacityUnits");
  w.Int(80000);
  WriteKey(w, "AccountMaxWriteCapacityUnits");
  w.Int(80000);
  WriteKey(w, "TableMaxReadCapacityUnits");
  w.Int(40000);
  WriteKey(w, "TableMaxWriteCapacityUnits");
  w.Int(40000);
  w.EndObject();
  return Status::OK();
}

namespace {

// Reads TableName, checks it, and opens the table (detailed not-found message).
Result<Table> OpenNamedTable(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> name, ctx.params.String("TableName"));
  ValidationErrors errors;
  if (!name) {
    errors.AddNull("tableName");
  } else {
    CheckTableName(*name, "tableName", &errors);
  }
  AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
  return ctx.state.tables.Open(ctx.state.engine, *name, /*detailed=*/true);
}

// Reads ResourceArn and opens its table. Not found: DynamoDB's "ResourcArn" message.
Result<Table> OpenArnTable(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> arn, ctx.params.String("ResourceArn"));
  if (!arn) {
    ValidationErrors errors;
    errors.AddNull("resourceArn");
    return errors.ToStatus();
  }
  AMALGAM_ASSIGN_OR_RETURN(std::string name, TableNameFromArn(ctx.state, *arn));
  Result<Table> table = ctx.state.tables.Open(ctx.state.engine, name);
  if (!table.ok() && table.status().code() == ErrorCode::kNamespaceNotFound) {
    return Status(ErrorCode::kNamespaceNotFound,
                  "Requested resource not found: ResourcArn: " + std::string(*arn) + " not found");
  }
  return table;
}

// Writes `meta` back into the table's collection options (serialized by the caller).
Status SaveMeta(OpContext& ctx, const Table& table, const TableMeta& meta) {
  bson::Builder b;
  for (const bson::Element& e : table.handle->info->options.view()) {
    if (e.name != "dynamodb") b.AppendValue(e.name, e.value);
  }
  b.AppendDocument("dynamodb", EncodeTableMeta(meta).view());
  bson::Document options = std::move(b).Finish();
  return ctx.state.engine.catalog().SetOptions(kDynamoDb, meta.name, options.view()).status();
}

Status ParseTags(const JsonValue& tags, std::vector<std::pair<std::string, std::string>>* out) {
  AMALGAM_RETURN_IF_ERROR(ExpectArray(tags));
  ValidationErrors errors;
  for (rapidjson::SizeType i = 0; i < tags.Size(); ++i) {
    AMALGAM_RETURN_IF_ERROR(ExpectObject(tags[i]));
    Params p(tags[i]);
    AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> key, p.String("Key"));
    AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> value, p.String("Value"));
    std::string path = "tags." + std::to_string(i + 1) + ".member";
    if (!key) errors.AddNull(path + ".key");
    if (!value) errors.AddNull(path + ".value");
    if (key && (key->empty() || key->size() > 128)) {
      errors.AddValue(*key, path + ".key", key->empty() ? "Member must have length greater than or equal to 1"
                                                       : "Member must have length less than or equal to 128");
    }
    if (value && value->size() > 256) {
      errors.AddValue(*value, path + ".value", "Member must have length less than or equal to 256");
    }
    if (key && value) out->emplace_back(std::string(*key), std::string(*value));
  }
  return errors.ToStatus();
}

}  // namespace

Status TagResource(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(Table table, OpenArnTable(ctx));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* tags_json, ctx.params.Array("Tags"));
  if (tags_json == nullptr) {
    ValidationErrors errors;
    errors.AddNull("tags");
    return errors.ToStatus();
  }
  std::vector<std::pair<std::string, std::string>> tags;
  AMALGAM_RETURN_IF_ERROR(ParseTags(*tags_json, &tags));
  std::lock_guard<std::mutex> lock(ctx.state.ddl_mu);
  AMALGAM_ASSIGN_OR_RETURN(table, ctx.state.tables.Open(ctx.state.engine, table.meta->name));
  TableMeta meta = *table.meta;
  for (auto& [k, v] : tags) {
    auto it = std::find_if(meta.tags.begin(), meta.tags.end(), [&](const auto& t) { return t.first == k; });
    if (it != meta.tags.end()) {
      it->second = v;
    } else {
      meta.tags.emplace_back(k, v);
    }
  }
  if (meta.tags.size() > 50) {
    return Status(ErrorCode::kDynamoLimitExceeded, "The number of tags exceeds the limit of 50 per resource");
  }
  AMALGAM_RETURN_IF_ERROR(SaveMeta(ctx, table, meta));
  ctx.out.StartObject();
  ctx.out.EndObject();
  return Status::OK();
}

Status UntagResource(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(Table table, OpenArnTable(ctx));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* keys, ctx.params.Array("TagKeys"));
  if (keys == nullptr) {
    ValidationErrors errors;
    errors.AddNull("tagKeys");
    return errors.ToStatus();
  }
  for (const JsonValue& k : keys->GetArray()) AMALGAM_RETURN_IF_ERROR(ExpectString(k));
  std::lock_guard<std::mutex> lock(ctx.state.ddl_mu);
  AMALGAM_ASSIGN_OR_RETURN(table, ctx.state.tables.Open(ctx.state.engine, table.meta->name));
  TableMeta meta = *table.meta;
  for (const JsonValue& k : keys->GetArray()) {
    std::string_view key = AsView(k);
    std::erase_if(meta.tags, [&](const auto& t) { return t.first == key; });
  }
  AMALGAM_RETURN_IF_ERROR(SaveMeta(ctx, table, meta));
  ctx.out.StartObject();
  ctx.out.EndObject();
  return Status::OK();
}

Status ListTagsOfResource(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(Table table, OpenArnTable(ctx));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> next, ctx.params.String("NextToken"));
  (void)next;  // every tag fits one page (at most 50)
  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "Tags");
  w.StartArray();
  for (const auto& [k, v] : table.meta->tags) {
    w.StartObject();
    WriteKey(w, "Key");
    WriteString(w, k);
    WriteKey(w, "Value");
    WriteString(w, v);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Status::OK();
}

Status UpdateTimeToLive(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(Table table, OpenNamedTable(ctx));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* spec_json, ctx.params.Object("TimeToLiveSpecification"));
  ValidationErrors errors;
  if (spec_json == nullptr) {
    errors.AddNull("timeToLiveSpecification");
    return errors.ToStatus();
  }
  Params spec(*spec_json);
  AMALGAM_ASSIGN_OR_RETURN(std::optional<bool> enabled, spec.Bool("Enabled"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> attr, spec.String("AttributeName"));
  if (!enabled) errors.AddNull("timeToLiveSpecification.enabled");
  if (!attr) {
    errors.AddNull("timeToLiveSpecification.attributeName");
  } else if (attr->empty() || attr->size() > 255) {
    errors.AddValue(*attr, "timeToLiveSpecification.attributeName",
                    attr->empty() ? "Member must have length greater than or equal to 1"
                                  : "Member must have length less than or equal to 255");
  }
  AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
  std::lock_guard<std::mutex> lock(ctx.state.ddl_mu);
  AMALGAM_ASSIGN_OR_RETURN(table, ctx.state.tables.Open(ctx.state.engine, table.meta->name));
  TableMeta meta = *table.meta;
  if (*enabled && meta.ttl_enabled) return Validation("TimeToLive is already enabled");
  if (!*enabled && !meta.ttl_enabled) return Validation("TimeToLive is already disabled");
  if (!*enabled && meta.ttl_attribute != *attr) {
    return Validation("TimeToLive is active on a different AttributeName: current AttributeName is " +
                      meta.ttl_attribute);
  }
  // The expirer reads candidates from an index on the attribute (streams.h, TtlIndexSpec):
  // built over the existing items before TTL is on, dropped once it is off.
  std::optional<bson::Document> ttl_index = TtlIndexSpec(*attr);
  if (*enabled && ttl_index) {
    Result<bool> built = ctx.state.engine.CreateIndex(kDynamoDb, meta.name, ttl_index->view());
    if (!built.ok()) return built.status();
  }
  meta.ttl_enabled = *enabled;
  meta.ttl_attribute = std::string(*attr);
  AMALGAM_RETURN_IF_ERROR(SaveMeta(ctx, table, meta));
  if (!*enabled && ttl_index) {
    Status dropped = ctx.state.engine.DropIndex(kDynamoDb, meta.name, TtlIndexName(*attr));
    if (!dropped.ok() && dropped.code() != ErrorCode::kIndexNotFound) return dropped;  // none: enabled before it existed
  }
  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "TimeToLiveSpecification");
  w.StartObject();
  WriteKey(w, "Enabled");
  w.Bool(*enabled);
  WriteKey(w, "AttributeName");
  WriteString(w, *attr);
  w.EndObject();
  w.EndObject();
  return Status::OK();
}

Status DescribeTimeToLive(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(Table table, OpenNamedTable(ctx));
  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "TimeToLiveDescription");
  w.StartObject();
  WriteKey(w, "TimeToLiveStatus");
  w.String(table.meta->ttl_enabled ? "ENABLED" : "DISABLED");
  if (table.meta->ttl_enabled) {
    WriteKey(w, "AttributeName");
    WriteString(w, table.meta->ttl_attribute);
  }
  w.EndObject();
  w.EndObject();
  return Status::OK();
}

Status DescribeContinuousBackups(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(Table table, OpenNamedTable(ctx));
  // Truthful: this server has no backups or point-in-time recovery yet.
  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "ContinuousBackupsDescription");
  w.StartObject();
  WriteKey(w, "ContinuousBackupsStatus");
  w.String("DISABLED");
  WriteKey(w, "PointInTimeRecoveryDescription");
  w.StartObject();
  WriteKey(w, "PointInTimeRecoveryStatus");
  w.String("DISABLED");
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return Status::OK();
}

}  // namespace amalgam::api::dynamo
