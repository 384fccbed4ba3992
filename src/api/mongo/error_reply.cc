#include "api/mongo/error_reply.h"

#include "bson/validate.h"

namespace amalgam::api::mongo {

int32_t MongoCode(const Status& status) { return GetErrorCodeInfo(status.code()).mongo_code; }

std::string_view MongoCodeName(const Status& status) { return GetErrorCodeInfo(status.code()).mongo_code_name; }

void AppendDetails(bson::Builder& out, const Status& status) {
  std::string_view d = status.details();
  if (d.size() < 5) return;
  auto view = bson::ValidateDocument(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(d.data()), d.size()));
  if (view.ok()) out.AppendElements(*view);
}

void AppendError(bson::Builder& reply, const Status& status) {
  reply.AppendDouble("ok", 0.0);
  reply.AppendString("errmsg", status.message());
  reply.AppendInt32("code", MongoCode(status));
  reply.AppendString("codeName", MongoCodeName(status));
  AppendDetails(reply, status);
  if (status.code() == ErrorCode::kWriteConflict) {
    reply.StartArray("errorLabels").AppendString("0", "TransientTransactionError").EndArray();
  }
}

}  // namespace amalgam::api::mongo
