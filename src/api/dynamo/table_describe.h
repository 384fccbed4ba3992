#pragma once
// Writing a TableDescription (DescribeTable, and the replies of CreateTable, UpdateTable and
// DeleteTable) and counting a table's items and sizes. Internal to api/dynamo.

#include <string_view>

#include "api/dynamo/service_internal.h"

namespace amalgam::api::dynamo {

// Writes the TableDescription object of `table` with `status` ("ACTIVE", "DELETING", ...).
// With `count`, ItemCount/TableSizeBytes (and per-index counts) are the table's TableStats
// figures (refreshed periodically, as DynamoDB's); without, they are 0 (a table just created).
// Errors: kIOError from a first, bounded count.
Status WriteTableDescription(OpContext& ctx, const Table& table, std::string_view status,
                             bool count);

// The table named by a table ARN (or a bare name). Errors: kBadValue for a malformed ARN.
Result<std::string> TableNameFromArn(const DynamoService::State& state, std::string_view arn);

}  // namespace amalgam::api::dynamo
