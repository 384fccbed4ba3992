// CreateTable, UpdateTable, DeleteTable: parsing and validating table definitions with
// DynamoDB's messages, and mapping them onto a collection with secondary indexes
// (docs/dynamodb-mapping.md).
#include <algorithm>
#include <array>
#include <random>
#include <set>

#include "api/dynamo/service_internal.h"
#include "api/dynamo/streams_closed.h"
#include "api/dynamo/table_describe.h"
#include "api/dynamo/vector.h"
#include "bson/builder.h"

namespace amalgam::api::dynamo {

namespace {

constexpr size_t kMaxGsis = 20;
constexpr size_t kMaxLsis = 5;

std::string Invalid(std::string_view what) {
  return "One or more parameter values were invalid: " + std::string(what);
}

struct KeyElement {
  std::string name;
  std::string type;  // HASH / RANGE
};

// Parses a KeySchema array (1..2 elements) at `path`. Constraint errors go to `errors`.
Status ParseKeySchemaJson(const JsonValue& json, std::string_view path, std::vector<KeyElement>* out,
                          ValidationErrors* errors) {
  AMALGAM_RETURN_IF_ERROR(ExpectArray(json));
  for (rapidjson::SizeType i = 0; i < json.Size(); ++i) {
    AMALGAM_RETURN_IF_ERROR(ExpectObject(json[i]));
    Params p(json[i]);
    AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> name, p.String("AttributeName"));
    AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> type, p.String("KeyType"));
    std::string member = std::string(path) + "." + std::to_string(i + 1) + ".member";
    if (!name) {
      errors->AddNull(member + ".attributeName");
    } else if (name->empty() || name->size() > 255) {
      errors->AddValue(*name, member + ".attributeName",
                       name->empty() ? "Member must have length greater than or equal to 1"
                                     : "Member must have length less than or equal to 255");
    }
    if (!type) {
      errors->AddNull(member + ".keyType");
    } else if (*type != "HASH" && *type != "RANGE") {
      errors->AddValue(*type, member + ".keyType", "Member must satisfy enum value set: [HASH, RANGE]");
    }
    out->push_back({name ? std::string(*name) : "", type ? std::string(*type) : ""});
  }
  if (json.Size() == 0) {
    errors->AddValue("[]", path, "Member must have length greater than or equal to 1");
  } else if (json.Size() > 2) {
    std::string rendered = "[";
    for (size_t i = 0; i < out->size(); ++i) {
      if (i > 0) rendered += ", ";
      rendered += "KeySchemaElement(attributeName=" + (*out)[i].name + ", keyType=" + (*out)[i].type + ")";
    }
    errors->AddValue(rendered + "]", path, "Member must have length less than or equal to 2");
  }
  return Status::OK();
}

// Semantic checks of a parsed key schema; fills `key` with types from the definitions.
Status BuildKeySchema(const std::vector<KeyElement>& elements, const TableMeta& meta, KeySchema* key) {
  if (elements[0].type != "HASH") {
    return Validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
  }
  if (elements.size() == 2) {
    if (elements[1].type != "RANGE") {
      return Validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type");
    }
    if (elements[0].name == elements[1].name) {
      return Validation("Both the Hash Key and the Range Key element in the KeySchema have the same name");
    }
  }
  std::vector<std::string> undefined;
  for (const KeyElement& e : elements) {
    if (meta.AttributeType(e.name) == 0) undefined.push_back(e.name);
  }
  if (!undefined.empty()) {
    std::string keys, defs;
    for (size_t i = 0; i < undefined.size(); ++i) keys += (i ? ", " : "") + undefined[i];
    for (size_t i = 0; i < meta.attribute_definitions.size(); ++i) {
      defs += (i ? ", " : "") + meta.attribute_definitions[i].first;
    }
    return Validation(Invalid("Some index key attributes are not defined in AttributeDefinitions. Keys: [" +
                              keys + "], AttributeDefinitions: [" + defs + "]"));
  }
  key->hash_name = elements[0].name;
  KeyTypeFromChar(meta.AttributeType(elements[0].name), &key->hash_type);
  if (elements.size() == 2) {
    key->range_name = elements[1].name;
    KeyTypeFromChar(meta.AttributeType(elements[1].name), &key->range_type);
  }
  // The engine's key patterns and partial filters read a '.' as a path separator and reject a
  // leading '$': such key attributes cannot be indexed by this server.
  for (const KeyElement& e : elements) {
    if (e.name.find('.') != std::string::npos || e.name[0] == '$' || e.name.find('\0') != std::string::npos) {
      return Validation(Invalid("Key attribute names containing '.' or starting with '$' are not supported "
                                "by this server: " + e.name));
    }
  }
  return Status::OK();
}

// Parses ProvisionedThroughput at `path` into *out. Constraint errors go to `errors`.
Status ParseThroughput(const JsonValue& json, std::string_view path, Throughput* out, ValidationErrors* errors) {
  AMALGAM_RETURN_IF_ERROR(ExpectObject(json));
  Params p(json);
  AMALGAM_ASSIGN_OR_RETURN(std::optional<int64_t> r, p.Int("ReadCapacityUnits"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<int64_t> w, p.Int("WriteCapacityUnits"));
  std::string base(path);
  if (!r) {
    errors->AddNull(base + ".readCapacityUnits");
  } else if (*r < 1) {
    errors->AddValue(std::to_string(*r), base + ".readCapacityUnits", "Member must have value greater than or equal to 1");
  }
  if (!w) {
    errors->AddNull(base + ".writeCapacityUnits");
  } else if (*w < 1) {
    errors->AddValue(std::to_string(*w), base + ".writeCapacityUnits", "Member must have value greater than or equal to 1");
  }
  out->read = r.value_or(0);
  out->write = w.value_or(0);
  return Status::OK();
}

struct IndexInput {
  SecondaryIndex index;
  std::vector<KeyElement> elements;
  bool has_throughput = false;
};

// Parses one GlobalSecondaryIndexes / LocalSecondaryIndexes element (or an UpdateTable Create).
Status ParseIndexJson(const JsonValue& json, std::string_view path, bool global, IndexInput* out,
                      ValidationErrors* errors) {
  AMALGAM_RETURN_IF_ERROR(ExpectObject(json));
  Params p(json);
  out->index.global = global;
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> name, p.String("IndexName"));
  std::string base(path);
  if (!name) {
    errors->AddNull(base + ".indexName");
  } else {
    CheckTableName(*name, base + ".indexName", errors);
    out->index.name = std::string(*name);
  }
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* ks, p.Array("KeySchema"));
  if (ks == nullptr) {
    errors->AddNull(base + ".keySchema");
  } else {
    AMALGAM_RETURN_IF_ERROR(ParseKeySchemaJson(*ks, base + ".keySchema", &out->elements, errors));
  }
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* proj, p.Object("Projection"));
  if (proj == nullptr) {
    errors->AddNull(base + ".projection");
  } else {
    Params pp(*proj);
    AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> type, pp.String("ProjectionType"));
    AMALGAM_ASSIGN_OR_RETURN(const JsonValue* non_key, pp.Array("NonKeyAttributes"));
    if (type && *type != "ALL" && *type != "KEYS_ONLY" && *type != "INCLUDE") {
      errors->AddValue(*type, base + ".projection.projectionType",
                       "Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]");
    }
    out->index.projection = type ? std::string(*type) : "";
    if (non_key != nullptr) {
      for (const JsonValue& a : non_key->GetArray()) {
        AMALGAM_RETURN_IF_ERROR(ExpectString(a));
        out->index.non_key.emplace_back(AsView(a));
      }
      if (out->index.non_key.empty()) {
        errors->AddValue("[]", base + ".projection.nonKeyAttributes",
                         "Member must have length greater than or equal to 1");
      }
      if (out->index.projection.empty()) out->index.projection = "INCLUDE";
    }
  }
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* tp, p.Object("ProvisionedThroughput"));
  if (tp != nullptr) {
    out->has_throughput = true;
    AMALGAM_RETURN_IF_ERROR(ParseThroughput(*tp, base + ".provisionedThroughput", &out->index.throughput, errors));
  }
  return Status::OK();
}

// Semantic checks of an index against the table.
Status CheckIndex(IndexInput& in, const TableMeta& meta) {
  SecondaryIndex& index = in.index;
  AMALGAM_RETURN_IF_ERROR(BuildKeySchema(in.elements, meta, &index.key));
  if (index.projection.empty()) {
    return Validation(Invalid("Unknown ProjectionType: null"));
  }
  if (index.projection == "INCLUDE" && index.non_key.empty()) {
    return Validation(Invalid("ProjectionType is INCLUDE, but NonKeyAttributes is not specified"));
  }
  if (index.projection != "INCLUDE" && !index.non_key.empty()) {
    return Validation(Invalid("ProjectionType is " + index.projection + ", but NonKeyAttributes is specified"));
  }
  if (!index.global) {
    if (!meta.key.has_range()) {
      return Validation(Invalid("Table KeySchema does not have a range key, which is required when "
                                "specifying a LocalSecondaryIndex"));
    }
    if (index.key.hash_name != meta.key.hash_name) {
      return Validation(Invalid("Index KeySchema does not have the same leading hash key as table KeySchema "
                                "for index: " + index.name + ". index hash key: " + index.key.hash_name +
                                ", table hash key: " + meta.key.hash_name));
    }
    if (!index.key.has_range()) {
      return Validation(Invalid("Index KeySchema does not have a range key for index: " + index.name));
    }
  }
  if (index.global) {
    if (meta.pay_per_request && in.has_throughput) {
      return Validation(Invalid("ProvisionedThroughput should not be specified for index: " + index.name +
                                " when BillingMode is PAY_PER_REQUEST"));
    }
    if (!meta.pay_per_request && !in.has_throughput) {
      return Validation(Invalid("ProvisionedThroughput must be specified for index: " + index.name));
    }
  } else if (in.has_throughput) {
    return Validation(Invalid("ProvisionedThroughput should not be specified for a LocalSecondaryIndex"));
  }
  std::set<std::string> seen;
  for (const std::string& a : index.non_key) {
    if (!seen.insert(a).second) return Validation(Invalid("Duplicate NonKeyAttribute: " + a));
  }
  return Status::OK();
}

// The engine index of a DynamoDB index: key {hash: 1[, range: 1]}, sparse through a partial
// filter requiring every key attribute.
bson::Document EngineIndexSpec(const SecondaryIndex& index) {
  bson::Builder b;
  b.StartDocument("key").AppendInt32(index.key.hash_name, 1);
  if (index.key.has_range()) b.AppendInt32(*index.key.range_name, 1);
  b.EndDocument();
  b.AppendString("name", index.name);
  b.StartDocument("partialFilterExpression");
  b.StartDocument(index.key.hash_name).AppendBool("$exists", true).EndDocument();
  if (index.key.has_range()) b.StartDocument(*index.key.range_name).AppendBool("$exists", true).EndDocument();
  b.EndDocument();
  return std::move(b).Finish();
}

std::string NewUuid() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::array<uint8_t, 16> u;
  for (int i = 0; i < 16; i += 8) {
    uint64_t r = rng();
    std::memcpy(u.data() + i, &r, 8);
  }
  u[6] = (u[6] & 0x0f) | 0x40;
  u[8] = (u[8] & 0x3f) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[u[i] >> 4];
    s += kHex[u[i] & 15];
  }
  return s;
}

// ISO 8601 (UTC, milliseconds) of `seconds`, DynamoDB's stream label form.
std::string StreamLabel(double seconds) {
  time_t t = static_cast<time_t>(seconds);
  int millis = static_cast<int>((seconds - static_cast<double>(t)) * 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

// Parses StreamSpecification into meta (enable/disable). Errors: kBadValue.
Status ApplyStreamSpec(const JsonValue& json, bool updating, double now, TableMeta* meta) {
  AMALGAM_RETURN_IF_ERROR(ExpectObject(json));
  Params p(json);
  AMALGAM_ASSIGN_OR_RETURN(std::optional<bool> enabled, p.Bool("StreamEnabled"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> view, p.String("StreamViewType"));
  if (!enabled) {
    ValidationErrors errors;
    errors.AddNull("streamSpecification.streamEnabled");
    return errors.ToStatus();
  }
  if (view && *view != "NEW_IMAGE" && *view != "OLD_IMAGE" && *view != "NEW_AND_OLD_IMAGES" &&
      *view != "KEYS_ONLY") {
    ValidationErrors errors;
    errors.AddValue(*view, "streamSpecification.streamViewType",
                    "Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]");
    return errors.ToStatus();
  }
  if (*enabled) {
    if (!view) {
      return Validation("StreamSpecification: StreamViewType is required when StreamEnabled is true");
    }
    if (updating && meta->stream_enabled) {
      return Validation("Table already has an enabled stream: TableName: " + meta->name);
    }
    meta->stream_enabled = true;
    meta->stream_view_type = std::string(*view);
    // A stream re-enabled within the millisecond it was disabled still gets a label of its own.
    std::string label = StreamLabel(now);
    if (label == meta->stream_label) label = StreamLabel(now + 0.0015);
    meta->stream_label = std::move(label);
  } else {
    if (view) return Validation("StreamSpecification: StreamViewType must not be specified when StreamEnabled is false");
    if (updating && !meta->stream_enabled) {
      return Validation("Table already has no stream: TableName: " + meta->name);
    }
    meta->stream_enabled = false;
  }
  return Status::OK();
}

Status ApplySse(const JsonValue& json, TableMeta* meta) {
  AMALGAM_RETURN_IF_ERROR(ExpectObject(json));
  Params p(json);
  AMALGAM_ASSIGN_OR_RETURN(std::optional<bool> enabled, p.Bool("Enabled"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> type, p.String("SSEType"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> key, p.String("KMSMasterKeyId"));
  if (type && *type != "AES256" && *type != "KMS") {
    ValidationErrors errors;
    errors.AddValue(*type, "sSESpecification.sSEType", "Member must satisfy enum value set: [AES256, KMS]");
    return errors.ToStatus();
  }
  meta->sse_enabled = enabled.value_or(type.has_value());
  meta->sse_type = type ? std::string(*type) : (meta->sse_enabled ? "KMS" : "");
  meta->sse_kms_key = key ? std::string(*key) : "";
  return Status::OK();
}

Status CheckTableClass(std::string_view cls) {
  if (cls == "STANDARD" || cls == "STANDARD_INFREQUENT_ACCESS") return Status::OK();
  ValidationErrors errors;
  errors.AddValue(cls, "tableClass", "Member must satisfy enum value set: [STANDARD, STANDARD_INFREQUENT_ACCESS]");
  return errors.ToStatus();
}

bson::Document CollectionOptions(const TableMeta& meta, bson::DocView existing) {
  bson::Builder b;
  for (const bson::Element& e : existing) {
    if (e.name != "dynamodb" && e.name != "changeStreamPreAndPostImages") b.AppendValue(e.name, e.value);
  }
  // DynamoDB Streams with old images read pre-images from the change log.
  bool pre_images = meta.stream_enabled &&
                    (meta.stream_view_type == "OLD_IMAGE" || meta.stream_view_type == "NEW_AND_OLD_IMAGES");
  if (pre_images) b.StartDocument("changeStreamPreAndPostImages").AppendBool("enabled", true).EndDocument();
  b.AppendDocument("dynamodb", EncodeTableMeta(meta).view());
  return std::move(b).Finish();
}

Status ParseBillingMode(const Params& params, TableMeta* meta, ValidationErrors* errors, bool* given) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> billing, params.String("BillingMode"));
  *given = billing.has_value();
  if (billing && *billing != "PROVISIONED" && *billing != "PAY_PER_REQUEST") {
    errors->AddValue(*billing, "billingMode", "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]");
  }
  if (billing) meta->pay_per_request = *billing == "PAY_PER_REQUEST";
  return Status::OK();
}

}  // namespace

Status CreateTable(OpContext& ctx) {
  const Params& params = ctx.params;
  ValidationErrors errors;
  TableMeta meta;
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> name, params.String("TableName"));
  if (!name) {
    errors.AddNull("tableName");
  } else {
    CheckTableName(*name, "tableName", &errors);
    meta.name = std::string(*name);
  }
  std::vector<KeyElement> key_elements;
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* ks, params.Array("KeySchema"));
  if (ks == nullptr) {
    errors.AddNull("keySchema");
  } else {
    AMALGAM_RETURN_IF_ERROR(ParseKeySchemaJson(*ks, "keySchema", &key_elements, &errors));
  }
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* defs, params.Array("AttributeDefinitions"));
  if (defs == nullptr) {
    errors.AddNull("attributeDefinitions");
  } else {
    for (rapidjson::SizeType i = 0; i < defs->Size(); ++i) {
      AMALGAM_RETURN_IF_ERROR(ExpectObject((*defs)[i]));
      Params p((*defs)[i]);
      AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> an, p.String("AttributeName"));
      AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> at, p.String("AttributeType"));
      std::string member = "attributeDefinitions." + std::to_string(i + 1) + ".member";
      if (!an) errors.AddNull(member + ".attributeName");
      if (!at) {
        errors.AddNull(member + ".attributeType");
      } else if (*at != "S" && *at != "N" && *at != "B") {
        errors.AddValue(*at, member + ".attributeType", "Member must satisfy enum value set: [B, N, S]");
      }
      if (an && at && at->size() == 1) meta.attribute_definitions.emplace_back(std::string(*an), (*at)[0]);
    }
  }
  bool billing_given = false;
  AMALGAM_RETURN_IF_ERROR(ParseBillingMode(params, &meta, &errors, &billing_given));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* tp, params.Object("ProvisionedThroughput"));
  if (tp != nullptr) AMALGAM_RETURN_IF_ERROR(ParseThroughput(*tp, "provisionedThroughput", &meta.throughput, &errors));
  std::vector<IndexInput> indexes;
  for (int global = 1; global >= 0; --global) {
    std::string_view member = global ? "GlobalSecondaryIndexes" : "LocalSecondaryIndexes";
    std::string_view path = global ? "globalSecondaryIndexes" : "localSecondaryIndexes";
    AMALGAM_ASSIGN_OR_RETURN(const JsonValue* list, params.Array(member));
    if (list == nullptr) continue;
    if (list->Size() == 0) {
      return Validation(Invalid(std::string("List of ") + std::string(member) + " is empty"));
    }
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      IndexInput in;
      AMALGAM_RETURN_IF_ERROR(ParseIndexJson((*list)[i], std::string(path) + "." + std::to_string(i + 1) + ".member",
                                             global == 1, &in, &errors));
      indexes.push_back(std::move(in));
    }
  }
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* tags, params.Array("Tags"));
  if (tags != nullptr) {
    // Tags are validated like TagResource's.
    ValidationErrors tag_errors;
    AMALGAM_RETURN_IF_ERROR(ExpectArray(*tags));
    for (rapidjson::SizeType i = 0; i < tags->Size(); ++i) {
      AMALGAM_RETURN_IF_ERROR(ExpectObject((*tags)[i]));
      Params p((*tags)[i]);
      AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> k, p.String("Key"));
      AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> v, p.String("Value"));
      std::string member = "tags." + std::to_string(i + 1) + ".member";
      if (!k) tag_errors.AddNull(member + ".key");
      if (!v) tag_errors.AddNull(member + ".value");
      if (k && v) meta.tags.emplace_back(std::string(*k), std::string(*v));
    }
    AMALGAM_RETURN_IF_ERROR(tag_errors.ToStatus());
  }
  AMALGAM_RETURN_IF_ERROR(errors.ToStatus());

  // Semantics, in DynamoDB's order.
  AMALGAM_RETURN_IF_ERROR(BuildKeySchema(key_elements, meta, &meta.key));
  {
    std::set<std::string> seen;
    for (const auto& [attr, type] : meta.attribute_definitions) {
      if (!seen.insert(attr).second) return Validation(Invalid("Duplicate AttributeName in AttributeDefinitions: " + attr));
    }
  }
  if (meta.pay_per_request && tp != nullptr) {
    return Validation(Invalid("Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when "
                              "BillingMode is PAY_PER_REQUEST"));
  }
  if (!meta.pay_per_request && tp == nullptr) {
    return Validation(billing_given ? Invalid("ReadCapacityUnits and WriteCapacityUnits must both be specified "
                                              "when BillingMode is PROVISIONED")
                                    : std::string("No provisioned throughput specified for the table"));
  }
  size_t gsis = 0, lsis = 0;
  std::set<std::string> index_names;
  std::set<std::string> used = {meta.key.hash_name};
  if (meta.key.has_range()) used.insert(*meta.key.range_name);
  for (IndexInput& in : indexes) {
    (in.index.global ? gsis : lsis)++;
    if (!index_names.insert(in.index.name).second) {
      return Validation(Invalid("Duplicate index name: " + in.index.name));
    }
    AMALGAM_RETURN_IF_ERROR(CheckIndex(in, meta));
    used.insert(in.index.key.hash_name);
    if (in.index.key.has_range()) used.insert(*in.index.key.range_name);
  }
  if (gsis > kMaxGsis) {
    return Validation(Invalid("GlobalSecondaryIndex count exceeds the per-table limit of " + std::to_string(kMaxGsis)));
  }
  if (lsis > kMaxLsis) {
    return Validation(Invalid("Number of LocalSecondaryIndexes exceeds per-table limit of " + std::to_string(kMaxLsis)));
  }
  // VectorIndexes (vector.h): SearchSchema attributes may be declared in AttributeDefinitions.
  std::vector<ParsedVectorIndex> vector_indexes;
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* vector_list, params.Array("VectorIndexes"));
  if (vector_list != nullptr) {
    AMALGAM_ASSIGN_OR_RETURN(vector_indexes, ParseVectorIndexes(*vector_list));
    AMALGAM_RETURN_IF_ERROR(CheckSearchSchemaDefined(vector_indexes, {}, &meta));
    for (const ParsedVectorIndex& v : vector_indexes) {
      used.insert(v.def.filter_paths.begin(), v.def.filter_paths.end());
      meta.vector_indexes.push_back(v.meta);
    }
  }
  if (used.size() != meta.attribute_definitions.size()) {
    return Validation(Invalid("Number of attributes in KeySchema does not exactly match number of attributes "
                              "defined in AttributeDefinitions"));
  }
  double now = NowSeconds(ctx.state);
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* stream, params.Object("StreamSpecification"));
  if (stream != nullptr) AMALGAM_RETURN_IF_ERROR(ApplyStreamSpec(*stream, false, now, &meta));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* sse, params.Object("SSESpecification"));
  if (sse != nullptr) AMALGAM_RETURN_IF_ERROR(ApplySse(*sse, &meta));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> table_class, params.String("TableClass"));
  if (table_class) {
    AMALGAM_RETURN_IF_ERROR(CheckTableClass(*table_class));
    meta.table_class = std::string(*table_class);
  }
  AMALGAM_ASSIGN_OR_RETURN(std::optional<bool> protection, params.Bool("DeletionProtectionEnabled"));
  meta.deletion_protection = protection.value_or(false);
  if (meta.pay_per_request) meta.throughput = {};
  for (IndexInput& in : indexes) {
    if (meta.pay_per_request) in.index.throughput = {};
    meta.indexes.push_back(in.index);
  }
  meta.creation_time = now;
  meta.table_id = NewUuid();

  std::lock_guard<std::mutex> lock(ctx.state.ddl_mu);
  engine::Engine& engine = ctx.state.engine;
  if (engine.Find(kDynamoDb, meta.name) != nullptr) {
    return Status(ErrorCode::kNamespaceExists, "Table already exists: " + meta.name);
  }
  bson::Document options = CollectionOptions(meta, bson::DocView());
  Result<engine::HandlePtr> created = engine.CreateCollection(kDynamoDb, meta.name, options.view());
  if (!created.ok()) {
    if (created.status().code() == ErrorCode::kNamespaceExists) {
      return Status(ErrorCode::kNamespaceExists, "Table already exists: " + meta.name);
    }
    if (created.status().code() == ErrorCode::kInvalidNamespace) {
      return Validation("Invalid table name: " + meta.name + ": " + std::string(created.status().message()));
    }
    return created.status();
  }
  for (const SecondaryIndex& index : meta.indexes) {
    bson::Document spec = EngineIndexSpec(index);
    Result<bool> built = engine.CreateIndex(kDynamoDb, meta.name, spec.view());
    if (!built.ok()) {
      engine.DropCollection(kDynamoDb, meta.name).IgnoreError();  // undo: the table was never visible
      return built.status().category() == ErrorCategory::kInvalidInput
                 ? Validation(Invalid("Cannot create index " + index.name + ": " + std::string(built.status().message())))
                 : built.status();
    }
  }
  if (Status made = CreateVectorIndexes(ctx, meta.name, std::move(vector_indexes)); !made.ok()) {
    engine.DropCollection(kDynamoDb, meta.name).IgnoreError();  // undo: the table was never visible
    return made;
  }
  AMALGAM_ASSIGN_OR_RETURN(Table table, ctx.state.tables.Open(engine, meta.name));
  ctx.out.StartObject();
  WriteKey(ctx.out, "TableDescription");
  AMALGAM_RETURN_IF_ERROR(WriteTableDescription(ctx, table, "ACTIVE", /*count=*/false));
  ctx.out.EndObject();
  return Status::OK();
}

Status DeleteTable(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> name, ctx.params.String("TableName"));
  ValidationErrors errors;
  if (!name) {
    errors.AddNull("tableName");
  } else {
    CheckTableName(*name, "tableName", &errors);
  }
  AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
  std::lock_guard<std::mutex> lock(ctx.state.ddl_mu);
  AMALGAM_ASSIGN_OR_RETURN(Table table, ctx.state.tables.Open(ctx.state.engine, *name, /*detailed=*/true));
  if (table.meta->deletion_protection) {
    return Validation("Resource cannot be deleted as it is currently protected against deletion. Disable "
                      "deletion protection first.");
  }
  ctx.out.StartObject();
  WriteKey(ctx.out, "TableDescription");
  AMALGAM_RETURN_IF_ERROR(WriteTableDescription(ctx, table, "DELETING", /*count=*/true));
  ctx.out.EndObject();
  uint64_t before_drop = ctx.state.engine.store().LastVisibleSeq();
  AMALGAM_RETURN_IF_ERROR(ctx.state.engine.DropCollection(kDynamoDb, *name));
  // The table's stream stays readable (DISABLED) until retention removes its records.
  if (table.meta->stream_enabled) {
    AMALGAM_ASSIGN_OR_RETURN(uint64_t end, CatalogEntrySeq(ctx.state.engine, table.handle->info->id, before_drop));
    AMALGAM_RETURN_IF_ERROR(
        RecordClosedStream(ctx.state.engine, *table.meta, table.handle->info->id, end, ctx.state.clock.NowMillis()));
  }
  ctx.state.tables.Forget(table.handle->info->id);
  ctx.state.scan_splits.Forget(table.handle->info->id);
  ctx.state.stats.Forget(table.handle->info->id);
  return Status::OK();
}

Status UpdateTable(OpContext& ctx) {
  const Params& params = ctx.params;
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> name, params.String("TableName"));
  ValidationErrors errors;
  if (!name) {
    errors.AddNull("tableName");
  } else {
    CheckTableName(*name, "tableName", &errors);
  }
  AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
  std::lock_guard<std::mutex> lock(ctx.state.ddl_mu);
  AMALGAM_ASSIGN_OR_RETURN(Table table, ctx.state.tables.Open(ctx.state.engine, *name, /*detailed=*/true));
  TableMeta meta = *table.meta;
  double now = NowSeconds(ctx.state);
  bool changed = false;

  // New attribute definitions (for new GSIs) are merged into the table's.
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* defs, params.Array("AttributeDefinitions"));
  std::vector<std::pair<std::string, char>> new_defs;
  if (defs != nullptr) {
    for (rapidjson::SizeType i = 0; i < defs->Size(); ++i) {
      AMALGAM_RETURN_IF_ERROR(ExpectObject((*defs)[i]));
      Params p((*defs)[i]);
      AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> an, p.String("AttributeName"));
      AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> at, p.String("AttributeType"));
      std::string member = "attributeDefinitions." + std::to_string(i + 1) + ".member";
      if (!an) errors.AddNull(member + ".attributeName");
      if (!at) {
        errors.AddNull(member + ".attributeType");
      } else if (*at != "S" && *at != "N" && *at != "B") {
        errors.AddValue(*at, member + ".attributeType", "Member must satisfy enum value set: [B, N, S]");
      }
      if (an && at && at->size() == 1) new_defs.emplace_back(std::string(*an), (*at)[0]);
    }
  }
  bool billing_given = false;
  bool was_on_demand = meta.pay_per_request;
  AMALGAM_RETURN_IF_ERROR(ParseBillingMode(params, &meta, &errors, &billing_given));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* tp, params.Object("ProvisionedThroughput"));
  Throughput throughput;
  if (tp != nullptr) AMALGAM_RETURN_IF_ERROR(ParseThroughput(*tp, "provisionedThroughput", &throughput, &errors));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* gsi_updates, params.Array("GlobalSecondaryIndexUpdates"));
  AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* stream, params.Object("StreamSpecification"));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* sse, params.Object("SSESpecification"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> table_class, params.String("TableClass"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<bool> protection, params.Bool("DeletionProtectionEnabled"));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* vector_updates_json, params.Array("VectorIndexUpdates"));
  std::optional<VectorIndexUpdates> vector_updates;
  if (vector_updates_json != nullptr) {
    AMALGAM_ASSIGN_OR_RETURN(vector_updates, ParseVectorIndexUpdates(ctx, meta.name, *vector_updates_json));
    AMALGAM_RETURN_IF_ERROR(CheckSearchSchemaDefined(vector_updates->create, new_defs, &meta));
  }
  if (!billing_given && tp == nullptr && gsi_updates == nullptr && stream == nullptr && sse == nullptr &&
      !table_class && !protection && !params.Has("ReplicaUpdates") && !vector_updates) {
    return Validation("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
                      "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required");
  }
  if (billing_given) {
    changed = true;
    if (!meta.pay_per_request && tp == nullptr && was_on_demand) {
      return Validation(Invalid("ProvisionedThroughput must be specified when BillingMode is PROVISIONED"));
    }
  }
  if (tp != nullptr) {
    if (meta.pay_per_request) {
      return Validation(Invalid("Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when "
                                "BillingMode is PAY_PER_REQUEST"));
    }
    if (throughput.read > meta.throughput.read || throughput.write > meta.throughput.write) meta.last_increase_time = now;
    if (throughput.read < meta.throughput.read || throughput.write < meta.throughput.write) meta.last_decrease_time = now;
    if (!billing_given && throughput.read == meta.throughput.read && throughput.write == meta.throughput.write) {
      return Validation("The provisioned throughput for the table will not change. The requested value equals the "
                        "current value. Current ReadCapacityUnits provisioned for the table: " +
                        std::to_string(meta.throughput.read) + ". Requested ReadCapacityUnits: " +
                        std::to_string(throughput.read) + ". Current WriteCapacityUnits provisioned for the table: " +
                        std::to_string(meta.throughput.write) + ". Requested WriteCapacityUnits: " +
                        std::to_string(throughput.write) + ". Refer to the Amazon DynamoDB Developer Guide for "
                        "current limits and how to request higher limits.");
    }
    meta.throughput = throughput;
    changed = true;
  }
  if (meta.pay_per_request) {
    meta.throughput = {};
    for (SecondaryIndex& index : meta.indexes) index.throughput = {};
  }
  if (stream != nullptr) {
    AMALGAM_RETURN_IF_ERROR(ApplyStreamSpec(*stream, true, now, &meta));
    changed = true;
  }
  if (sse != nullptr) {
    AMALGAM_RETURN_IF_ERROR(ApplySse(*sse, &meta));
    changed = true;
  }
  if (table_class) {
    AMALGAM_RETURN_IF_ERROR(CheckTableClass(*table_class));
    meta.table_class = std::string(*table_class);
    changed = true;
  }
  if (protection) {
    meta.deletion_protection = *protection;
    changed = true;
  }
  std::optional<SecondaryIndex> to_create;
  std::optional<std::string> to_delete;
  if (gsi_updates != nullptr) {
    if (gsi_updates->Size() == 0) return Validation(Invalid("List of GlobalSecondaryIndexUpdates is empty"));
    for (rapidjson::SizeType i = 0; i < gsi_updates->Size(); ++i) {
      AMALGAM_RETURN_IF_ERROR(ExpectObject((*gsi_updates)[i]));
      Params u((*gsi_updates)[i]);
      std::string path = "globalSecondaryIndexUpdates." + std::to_string(i + 1) + ".member";
      AMALGAM_ASSIGN_OR_RETURN(const JsonValue* create, u.Object("Create"));
      AMALGAM_ASSIGN_OR_RETURN(const JsonValue* del, u.Object("Delete"));
      AMALGAM_ASSIGN_OR_RETURN(const JsonValue* update, u.Object("Update"));
      int actions = (create != nullptr) + (del != nullptr) + (update != nullptr);
      if (actions != 1) {
        return Validation(Invalid("One of GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Update "
                                  "or GlobalSecondaryIndexUpdate.Delete must be specified"));
      }
      if (create != nullptr || del != nullptr) {
        if (to_create || to_delete) {
          return Status(ErrorCode::kDynamoLimitExceeded,
                        "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table");
        }
      }
      if (create != nullptr) {
        IndexInput in;
        AMALGAM_RETURN_IF_ERROR(ParseIndexJson(*create, path + ".create", true, &in, &errors));
        AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
        if (meta.FindIndex(in.index.name) != nullptr) {
          return Validation(Invalid("Index already exists: " + in.index.name));
        }
        TableMeta with_defs = meta;
        for (const auto& d : new_defs) {
          char existing = with_defs.AttributeType(d.first);
          if (existing != 0 && existing != d.second) {
            return Validation(Invalid("Cannot change the type of an existing attribute: " + d.first));
          }
          if (existing == 0) with_defs.attribute_definitions.push_back(d);
        }
        AMALGAM_RETURN_IF_ERROR(CheckIndex(in, with_defs));
        size_t gsis = std::count_if(meta.indexes.begin(), meta.indexes.end(), [](const auto& x) { return x.global; });
        if (gsis + 1 > kMaxGsis) {
          return Status(ErrorCode::kDynamoLimitExceeded,
                        "GlobalSecondaryIndex count exceeds the per-table limit of " + std::to_string(kMaxGsis));
        }
        meta.attribute_definitions = with_defs.attribute_definitions;
        if (meta.pay_per_request) in.index.throughput = {};
        to_create = in.index;
      } else if (del != nullptr) {
        Params d(*del);
        AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> index_name, d.String("IndexName"));
        if (!index_name) {
          errors.AddNull(path + ".delete.indexName");
          return errors.ToStatus();
        }
        const SecondaryIndex* index = meta.FindIndex(*index_name);
        if (index == nullptr || !index->global) {
          return Status(ErrorCode::kNamespaceNotFound, "Requested resource not found: Index: " +
                                                           std::string(*index_name) + " not found");
        }
        to_delete = std::string(*index_name);
      } else {
        Params up(*update);
        AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> index_name, up.String("IndexName"));
        AMALGAM_ASSIGN_OR_RETURN(const JsonValue* itp, up.Object("ProvisionedThroughput"));
        if (!index_name) errors.AddNull(path + ".update.indexName");
        Throughput t;
        if (itp == nullptr) {
          errors.AddNull(path + ".update.provisionedThroughput");
        } else {
          AMALGAM_RETURN_IF_ERROR(ParseThroughput(*itp, path + ".update.provisionedThroughput", &t, &errors));
        }
        AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
        auto it = std::find_if(meta.indexes.begin(), meta.indexes.end(),
                               [&](const SecondaryIndex& x) { return x.global && x.name == *index_name; });
        if (it == meta.indexes.end()) {
          return Status(ErrorCode::kNamespaceNotFound,
                        "Requested resource not found: Index: " + std::string(*index_name) + " not found");
        }
        if (meta.pay_per_request) {
          return Validation(Invalid("ProvisionedThroughput cannot be specified for index " + it->name +
                                    " when BillingMode is PAY_PER_REQUEST"));
        }
        it->throughput = t;
      }
      changed = true;
    }
  }
  if (!meta.pay_per_request && was_on_demand) {
    for (SecondaryIndex& index : meta.indexes) {
      if (index.global && index.throughput.read == 0) {
        return Validation(Invalid("ProvisionedThroughput must be specified for index: " + index.name));
      }
    }
  }
  (void)changed;
  engine::Engine& engine = ctx.state.engine;
  if (to_delete) {
    AMALGAM_RETURN_IF_ERROR(engine.DropIndex(kDynamoDb, meta.name, *to_delete));
    std::erase_if(meta.indexes, [&](const SecondaryIndex& x) { return x.name == *to_delete; });
  }
  if (to_create) {
    // Backfill: the engine builds the index over the existing items while writes continue.
    bson::Document spec = EngineIndexSpec(*to_create);
    Result<bool> built = engine.CreateIndex(kDynamoDb, meta.name, spec.view());
    if (!built.ok()) {
      return built.status().category() == ErrorCategory::kInvalidInput
                 ? Validation(Invalid("Cannot create index " + to_create->name + ": " +
                                      std::string(built.status().message())))
                 : built.status();
    }
    meta.indexes.push_back(*to_create);
  }
  if (vector_updates) AMALGAM_RETURN_IF_ERROR(ApplyVectorIndexUpdates(ctx, &meta, std::move(*vector_updates)));
  catalog::CollectionPtr info = engine.catalog().Find(kDynamoDb, meta.name);
  if (info == nullptr) return Status(ErrorCode::kNamespaceNotFound, "Requested resource not found");
  bson::Document options = CollectionOptions(meta, info->options.view());
  uint64_t before_change = engine.store().LastVisibleSeq();
  AMALGAM_RETURN_IF_ERROR(engine.catalog().SetOptions(kDynamoDb, meta.name, options.view()).status());
  // Disabling a stream closes it; it stays readable (DISABLED) until retention removes its
  // records. Re-enabling later makes a new stream with a new label.
  const TableMeta& was = *table.meta;
  if (was.stream_enabled && (!meta.stream_enabled || meta.stream_label != was.stream_label)) {
    AMALGAM_ASSIGN_OR_RETURN(uint64_t end, CatalogEntrySeq(engine, info->id, before_change));
    AMALGAM_RETURN_IF_ERROR(RecordClosedStream(engine, was, info->id, end, ctx.state.clock.NowMillis()));
  }
  AMALGAM_ASSIGN_OR_RETURN(table, ctx.state.tables.Open(engine, meta.name));
  ctx.out.StartObject();
  WriteKey(ctx.out, "TableDescription");
  AMALGAM_RETURN_IF_ERROR(WriteTableDescription(ctx, table, "ACTIVE", /*count=*/true));
  ctx.out.EndObject();
  return Status::OK();
}

}  // namespace amalgam::api::dynamo
