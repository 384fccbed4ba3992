#pragma once
// The DynamoDB Streams operations (X-Amz-Target "DynamoDBStreams_20120810.<Op>"), served on the
// DynamoDB port by DynamoService (service.cc dispatches here). One shard per table stream; its
// sequence numbers are the engine's change-log sequence numbers (21-digit decimal text), so
// they increase across the stream and per item. Records are read from the change log on each
// GetRecords (nothing is buffered); shard iterators are self-describing and expire after 15
// minutes; a position the change-log retention has removed gets TrimmedDataAccessException.

#include "api/dynamo/service_internal.h"

namespace amalgam::api::dynamo {

Status ListStreams(OpContext& ctx);
Status DescribeStream(OpContext& ctx);
Status GetShardIterator(OpContext& ctx);
Status GetRecords(OpContext& ctx);

}  // namespace amalgam::api::dynamo
