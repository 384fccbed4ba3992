#pragma once
// The MongoDB wire protocol: message framing (standard header), OP_MSG (sections of kind 0 and
// 1, checksumPresent, moreToCome, exhaustAllowed) and the legacy OP_QUERY / OP_REPLY pair that
// drivers still use for their first handshake. Pure functions over bytes: no sockets here.
//
// Parsing treats its input as hostile: every length is checked against the bytes left, every
// document is validated (bson/validate.h), and errors name what is wrong.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bson/document.h"
#include "common/result.h"

namespace amalgam::api::mongo {

inline constexpr int32_t kOpReply = 1;
inline constexpr int32_t kOpQuery = 2004;
inline constexpr int32_t kOpCompressed = 2012;
inline constexpr int32_t kOpMsg = 2013;

inline constexpr int32_t kHeaderSize = 16;
inline constexpr int32_t kMaxMessageSize = 48'000'000;  // maxMessageSizeBytes in hello

// OP_MSG flag bits.
inline constexpr uint32_t kChecksumPresent = 1u << 0;
inline constexpr uint32_t kMoreToCome = 1u << 1;
inline constexpr uint32_t kExhaustAllowed = 1u << 16;

struct MsgHeader {
  int32_t message_length = 0;
  int32_t request_id = 0;
  int32_t response_to = 0;
  int32_t op_code = 0;
};

// Reads the 16-byte header. Errors (kInvalidLength / kBadValue): a length below 16 or above
// kMaxMessageSize. REQUIRES: bytes.size() >= 16.
Result<MsgHeader> ParseHeader(std::span<const uint8_t> bytes);

struct DocumentSequence {
  std::string_view identifier;  // e.g. "documents", "updates", "deletes"
  std::vector<bson::DocView> documents;
};

// One request, as the command layer sees it. Views borrow the message bytes.
struct Request {
  MsgHeader header;
  uint32_t flags = 0;                       // OP_MSG flag bits (0 for OP_QUERY)
  bson::DocView body;                       // the command document
  std::vector<DocumentSequence> sequences;  // OP_MSG kind-1 sections
  bool legacy = false;                      // arrived as OP_QUERY: answer with OP_REPLY
  std::string legacy_namespace;             // OP_QUERY fullCollectionName, e.g. "admin.$cmd"
};

// Parses a whole message (header included). Errors: kInvalidBSON for a bad document,
// kBadValue / kInvalidLength naming the malformed part, kNotImplemented for OP_COMPRESSED and
// other opcodes (the caller answers or closes, see MongoService).
Result<Request> ParseRequest(std::span<const uint8_t> message);

// Builds an OP_MSG reply with one kind-0 section.
std::string BuildOpMsg(int32_t request_id, int32_t response_to, uint32_t flags, bson::DocView body);
// Builds an OP_REPLY carrying one document (the legacy handshake reply).
std::string BuildOpReply(int32_t request_id, int32_t response_to, bson::DocView body);

// CRC-32C (Castagnoli), as OP_MSG checksums use.
uint32_t Crc32c(std::span<const uint8_t> bytes);

}  // namespace amalgam::api::mongo
