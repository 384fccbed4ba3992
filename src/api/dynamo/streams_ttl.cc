// DynamoDB TTL: the attribute-based expiry rule for tables with TimeToLive enabled.
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

#include "api/dynamo/service_internal.h"
#include "api/dynamo/streams.h"
#include "api/dynamo/table_meta.h"
#include "bson/builder.h"
#include "storage/key_codec.h"
#include "storage/store.h"

namespace amalgam::api::dynamo {
namespace {

constexpr int64_t kFiveYearsMillis = int64_t{5} * 365 * 24 * 3600 * 1000;

// Epoch milliseconds from the item's TTL attribute, when it is an N. Key attributes are stored
// at the top level too (docs/dynamodb-mapping.md), so one field lookup serves every attribute.
std::optional<int64_t> ExpiryOf(const std::string& attr, bson::DocView doc) {
  bson::Value field = doc.Get(attr);
  if (field.missing()) return std::nullopt;
  model::AttributeValue v = model::AttributeValueFromBson(field);
  if (v.type != model::AttrType::kN) return std::nullopt;
  double seconds = std::strtod(v.scalar.c_str(), nullptr);
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 9.2e15) return std::nullopt;
  return static_cast<int64_t>(seconds * 1000);
}

}  // namespace

std::vector<engine::TtlRule> DynamoTtlRules(const catalog::CollectionInfo& info) {
  std::vector<engine::TtlRule> rules;
  if (info.db != kDynamoDb) return rules;
  auto meta = DecodeTableMeta(info.options.view());
  if (!meta.ok() || !*meta || !(*meta)->ttl_enabled || (*meta)->ttl_attribute.empty()) return rules;
  engine::TtlRule rule;
  rule.kind = engine::TtlRule::Kind::kAttribute;
  rule.name = (*meta)->ttl_attribute;
  rule.expiry_millis = [attr = (*meta)->ttl_attribute](bson::DocView doc) -> std::optional<int64_t> {
    std::optional<int64_t> at = ExpiryOf(attr, doc);
    if (!at) return std::nullopt;
    // DynamoDB leaves items whose expiry is more than five years in the past alone (a value in
    // milliseconds or some other unit by mistake); the rule has no clock, so it compares against
    // the wall clock only to that coarse bound.
    int64_t wall = static_cast<int64_t>(std::time(nullptr)) * 1000;
    if (*at < wall - kFiveYearsMillis) return std::nullopt;
    return at;
  };
  std::string index_name = TtlIndexName((*meta)->ttl_attribute);
  for (const catalog::IndexSpec& spec : info.indexes) {
    if (spec.name != index_name || spec.state != catalog::IndexSpec::State::kReady) continue;
    rule.index_id = spec.id;
    // Numbers encode in numeric order whatever their BSON type (docs/key-encoding.md) and end
    // themselves, so [key(now - 5 years), successor(key(now))) holds exactly the numbers in
    // that interval. Strings, sets and other types sort elsewhere and are never read.
    rule.candidate_range = [](int64_t now_millis) {
      bson::Builder b;
      b.AppendDouble("lo", static_cast<double>(now_millis - kFiveYearsMillis) / 1000.0);
      b.AppendDouble("hi", static_cast<double>(now_millis) / 1000.0);
      bson::Document d = std::move(b).Finish();
      return std::make_pair(storage::EncodeValue(d.view().Get("lo")).key,
                            storage::PrefixSuccessor(storage::EncodeValue(d.view().Get("hi")).key));
    };
  }
  if (rule.index_id == 0) rule.wanted_index = TtlIndexSpec((*meta)->ttl_attribute);  // TTL from before the index
  rules.push_back(std::move(rule));
  return rules;
}

std::string TtlIndexName(std::string_view attr) { return "ttl:" + std::string(attr); }

std::optional<bson::Document> TtlIndexSpec(std::string_view attr) {
  if (attr.empty() || attr.find('.') != std::string_view::npos || attr[0] == '$') return std::nullopt;
  bson::Builder b;
  b.StartDocument("key").AppendInt32(attr, 1).EndDocument();
  b.AppendString("name", TtlIndexName(attr));
  b.StartDocument("partialFilterExpression");
  b.StartDocument(attr).AppendBool("$exists", true).EndDocument();
  b.EndDocument();
  return std::move(b).Finish();
}

}  // namespace amalgam::api::dynamo
