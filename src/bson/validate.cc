#include "bson/validate.h"

#include <cstring>
#include <string>
#include <vector>

namespace amalgam::bson {
namespace {

inline int32_t LoadI32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

Status Invalid(std::string what, size_t offset) {
  return Status(ErrorCode::kInvalidBSON, what + " at byte " + std::to_string(offset));
}

// One open document on the explicit stack.
struct Frame {
  size_t start;  // offset of its length field
  size_t end;    // offset one past its trailing NUL
  bool is_array;
  uint32_t next_index;  // for arrays: the expected next key (not enforced, see below)
};

class Validator {
 public:
  Validator(std::span<const uint8_t> bytes, const ValidateOptions& opt) : b_(bytes), opt_(opt) {}

  Result<DocView> Run() {
    if (b_.size() < 5) return Invalid("document shorter than 5 bytes", 0);
    int32_t len = LoadI32(b_.data());
    if (len < 5) return Invalid("document length " + std::to_string(len) + " is below 5", 0);
    if (static_cast<uint32_t>(len) > opt_.max_size) {
      return Status(ErrorCode::kBSONObjectTooLarge,
                    "document is " + std::to_string(len) + " bytes, more than the limit of " +
                        std::to_string(opt_.max_size));
    }
    if (static_cast<size_t>(len) > b_.size()) {
      return Invalid("document length " + std::to_string(len) + " exceeds the " +
                         std::to_string(b_.size()) + " bytes available",
                     0);
    }
    AMALGAM_RETURN_IF_ERROR(Open(0, static_cast<size_t>(len), false));
    while (!stack_.empty()) {
      AMALGAM_RETURN_IF_ERROR(Step());
    }
    return DocView(b_.data(), static_cast<uint32_t>(len));
  }

 private:
  Status Open(size_t start, size_t end, bool is_array) {
    if (static_cast<int>(stack_.size()) + 1 > opt_.max_depth) {
      return Status(ErrorCode::kOverflow, "BSON nesting exceeds the maximum depth of " +
                                              std::to_string(opt_.max_depth));
    }
    if (b_[end - 1] != 0) return Invalid("document does not end with a NUL byte", end - 1);
    stack_.push_back(Frame{start, end, is_array, 0});
    pos_ = start + 4;
    return Status::OK();
  }

  // Reads a NUL-terminated C string starting at pos within [pos, limit). Returns its length.
  Result<size_t> CString(size_t pos, size_t limit, const char* what) {
    const void* nul = std::memchr(b_.data() + pos, 0, limit - pos);
    if (nul == nullptr) return Invalid(std::string(what) + " is not NUL-terminated", pos);
    size_t n = static_cast<const uint8_t*>(nul) - (b_.data() + pos);
    if (opt_.check_utf8 &&
        !IsValidUtf8(std::string_view(reinterpret_cast<const char*>(b_.data() + pos), n))) {
      return Invalid(std::string(what) + " is not valid UTF-8", pos);
    }
    return n;
  }

  // Validates a length-prefixed string (int32 length including NUL, bytes, NUL) at pos.
  Result<size_t> LString(size_t pos, size_t limit) {
    if (limit - pos < 4) return Invalid("string length truncated", pos);
    int32_t n = LoadI32(b_.data() + pos);
    if (n < 1) return Invalid("string length " + std::to_string(n) + " is below 1", pos);
    if (static_cast<size_t>(n) > limit - pos - 4) return Invalid("string overruns its document", pos);
    if (b_[pos + 4 + n - 1] != 0) return Invalid("string does not end with NUL", pos + 4 + n - 1);
    if (opt_.check_utf8 &&
        !IsValidUtf8(std::string_view(reinterpret_cast<const char*>(b_.data() + pos + 4), n - 1))) {
      return Invalid("string is not valid UTF-8", pos);
    }
    return 4 + static_cast<size_t>(n);
  }

  Status Step() {
    Frame& f = stack_.back();
    size_t limit = f.end - 1;  // the trailing NUL
    if (pos_ == limit) {       // end of this document
      pos_ = f.end;
      stack_.pop_back();
      return Status::OK();
    }
    if (pos_ > limit) return Invalid("element overruns its document", pos_);
    uint8_t type_byte = b_[pos_];
    if (!IsValidType(type_byte)) {
      return Invalid("unknown BSON type " + std::to_string(type_byte), pos_);
    }
    size_t name_pos = pos_ + 1;
    AMALGAM_ASSIGN_OR_RETURN(size_t name_len, CString(name_pos, limit, "field name"));
    size_t v = name_pos + name_len + 1;
    size_t avail = limit - v;
    auto need = [&](size_t n) -> Status {
      if (avail < n) return Invalid("value of field '" + Name(name_pos, name_len) + "' truncated", v);
      return Status::OK();
    };
    BsonType type = static_cast<BsonType>(type_byte);
    switch (type) {
      case BsonType::kDouble:
      case BsonType::kDate:
      case BsonType::kInt64:
      case BsonType::kTimestamp:
        AMALGAM_RETURN_IF_ERROR(need(8));
        pos_ = v + 8;
        return Status::OK();
      case BsonType::kInt32:
        AMALGAM_RETURN_IF_ERROR(need(4));
        pos_ = v + 4;
        return Status::OK();
      case BsonType::kDecimal128:
        AMALGAM_RETURN_IF_ERROR(need(16));
        pos_ = v + 16;
        return Status::OK();
      case BsonType::kObjectId:
        AMALGAM_RETURN_IF_ERROR(need(12));
        pos_ = v + 12;
        return Status::OK();
      case BsonType::kBool:
        AMALGAM_RETURN_IF_ERROR(need(1));
        if (b_[v] > 1) return Invalid("boolean byte is neither 0 nor 1", v);
        pos_ = v + 1;
        return Status::OK();
      case BsonType::kUndefined:
      case BsonType::kNull:
      case BsonType::kMinKey:
      case BsonType::kMaxKey:
        pos_ = v;
        return Status::OK();
      case BsonType::kString:
      case BsonType::kCode:
      case BsonType::kSymbol: {
        AMALGAM_ASSIGN_OR_RETURN(size_t n, LString(v, limit));
        pos_ = v + n;
        return Status::OK();
      }
      case BsonType::kBinary: {
        AMALGAM_RETURN_IF_ERROR(need(5));
        int32_t n = LoadI32(b_.data() + v);
        if (n < 0 || static_cast<size_t>(n) > avail - 5) return Invalid("binary length out of range", v);
        if (b_[v + 4] == 0x02) {  // old binary: inner length must be n - 4
          if (n < 4 || LoadI32(b_.data() + v + 5) != n - 4) {
            return Invalid("old-style binary (subtype 2) has an inconsistent inner length", v);
          }
        }
        pos_ = v + 5 + static_cast<size_t>(n);
        return Status::OK();
      }
      case BsonType::kRegex: {
        AMALGAM_ASSIGN_OR_RETURN(size_t a, CString(v, limit, "regex pattern"));
        AMALGAM_ASSIGN_OR_RETURN(size_t o, CString(v + a + 1, limit, "regex options"));
        pos_ = v + a + 1 + o + 1;
        return Status::OK();
      }
      case BsonType::kDbPointer: {
        AMALGAM_ASSIGN_OR_RETURN(size_t n, LString(v, limit));
        if (limit - v - n < 12) return Invalid("dbPointer truncated", v);
        pos_ = v + n + 12;
        return Status::OK();
      }
      case BsonType::kDocument:
      case BsonType::kArray: {
        AMALGAM_RETURN_IF_ERROR(need(5));
        int32_t n = LoadI32(b_.data() + v);
        if (n < 5 || static_cast<size_t>(n) > avail) {
          return Invalid("embedded document '" + Name(name_pos, name_len) + "' has length " +
                             std::to_string(n) + " outside its parent",
                         v);
        }
        return Open(v, v + static_cast<size_t>(n), type == BsonType::kArray);
      }
      case BsonType::kCodeWithScope: {
        AMALGAM_RETURN_IF_ERROR(need(14));
        int32_t total = LoadI32(b_.data() + v);
        if (total < 14 || static_cast<size_t>(total) > avail) return Invalid("code with scope length out of range", v);
        size_t end = v + static_cast<size_t>(total);
        AMALGAM_ASSIGN_OR_RETURN(size_t n, LString(v + 4, end));
        size_t scope = v + 4 + n;
        if (end - scope < 5) return Invalid("code with scope: scope truncated", scope);
        int32_t slen = LoadI32(b_.data() + scope);
        if (slen < 5 || scope + static_cast<size_t>(slen) != end) {
          return Invalid("code with scope: scope length disagrees with total length", scope);
        }
        // The scope is validated like any embedded document; afterwards pos_ lands on `end`.
        return Open(scope, end, false);
      }
      case BsonType::kEod:
        break;
    }
    return Invalid("unknown BSON type", pos_);
  }

  std::string Name(size_t pos, size_t len) const {
    return std::string(reinterpret_cast<const char*>(b_.data() + pos), std::min<size_t>(len, 100));
  }

  std::span<const uint8_t> b_;
  const ValidateOptions& opt_;
  std::vector<Frame> stack_;
  size_t pos_ = 0;
};

}  // namespace

Result<DocView> ValidateDocument(std::span<const uint8_t> bytes, const ValidateOptions& options) {
  return Validator(bytes, options).Run();
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace amalgam::bson
