// BatchGetItem and BatchWriteItem. The whole request is parsed and validated before anything
// is read or written; a BatchWriteItem is then applied in one engine transaction (so it is never
// half-applied), and UnprocessedItems stays empty. BatchGetItem reads at one snapshot and
// returns keys past the 16 MB response limit as UnprocessedKeys.
#include <algorithm>
#include <set>

#include "api/dynamo/item_ops.h"
#include "api/dynamo/model/bson_mapping.h"

namespace amalgam::api::dynamo {

namespace {

constexpr size_t kMaxBatchGetKeys = 100;
constexpr size_t kMaxBatchWriteItems = 25;
constexpr size_t kMaxBatchResponseBytes = 16 * 1024 * 1024;

struct GetTable {
  std::string name;
  Table table;
  std::vector<model::Item> keys;
  std::optional<std::vector<model::DocumentPath>> projection;
  bool consistent = false;
  const JsonValue* raw = nullptr;  // the request entry, echoed in UnprocessedKeys
};

Status RequestItemsError(std::string_view constraint) {
  ValidationErrors errors;
  errors.AddValue("{...}", "requestItems", constraint);
  return errors.ToStatus();
}

}  // namespace

Status BatchGetItem(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* request_items, ctx.params.Object("RequestItems"));
  if (request_items == nullptr) {
    ValidationErrors errors;
    errors.AddNull("requestItems");
    return errors.ToStatus();
  }
  if (request_items->MemberCount() == 0) return RequestItemsError("Member must have length greater than or equal to 1");
  AMALGAM_ASSIGN_OR_RETURN(CapacityMode mode, ReadCapacityMode(ctx.params));
  std::vector<GetTable> tables;
  size_t total = 0;
  for (auto it = request_items->MemberBegin(); it != request_items->MemberEnd(); ++it) {
    GetTable t;
    t.name = std::string(AsView(it->name));
    AMALGAM_RETURN_IF_ERROR(ExpectObject(it->value));
    t.raw = &it->value;
    Params p(it->value);
    AMALGAM_ASSIGN_OR_RETURN(t.table, OpenTableNamed(ctx, t.name, "requestItems.key"));
    AMALGAM_RETURN_IF_ERROR(CheckMixedParameters(p));
    AMALGAM_ASSIGN_OR_RETURN(const JsonValue* keys, p.Array("Keys"));
    if (keys == nullptr || keys->Size() == 0) {
      ValidationErrors errors;
      errors.AddValue("[]", "requestItems." + t.name + ".member.keys", "Member must have length greater than or equal to 1");
      return errors.ToStatus();
    }
    std::set<std::string> seen;
    for (const JsonValue& k : keys->GetArray()) {
      AMALGAM_RETURN_IF_ERROR(ExpectObject(k));
      AMALGAM_ASSIGN_OR_RETURN(model::Item key, ParseKey(k, *t.table.meta));
      if (!seen.insert(IdOf(*t.table.meta, key).doc.bytes()).second) {
        return Validation("Provided list of item keys contains duplicates");
      }
      t.keys.push_back(std::move(key));
    }
    total += t.keys.size();
    AMALGAM_ASSIGN_OR_RETURN(model::ExpressionAttributes attrs, ReadExpressionAttributes(p));
    AMALGAM_ASSIGN_OR_RETURN(t.projection, ReadProjection(p, attrs));
    AMALGAM_RETURN_IF_ERROR(CheckAttributesAllowed(p, attrs));
    AMALGAM_RETURN_IF_ERROR(attrs.CheckAllUsed());
    AMALGAM_ASSIGN_OR_RETURN(std::optional<bool> consistent, p.Bool("ConsistentRead"));
    t.consistent = consistent.value_or(false);
    tables.push_back(std::move(t));
  }
  if (total > kMaxBatchGetKeys) return Validation("Too many items requested for the BatchGetItem call");

  std::unique_ptr<engine::ReadView> view = ctx.state.engine.Read();
  JsonWriter& w = ctx.out;
  size_t response_bytes = 0;
  // Keys not read because the response reached its size limit, by table.
  std::vector<std::vector<const model::Item*>> unprocessed(tables.size());
  std::vector<Capacity> capacities;
  w.StartObject();
  WriteKey(w, "Responses");
  w.StartObject();
  for (size_t ti = 0; ti < tables.size(); ++ti) {
    GetTable& t = tables[ti];
    WriteKey(w, t.name);
    w.StartArray();
    Capacity cap{t.name};
    for (const model::Item& key : t.keys) {
      if (response_bytes >= kMaxBatchResponseBytes) {
        unprocessed[ti].push_back(&key);
        continue;
      }
      AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc, view->Get(*t.table.handle, IdOf(*t.table.meta, key).value()));
      size_t size = 0;
      if (doc) {
        model::Item item = model::ItemFromBson(t.table.meta->key, doc->view());
        size = model::ItemSize(item);
        response_bytes += size;
        model::WriteItem(t.projection ? model::ApplyProjection(item, *t.projection) : item, w);
      }
      cap.table_units += ReadUnits(size, t.consistent);
    }
    w.EndArray();
    capacities.push_back(std::move(cap));
  }
  w.EndObject();
  WriteKey(w, "UnprocessedKeys");
  w.StartObject();
  for (size_t ti = 0; ti < tables.size(); ++ti) {
    if (unprocessed[ti].empty()) continue;
    WriteKey(w, tables[ti].name);
    w.StartObject();
    WriteKey(w, "Keys");
    w.StartArray();
    for (const model::Item* key : unprocessed[ti]) model::WriteItem(*key, w);
    w.EndArray();
    for (const char* member : {"ProjectionExpression", "ExpressionAttributeNames", "ConsistentRead", "AttributesToGet"}) {
      auto m = tables[ti].raw->FindMember(member);
      if (m == tables[ti].raw->MemberEnd() || m->value.IsNull()) continue;
      WriteKey(w, member);
      m->value.Accept(w);
    }
    w.EndObject();
  }
  w.EndObject();
  if (mode != CapacityMode::kNone) {
    WriteKey(w, "ConsumedCapacity");
    w.StartArray();
    for (const Capacity& c : capacities) WriteCapacity(w, c, mode);
    w.EndArray();
  }
  w.EndObject();
  return Status::OK();
}

namespace {

struct WriteRequest {
  size_t table = 0;
  bool put = true;
  model::Item item;  // the item (put) or key (delete)
  ItemId id;
};

}  // namespace

Status BatchWriteItem(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* request_items, ctx.params.Object("RequestItems"));
  if (request_items == nullptr) {
    ValidationErrors errors;
    errors.AddNull("requestItems");
    return errors.ToStatus();
  }
  if (request_items->MemberCount() == 0) return RequestItemsError("Member must have length greater than or equal to 1");
  AMALGAM_ASSIGN_OR_RETURN(CapacityMode mode, ReadCapacityMode(ctx.params));
  AMALGAM_ASSIGN_OR_RETURN(bool metrics, ReadItemCollectionMetrics(ctx.params));
  std::vector<std::string> names;
  std::vector<Table> tables;
  std::vector<WriteRequest> requests;
  for (auto it = request_items->MemberBegin(); it != request_items->MemberEnd(); ++it) {
    std::string name(AsView(it->name));
    AMALGAM_RETURN_IF_ERROR(ExpectArray(it->value));
    if (it->value.Size() == 0 || it->value.Size() > kMaxBatchWriteItems) {
      return RequestItemsError(
          "Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have "
          "length greater than or equal to 1]");
    }
    AMALGAM_ASSIGN_OR_RETURN(Table table, OpenTableNamed(ctx, name, "requestItems.key"));
    size_t ti = tables.size();
    names.push_back(name);
    tables.push_back(table);
    for (const JsonValue& entry : it->value.GetArray()) {
      AMALGAM_RETURN_IF_ERROR(ExpectObject(entry));
      Params e(entry);
      AMALGAM_ASSIGN_OR_RETURN(const JsonValue* put, e.Object("PutRequest"));
      AMALGAM_ASSIGN_OR_RETURN(const JsonValue* del, e.Object("DeleteRequest"));
      if ((put != nullptr) == (del != nullptr)) {
        return Validation("One or more parameter values were invalid: A WriteRequest must contain exactly one of "
                          "PutRequest or DeleteRequest");
      }
      WriteRequest r;
      r.table = ti;
      r.put = put != nullptr;
      if (put != nullptr) {
        AMALGAM_ASSIGN_OR_RETURN(const JsonValue* item, Params(*put).Object("Item"));
        if (item == nullptr) {
          ValidationErrors errors;
          errors.AddNull("requestItems." + name + ".member.putRequest.item");
          return errors.ToStatus();
        }
        AMALGAM_ASSIGN_OR_RETURN(r.item, ParseItemForWrite(*item, *table.meta));
        AMALGAM_RETURN_IF_ERROR(CheckVectorAttributes(ctx, *table.meta, r.item));
      } else {
        AMALGAM_ASSIGN_OR_RETURN(const JsonValue* key, Params(*del).Object("Key"));
        if (key == nullptr) {
          ValidationErrors errors;
          errors.AddNull("requestItems." + name + ".member.deleteRequest.key");
          return errors.ToStatus();
        }
        AMALGAM_ASSIGN_OR_RETURN(r.item, ParseKey(*key, *table.meta));
      }
      r.id = IdOf(*table.meta, r.item);
      requests.push_back(std::move(r));
    }
  }
  if (requests.size() > kMaxBatchWriteItems) {
    return RequestItemsError(
        "Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length "
        "greater than or equal to 1]");
  }
  {
    std::set<std::pair<size_t, std::string>> seen;
    for (const WriteRequest& r : requests) {
      if (!seen.insert({r.table, r.id.doc.bytes()}).second) {
        return Validation("Provided list of item keys contains duplicates");
      }
    }
  }

  std::vector<std::optional<model::Item>> olds(requests.size());
  AMALGAM_RETURN_IF_ERROR(ctx.state.engine
                              .RunWrite([&](engine::WriteTxn& txn) -> Status {
                                for (size_t i = 0; i < requests.size(); ++i) {
                                  const WriteRequest& r = requests[i];
                                  AMALGAM_ASSIGN_OR_RETURN(Current current, ReadForUpdate(txn, tables[r.table], r.id));
                                  olds[i] = current.item;
                                  AMALGAM_RETURN_IF_ERROR(
                                      WriteItem(txn, tables[r.table], current, r.put ? &r.item : nullptr));
                                }
                                return Status::OK();
                              })
                              .status());
  std::vector<Capacity> capacities;
  for (const std::string& name : names) capacities.push_back(Capacity{name});
  for (size_t i = 0; i < requests.size(); ++i) {
    const WriteRequest& r = requests[i];
    AddWriteCapacity(*tables[r.table].meta, olds[i] ? &*olds[i] : nullptr, r.put ? &r.item : nullptr, 1,
                     &capacities[r.table]);
  }
  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "UnprocessedItems");
  w.StartObject();
  w.EndObject();
  if (mode != CapacityMode::kNone) {
    WriteKey(w, "ConsumedCapacity");
    w.StartArray();
    for (const Capacity& c : capacities) WriteCapacity(w, c, mode);
    w.EndArray();
  }
  // Item collections exist only in tables with an LSI; without one DynamoDB leaves the member
  // out rather than answering an empty map.
  auto has_lsi = [](const TableMeta& meta) {
    return std::any_of(meta.indexes.begin(), meta.indexes.end(), [](const SecondaryIndex& i) { return !i.global; });
  };
  if (metrics && std::any_of(tables.begin(), tables.end(), [&](const Table& t) { return has_lsi(*t.meta); })) {
    WriteKey(w, "ItemCollectionMetrics");
    w.StartObject();
    for (size_t ti = 0; ti < tables.size(); ++ti) {
      if (!has_lsi(*tables[ti].meta)) continue;
      WriteKey(w, names[ti]);
      w.StartArray();
      for (const WriteRequest& r : requests) {
        if (r.table == ti) WriteItemCollectionMetrics(w, *tables[ti].meta, r.item);
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndObject();
  return Status::OK();
}

}  // namespace amalgam::api::dynamo
