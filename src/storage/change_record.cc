#include "storage/change_record.h"

#include "bson/builder.h"
#include "bson/validate.h"

namespace amalgam::storage {
namespace {

constexpr int32_t kFormatVersion = 1;

void PutDoc(bson::Builder& b, std::string_view name, const std::optional<bson::Document>& d) {
  if (d) b.AppendDocument(name, d->view());
}

Status Corrupt(uint64_t seq, const std::string& what) {
  return Status(ErrorCode::kDataCorruption, "change log entry " + std::to_string(seq) + ": " + what);
}

}  // namespace

std::string EncodeChangeEntry(const ChangeEntry& e) {
  const ChangeRecord& r = e.record;
  bson::Builder b;
  b.AppendInt32("v", kFormatVersion);
  b.AppendInt32("op", static_cast<int32_t>(r.op));
  b.AppendString("db", r.db);
  b.AppendString("coll", r.collection);
  b.AppendInt64("cid", static_cast<int64_t>(r.collection_id));
  b.AppendDate("t", e.commit_millis);
  b.AppendInt64("c0", static_cast<int64_t>(e.commit_first_seq));
  b.AppendInt32("cn", static_cast<int32_t>(e.commit_count));
  PutDoc(b, "key", r.document_key);
  PutDoc(b, "doc", r.post_image);
  PutDoc(b, "pre", r.pre_image);
  PutDoc(b, "upd", r.update);
  PutDoc(b, "cmd", r.command);
  PutDoc(b, "txn", r.txn);
  if (r.by_server) b.AppendBool("srv", true);
  return std::move(b).Finish().release();
}

Result<ChangeEntry> DecodeChangeEntry(uint64_t seq, std::string_view value) {
  bson::ValidateOptions opt;
  opt.max_size = 64u << 20;
  auto view = bson::ValidateDocument(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()), opt);
  if (!view.ok()) return Corrupt(seq, std::string(view.status().message()));
  ChangeEntry e;
  e.seq = seq;
  ChangeRecord& r = e.record;
  bool have_op = false;
  for (const bson::Element& el : *view) {
    const bson::Value& v = el.value;
    auto is = [&](bson::BsonType t) { return v.type() == t; };
    auto doc = [&]() { return std::optional<bson::Document>(bson::Document(v.AsDocument())); };
    if (el.name == "v" && is(bson::BsonType::kInt32)) {
      if (v.AsInt32() != kFormatVersion) return Corrupt(seq, "unknown format version " + std::to_string(v.AsInt32()));
    } else if (el.name == "op" && is(bson::BsonType::kInt32)) {
      int32_t op = v.AsInt32();
      if (op < 1 || op > 5) return Corrupt(seq, "unknown operation " + std::to_string(op));
      r.op = static_cast<ChangeOp>(op);
      have_op = true;
    } else if (el.name == "db" && is(bson::BsonType::kString)) {
      r.db = std::string(v.AsString());
    } else if (el.name == "coll" && is(bson::BsonType::kString)) {
      r.collection = std::string(v.AsString());
    } else if (el.name == "cid" && is(bson::BsonType::kInt64)) {
      r.collection_id = static_cast<uint64_t>(v.AsInt64());
    } else if (el.name == "t" && is(bson::BsonType::kDate)) {
      e.commit_millis = v.AsDateMillis();
    } else if (el.name == "c0" && is(bson::BsonType::kInt64)) {
      e.commit_first_seq = static_cast<uint64_t>(v.AsInt64());
    } else if (el.name == "cn" && is(bson::BsonType::kInt32)) {
      e.commit_count = static_cast<uint32_t>(v.AsInt32());
    } else if (is(bson::BsonType::kDocument) && el.name == "key") {
      r.document_key = doc();
    } else if (is(bson::BsonType::kDocument) && el.name == "doc") {
      r.post_image = doc();
    } else if (is(bson::BsonType::kDocument) && el.name == "pre") {
      r.pre_image = doc();
    } else if (is(bson::BsonType::kDocument) && el.name == "upd") {
      r.update = doc();
    } else if (is(bson::BsonType::kDocument) && el.name == "cmd") {
      r.command = doc();
    } else if (is(bson::BsonType::kDocument) && el.name == "txn") {
      r.txn = doc();
    } else if (el.name == "srv" && is(bson::BsonType::kBool)) {
      r.by_server = v.AsBool();
    } else {
      return Corrupt(seq, "unexpected field '" + std::string(el.name) + "'");
    }
  }
  if (!have_op) return Corrupt(seq, "missing operation");
  return e;
}

}  // namespace amalgam::storage
