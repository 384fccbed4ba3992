#include "catalog/index_spec.h"

#include <cmath>

#include "bson/builder.h"
#include "bson/json.h"

namespace amalgam::catalog {
namespace {

Status CannotCreate(std::string msg) { return Status(ErrorCode::kCannotCreateIndex, std::move(msg)); }

std::string NumberText(const bson::Value& v) {
  switch (v.type()) {
    case bson::BsonType::kInt32: return std::to_string(v.AsInt32());
    case bson::BsonType::kInt64: return std::to_string(v.AsInt64());
    default: {
      double d = v.NumberAsDouble();
      if (d == std::trunc(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%g", d);
      return buf;
    }
  }
}

Status ParseKeyPattern(bson::DocView key, std::vector<IndexField>* fields) {
  if (key.empty()) return CannotCreate("Index keys cannot be empty.");
  for (const bson::Element& e : key) {
    if (e.value.type() == bson::BsonType::kString) {
      std::string_view plugin = e.value.AsString();
      if (plugin == "text" || plugin == "2dsphere" || plugin == "2d" || plugin == "hashed" || plugin == "wildcard") {
        return CannotCreate("Index type '" + std::string(plugin) + "' on field '" + std::string(e.name) +
                            "' is not supported yet");
      }
      return CannotCreate("Unknown index plugin '" + std::string(plugin) + "'");
    }
    if (!e.value.IsNumber()) {
      return CannotCreate("Values in the index key pattern can only be numbers or strings, found " +
                          std::string(bson::TypeAlias(e.value.type())) + " for field '" +
                          std::string(e.name) + "'");
    }
    double d = e.value.NumberAsDouble();
    if (d == 0 || std::isnan(d)) {
      return CannotCreate("Values in the index key pattern must be non-zero numbers, found " +
                          NumberText(e.value) + " for field '" + std::string(e.name) + "'");
    }
    if (!e.name.empty() && e.name[0] == '$') {
      return CannotCreate("Index key contains an illegal field name: field name starts with '$'.");
    }
    auto path = bson::FieldPath::Parse(e.name);
    if (!path.ok()) return CannotCreate("Index key contains an illegal field name: " + std::string(path.status().message()));
    for (const IndexField& f : *fields) {
      if (f.path.dotted() == e.name) {
        return CannotCreate("Index key pattern repeats field '" + std::string(e.name) + "'");
      }
    }
    fields->push_back(IndexField{std::move(path).value(), d < 0});
  }
  return Status::OK();
}

bool IsTruthy(const bson::Value& v) {
  switch (v.type()) {
    case bson::BsonType::kBool: return v.AsBool();
    case bson::BsonType::kNull:
    case bson::BsonType::kUndefined:
    case bson::BsonType::kEod: return false;
    default: return v.IsNumber() ? v.NumberAsDouble() != 0 : true;
  }
}

}  // namespace

std::string DefaultIndexName(bson::DocView key_pattern) {
  std::string name;
  for (const bson::Element& e : key_pattern) {
    if (!name.empty()) name += '_';
    name += e.name;
    name += '_';
    name += e.value.type() == bson::BsonType::kString ? std::string(e.value.AsString()) : NumberText(e.value);
  }
  return name;
}

Result<IndexSpec> ParseIndexSpec(bson::DocView spec) {
  IndexSpec out;
  bool have_key = false;
  for (const bson::Element& e : spec) {
    const bson::Value& v = e.value;
    if (e.name == "key") {
      if (v.type() != bson::BsonType::kDocument) {
        return Status(ErrorCode::kTypeMismatch, "The 'key' field must be an object, found " + std::string(bson::TypeAlias(v.type())));
      }
      AMALGAM_RETURN_IF_ERROR(ParseKeyPattern(v.AsDocument(), &out.fields));
      out.key_pattern = bson::Document(v.AsDocument());
      have_key = true;
    } else if (e.name == "name") {
      if (v.type() != bson::BsonType::kString) {
        return Status(ErrorCode::kTypeMismatch, "The 'name' field must be a string, found " + std::string(bson::TypeAlias(v.type())));
      }
      out.name = std::string(v.AsString());
      if (out.name.empty()) return CannotCreate("The index name cannot be empty");
    } else if (e.name == "unique") {
      out.unique = IsTruthy(v);
    } else if (e.name == "sparse") {
      out.sparse = IsTruthy(v);
    } else if (e.name == "partialFilterExpression") {
      if (v.type() != bson::BsonType::kDocument) {
        return Status(ErrorCode::kTypeMismatch, "The 'partialFilterExpression' field must be an object");
      }
      out.partial_filter = bson::Document(v.AsDocument());
    } else if (e.name == "expireAfterSeconds") {
      if (!v.IsNumber()) {
        return Status(ErrorCode::kInvalidOptions, "TTL index 'expireAfterSeconds' option must be numeric, but received a type of '" +
                                                     std::string(bson::TypeAlias(v.type())) + "'");
      }
      double d = v.NumberAsDouble();
      if (std::isnan(d) || d < 0 || d > 2147483647.0) {
        return Status(ErrorCode::kInvalidOptions, "TTL index 'expireAfterSeconds' option must be within an acceptable range [0, 2147483647]");
      }
      out.expire_after_seconds = static_cast<int64_t>(d);
    } else if (e.name == "v" || e.name == "background" || e.name == "ns" || e.name == "hidden" ||
               e.name == "collation" || e.name == "comment") {
      // Accepted and ignored (v: only 2 exists here; builds are never foreground-blocking).
    } else {
      return Status(ErrorCode::kInvalidIndexSpecificationOption, "The field '" + std::string(e.name) +
                                                                     "' is not valid for an index specification. Specification: " +
                                                                     bson::ToShellString(spec));
    }
  }
  if (!have_key) return Status(ErrorCode::kFailedToParse, "The 'key' field is a required property of an index specification");
  if (out.name.empty()) return Status(ErrorCode::kFailedToParse, "The 'name' field is a required property of an index specification");
  if (out.sparse && out.partial_filter) {
    return Status(ErrorCode::kInvalidOptions, "cannot mix \"partialFilterExpression\" and \"sparse\" options");
  }
  if (out.expire_after_seconds && out.fields.size() != 1) {
    return Status(ErrorCode::kCannotCreateIndex, "TTL indexes are single-field indexes, compound indexes do not support TTL");
  }
  out.is_id_index = out.fields.size() == 1 && out.fields[0].path.dotted() == "_id";
  if (out.is_id_index && (out.sparse || out.partial_filter || out.expire_after_seconds)) {
    return Status(ErrorCode::kInvalidOptions, "The _id index cannot be sparse, partial or TTL");
  }
  return out;
}

bson::Document IndexSpec::ToListing() const {
  bson::Builder b;
  b.AppendInt32("v", 2);
  b.AppendDocument("key", key_pattern.view());
  b.AppendString("name", name);
  if (unique && !is_id_index) b.AppendBool("unique", true);
  if (sparse) b.AppendBool("sparse", true);
  if (partial_filter) b.AppendDocument("partialFilterExpression", partial_filter->view());
  if (expire_after_seconds) b.AppendInt32("expireAfterSeconds", static_cast<int32_t>(*expire_after_seconds));
  return std::move(b).Finish();
}

bson::Document EncodeIndexSpec(const IndexSpec& spec) {
  bson::Builder b;
  b.AppendInt64("id", static_cast<int64_t>(spec.id));
  b.AppendString("name", spec.name);
  b.AppendDocument("key", spec.key_pattern.view());
  b.AppendBool("unique", spec.unique);
  b.AppendBool("sparse", spec.sparse);
  if (spec.partial_filter) b.AppendDocument("partialFilterExpression", spec.partial_filter->view());
  if (spec.expire_after_seconds) b.AppendInt64("expireAfterSeconds", *spec.expire_after_seconds);
  b.AppendInt32("state", static_cast<int32_t>(spec.state));
  return std::move(b).Finish();
}

Result<IndexSpec> DecodeIndexSpec(bson::DocView record) {
  // Re-parse through the user-facing parser so stored and new specs obey the same rules.
  bson::Builder b;
  b.AppendValue("key", record.Get("key"));
  b.AppendValue("name", record.Get("name"));
  b.AppendValue("unique", record.Get("unique"));
  b.AppendValue("sparse", record.Get("sparse"));
  b.AppendValue("partialFilterExpression", record.Get("partialFilterExpression"));
  b.AppendValue("expireAfterSeconds", record.Get("expireAfterSeconds"));
  bson::Document doc = std::move(b).Finish();
  auto spec = ParseIndexSpec(doc.view());
  if (!spec.ok()) {
    return Status(ErrorCode::kDataCorruption, "stored index definition is invalid: " + std::string(spec.status().message()));
  }
  bson::Value id = record.Get("id"), state = record.Get("state");
  if (id.type() != bson::BsonType::kInt64 || state.type() != bson::BsonType::kInt32) {
    return Status(ErrorCode::kDataCorruption, "stored index definition lacks id or state");
  }
  spec->id = static_cast<uint64_t>(id.AsInt64());
  spec->state = static_cast<IndexSpec::State>(state.AsInt32());
  return spec;
}

}  // namespace amalgam::catalog
