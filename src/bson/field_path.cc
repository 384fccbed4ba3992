#include "bson/field_path.h"

namespace amalgam::bson {

Result<FieldPath> FieldPath::Parse(std::string_view dotted) {
  if (dotted.empty()) return Status(ErrorCode::kBadValue, "FieldPath cannot be constructed with empty string");
  if (dotted.find('\0') != std::string_view::npos) {
    return Status(ErrorCode::kBadValue, "FieldPath field names may not contain NUL");
  }
  FieldPath p;
  p.dotted_ = std::string(dotted);
  p.Split();
  for (std::string_view part : p.parts_) {
    if (part.empty()) {
      return Status(ErrorCode::kBadValue, "FieldPath field names may not be empty strings: '" + p.dotted_ + "'");
    }
  }
  if (p.parts_.size() > kMaxPathParts) {
    return Status(ErrorCode::kBadValue, "FieldPath is too long: more than " + std::to_string(kMaxPathParts) + " parts");
  }
  return p;
}

FieldPath& FieldPath::operator=(const FieldPath& other) {
  if (this != &other) {
    dotted_ = other.dotted_;
    Split();
  }
  return *this;
}

void FieldPath::Split() {
  parts_.clear();
  std::string_view s = dotted_;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) {
      parts_.push_back(s.substr(start));
      break;
    }
    parts_.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
}

bool IsArrayIndex(std::string_view part, size_t* index) {
  if (part.empty() || part.size() > 9) return false;
  if (part.size() > 1 && part[0] == '0') return false;
  size_t v = 0;
  for (char c : part) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *index = v;
  return true;
}

Value GetPath(DocView doc, const FieldPath& path) {
  Value cur;
  DocView container = doc;
  for (size_t i = 0; i < path.size(); ++i) {
    cur = container.Get(path.part(i));  // array element names are their indexes
    if (cur.missing()) return cur;
    if (i + 1 < path.size()) {
      if (cur.type() != BsonType::kDocument && cur.type() != BsonType::kArray) return Value();
      container = cur.AsDocument();
    }
  }
  return cur;
}

}  // namespace amalgam::bson
