#pragma once
// Writing a TableDescription (DescribeTable, and the replies of CreateTable, UpdateTable and
// DeleteTable) and counting a table's items and sizes. Internal to api/dynamo.

#include <string_view>

#include "api/dynamo/service_internal.h"

namespace amalgam::api::dynamo {

// Writes the TableDescription object of `table` with `status` ("ACTIVE", "DELETING", ...).
// With `count`, ItemCount/TableSizeBytes (and per-index counts) come from a scan of the
// table; without, they are 0 (a table just created). Errors: kIOError from the scan.
Status WriteTableDescription(OpContext& ctx, const Table& table, std::string_view status,
                             bool count);

// The table named by a table ARN (or a bare name). Errors: kBadValue for a malformed ARN.
Result<std::string> TableNameFromArn(const DynamoService::State& state, std::string_view arn);

}  // namespace amalgam::api::dynamo
