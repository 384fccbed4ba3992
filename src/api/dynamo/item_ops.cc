#include "api/dynamo/item_ops.h"

#include <cctype>
#include <cmath>

#include "api/dynamo/model/bson_mapping.h"
#include "engine/vector_indexes.h"
#include "index/index_entry.h"
#include "storage/key_codec.h"
#include "storage/store.h"

namespace amalgam::api::dynamo {

Result<Table> OpenTableNamed(OpContext& ctx, std::string_view name, std::string_view path) {
  ValidationErrors errors;
  CheckTableName(name, path, &errors);
  AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
  return ctx.state.tables.Open(ctx.state.engine, name);
}

Result<Table> OpenTableParam(OpContext& ctx, const Params& params) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> name, params.String("TableName"));
  if (!name) {
    ValidationErrors errors;
    errors.AddNull("tableName");
    return errors.ToStatus();
  }
  return OpenTableNamed(ctx, *name, "tableName");
}

Result<model::Item> ParseKey(const JsonValue& json, const TableMeta& meta) {
  AMALGAM_ASSIGN_OR_RETURN(model::Item key, model::ParseItem(json));
  AMALGAM_RETURN_IF_ERROR(model::ValidateKey(meta.key, key));
  return key;
}

Status CheckIndexKeys(const TableMeta& meta, const model::Item& item) {
  for (const SecondaryIndex& index : meta.indexes) {
    for (int part = 0; part < 2; ++part) {
      if (part == 1 && !index.key.has_range()) break;
      const std::string& attr = part == 0 ? index.key.hash_name : *index.key.range_name;
      model::AttrType want = part == 0 ? index.key.hash_type : index.key.range_type;
      auto it = item.find(attr);
      if (it == item.end()) continue;
      if (it->second.type != want) {
        return Validation("One or more parameter values were invalid: Type mismatch for Index Key " + attr +
                          " Expected: " + std::string(model::AttrTypeName(want)) +
                          " Actual: " + std::string(model::AttrTypeName(it->second.type)) +
                          " IndexName: " + index.name);
      }
      if (it->second.scalar.empty() && want != model::AttrType::kN) {
        return Validation("One or more parameter values are not valid. A value specified for a secondary index key "
                          "is not supported. The AttributeValue for a key attribute cannot contain an empty " +
                          std::string(want == model::AttrType::kS ? "string" : "binary") +
                          " value. IndexName: " + index.name + ", IndexKey: " + attr);
      }
    }
  }
  return Status::OK();
}

Status CheckVectorAttributes(OpContext& ctx, const TableMeta& meta, const model::Item& item) {
  for (const VectorIndexMeta& vm : meta.vector_indexes) {
    std::optional<engine::VectorIndexDef> def = ctx.state.engine.vectors().Definition(kDynamoDb, meta.name, vm.name);
    if (!def) continue;  // dropped meanwhile
    for (const engine::VectorFieldDef& field : def->vectors) {
      auto it = item.find(field.path);
      if (it == item.end()) continue;
      AMALGAM_RETURN_IF_ERROR(model::CheckVectorValue(it->second, field.path, field.dims, vm.name));
    }
  }
  return Status::OK();
}

Result<model::Item> ParseItemForWrite(const JsonValue& json, const TableMeta& meta) {
  AMALGAM_ASSIGN_OR_RETURN(model::Item item, model::ParseItem(json));
  AMALGAM_RETURN_IF_ERROR(model::ValidateItemForWrite(meta.key, item));
  AMALGAM_RETURN_IF_ERROR(CheckIndexKeys(meta, item));
  return item;
}

ItemId IdOf(const TableMeta& meta, const model::Item& key_or_item) {
  return ItemId{model::BuildIdDocument(meta.key, key_or_item)};
}

Result<Current> ReadForUpdate(engine::WriteTxn& txn, const Table& table, const ItemId& id) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc, txn.Get(*table.handle, id.value(), /*for_update=*/true));
  Current c;
  if (doc) {
    c.item = model::ItemFromBson(table.meta->key, doc->view());
    c.doc = std::move(doc);
  }
  return c;
}

Status WriteItem(engine::WriteTxn& txn, const Table& table, const Current& before, const model::Item* after) {
  if (after == nullptr) {
    if (!before.doc) return Status::OK();
    return txn.Delete(*table.handle, before.doc->view());
  }
  bson::Document doc = model::ItemToBson(table.meta->key, *after);
  if (before.doc) return txn.Update(*table.handle, before.doc->view(), doc.view(), storage::ChangeOp::kReplace);
  return txn.Insert(*table.handle, doc.view());
}

Result<std::optional<model::Item>> ReadLatest(engine::Engine& engine, const Table& table, const ItemId& id) {
  std::string key = index::DocumentKey(table.handle->info->id, storage::EncodeValue(id.value()).key);
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string> bytes, engine.store().Get(storage::Cf::kDocuments, key));
  if (!bytes) return std::optional<model::Item>();
  bson::DocView view(reinterpret_cast<const uint8_t*>(bytes->data()), static_cast<uint32_t>(bytes->size()));
  return std::optional<model::Item>(model::ItemFromBson(table.meta->key, view));
}

Result<model::ExpressionAttributes> ReadExpressionAttributes(const Params& params) {
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* names, params.Object("ExpressionAttributeNames"));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* values, params.Object("ExpressionAttributeValues"));
  return model::ExpressionAttributes::FromJson(names, values);
}

namespace {
constexpr std::string_view kLegacy[] = {"AttributesToGet", "AttributeUpdates", "ConditionalOperator", "Expected",
                                        "KeyConditions",   "QueryFilter",      "ScanFilter"};
constexpr std::string_view kExpressions[] = {"ProjectionExpression", "UpdateExpression", "ConditionExpression",
                                             "KeyConditionExpression", "FilterExpression"};
}  // namespace

Status CheckMixedParameters(const Params& params) {
  std::vector<std::string_view> legacy, expressions;
  for (std::string_view name : kLegacy) {
    if (params.Has(name)) legacy.push_back(name);
  }
  for (std::string_view name : kExpressions) {
    if (params.Has(name)) expressions.push_back(name);
  }
  return model::CheckNoMixedParameters(legacy, expressions);
}

Status CheckAttributesAllowed(const Params& params, const model::ExpressionAttributes& attrs) {
  bool any = false, any_value = false;
  for (std::string_view name : kExpressions) {
    if (!params.Has(name)) continue;
    any = true;
    if (name != "ProjectionExpression") any_value = true;
  }
  return model::CheckExpressionAttributesAllowed(attrs, any, any_value);
}

Result<std::optional<model::Condition>> ReadWriteCondition(const Params& params, model::ExpressionAttributes& attrs) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> text, params.String("ConditionExpression"));
  if (text) {
    AMALGAM_ASSIGN_OR_RETURN(model::Condition c, model::ParseCondition(*text, model::ExpressionKind::kCondition, attrs));
    return std::optional<model::Condition>(std::move(c));
  }
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* expected, params.Object("Expected"));
  if (expected == nullptr) return std::optional<model::Condition>();
  AMALGAM_ASSIGN_OR_RETURN(model::Condition c, model::ConditionFromExpected(*expected, params.Get("ConditionalOperator")));
  return std::optional<model::Condition>(std::move(c));
}

Result<std::optional<std::vector<model::DocumentPath>>> ReadProjection(const Params& params,
                                                                        model::ExpressionAttributes& attrs) {
  using Paths = std::optional<std::vector<model::DocumentPath>>;
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> text, params.String("ProjectionExpression"));
  if (text) {
    AMALGAM_ASSIGN_OR_RETURN(std::vector<model::DocumentPath> paths, model::ParseProjection(*text, attrs));
    return Paths(std::move(paths));
  }
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* names, params.Array("AttributesToGet"));
  if (names == nullptr) return Paths();
  AMALGAM_ASSIGN_OR_RETURN(std::vector<model::DocumentPath> paths, model::ProjectionFromAttributesToGet(*names));
  return Paths(std::move(paths));
}

Result<ReturnValues> ReadReturnValues(const Params& params, std::string_view member,
                                      std::initializer_list<ReturnValues> allowed, std::string_view message) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> text, params.String(member));
  if (!text) return ReturnValues::kNone;
  ReturnValues rv;
  if (*text == "NONE") {
    rv = ReturnValues::kNone;
  } else if (*text == "ALL_OLD") {
    rv = ReturnValues::kAllOld;
  } else if (*text == "UPDATED_OLD") {
    rv = ReturnValues::kUpdatedOld;
  } else if (*text == "ALL_NEW") {
    rv = ReturnValues::kAllNew;
  } else if (*text == "UPDATED_NEW") {
    rv = ReturnValues::kUpdatedNew;
  } else {
    ValidationErrors errors;
    std::string path(member);
    path[0] = static_cast<char>(std::tolower(path[0]));
    errors.AddValue(*text, path,
                    member == "ReturnValuesOnConditionCheckFailure"
                        ? "Member must satisfy enum value set: [ALL_OLD, NONE]"
                        : "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]");
    return errors.ToStatus();
  }
  for (ReturnValues a : allowed) {
    if (a == rv) return rv;
  }
  if (message.empty()) {
    ValidationErrors errors;
    std::string path(member);
    path[0] = static_cast<char>(std::tolower(path[0]));
    errors.AddValue(*text, path, "Member must satisfy enum value set: [ALL_OLD, NONE]");
    return errors.ToStatus();
  }
  return Validation(std::string(message));
}

Status ConditionFailed(OpContext& ctx, bool return_old, const std::optional<model::Item>& old) {
  if (return_old && old) {
    ctx.error_extra = "\"Item\":" + model::ItemToJson(*old);
  }
  return Status(ErrorCode::kConditionalCheckFailed, "The conditional request failed");
}

// ---- Consumed capacity ---------------------------------------------------------------

Result<CapacityMode> ReadCapacityMode(const Params& params) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> text, params.String("ReturnConsumedCapacity"));
  if (!text || *text == "NONE") return CapacityMode::kNone;
  if (*text == "TOTAL") return CapacityMode::kTotal;
  if (*text == "INDEXES") return CapacityMode::kIndexes;
  ValidationErrors errors;
  errors.AddValue(*text, "returnConsumedCapacity", "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]");
  return errors.ToStatus();
}

double Capacity::total() const {
  double t = table_units;
  for (const auto& [n, u] : gsi) t += u;
  for (const auto& [n, u] : lsi) t += u;
  return t;
}

double ReadUnits(size_t bytes, bool consistent) {
  double units = std::max<double>(1, std::ceil(static_cast<double>(bytes) / 4096.0));
  return consistent ? units : units / 2;
}

namespace {

double WriteUnits(size_t bytes) { return std::max<double>(1, std::ceil(static_cast<double>(bytes) / 1024.0)); }

// The item's size as projected into `index` (key attributes of the table and the index, plus
// the projected attributes), or nullopt when the item is not in the index.
std::optional<size_t> IndexedSize(const TableMeta& meta, const SecondaryIndex& index, const model::Item* item) {
  if (item == nullptr || !item->count(index.key.hash_name)) return std::nullopt;
  if (index.key.has_range() && !item->count(*index.key.range_name)) return std::nullopt;
  size_t size = 0;
  for (const auto& [name, value] : *item) {
    bool projected = index.projection == "ALL" || meta.IsKeyAttribute(name) || index.key.IsKeyAttribute(name) ||
                     (index.projection == "INCLUDE" &&
                      std::find(index.non_key.begin(), index.non_key.end(), name) != index.non_key.end());
    if (projected) size += name.size() + model::AttributeValueSize(value);
  }
  return size;
}

void Add(std::vector<std::pair<std::string, double>>* list, const std::string& name, double units) {
  for (auto& [n, u] : *list) {
    if (n == name) {
      u += units;
      return;
    }
  }
  list->emplace_back(name, units);
}

}  // namespace

void AddWriteCapacity(const TableMeta& meta, const model::Item* old_item, const model::Item* new_item, double factor,
                      Capacity* out) {
  out->read = false;
  size_t old_size = old_item ? model::ItemSize(*old_item) : 0;
  size_t new_size = new_item ? model::ItemSize(*new_item) : 0;
  out->table_units += WriteUnits(std::max(old_size, new_size)) * factor;
  for (const SecondaryIndex& index : meta.indexes) {
    std::optional<size_t> before = IndexedSize(meta, index, old_item);
    std::optional<size_t> after = IndexedSize(meta, index, new_item);
    double units = 0;
    if (before && after) {
      bool same_key = old_item->at(index.key.hash_name) == new_item->at(index.key.hash_name) &&
                      (!index.key.has_range() ||
                       old_item->at(*index.key.range_name) == new_item->at(*index.key.range_name));
      units = same_key ? WriteUnits(std::max(*before, *after)) : WriteUnits(*before) + WriteUnits(*after);
    } else if (before) {
      units = WriteUnits(*before);
    } else if (after) {
      units = WriteUnits(*after);
    }
    if (units == 0) continue;
    Add(index.global ? &out->gsi : &out->lsi, index.name, units * factor);
  }
}

void WriteCapacity(JsonWriter& w, const Capacity& c, CapacityMode mode) {
  w.StartObject();
  WriteKey(w, "TableName");
  WriteString(w, c.table);
  WriteKey(w, "CapacityUnits");
  w.Double(c.total());
  if (c.read) {
    WriteKey(w, "ReadCapacityUnits");
    w.Double(c.total());
  } else {
    WriteKey(w, "WriteCapacityUnits");
    w.Double(c.total());
  }
  if (mode == CapacityMode::kIndexes) {
    auto units = [&](double u) {
      w.StartObject();
      WriteKey(w, c.read ? "ReadCapacityUnits" : "WriteCapacityUnits");
      w.Double(u);
      WriteKey(w, "CapacityUnits");
      w.Double(u);
      w.EndObject();
    };
    WriteKey(w, "Table");
    units(c.table_units);
    for (int global = 1; global >= 0; --global) {
      const auto& list = global ? c.gsi : c.lsi;
      if (list.empty()) continue;
      WriteKey(w, global ? "GlobalSecondaryIndexes" : "LocalSecondaryIndexes");
      w.StartObject();
      for (const auto& [name, u] : list) {
        WriteKey(w, name);
        units(u);
      }
      w.EndObject();
    }
  }
  w.EndObject();
}

Result<bool> ReadItemCollectionMetrics(const Params& params) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> text, params.String("ReturnItemCollectionMetrics"));
  if (!text || *text == "NONE") return false;
  if (*text == "SIZE") return true;
  ValidationErrors errors;
  errors.AddValue(*text, "returnItemCollectionMetrics", "Member must satisfy enum value set: [SIZE, NONE]");
  return errors.ToStatus();
}

void WriteItemCollectionMetrics(JsonWriter& w, const TableMeta& meta, const model::Item& key) {
  w.StartObject();
  WriteKey(w, "ItemCollectionKey");
  w.StartObject();
  if (auto it = key.find(meta.key.hash_name); it != key.end()) {
    WriteKey(w, meta.key.hash_name);
    model::WriteAttributeValue(it->second, w);
  }
  w.EndObject();
  WriteKey(w, "SizeEstimateRangeGB");
  w.StartArray();
  w.Double(0.0);
  w.Double(1.0);
  w.EndArray();
  w.EndObject();
}

}  // namespace amalgam::api::dynamo
