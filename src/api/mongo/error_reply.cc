#include "api/mongo/error_reply.h"

namespace amalgam::api::mongo {

int32_t MongoCode(const Status& status) { return GetErrorCodeInfo(status.code()).mongo_code; }

std::string_view MongoCodeName(const Status& status) { return GetErrorCodeInfo(status.code()).mongo_code_name; }

void AppendError(bson::Builder& reply, const Status& status) {
  reply.AppendDouble("ok", 0.0);
  reply.AppendString("errmsg", status.message());
  reply.AppendInt32("code", MongoCode(status));
  reply.AppendString("codeName", MongoCodeName(status));
  if (status.code() == ErrorCode::kWriteConflict) {
    reply.StartArray("errorLabels").AppendString("0", "TransientTransactionError").EndArray();
  }
}

}  // namespace amalgam::api::mongo
