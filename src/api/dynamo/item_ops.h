#pragma once
// Helpers shared by the data-plane operations (items.cc, query_scan.cc, batch.cc,
// transact.cc): reading the common parameters, key and index checks, reading and writing one
// item in the engine, ReturnValues, and consumed capacity. Internal to api/dynamo.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/dynamo/model/expression.h"
#include "api/dynamo/model/json.h"
#include "api/dynamo/model/legacy.h"
#include "api/dynamo/service_internal.h"
#include "engine/write_txn.h"

namespace amalgam::api::dynamo {

// TableName (validated) and its table; not found: "Requested resource not found".
Result<Table> OpenTableParam(OpContext& ctx, const Params& params);
// Same for a name already read (batch and transaction elements).
Result<Table> OpenTableNamed(OpContext& ctx, std::string_view name, std::string_view path);

// Parses `json` (a Key) and checks it against the schema.
Result<model::Item> ParseKey(const JsonValue& json, const TableMeta& meta);
// Parses and validates a whole item for a write (key, sizes, reserved names, index key types).
Result<model::Item> ParseItemForWrite(const JsonValue& json, const TableMeta& meta);
// Index key attributes present in `item` must have the declared type and not be empty.
Status CheckIndexKeys(const TableMeta& meta, const model::Item& item);
// The vector attribute of each vector index the table was given through the DynamoDB face
// (TableMeta::vector_indexes), when present in `item`, must be a list of the index's Dimensions
// numbers (model::CheckVectorValue). An item without the attribute is fine (not indexed).
// Errors: kBadValue (ValidationException).
Status CheckVectorAttributes(OpContext& ctx, const TableMeta& meta, const model::Item& item);

// The `_id` of an item or key, owning its bytes: {_id: <id>}.
struct ItemId {
  bson::Document doc;
  bson::Value value() const { return doc.view().Get("_id"); }
};
ItemId IdOf(const TableMeta& meta, const model::Item& key_or_item);

// An item as read in a write transaction: its stored document and its DynamoDB reading
// (both nullopt when absent).
struct Current {
  std::optional<bson::Document> doc;
  std::optional<model::Item> item;
};
// The item with `id` in `txn`, locked for update.
Result<Current> ReadForUpdate(engine::WriteTxn& txn, const Table& table, const ItemId& id);
// Stores `after` (insert, or replace `before`), or deletes `before` (after == nullptr; nothing
// when it is absent too).
Status WriteItem(engine::WriteTxn& txn, const Table& table, const Current& before, const model::Item* after);
// The current item with `id` (latest committed state, no snapshot needed for one key).
Result<std::optional<model::Item>> ReadLatest(engine::Engine& engine, const Table& table, const ItemId& id);

// ExpressionAttributeNames / ExpressionAttributeValues of `params`.
Result<model::ExpressionAttributes> ReadExpressionAttributes(const Params& params);
// Fails when the request mixes legacy parameters (Expected, AttributeUpdates, ...) with
// expression parameters, with DynamoDB's message.
Status CheckMixedParameters(const Params& params);
// Checks ExpressionAttributeNames/Values are only given with expressions that can use them.
Status CheckAttributesAllowed(const Params& params, const model::ExpressionAttributes& attrs);
// The condition of a write: ConditionExpression, or the legacy Expected (+ConditionalOperator);
// nullopt when neither is given.
Result<std::optional<model::Condition>> ReadWriteCondition(const Params& params, model::ExpressionAttributes& attrs);
// ProjectionExpression, or the legacy AttributesToGet; nullopt when neither is given.
Result<std::optional<std::vector<model::DocumentPath>>> ReadProjection(const Params& params,
                                                                        model::ExpressionAttributes& attrs);

// ReturnValues: which of NONE / ALL_OLD / UPDATED_OLD / ALL_NEW / UPDATED_NEW; `allowed` lists
// what the operation takes. Error message when not allowed: `message`.
enum class ReturnValues : uint8_t { kNone, kAllOld, kUpdatedOld, kAllNew, kUpdatedNew };
Result<ReturnValues> ReadReturnValues(const Params& params, std::string_view member,
                                      std::initializer_list<ReturnValues> allowed, std::string_view message);

// "The conditional request failed", with the old item in ctx.error_extra when the request
// asked for ReturnValuesOnConditionCheckFailure ALL_OLD.
Status ConditionFailed(OpContext& ctx, bool return_old, const std::optional<model::Item>& old);

// ---- Consumed capacity -------------------------------------------------------------------

enum class CapacityMode : uint8_t { kNone, kTotal, kIndexes };
Result<CapacityMode> ReadCapacityMode(const Params& params);

// Capacity units of one table in one request.
struct Capacity {
  std::string table;
  double table_units = 0;
  bool read = true;
  std::vector<std::pair<std::string, double>> gsi;  // by index name
  std::vector<std::pair<std::string, double>> lsi;
  double total() const;
};
// Read units: 4 KB per unit (rounded up, at least 1), halved for eventually consistent reads.
double ReadUnits(size_t bytes, bool consistent);
// Write units of a single-item write of `old_item` -> `new_item` (nullptr: absent), with the
// index writes it causes (DynamoDB: 1 KB per unit, at least 1; an index key change costs a
// delete and a put).
void AddWriteCapacity(const TableMeta& meta, const model::Item* old_item, const model::Item* new_item,
                      double factor, Capacity* out);
// Writes one ConsumedCapacity object.
void WriteCapacity(JsonWriter& w, const Capacity& c, CapacityMode mode);

// ReturnItemCollectionMetrics "SIZE" for a table with local secondary indexes: the collection
// key and DynamoDB's size estimate range.
Result<bool> ReadItemCollectionMetrics(const Params& params);
void WriteItemCollectionMetrics(JsonWriter& w, const TableMeta& meta, const model::Item& key);

}  // namespace amalgam::api::dynamo
