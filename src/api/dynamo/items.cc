// PutItem, GetItem, UpdateItem, DeleteItem: one item, read and written in one engine
// transaction (conditions are evaluated on the locked current item).
#include <optional>

#include "api/dynamo/item_ops.h"
#include "api/dynamo/model/bson_mapping.h"
#include "api/dynamo/model/legacy.h"
#include "api/dynamo/model/update_expression.h"

namespace amalgam::api::dynamo {

namespace {

bool Holds(const std::optional<model::Condition>& cond, const std::optional<model::Item>& item) {
  if (!cond) return true;
  static const model::Item kEmpty;
  return model::EvaluateCondition(*cond, item ? *item : kEmpty);
}

void WriteAttributes(JsonWriter& w, const model::Item& item) {
  WriteKey(w, "Attributes");
  model::WriteItem(item, w);
}

void FinishWrite(OpContext& ctx, const Table& table, CapacityMode mode, const Capacity& capacity, bool metrics,
                 const model::Item& key) {
  if (mode != CapacityMode::kNone) {
    WriteKey(ctx.out, "ConsumedCapacity");
    WriteCapacity(ctx.out, capacity, mode);
  }
  bool has_lsi = false;
  for (const SecondaryIndex& index : table.meta->indexes) has_lsi |= !index.global;
  if (metrics && has_lsi) {
    WriteKey(ctx.out, "ItemCollectionMetrics");
    WriteItemCollectionMetrics(ctx.out, *table.meta, key);
  }
}

// A required object parameter; DynamoDB reports its absence as a null-constraint violation on
// the lower-case member name.
Result<const JsonValue*> RequiredObject(const Params& params, const char* name, const char* member) {
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* value, params.Object(name));
  if (value == nullptr) {
    ValidationErrors errors;
    errors.AddNull(member);
    return errors.ToStatus();
  }
  return value;
}

// What a single-item write returns: ReturnValues (from `allowed`), the pre-image on a failed
// condition, consumed capacity and item collection metrics.
struct WriteReplyOptions {
  ReturnValues rv = ReturnValues::kNone;
  ReturnValues on_fail = ReturnValues::kNone;
  CapacityMode mode = CapacityMode::kNone;
  bool metrics = false;
};

Result<WriteReplyOptions> ReadWriteReplyOptions(const Params& params, std::initializer_list<ReturnValues> allowed,
                                                const char* rv_message) {
  WriteReplyOptions o;
  AMALGAM_ASSIGN_OR_RETURN(o.rv, ReadReturnValues(params, "ReturnValues", allowed, rv_message));
  AMALGAM_ASSIGN_OR_RETURN(o.on_fail, ReadReturnValues(params, "ReturnValuesOnConditionCheckFailure",
                                                       {ReturnValues::kNone, ReturnValues::kAllOld}, ""));
  AMALGAM_ASSIGN_OR_RETURN(o.mode, ReadCapacityMode(params));
  AMALGAM_ASSIGN_OR_RETURN(o.metrics, ReadItemCollectionMetrics(params));
  return o;
}

}  // namespace

Status PutItem(OpContext& ctx) {
  const Params& params = ctx.params;
  AMALGAM_ASSIGN_OR_RETURN(Table table, OpenTableParam(ctx, params));
  AMALGAM_RETURN_IF_ERROR(CheckMixedParameters(params));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* item_json, RequiredObject(params, "Item", "item"));
  AMALGAM_ASSIGN_OR_RETURN(model::Item item, ParseItemForWrite(*item_json, *table.meta));
  AMALGAM_RETURN_IF_ERROR(CheckVectorAttributes(ctx, *table.meta, item));
  AMALGAM_ASSIGN_OR_RETURN(model::ExpressionAttributes attrs, ReadExpressionAttributes(params));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<model::Condition> cond, ReadWriteCondition(params, attrs));
  AMALGAM_RETURN_IF_ERROR(CheckAttributesAllowed(params, attrs));
  AMALGAM_RETURN_IF_ERROR(attrs.CheckAllUsed());
  AMALGAM_ASSIGN_OR_RETURN(WriteReplyOptions reply,
                           ReadWriteReplyOptions(params, {ReturnValues::kNone, ReturnValues::kAllOld},
                                                 "ReturnValues can only be ALL_OLD or NONE"));
  auto [rv, on_fail, mode, metrics] = reply;

  ItemId id = IdOf(*table.meta, item);
  std::optional<model::Item> old;
  bool failed = false;
  Result<storage::CommitInfo> committed = ctx.state.engine.RunWrite([&](engine::WriteTxn& txn) -> Status {
    AMALGAM_ASSIGN_OR_RETURN(Current current, ReadForUpdate(txn, table, id));
    old = std::move(current.item);
    failed = !Holds(cond, old);
    if (failed) return Status::OK();  // nothing written; the commit is empty
    return WriteItem(txn, table, current, &item);
  });
  AMALGAM_RETURN_IF_ERROR(committed.status());
  if (failed) return ConditionFailed(ctx, on_fail == ReturnValues::kAllOld, old);
  Capacity capacity{table.meta->name};
  AddWriteCapacity(*table.meta, old ? &*old : nullptr, &item, 1, &capacity);
  ctx.out.StartObject();
  if (rv == ReturnValues::kAllOld && old) WriteAttributes(ctx.out, *old);
  FinishWrite(ctx, table, mode, capacity, metrics, item);
  ctx.out.EndObject();
  return Status::OK();
}

Status DeleteItem(OpContext& ctx) {
  const Params& params = ctx.params;
  AMALGAM_ASSIGN_OR_RETURN(Table table, OpenTableParam(ctx, params));
  AMALGAM_RETURN_IF_ERROR(CheckMixedParameters(params));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* key_json, RequiredObject(params, "Key", "key"));
  AMALGAM_ASSIGN_OR_RETURN(model::Item key, ParseKey(*key_json, *table.meta));
  AMALGAM_ASSIGN_OR_RETURN(model::ExpressionAttributes attrs, ReadExpressionAttributes(params));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<model::Condition> cond, ReadWriteCondition(params, attrs));
  AMALGAM_RETURN_IF_ERROR(CheckAttributesAllowed(params, attrs));
  AMALGAM_RETURN_IF_ERROR(attrs.CheckAllUsed());
  AMALGAM_ASSIGN_OR_RETURN(WriteReplyOptions reply,
                           ReadWriteReplyOptions(params, {ReturnValues::kNone, ReturnValues::kAllOld},
                                                 "ReturnValues can only be ALL_OLD or NONE"));
  auto [rv, on_fail, mode, metrics] = reply;

  ItemId id = IdOf(*table.meta, key);
  std::optional<model::Item> old;
  bool failed = false;
  Result<storage::CommitInfo> committed = ctx.state.engine.RunWrite([&](engine::WriteTxn& txn) -> Status {
    AMALGAM_ASSIGN_OR_RETURN(Current current, ReadForUpdate(txn, table, id));
    old = current.item;
    failed = !Holds(cond, old);
    if (failed) return Status::OK();
    return WriteItem(txn, table, current, nullptr);
  });
  AMALGAM_RETURN_IF_ERROR(committed.status());
  if (failed) return ConditionFailed(ctx, on_fail == ReturnValues::kAllOld, old);
  Capacity capacity{table.meta->name};
  AddWriteCapacity(*table.meta, old ? &*old : nullptr, nullptr, 1, &capacity);
  ctx.out.StartObject();
  if (rv == ReturnValues::kAllOld && old) WriteAttributes(ctx.out, *old);
  FinishWrite(ctx, table, mode, capacity, metrics, key);
  ctx.out.EndObject();
  return Status::OK();
}

Status UpdateItem(OpContext& ctx) {
  const Params& params = ctx.params;
  AMALGAM_ASSIGN_OR_RETURN(Table table, OpenTableParam(ctx, params));
  AMALGAM_RETURN_IF_ERROR(CheckMixedParameters(params));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* key_json, RequiredObject(params, "Key", "key"));
  AMALGAM_ASSIGN_OR_RETURN(model::Item key, ParseKey(*key_json, *table.meta));
  AMALGAM_ASSIGN_OR_RETURN(model::ExpressionAttributes attrs, ReadExpressionAttributes(params));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> update_text, params.String("UpdateExpression"));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* attribute_updates, params.Object("AttributeUpdates"));
  std::optional<model::Update> update;
  if (update_text) {
    AMALGAM_ASSIGN_OR_RETURN(update, model::ParseUpdate(*update_text, attrs));
  } else if (attribute_updates != nullptr) {
    AMALGAM_ASSIGN_OR_RETURN(update, model::UpdateFromAttributeUpdates(*attribute_updates));
  }
  if (update) AMALGAM_RETURN_IF_ERROR(model::CheckKeyNotUpdated(*update, table.meta->key));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<model::Condition> cond, ReadWriteCondition(params, attrs));
  AMALGAM_RETURN_IF_ERROR(CheckAttributesAllowed(params, attrs));
  AMALGAM_RETURN_IF_ERROR(attrs.CheckAllUsed());
  AMALGAM_ASSIGN_OR_RETURN(WriteReplyOptions reply,
                           ReadWriteReplyOptions(params,
                                                 {ReturnValues::kNone, ReturnValues::kAllOld, ReturnValues::kUpdatedOld,
                                                  ReturnValues::kAllNew, ReturnValues::kUpdatedNew},
                                                 ""));
  auto [rv, on_fail, mode, metrics] = reply;

  ItemId id = IdOf(*table.meta, key);
  std::optional<model::Item> old;
  model::Item updated;
  bool failed = false;
  Result<storage::CommitInfo> committed = ctx.state.engine.RunWrite([&](engine::WriteTxn& txn) -> Status {
    AMALGAM_ASSIGN_OR_RETURN(Current current, ReadForUpdate(txn, table, id));
    old = current.item;
    failed = !Holds(cond, old);
    if (failed) return Status::OK();
    updated = old ? *old : key;
    if (update) AMALGAM_RETURN_IF_ERROR(model::ApplyUpdate(*update, &updated));
    AMALGAM_RETURN_IF_ERROR(model::ValidateItemForWrite(table.meta->key, updated));
    AMALGAM_RETURN_IF_ERROR(CheckIndexKeys(*table.meta, updated));
    AMALGAM_RETURN_IF_ERROR(CheckVectorAttributes(ctx, *table.meta, updated));
    return WriteItem(txn, table, current, &updated);
  });
  AMALGAM_RETURN_IF_ERROR(committed.status());
  if (failed) return ConditionFailed(ctx, on_fail == ReturnValues::kAllOld, old);
  Capacity capacity{table.meta->name};
  AddWriteCapacity(*table.meta, old ? &*old : nullptr, &updated, 1, &capacity);
  ctx.out.StartObject();
  switch (rv) {
    case ReturnValues::kNone:
      break;
    case ReturnValues::kAllOld:
      if (old) WriteAttributes(ctx.out, *old);
      break;
    case ReturnValues::kAllNew:
      WriteAttributes(ctx.out, updated);
      break;
    case ReturnValues::kUpdatedOld:
    case ReturnValues::kUpdatedNew: {
      const model::Item* source = rv == ReturnValues::kUpdatedNew ? &updated : (old ? &*old : nullptr);
      if (source != nullptr && update) {
        model::Item projected = model::ApplyProjection(*source, model::UpdatedPaths(*update));
        if (!projected.empty()) WriteAttributes(ctx.out, projected);
      }
      break;
    }
  }
  FinishWrite(ctx, table, mode, capacity, metrics, key);
  ctx.out.EndObject();
  return Status::OK();
}

Status GetItem(OpContext& ctx) {
  const Params& params = ctx.params;
  AMALGAM_ASSIGN_OR_RETURN(Table table, OpenTableParam(ctx, params));
  AMALGAM_RETURN_IF_ERROR(CheckMixedParameters(params));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* key_json, RequiredObject(params, "Key", "key"));
  AMALGAM_ASSIGN_OR_RETURN(model::Item key, ParseKey(*key_json, *table.meta));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<bool> consistent, params.Bool("ConsistentRead"));
  AMALGAM_ASSIGN_OR_RETURN(model::ExpressionAttributes attrs, ReadExpressionAttributes(params));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::vector<model::DocumentPath>> projection, ReadProjection(params, attrs));
  AMALGAM_RETURN_IF_ERROR(CheckAttributesAllowed(params, attrs));
  AMALGAM_RETURN_IF_ERROR(attrs.CheckAllUsed());
  AMALGAM_ASSIGN_OR_RETURN(CapacityMode mode, ReadCapacityMode(params));

  // Every read here is strongly consistent (one node); ConsistentRead only changes the units.
  AMALGAM_ASSIGN_OR_RETURN(std::optional<model::Item> item, ReadLatest(ctx.state.engine, table, IdOf(*table.meta, key)));
  JsonWriter& w = ctx.out;
  w.StartObject();
  if (item) {
    WriteKey(w, "Item");
    if (projection) {
      model::WriteItem(model::ApplyProjection(*item, *projection), w);
    } else {
      model::WriteItem(*item, w);
    }
  }
  if (mode != CapacityMode::kNone) {
    Capacity capacity{table.meta->name};
    capacity.table_units = ReadUnits(item ? model::ItemSize(*item) : 0, consistent.value_or(false));
    WriteKey(w, "ConsumedCapacity");
    WriteCapacity(w, capacity, mode);
  }
  w.EndObject();
  return Status::OK();
}

}  // namespace amalgam::api::dynamo
