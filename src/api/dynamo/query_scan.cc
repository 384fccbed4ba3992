// Query and Scan. A Query on the table is one ordered `_id` range scan (a partition is one
// contiguous `_id` range, sorted by sort key: docs/dynamodb-mapping.md); on an index it is one
// range scan of the engine index. Scan reads the table in `_id` order; a parallel scan segment
// reads one contiguous `_id` range cut at sampled split points (model/scan_segments.h). Both stop at Limit evaluated items or 1 MB of
// evaluated data, and resume after ExclusiveStartKey.
#include <algorithm>

#include "api/dynamo/item_ops.h"
#include "api/dynamo/model/bson_mapping.h"
#include "api/dynamo/model/key_condition.h"
#include "api/dynamo/model/legacy.h"
#include "api/dynamo/model/scan_segments.h"
#include "index/index_entry.h"
#include "storage/key_codec.h"
#include "storage/store.h"

namespace amalgam::api::dynamo {

namespace {

constexpr size_t kMaxPageBytes = 1024 * 1024;
constexpr int64_t kMaxSegments = 1000000;
// Parallel Scan cuts a table at up to 2048 split points (SampleSplits); the pieces between them
// are dealt out to the TotalSegments segments.
constexpr size_t kScanSamples = 1024;
// Tables of at least kScanEstimatedParts x kScanSplitMinBytes (64 MiB) take their split points
// from storage's size estimates instead of a pass over their keys (the estimates of data still in
// memtables are coarse, so smaller tables are better balanced by the key pass, which is cheap
// for them).
constexpr size_t kScanEstimatedParts = 256;
constexpr uint64_t kScanSplitMinBytes = 256 * 1024;

enum class Select : uint8_t { kAllAttributes, kAllProjected, kSpecific, kCount };

// What Query and Scan share: the parsed request.
struct ReadRequest {
  Table table;
  const SecondaryIndex* index = nullptr;  // IndexName, or null for the table
  model::ExpressionAttributes attrs;
  std::optional<model::Condition> filter;
  std::optional<std::vector<model::DocumentPath>> projection;
  Select select = Select::kAllAttributes;
  int64_t limit = 0;  // 0: none
  bool consistent = false;
  bool forward = true;
  std::optional<model::Item> start_key;
  CapacityMode capacity = CapacityMode::kNone;
};

// The results of one page.
struct Page {
  std::vector<model::Item> items;
  int64_t count = 0;
  int64_t scanned = 0;
  size_t scanned_bytes = 0;
  std::optional<model::Item> last_key;
};

std::string_view SelectName(Select s) {
  switch (s) {
    case Select::kAllAttributes:
      return "ALL_ATTRIBUTES";
    case Select::kAllProjected:
      return "ALL_PROJECTED_ATTRIBUTES";
    case Select::kSpecific:
      return "SPECIFIC_ATTRIBUTES";
    case Select::kCount:
      return "COUNT";
  }
  return "";
}

// The key attributes of `item` that LastEvaluatedKey carries: the table's key, plus the
// index's key when reading an index.
model::Item PageKey(const ReadRequest& r, const model::Item& item) {
  model::Item key = model::ExtractKey(r.table.meta->key, item);
  if (r.index != nullptr) {
    for (const std::string* name : {&r.index->key.hash_name, r.index->key.range_name ? &*r.index->key.range_name : nullptr}) {
      if (name == nullptr) continue;
      if (auto it = item.find(*name); it != item.end()) key.emplace(*name, it->second);
    }
  }
  return key;
}

// The item as the index holds it (its projection), or the item itself for the table.
model::Item ProjectForIndex(const ReadRequest& r, const model::Item& item) {
  if (r.index == nullptr || r.index->projection == "ALL" || r.select == Select::kAllAttributes) return item;
  model::Item out;
  for (const auto& [name, value] : item) {
    bool keep = r.table.meta->IsKeyAttribute(name) || r.index->key.IsKeyAttribute(name) ||
                (r.index->projection == "INCLUDE" &&
                 std::find(r.index->non_key.begin(), r.index->non_key.end(), name) != r.index->non_key.end());
    if (keep) out.emplace(name, value);
  }
  return out;
}

bool InIndex(const SecondaryIndex* index, const model::Item& item) {
  if (index == nullptr) return true;
  if (!item.count(index->key.hash_name)) return false;
  return !index->key.has_range() || item.count(*index->key.range_name);
}

// Evaluates one candidate item. Returns false when the page is full (stop before it).
bool Consider(const ReadRequest& r, const model::Item& stored, Page* page) {
  size_t size = model::ItemSize(stored);
  ++page->scanned;
  page->scanned_bytes += size;
  model::Item visible = ProjectForIndex(r, stored);
  if (!r.filter || model::EvaluateCondition(*r.filter, visible)) {
    ++page->count;
    if (r.select != Select::kCount) {
      page->items.push_back(r.projection ? model::ApplyProjection(visible, *r.projection) : std::move(visible));
    }
  }
  bool full = (r.limit > 0 && page->scanned >= r.limit) || page->scanned_bytes >= kMaxPageBytes;
  if (full) page->last_key = PageKey(r, stored);
  return !full;
}

// Parses what Query and Scan share.
Status ParseReadRequest(OpContext& ctx, ReadRequest* r, bool is_query) {
  const Params& params = ctx.params;
  AMALGAM_ASSIGN_OR_RETURN(r->table, OpenTableParam(ctx, params));
  AMALGAM_RETURN_IF_ERROR(CheckMixedParameters(params));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> index_name, params.String("IndexName"));
  if (index_name) {
    ValidationErrors errors;
    CheckTableName(*index_name, "indexName", &errors);
    AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
    r->index = r->table.meta->FindIndex(*index_name);
    if (r->index == nullptr) {
      return Validation("The table does not have the specified index: " + std::string(*index_name));
    }
  }
  AMALGAM_ASSIGN_OR_RETURN(std::optional<bool> consistent, params.Bool("ConsistentRead"));
  r->consistent = consistent.value_or(false);
  if (r->consistent && r->index != nullptr && r->index->global) {
    return Validation("Consistent reads are not supported on global secondary indexes");
  }
  AMALGAM_ASSIGN_OR_RETURN(std::optional<int64_t> limit, params.Int("Limit"));
  if (limit && *limit < 1) {
    ValidationErrors errors;
    errors.AddValue(std::to_string(*limit), "limit", "Member must have value greater than or equal to 1");
    return errors.ToStatus();
  }
  r->limit = limit.value_or(0);
  AMALGAM_ASSIGN_OR_RETURN(r->attrs, ReadExpressionAttributes(params));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> select, params.String("Select"));
  bool projection = params.Has("ProjectionExpression") || params.Has("AttributesToGet");
  if (select) {
    if (*select == "ALL_ATTRIBUTES") {
      r->select = Select::kAllAttributes;
    } else if (*select == "ALL_PROJECTED_ATTRIBUTES") {
      r->select = Select::kAllProjected;
    } else if (*select == "SPECIFIC_ATTRIBUTES") {
      r->select = Select::kSpecific;
    } else if (*select == "COUNT") {
      r->select = Select::kCount;
    } else {
      ValidationErrors errors;
      errors.AddValue(*select, "select",
                      "Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, "
                      "ALL_PROJECTED_ATTRIBUTES]");
      return errors.ToStatus();
    }
    if (projection && r->select != Select::kSpecific) {
      return Validation("One or more parameter values were invalid: Cannot specify the ProjectionExpression when "
                        "choosing to get " + std::string(SelectName(r->select)));
    }
    if (r->select == Select::kAllProjected && r->index == nullptr) {
      return Validation("One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is "
                        "supported only for index queries");
    }
    if (r->select == Select::kAllAttributes && r->index != nullptr && r->index->global &&
        r->index->projection != "ALL") {
      return Validation("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported "
                        "for global secondary index " + r->index->name + " because its projection type is not ALL");
    }
  } else {
    r->select = projection ? Select::kSpecific : (r->index ? Select::kAllProjected : Select::kAllAttributes);
  }
  AMALGAM_ASSIGN_OR_RETURN(std::optional<bool> forward, params.Bool("ScanIndexForward"));
  if (forward && !is_query) {
    return Validation("ScanIndexForward is only supported for Query");  // boto3 does not send it
  }
  r->forward = forward.value_or(true);
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* start, params.Object("ExclusiveStartKey"));
  if (start != nullptr) {
    AMALGAM_ASSIGN_OR_RETURN(model::Item key, model::ParseItem(*start));
    model::Item table_part;
    for (const auto& [name, value] : key) {
      if (r->table.meta->IsKeyAttribute(name)) table_part.emplace(name, value);
    }
    size_t expected = 1 + r->table.meta->key.has_range();
    if (r->index != nullptr) {
      for (const std::string* name : {&r->index->key.hash_name, r->index->key.range_name ? &*r->index->key.range_name : nullptr}) {
        if (name != nullptr && !r->table.meta->IsKeyAttribute(*name)) {
          ++expected;
          if (!key.count(*name)) {
            return Validation("The provided starting key is invalid: The provided key element does not match the schema");
          }
        }
      }
    }
    if (key.size() != expected) {
      return Validation("The provided starting key is invalid: The provided key element does not match the schema");
    }
    Status s = model::ValidateKey(r->table.meta->key, table_part);
    if (!s.ok()) return Validation("The provided starting key is invalid: " + std::string(s.message()));
    r->start_key = std::move(key);
  }
  AMALGAM_ASSIGN_OR_RETURN(r->capacity, ReadCapacityMode(params));
  return Status::OK();
}

// Parses FilterExpression and ProjectionExpression (after the key condition, so that the
// placeholders are resolved in DynamoDB's order) and checks every placeholder was used.
Status ParseFilterAndProjection(OpContext& ctx, ReadRequest* r, bool is_query) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> filter, ctx.params.String("FilterExpression"));
  std::string_view legacy_filter = is_query ? "QueryFilter" : "ScanFilter";
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* legacy, ctx.params.Object(legacy_filter));
  if (filter) {
    AMALGAM_ASSIGN_OR_RETURN(model::Condition c, model::ParseCondition(*filter, model::ExpressionKind::kFilter, r->attrs));
    r->filter = std::move(c);
  } else if (legacy != nullptr) {
    AMALGAM_ASSIGN_OR_RETURN(model::Condition c, model::ConditionFromFilter(*legacy, ctx.params.Get("ConditionalOperator"),
                                                                            legacy_filter));
    r->filter = std::move(c);
  }
  AMALGAM_ASSIGN_OR_RETURN(r->projection, ReadProjection(ctx.params, r->attrs));
  AMALGAM_RETURN_IF_ERROR(CheckAttributesAllowed(ctx.params, r->attrs));
  return r->attrs.CheckAllUsed();
}

void WritePage(OpContext& ctx, const ReadRequest& r, const Page& page) {
  JsonWriter& w = ctx.out;
  w.StartObject();
  if (r.select != Select::kCount) {
    WriteKey(w, "Items");
    w.StartArray();
    for (const model::Item& item : page.items) model::WriteItem(item, w);
    w.EndArray();
  }
  WriteKey(w, "Count");
  w.Int64(page.count);
  WriteKey(w, "ScannedCount");
  w.Int64(page.scanned);
  if (page.last_key) {
    WriteKey(w, "LastEvaluatedKey");
    model::WriteItem(*page.last_key, w);
  }
  if (r.capacity != CapacityMode::kNone) {
    Capacity c{r.table.meta->name};
    double units = ReadUnits(page.scanned_bytes, r.consistent);
    if (page.scanned_bytes == 0) units = r.consistent ? 1 : 0.5;
    if (r.index != nullptr) {
      (r.index->global ? c.gsi : c.lsi).emplace_back(r.index->name, units);
    } else {
      c.table_units = units;
    }
    WriteKey(w, "ConsumedCapacity");
    WriteCapacity(w, c, r.capacity);
  }
  w.EndObject();
}

// ---- Key encodings for range bounds -----------------------------------------------------

// The encoded `_id` of a table key whose sort component is `range` (MinKey/MaxKey when null).
std::string EncodeTableId(const KeySchema& key, const model::AttributeValue& hash,
                          const model::AttributeValue* range, bool max) {
  bson::Builder b;
  if (!key.has_range()) {
    model::AppendKeyComponent(hash, b, "_id");
  } else {
    b.StartDocument("_id");
    model::AppendKeyComponent(hash, b, key.hash_name);
    if (range != nullptr) {
      model::AppendKeyComponent(*range, b, *key.range_name);
    } else if (max) {
      b.AppendMaxKey(*key.range_name);
    } else {
      b.AppendMinKey(*key.range_name);
    }
    b.EndDocument();
  }
  bson::Document d = std::move(b).Finish();
  return storage::EncodeValue(d.view().Get("_id")).key;
}

// An attribute value as the stored field holds it (index keys read the real field values).
void AppendFieldValue(const model::AttributeValue& v, bson::Builder& b, std::string_view name) {
  switch (v.type) {
    case model::AttrType::kN:
      model::AppendNumber(v.scalar, b, name);
      break;
    case model::AttrType::kB:
      b.AppendBinary(name, 0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.scalar.data()), v.scalar.size()));
      break;
    default:
      b.AppendString(name, v.scalar);
      break;
  }
}

// The encoded index key [hash, range] (range MinKey/MaxKey when null).
std::string EncodeIndexKey(const model::AttributeValue& hash, const model::AttributeValue* range, bool has_range,
                           bool max) {
  bson::Builder b;
  AppendFieldValue(hash, b, "h");
  if (has_range) {
    if (range != nullptr) {
      AppendFieldValue(*range, b, "r");
    } else if (max) {
      b.AppendMaxKey("r");
    } else {
      b.AppendMinKey("r");
    }
  }
  bson::Document d = std::move(b).Finish();
  std::string key, typebits;
  storage::AppendValue(&key, &typebits, d.view().Get("h"), false);
  if (has_range) storage::AppendValue(&key, &typebits, d.view().Get("r"), false);
  return key;
}

// The smallest string greater than every string starting with `prefix` ("" when none).
std::optional<std::string> PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

// True when a sort key value can be encoded as a bound (numbers past 34 digits cannot).
bool Encodable(const model::AttributeValue& v) {
  return v.type != model::AttrType::kN || model::SignificantDigits(v.scalar) <= 34;
}

struct Bounds {
  std::string lower;
  std::string upper;
};

// [lower, upper) of the sort-key condition, in the encoding given by `encode(value, max)`.
template <typename Encode>
Bounds SortBounds(const model::KeyCondition& kc, Encode encode) {
  using Op = model::KeyCondition::SortOp;
  Bounds b{encode(nullptr, false), encode(nullptr, true)};
  const model::AttributeValue* v = &kc.sort_value;
  if (kc.sort_op != Op::kNone && (!Encodable(kc.sort_value) || (kc.sort_op == Op::kBetween && !Encodable(kc.sort_value2)))) {
    return b;  // the whole partition; the key condition is checked on each item
  }
  auto after = [&](const model::AttributeValue* x) { return encode(x, false) + std::string(1, '\xff'); };
  switch (kc.sort_op) {
    case Op::kNone:
      break;
    case Op::kEq:
      b.lower = encode(v, false);
      b.upper = after(v);
      break;
    case Op::kLt:
      b.upper = encode(v, false);
      break;
    case Op::kLe:
      b.upper = after(v);
      break;
    case Op::kGt:
      b.lower = after(v);
      break;
    case Op::kGe:
      b.lower = encode(v, false);
      break;
    case Op::kBetween:
      b.lower = encode(v, false);
      b.upper = after(&kc.sort_value2);
      break;
    case Op::kBeginsWith: {
      // Binary keys are hex in `_id`; the hex prefix bounds them just as well.
      model::AttributeValue lo = kc.sort_value;
      b.lower = encode(&lo, false);
      if (std::optional<std::string> end = PrefixEnd(lo.scalar)) {
        model::AttributeValue hi = lo;
        hi.scalar = *end;
        b.upper = encode(&hi, false);
      }
      break;
    }
  }
  return b;
}

// Split points for parallel Scan segments of a table. A large table takes them from storage's
// size estimates (no scan, balanced by bytes); a smaller one from a pass over its keys (every
// k-th key, balanced by items).
Result<std::vector<std::string>> SampleSplits(storage::Store& store, engine::ReadView& view,
                                              const engine::CollectionHandle& coll) {
  std::vector<std::string> estimated = view.SplitIds(coll, kScanEstimatedParts, kScanSplitMinBytes);
  if (!estimated.empty()) {
    estimated.erase(std::unique(estimated.begin(), estimated.end()), estimated.end());
    return estimated;
  }
  const std::string& prefix = coll.prefix;
  model::KeySampler sampler(kScanSamples);
  std::unique_ptr<storage::Iterator> it =
      store.NewIterator(storage::Cf::kDocuments, prefix, storage::PrefixSuccessor(prefix), &view.snapshot());
  for (it->SeekToFirst(); it->Valid(); it->Next()) sampler.Add(it->key().substr(prefix.size()));
  AMALGAM_RETURN_IF_ERROR(it->status());
  return sampler.Splits();
}

// A Query on an index whose sort key is B. The engine orders binData by length first
// (docs/key-encoding.md) while DynamoDB orders binary keys bytewise, so the partition's index
// entries are read whole, filtered by the key condition, sorted bytewise (ties by `_id`), and
// the page is taken from that order after ExclusiveStartKey. Costs O(partition) per page.
template <typename Visit>
Status QueryBinarySortIndex(const ReadRequest& r, const model::KeyCondition& kc, const catalog::IndexSpec& spec,
                            engine::ReadView& view, Visit&& visit) {
  const TableMeta& meta = *r.table.meta;
  const KeySchema& schema = r.index->key;
  struct Entry {
    std::string sort;
    std::string id;
  };
  std::vector<Entry> entries;
  std::unique_ptr<engine::IndexCursor> cursor =
      view.ScanIndex(spec, EncodeIndexKey(kc.hash_value, nullptr, true, false),
                     EncodeIndexKey(kc.hash_value, nullptr, true, true), /*forward=*/true);
  const storage::Direction dirs[2] = {storage::Direction::kAscending, storage::Direction::kAscending};
  engine::IndexCursorEntry entry;
  while (cursor->Next(&entry)) {
    AMALGAM_ASSIGN_OR_RETURN(bson::Document key, storage::DecodeKey(entry.index_key, entry.typebits, dirs));
    bson::Value v = key.view().Get("1");
    if (v.type() != bson::BsonType::kBinary) continue;  // not a DynamoDB B value: not in the index
    bson::Binary bin = v.AsBinary();
    model::Item probe;
    probe.emplace(schema.hash_name, kc.hash_value);
    probe.emplace(*schema.range_name,
                  model::AttributeValue::B(std::string(reinterpret_cast<const char*>(bin.data.data()), bin.data.size())));
    if (!model::MatchesKeyCondition(kc, schema, probe)) continue;
    entries.push_back(Entry{probe.at(*schema.range_name).scalar, std::string(entry.encoded_id)});
  }
  AMALGAM_RETURN_IF_ERROR(cursor->status());
  auto less = [](const Entry& a, const Entry& b) { return a.sort != b.sort ? a.sort < b.sort : a.id < b.id; };
  std::sort(entries.begin(), entries.end(), less);
  size_t begin = 0, end = entries.size();
  if (r.start_key) {
    Entry start{r.start_key->at(*schema.range_name).scalar,
                storage::EncodeValue(model::BuildIdDocument(meta.key, *r.start_key).view().Get("_id")).key};
    if (r.forward) {
      begin = std::upper_bound(entries.begin(), entries.end(), start, less) - entries.begin();
    } else {
      end = std::lower_bound(entries.begin(), entries.end(), start, less) - entries.begin();
    }
  }
  for (size_t n = begin; n < end; ++n) {
    const Entry& e = entries[r.forward ? n : end - 1 - (n - begin)];
    AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc, view.GetByEncodedId(*r.table.handle, e.id));
    if (!doc) continue;
    model::Item item = model::ItemFromBson(meta.key, doc->view());
    if (!InIndex(r.index, item)) continue;
    if (!visit(item)) break;
  }
  return Status::OK();
}

}  // namespace

Result<std::shared_ptr<const std::vector<std::string>>> ScanSplitCache::Get(
    uint64_t collection_id, bool starting, int64_t now_millis,
    const std::function<Result<std::vector<std::string>>()>& sample) {
  auto fresh = [&]() -> std::shared_ptr<const std::vector<std::string>> {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(collection_id);
    if (it == entries_.end()) return nullptr;
    if (starting && now_millis - it->second.last_used_millis >= kIdleMillis) return nullptr;
    it->second.last_used_millis = std::max(it->second.last_used_millis, now_millis);
    return it->second.splits;
  };
  if (auto splits = fresh()) return splits;
  std::lock_guard<std::mutex> sampling(sample_mu_);
  if (auto splits = fresh()) return splits;  // another worker of the same scan sampled it
  AMALGAM_ASSIGN_OR_RETURN(std::vector<std::string> taken, sample());
  auto splits = std::make_shared<const std::vector<std::string>>(std::move(taken));
  std::lock_guard<std::mutex> lock(mu_);
  entries_[collection_id] = Entry{splits, now_millis};
  return splits;
}

void ScanSplitCache::Forget(uint64_t collection_id) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(collection_id);
}

Status Query(OpContext& ctx) {
  ReadRequest r;
  AMALGAM_RETURN_IF_ERROR(ParseReadRequest(ctx, &r, /*is_query=*/true));
  const KeySchema& schema = r.index ? r.index->key : r.table.meta->key;
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> kc_text, ctx.params.String("KeyConditionExpression"));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* key_conditions, ctx.params.Object("KeyConditions"));
  model::KeyCondition kc;
  if (kc_text) {
    AMALGAM_ASSIGN_OR_RETURN(kc, model::ParseKeyCondition(*kc_text, schema, r.attrs));
  } else if (key_conditions != nullptr) {
    AMALGAM_ASSIGN_OR_RETURN(kc, model::KeyConditionFromLegacy(*key_conditions, schema));
  } else {
    return Validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.");
  }
  AMALGAM_RETURN_IF_ERROR(ParseFilterAndProjection(ctx, &r, true));
  if (r.filter) {
    std::set<std::string> used;
    model::CollectConditionAttributes(*r.filter, &used);
    for (const std::string& name : used) {
      if (schema.IsKeyAttribute(name)) {
        return Validation("Filter Expression can only contain non-primary key attributes: Primary key attribute: " + name);
      }
    }
  }
  if (r.start_key) {
    // DynamoDB's checks: the starting key must lie in the queried partition and satisfy the
    // sort-key condition (a LastEvaluatedKey of the same Query always does).
    auto hv = r.start_key->find(schema.hash_name);
    if (hv == r.start_key->end() || hv->second != kc.hash_value) {
      return Validation("The provided starting key is outside query boundaries based on provided condition");
    }
    if (!model::MatchesKeyCondition(kc, schema, *r.start_key)) {
      return Validation("The provided starting key does not match the range key predicate");
    }
  }

  Page page;
  std::unique_ptr<engine::ReadView> view = ctx.state.engine.Read();
  engine::Engine& engine = ctx.state.engine;
  const TableMeta& meta = *r.table.meta;
  auto visit = [&](const model::Item& item) -> bool {
    if (!model::MatchesKeyCondition(kc, schema, item)) return true;  // outside a widened range
    return Consider(r, item, &page);
  };
  if (r.index == nullptr) {
    const model::AttributeValue& hash = kc.hash_value;
    Bounds b;
    if (!meta.key.has_range()) {
      b.lower = EncodeTableId(meta.key, hash, nullptr, false);
      b.upper = b.lower + std::string(1, '\xff');
    } else {
      b = SortBounds(kc, [&](const model::AttributeValue* v, bool max) { return EncodeTableId(meta.key, hash, v, max); });
    }
    if (r.start_key) {
      std::string start = model::BuildIdDocument(meta.key, *r.start_key).view().Get("_id").missing()
                              ? std::string()
                              : storage::EncodeValue(model::BuildIdDocument(meta.key, *r.start_key).view().Get("_id")).key;
      if (r.forward) {
        b.lower = std::max(b.lower, start + std::string(1, '\0'));
      } else {
        b.upper = std::min(b.upper, start);
      }
    }
    if (b.lower < b.upper) {
      uint64_t cid = r.table.handle->info->id;
      engine::DocumentCursor cursor(
          engine.store().NewIterator(storage::Cf::kDocuments, index::DocumentKey(cid, b.lower),
                                     index::DocumentKey(cid, b.upper), &view->snapshot()),
          r.forward);
      bson::DocView doc;
      while (cursor.Next(&doc)) {
        if (!visit(model::ItemFromBson(meta.key, doc))) break;
      }
      AMALGAM_RETURN_IF_ERROR(cursor.status());
    }
  } else {
    const catalog::IndexSpec* spec = r.table.handle->info->FindIndex(r.index->name);
    if (spec == nullptr) return InternalError("index " + r.index->name + " is missing from the catalog");
    const model::AttributeValue& hash = kc.hash_value;
    bool has_range = r.index->key.has_range();
    Bounds b = has_range ? SortBounds(kc, [&](const model::AttributeValue* v, bool max) {
                             return EncodeIndexKey(hash, v, true, max);
                           })
                         : Bounds{EncodeIndexKey(hash, nullptr, false, false),
                                  EncodeIndexKey(hash, nullptr, false, false) + std::string(1, '\xff')};
    if (has_range && r.index->key.range_type == model::AttrType::kB) {
      AMALGAM_RETURN_IF_ERROR(QueryBinarySortIndex(r, kc, *spec, *view, visit));
      WritePage(ctx, r, page);
      return Status::OK();
    }
    if (r.start_key) {
      const model::Item& sk = *r.start_key;
      auto hv = sk.find(r.index->key.hash_name);
      const model::AttributeValue* rv = nullptr;
      if (has_range) rv = &sk.find(*r.index->key.range_name)->second;
      std::string start = EncodeIndexKey(hv->second, rv, has_range, false) +
                          storage::EncodeValue(model::BuildIdDocument(meta.key, sk).view().Get("_id")).key;
      if (r.forward) {
        b.lower = std::max(b.lower, start + std::string(1, '\0'));
      } else {
        b.upper = std::min(b.upper, start);
      }
    }
    if (b.lower < b.upper) {
      std::unique_ptr<engine::IndexCursor> cursor = view->ScanIndex(*spec, b.lower, b.upper, r.forward);
      engine::IndexCursorEntry entry;
      while (cursor->Next(&entry)) {
        AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc, view->GetByEncodedId(*r.table.handle, entry.encoded_id));
        if (!doc) continue;
        model::Item item = model::ItemFromBson(meta.key, doc->view());
        if (!InIndex(r.index, item)) continue;
        if (!visit(item)) break;
      }
      AMALGAM_RETURN_IF_ERROR(cursor->status());
    }
  }
  WritePage(ctx, r, page);
  return Status::OK();
}

Status Scan(OpContext& ctx) {
  ReadRequest r;
  AMALGAM_RETURN_IF_ERROR(ParseReadRequest(ctx, &r, /*is_query=*/false));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<int64_t> segment, ctx.params.Int("Segment"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<int64_t> total, ctx.params.Int("TotalSegments"));
  {
    ValidationErrors errors;
    if (total && (*total < 1 || *total > kMaxSegments)) {
      errors.AddValue(std::to_string(*total), "totalSegments",
                      *total < 1 ? "Member must have value greater than or equal to 1"
                                 : "Member must have value less than or equal to 1000000");
    }
    if (segment && *segment < 0) {
      errors.AddValue(std::to_string(*segment), "segment", "Member must have value greater than or equal to 0");
    }
    AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
    if (segment.has_value() != total.has_value()) {
      return Validation(segment ? "The TotalSegments parameter is required but was not present in the request when "
                                  "Segment parameter is present"
                                : "The Segment parameter is required but was not present in the request when parameter "
                                  "TotalSegments is present");
    }
    if (segment && *segment >= *total) {
      return Validation("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: " +
                        std::to_string(*segment) + " is not less than TotalSegments: " + std::to_string(*total));
    }
  }
  AMALGAM_RETURN_IF_ERROR(ParseFilterAndProjection(ctx, &r, /*is_query=*/false));
  const TableMeta& meta = *r.table.meta;
  Page page;
  std::unique_ptr<engine::ReadView> view = ctx.state.engine.Read();
  uint64_t cid = r.table.handle->info->id;
  const std::string& prefix = r.table.handle->prefix;
  // [lower, upper) in the documents column family: the whole table, or one segment of it.
  std::string lower = prefix;
  std::string upper = storage::PrefixSuccessor(prefix);
  if (total && *total > 1) {
    storage::Store& store = ctx.state.engine.store();
    AMALGAM_ASSIGN_OR_RETURN(
        std::shared_ptr<const std::vector<std::string>> splits,
        ctx.state.scan_splits.Get(cid, !r.start_key.has_value(), ctx.state.clock.NowMillis(),
                                  [&]() { return SampleSplits(store, *view, *r.table.handle); }));
    model::SegmentBounds b = model::SegmentRange(*splits, *segment, *total);
    lower = prefix + b.lower;
    if (b.upper) upper = prefix + *b.upper;
  }
  if (r.start_key) {
    std::string start = index::DocumentKey(
        cid, storage::EncodeValue(model::BuildIdDocument(meta.key, *r.start_key).view().Get("_id")).key);
    if (total && *total > 1 && (start < lower || start >= upper)) {
      // DynamoDB's check: a LastEvaluatedKey continues only the segment that returned it.
      return Validation(
          "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct "
          "Segment. TotalSegments: " + std::to_string(*total) + " Segment: " + std::to_string(*segment));
    }
    lower = std::max(lower, start + std::string(1, '\0'));
  }
  if (lower >= upper) {
    WritePage(ctx, r, page);
    return Status::OK();
  }
  engine::DocumentCursor cursor(ctx.state.engine.store().NewIterator(storage::Cf::kDocuments, lower, upper,
                                                                     &view->snapshot()),
                                /*forward=*/true);
  bson::DocView doc;
  while (cursor.Next(&doc)) {
    model::Item item = model::ItemFromBson(meta.key, doc);
    if (!InIndex(r.index, item)) continue;
    if (!Consider(r, item, &page)) break;
  }
  AMALGAM_RETURN_IF_ERROR(cursor.status());
  WritePage(ctx, r, page);
  return Status::OK();
}

}  // namespace amalgam::api::dynamo
