#include "api/mongo/wire.h"

#include <array>
#include <cstring>

#include "bson/validate.h"

namespace amalgam::api::mongo {
namespace {

int32_t LoadI32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void PutI32(std::string* out, int32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }

Status Bad(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }

Result<bson::DocView> ReadDoc(std::span<const uint8_t> bytes, std::string_view what) {
  bson::ValidateOptions opt;
  auto doc = bson::ValidateDocument(bytes, opt);
  if (!doc.ok()) return doc.status().WithContext(what);
  return doc;
}

Status ParseMsgSections(std::span<const uint8_t> rest, Request* req) {
  bool have_body = false;
  size_t pos = 0;
  while (pos < rest.size()) {
    uint8_t kind = rest[pos++];
    if (kind == 0) {
      if (have_body) return Bad("OP_MSG has more than one body section (kind 0)");
      AMALGAM_ASSIGN_OR_RETURN(req->body, ReadDoc(rest.subspan(pos), "OP_MSG body"));
      pos += req->body.size();
      have_body = true;
    } else if (kind == 1) {
      if (rest.size() - pos < 4) return Bad("OP_MSG document sequence truncated");
      int32_t size = LoadI32(rest.data() + pos);
      if (size < 5 || static_cast<size_t>(size) > rest.size() - pos) {
        return Bad("OP_MSG document sequence size " + std::to_string(size) + " out of range");
      }
      std::span<const uint8_t> seq = rest.subspan(pos + 4, static_cast<size_t>(size) - 4);
      const void* nul = std::memchr(seq.data(), 0, seq.size());
      if (nul == nullptr) return Bad("OP_MSG document sequence identifier is not NUL-terminated");
      size_t id_len = static_cast<const uint8_t*>(nul) - seq.data();
      DocumentSequence ds;
      ds.identifier = std::string_view(reinterpret_cast<const char*>(seq.data()), id_len);
      size_t p = id_len + 1;
      while (p < seq.size()) {
        AMALGAM_ASSIGN_OR_RETURN(bson::DocView d, ReadDoc(seq.subspan(p), "OP_MSG document sequence"));
        ds.documents.push_back(d);
        p += d.size();
      }
      req->sequences.push_back(std::move(ds));
      pos += static_cast<size_t>(size);
    } else {
      return Bad("OP_MSG section kind " + std::to_string(kind) + " is not 0 or 1");
    }
  }
  if (!have_body) return Bad("OP_MSG has no body section (kind 0)");
  return Status::OK();
}

Status ParseOpMsg(std::span<const uint8_t> msg, Request* req) {
  std::span<const uint8_t> rest = msg.subspan(kHeaderSize);
  if (rest.size() < 5) return Bad("OP_MSG too short");
  req->flags = static_cast<uint32_t>(LoadI32(rest.data()));
  // Bits 0-15 are required: an unknown one set means we cannot process the message.
  uint32_t unknown_required = req->flags & 0xFFFFu & ~(kChecksumPresent | kMoreToCome);
  if (unknown_required) return Bad("OP_MSG has unknown required flag bits " + std::to_string(unknown_required));
  rest = rest.subspan(4);
  if (req->flags & kChecksumPresent) {
    if (rest.size() < 4) return Bad("OP_MSG checksum truncated");
    uint32_t expected;
    std::memcpy(&expected, rest.data() + rest.size() - 4, 4);
    if (Crc32c(msg.first(msg.size() - 4)) != expected) return Bad("OP_MSG checksum mismatch");
    rest = rest.first(rest.size() - 4);
  }
  return ParseMsgSections(rest, req);
}

Status ParseOpQuery(std::span<const uint8_t> msg, Request* req) {
  std::span<const uint8_t> rest = msg.subspan(kHeaderSize);
  if (rest.size() < 4 + 1 + 8) return Bad("OP_QUERY too short");
  const void* nul = std::memchr(rest.data() + 4, 0, rest.size() - 4);
  if (nul == nullptr) return Bad("OP_QUERY collection name is not NUL-terminated");
  size_t name_len = static_cast<const uint8_t*>(nul) - (rest.data() + 4);
  req->legacy_namespace.assign(reinterpret_cast<const char*>(rest.data() + 4), name_len);
  size_t pos = 4 + name_len + 1 + 8;  // flags, name, numberToSkip, numberToReturn
  if (pos > rest.size()) return Bad("OP_QUERY truncated");
  AMALGAM_ASSIGN_OR_RETURN(bson::DocView query, ReadDoc(rest.subspan(pos), "OP_QUERY query"));
  // Drivers may wrap the command: {$query: {...}, $readPreference: ...}.
  bson::Value wrapped = query.Get("$query");
  if (wrapped.type() == bson::BsonType::kDocument) query = wrapped.AsDocument();
  req->body = query;
  req->legacy = true;
  return Status::OK();
}

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (0x82F63B78u ^ (c >> 1)) : (c >> 1);
    t[i] = c;
  }
  return t;
}

}  // namespace

uint32_t Crc32c(std::span<const uint8_t> bytes) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : bytes) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

Result<MsgHeader> ParseHeader(std::span<const uint8_t> bytes) {
  MsgHeader h;
  h.message_length = LoadI32(bytes.data());
  h.request_id = LoadI32(bytes.data() + 4);
  h.response_to = LoadI32(bytes.data() + 8);
  h.op_code = LoadI32(bytes.data() + 12);
  if (h.message_length < kHeaderSize) {
    return Status(ErrorCode::kInvalidLength, "message length " + std::to_string(h.message_length) + " is below the 16-byte header");
  }
  if (h.message_length > kMaxMessageSize) {
    return Status(ErrorCode::kInvalidLength, "message length " + std::to_string(h.message_length) +
                                                 " exceeds maxMessageSizeBytes " + std::to_string(kMaxMessageSize));
  }
  return h;
}

Result<Request> ParseRequest(std::span<const uint8_t> message) {
  if (message.size() < kHeaderSize) return Status(ErrorCode::kInvalidLength, "message shorter than its header");
  AMALGAM_ASSIGN_OR_RETURN(MsgHeader h, ParseHeader(message));
  if (static_cast<size_t>(h.message_length) != message.size()) {
    return Status(ErrorCode::kInvalidLength, "message length field disagrees with the bytes received");
  }
  Request req;
  req.header = h;
  switch (h.op_code) {
    case kOpMsg: AMALGAM_RETURN_IF_ERROR(ParseOpMsg(message, &req)); break;
    case kOpQuery: AMALGAM_RETURN_IF_ERROR(ParseOpQuery(message, &req)); break;
    case kOpCompressed:
      return Status(ErrorCode::kNotImplemented, "OP_COMPRESSED is not supported (no compressors are advertised)");
    default:
      return Status(ErrorCode::kNotImplemented, "unsupported opcode " + std::to_string(h.op_code));
  }
  return req;
}

std::string BuildOpMsg(int32_t request_id, int32_t response_to, uint32_t flags, bson::DocView body) {
  std::string out;
  int32_t len = kHeaderSize + 4 + 1 + static_cast<int32_t>(body.size());
  out.reserve(static_cast<size_t>(len));
  PutI32(&out, len);
  PutI32(&out, request_id);
  PutI32(&out, response_to);
  PutI32(&out, kOpMsg);
  PutI32(&out, static_cast<int32_t>(flags));
  out.push_back(0);
  out.append(body.bytes_view());
  return out;
}

std::string BuildOpReply(int32_t request_id, int32_t response_to, bson::DocView body) {
  std::string out;
  int32_t len = kHeaderSize + 4 + 8 + 4 + 4 + static_cast<int32_t>(body.size());
  PutI32(&out, len);
  PutI32(&out, request_id);
  PutI32(&out, response_to);
  PutI32(&out, kOpReply);
  PutI32(&out, 8);  // responseFlags: AwaitCapable
  int64_t cursor = 0;
  out.append(reinterpret_cast<const char*>(&cursor), 8);
  PutI32(&out, 0);  // startingFrom
  PutI32(&out, 1);  // numberReturned
  out.append(body.bytes_view());
  return out;
}

}  // namespace amalgam::api::mongo
