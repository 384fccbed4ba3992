#pragma once
// The change-data side of the DynamoDB face: DynamoDB TTL (an attribute-based rule for the
// engine's TtlMonitor, src/engine/ttl_monitor.h) and DynamoDB Streams (the
// DynamoDBStreams_20120810 operations, read from the engine's change log; docs/change-log.md).
//
// Thread safety: free functions over values; the rule provider may be called from the TTL
// thread while requests change tables (it reads only the CollectionInfo it is given).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "engine/ttl_monitor.h"

namespace amalgam::api::dynamo {

// The TTL rules of a collection: for a DynamoDB table whose TimeToLiveSpecification is enabled,
// one kAttribute rule expiring an item when its TTL attribute, a number of epoch seconds, is
// in the past. An item whose attribute is missing or not a number never expires, nor one whose
// time is more than five years in the past (DynamoDB ignores those too).
//
// When the table has the internal TTL index (TtlIndexSpec, made by UpdateTimeToLive), the rule
// names it, and a pass reads only the index entries of numbers from five years ago up to now;
// without it the rule scans the table, and (TTL enabled by an older version) asks the monitor
// to build the index (TtlRule::wanted_index); an attribute name the index cannot hold always
// scans.
std::vector<engine::TtlRule> DynamoTtlRules(const catalog::CollectionInfo& info);

// The internal index on a TTL attribute: an ascending single-field index named "ttl:<attr>"
// (':' is not allowed in DynamoDB index names, so it never meets a GSI), over the items that
// have the attribute. The DynamoDB face does not show it (TableMeta lists GSIs and LSIs only);
// the MongoDB face lists it. nullopt for an attribute name that is not a plain field name
// (one with '.', or starting with '$').
std::string TtlIndexName(std::string_view attr);
std::optional<bson::Document> TtlIndexSpec(std::string_view attr);

}  // namespace amalgam::api::dynamo
