#pragma once
// The change-data side of the DynamoDB face: DynamoDB TTL (an attribute-based rule for the
// engine's TtlMonitor, src/engine/ttl_monitor.h) and DynamoDB Streams (the
// DynamoDBStreams_20120810 operations, read from the engine's change log; docs/change-log.md).
//
// Thread safety: free functions over values; the rule provider may be called from the TTL
// thread while requests change tables (it reads only the CollectionInfo it is given).

#include <vector>

#include "catalog/catalog.h"
#include "engine/ttl_monitor.h"

namespace amalgam::api::dynamo {

// The TTL rules of a collection: for a DynamoDB table whose TimeToLiveSpecification is enabled,
// one kAttribute rule expiring an item when its TTL attribute, a number of epoch seconds, is
// in the past. An item whose attribute is missing or not a number never expires, nor one whose
// time is more than five years in the past (DynamoDB ignores those too).
std::vector<engine::TtlRule> DynamoTtlRules(const catalog::CollectionInfo& info);

}  // namespace amalgam::api::dynamo
