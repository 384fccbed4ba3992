#pragma once
// The one place where internal statuses become MongoDB error replies
// ({ok: 0, errmsg, code, codeName}), using the registry in common/error_codes.def.

#include "bson/builder.h"
#include "common/status.h"

namespace amalgam::api::mongo {

// Appends ok: 0, errmsg, code and codeName for `status` (REQUIRES: !status.ok()).
void AppendError(bson::Builder& reply, const Status& status);
// Appends the fields of the status's details document (bson::DocView of Status::details()).
void AppendDetails(bson::Builder& out, const Status& status);
// The MongoDB numeric code and codeName of `status`.
int32_t MongoCode(const Status& status);
std::string_view MongoCodeName(const Status& status);

}  // namespace amalgam::api::mongo
