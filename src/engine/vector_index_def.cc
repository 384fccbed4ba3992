#include "engine/vector_index_def.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

namespace amalgam::engine {
namespace {

using bson::BsonType;

Status Invalid(const std::string& where, const std::string& what) {
  return Status(ErrorCode::kBadValue, "Invalid vectorSearch index definition: \"" + where + "\" " + what);
}

// A whole number in [lo, hi] (int32, int64 or an integral double).
Result<uint32_t> BoundedInt(const bson::Value& v, const std::string& where, uint32_t lo, uint32_t hi) {
  if (!v.IsNumber()) return Invalid(where, "must be a number");
  double d = v.NumberAsDouble();
  if (d != std::floor(d) || d < lo || d > hi) {
    return Invalid(where, "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return static_cast<uint32_t>(d);
}

Status ParseHnswOptions(const bson::Value& v, const std::string& where, VectorFieldDef* f) {
  if (v.type() != BsonType::kDocument) return Invalid(where, "must be a document");
  for (const bson::Element& e : v.AsDocument()) {
    std::string at = where + "." + std::string(e.name);
    if (e.name == "maxEdges") {
      AMALGAM_ASSIGN_OR_RETURN(f->max_edges, BoundedInt(e.value, at, kMinMaxEdges, kMaxMaxEdges));
    } else if (e.name == "numEdgeCandidates") {
      AMALGAM_ASSIGN_OR_RETURN(f->num_edge_candidates,
                               BoundedInt(e.value, at, kMinEdgeCandidates, kMaxEdgeCandidates));
    } else {
      return Invalid(at, "is not allowed");
    }
  }
  return Status::OK();
}

Status CheckPath(const bson::Value& v, const std::string& where) {
  if (v.type() != BsonType::kString) return Invalid(where, "must be a string");
  std::string_view p = v.AsString();
  if (p.empty() || p.front() == '.' || p.back() == '.' || p.find("..") != std::string_view::npos ||
      p.front() == '$') {
    return Invalid(where, "must be a non-empty dotted field path");
  }
  return Status::OK();
}

Result<VectorFieldDef> ParseVectorField(bson::DocView field, const std::string& where) {
  VectorFieldDef f;
  bool have_path = false, have_dims = false, have_similarity = false;
  for (const bson::Element& e : field) {
    std::string at = where + "." + std::string(e.name);
    if (e.name == "type") continue;
    if (e.name == "path") {
      AMALGAM_RETURN_IF_ERROR(CheckPath(e.value, at));
      f.path = std::string(e.value.AsString());
      have_path = true;
    } else if (e.name == "numDimensions") {
      AMALGAM_ASSIGN_OR_RETURN(f.dims, BoundedInt(e.value, at, 1, kMaxVectorDims));
      have_dims = true;
    } else if (e.name == "similarity") {
      if (e.value.type() != BsonType::kString) return Invalid(at, "must be a string");
      auto m = index::ParseVectorMetric(e.value.AsString());
      if (!m.ok()) return Invalid(at, "must be one of [euclidean, cosine, dotProduct]");
      f.metric = m.value();
      have_similarity = true;
    } else if (e.name == "quantization") {
      if (e.value.type() != BsonType::kString) return Invalid(at, "must be a string");
      auto q = index::ParseVectorQuantization(e.value.AsString());
      if (!q.ok()) return Invalid(at, "must be one of [none, scalar, binary]");
      f.quantization = q.value();
    } else if (e.name == "hnswOptions") {
      AMALGAM_RETURN_IF_ERROR(ParseHnswOptions(e.value, at, &f));
    } else if (e.name == "indexingMethod") {
      if (e.value.type() != BsonType::kString || e.value.AsString() != "hnsw") {
        return Invalid(at, "must be \"hnsw\"");
      }
    } else {
      return Invalid(at, "is not allowed");
    }
  }
  if (!have_path) return Invalid(where + ".path", "is required");
  if (!have_dims) return Invalid(where + ".numDimensions", "is required");
  if (!have_similarity) return Invalid(where + ".similarity", "is required");
  return f;
}

}  // namespace

const VectorFieldDef* VectorIndexDef::FindVector(std::string_view path) const {
  for (const VectorFieldDef& f : vectors) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

bool VectorIndexDef::IsFilterPath(std::string_view path) const {
  for (const std::string& p : filter_paths) {
    if (p == path) return true;
  }
  return false;
}

Result<VectorIndexDef> ParseAtlasVectorDefinition(std::string_view name, bson::DocView definition) {
  VectorIndexDef def;
  def.name = std::string(name);
  def.definition = bson::Document(definition);
  bool have_fields = false;
  for (const bson::Element& e : definition) {
    if (e.name != "fields") return Invalid("definition." + std::string(e.name), "is not allowed");
    if (e.value.type() != BsonType::kArray) return Invalid("definition.fields", "must be an array");
    have_fields = true;
    std::set<std::string> paths;
    int i = 0;
    for (const bson::Element& fe : e.value.AsDocument()) {
      std::string where = "definition.fields[" + std::to_string(i++) + "]";
      if (fe.value.type() != BsonType::kDocument) return Invalid(where, "must be a document");
      bson::DocView field = fe.value.AsDocument();
      bson::Value type = field.Get("type");
      if (type.type() != BsonType::kString) return Invalid(where + ".type", "is required and must be a string");
      std::string path;
      if (type.AsString() == "vector") {
        AMALGAM_ASSIGN_OR_RETURN(VectorFieldDef f, ParseVectorField(field, where));
        path = f.path;
        def.vectors.push_back(std::move(f));
      } else if (type.AsString() == "filter") {
        for (const bson::Element& fe2 : field) {
          if (fe2.name != "type" && fe2.name != "path") {
            return Invalid(where + "." + std::string(fe2.name), "is not allowed");
          }
        }
        bson::Value p = field.Get("path");
        if (p.missing()) return Invalid(where + ".path", "is required");
        AMALGAM_RETURN_IF_ERROR(CheckPath(p, where + ".path"));
        path = std::string(p.AsString());
        def.filter_paths.push_back(path);
      } else {
        return Invalid(where + ".type", "must be one of [vector, filter]");
      }
      if (!paths.insert(path).second) {
        return Invalid(where + ".path", "\"" + path + "\" is indexed more than once");
      }
    }
  }
  if (!have_fields) return Invalid("definition.fields", "is required");
  if (def.vectors.empty()) return Invalid("definition.fields", "must contain at least one field of type \"vector\"");
  return def;
}

bson::Value ValueAtPath(bson::DocView doc, std::string_view path) {
  while (true) {
    size_t dot = path.find('.');
    bson::Value v = doc.Get(path.substr(0, dot));
    if (dot == std::string_view::npos) return v;
    if (v.type() != BsonType::kDocument) return bson::Value();
    doc = v.AsDocument();
    path = path.substr(dot + 1);
  }
}

namespace {

// BSON vector (BinData subtype 9): [dtype][padding][data]. dtype 0x27 float32 LE, 0x03 int8,
// 0x10 packed bits (padding = unused low bits of the last byte).
std::optional<std::vector<float>> FromBsonVector(const bson::Binary& b) {
  if (b.data.size() < 2) return std::nullopt;
  uint8_t dtype = b.data[0], padding = b.data[1];
  std::span<const uint8_t> data = b.data.subspan(2);
  std::vector<float> out;
  if (dtype == 0x27) {
    if (padding != 0 || data.size() % 4 != 0) return std::nullopt;
    out.resize(data.size() / 4);
    std::memcpy(out.data(), data.data(), data.size());
  } else if (dtype == 0x03) {
    if (padding != 0) return std::nullopt;
    out.reserve(data.size());
    for (uint8_t c : data) out.push_back(static_cast<float>(static_cast<int8_t>(c)));
  } else if (dtype == 0x10) {
    if (padding > 7 || (data.empty() && padding != 0)) return std::nullopt;
    size_t bits = data.size() * 8 - padding;
    out.reserve(bits);
    for (size_t i = 0; i < bits; ++i) out.push_back((data[i / 8] >> (7 - i % 8)) & 1 ? 1.0f : 0.0f);
  } else {
    return std::nullopt;
  }
  return out;
}

// An array whose elements are all doubles, int32s or int64s (how vectors are sent and stored),
// read straight from its validated bytes: a query vector or document of 768 dimensions is
// thousands of elements, each of which the generic element walk measures and dispatches on.
// False (with *out in any state) when another type is met, for the generic walk to decide.
bool FastNumberArray(bson::DocView arr, std::vector<float>* out) {
  const uint8_t* p = arr.data() + 4;
  const uint8_t* end = arr.data() + arr.size() - 1;  // the terminating 0x00
  out->clear();
  out->reserve(arr.size() / 11 + 1);                  // an int32 element takes 7+, a double 11+
  while (p < end) {
    uint8_t type = *p++;
    const void* nul = std::memchr(p, 0, static_cast<size_t>(end - p));
    if (nul == nullptr) return false;
    p = static_cast<const uint8_t*>(nul) + 1;
    if (type == 0x01) {  // double
      if (end - p < 8) return false;
      double d;
      std::memcpy(&d, p, 8);
      p += 8;
      out->push_back(static_cast<float>(d));
    } else if (type == 0x10) {  // int32
      if (end - p < 4) return false;
      int32_t i;
      std::memcpy(&i, p, 4);
      p += 4;
      out->push_back(static_cast<float>(static_cast<double>(i)));
    } else if (type == 0x12) {  // int64
      if (end - p < 8) return false;
      int64_t i;
      std::memcpy(&i, p, 8);
      p += 8;
      out->push_back(static_cast<float>(static_cast<double>(i)));
    } else {
      return false;
    }
  }
  return true;
}

std::optional<std::vector<float>> FromValue(const bson::Value& v) {
  if (v.type() == BsonType::kBinary) {
    bson::Binary b = v.AsBinary();
    if (b.subtype != 9) return std::nullopt;
    return FromBsonVector(b);
  }
  if (v.type() != BsonType::kArray) return std::nullopt;
  std::vector<float> out;
  if (FastNumberArray(v.AsDocument(), &out)) return out;
  out.clear();
  for (const bson::Element& e : v.AsDocument()) {
    if (!e.value.IsNumber()) return std::nullopt;
    out.push_back(static_cast<float>(e.value.NumberAsDouble()));
  }
  return out;
}

}  // namespace

std::optional<std::vector<float>> ExtractVector(bson::DocView doc, std::string_view path, uint32_t dims,
                                                index::VectorMetric metric) {
  std::optional<std::vector<float>> out = FromValue(ValueAtPath(doc, path));
  if (!out || out->size() != dims) return std::nullopt;
  bool nonzero = false;
  for (float x : *out) {
    if (!std::isfinite(x)) return std::nullopt;
    nonzero = nonzero || x != 0;
  }
  if (metric == index::VectorMetric::kCosine && !nonzero) return std::nullopt;
  return out;
}

Result<std::vector<float>> VectorFromValue(const bson::Value& v, std::string_view what) {
  if (v.type() != BsonType::kArray && !(v.type() == BsonType::kBinary && v.AsBinary().subtype == 9)) {
    return Status(ErrorCode::kTypeMismatch, std::string(what) + " must be an array of numbers or a BSON vector (BinData subtype 9)");
  }
  std::optional<std::vector<float>> out = FromValue(v);
  if (!out) return Status(ErrorCode::kBadValue, std::string(what) + " must contain only numbers (or be a valid BSON vector)");
  for (float x : *out) {
    if (!std::isfinite(x)) return Status(ErrorCode::kBadValue, std::string(what) + " must contain only finite numbers");
  }
  return std::move(*out);
}

double ExactVectorScore(index::VectorMetric metric, const std::vector<float>& q, const std::vector<float>& v) {
  // In double, one sum per quantity the metric needs (each in the same order as ever).
  const size_t n = std::min(q.size(), v.size());
  switch (metric) {
    case index::VectorMetric::kCosine: {
      double dot = 0, qq = 0, vv = 0;
      for (size_t i = 0; i < n; ++i) {
        double a = q[i], b = v[i];
        dot += a * b;
        qq += a * a;
        vv += b * b;
      }
      double denom = std::sqrt(qq) * std::sqrt(vv);
      double cos = denom > 0 ? dot / denom : 0;
      return (1 + cos) / 2;
    }
    case index::VectorMetric::kDotProduct: {
      double dot = 0;
      for (size_t i = 0; i < n; ++i) dot += double(q[i]) * double(v[i]);
      return (1 + dot) / 2;
    }
    case index::VectorMetric::kEuclidean: {
      double l2 = 0;
      for (size_t i = 0; i < n; ++i) {
        double d = double(q[i]) - double(v[i]);
        l2 += d * d;
      }
      return 1 / (1 + std::sqrt(l2));
    }
  }
  return 0;
}

}  // namespace amalgam::engine
