#include "api/mongo/write_errors.h"

#include "api/mongo/error_reply.h"

namespace amalgam::api::mongo {

void WriteErrors::Add(size_t index, const Status& status) { errors_.push_back(Entry{index, status}); }

void WriteErrors::AppendTo(bson::Builder& reply) const {
  if (errors_.empty()) return;
  reply.StartArray("writeErrors");
  bson::ArrayBuilder a(reply);
  for (const Entry& e : errors_) {
    reply.StartDocument(a.Next());
    reply.AppendInt32("index", static_cast<int32_t>(e.index));
    reply.AppendInt32("code", MongoCode(e.status));
    AppendDetails(reply, e.status);
    reply.AppendString("errmsg", e.status.message());
    reply.EndDocument();
  }
  reply.EndArray();
}

}  // namespace amalgam::api::mongo
