#include "api/mongo/command.h"

#include "bson/validate.h"

#include <cmath>

namespace amalgam::api::mongo {

void CommandRegistry::Add(CommandSpec spec) {
  std::string name = spec.name;
  commands_[name] = std::move(spec);
}

const CommandSpec* CommandRegistry::Find(std::string_view name) const {
  auto it = commands_.find(name);
  if (it != commands_.end()) return &it->second;
  if (name == "ismaster" || name == "ISMASTER") return Find("isMaster");
  return nullptr;
}

Result<std::vector<bson::DocView>> CommandContext::DocumentsOf(std::string_view identifier) const {
  std::vector<bson::DocView> out;
  bson::Value field = cmd.Get(identifier);
  if (!field.missing()) {
    if (field.type() != bson::BsonType::kArray) return WrongTypeError(cmd.begin()->name, identifier, field, "array");
    for (const bson::Element& e : field.AsDocument()) {
      if (e.value.type() != bson::BsonType::kDocument) {
        return WrongTypeError(std::string(cmd.begin()->name) + "." + std::string(identifier), e.name, e.value, "object");
      }
      out.push_back(e.value.AsDocument());
    }
  }
  for (const DocumentSequence& seq : request.sequences) {
    if (seq.identifier == identifier) out.insert(out.end(), seq.documents.begin(), seq.documents.end());
  }
  return out;
}

bool CommandContext::HasDocuments(std::string_view identifier) const {
  if (!cmd.Get(identifier).missing()) return true;
  for (const DocumentSequence& seq : request.sequences) {
    if (seq.identifier == identifier) return true;
  }
  return false;
}

bool IsGenericArgument(std::string_view name) {
  static const std::string_view kGeneric[] = {
      "$db", "lsid", "$clusterTime", "txnNumber", "writeConcern", "readConcern", "$readPreference", "autocommit",
      "startTransaction", "apiVersion", "apiStrict", "apiDeprecationErrors", "maxTimeMS", "comment", "$client",
      "$audit", "bypassDocumentValidation", "stmtId", "stmtIds"};
  for (std::string_view g : kGeneric) {
    if (g == name) return true;
  }
  return false;
}

Status WrongTypeError(std::string_view command, std::string_view field, const bson::Value& v, std::string_view expected) {
  return Status(ErrorCode::kTypeMismatch, "BSON field '" + std::string(command) + "." + std::string(field) +
                                              "' is the wrong type '" + std::string(bson::TypeAlias(v.type())) +
                                              "', expected type '" + std::string(expected) + "'");
}

Status MissingFieldError(std::string_view command, std::string_view field) {
  return Status(ErrorCode::kMissingRequiredField,
                "BSON field '" + std::string(command) + "." + std::string(field) + "' is missing but a required field");
}

Status CheckKnownFields(bson::DocView cmd, std::initializer_list<std::string_view> known) {
  bool first = true;
  std::string_view command;
  for (const bson::Element& e : cmd) {
    if (first) {
      first = false;
      command = e.name;
      continue;
    }
    if (IsGenericArgument(e.name)) continue;
    bool ok = false;
    for (std::string_view k : known) ok |= k == e.name;
    if (!ok) {
      return Status(ErrorCode::kUnknownField,
                    "BSON field '" + std::string(command) + "." + std::string(e.name) + "' is an unknown field.");
    }
  }
  return Status::OK();
}

Result<bool> OrderedArg(const CommandContext& ctx) {
  bson::Value v = ctx.cmd.Get("ordered");
  if (v.missing()) return true;
  if (v.type() != bson::BsonType::kBool) return WrongTypeError(ctx.cmd.begin()->name, "ordered", v, "bool");
  return v.AsBool();
}

Result<std::string> CollectionArg(const CommandContext& ctx) {
  const bson::Element& first = *ctx.cmd.begin();
  if (first.value.type() != bson::BsonType::kString || first.value.AsString().empty()) {
    return Status(ErrorCode::kInvalidNamespace, "collection name has invalid type " +
                                                    std::string(bson::TypeAlias(first.value.type())) + " in command " +
                                                    std::string(first.name));
  }
  return std::string(first.value.AsString());
}

bool TruthyValue(const bson::Value& v) {
  switch (v.type()) {
    case bson::BsonType::kBool: return v.AsBool();
    case bson::BsonType::kEod:
    case bson::BsonType::kNull:
    case bson::BsonType::kUndefined: return false;
    default: return v.IsNumber() ? v.NumberAsDouble() != 0 : true;
  }
}

Result<int64_t> IntegerArg(const bson::Value& v, std::string_view field) {
  if (!v.IsNumber()) {
    return Status(ErrorCode::kTypeMismatch, "BSON field '" + std::string(field) + "' is the wrong type '" +
                                                std::string(bson::TypeAlias(v.type())) + "', expected types '[long, int, decimal, double]'");
  }
  double d = v.NumberAsDouble();
  if (v.type() == bson::BsonType::kInt64) return v.AsInt64();
  if (std::isnan(d) || d != std::trunc(d) || std::fabs(d) > 9.2e18) {
    return Status(ErrorCode::kBadValue, "Expected an integer for '" + std::string(field) + "'");
  }
  return static_cast<int64_t>(d);
}

Result<bson::Document> PrepareForInsert(bson::DocView doc) {
  if (doc.size() > bson::kMaxUserDocumentSize) {
    return Status(ErrorCode::kBSONObjectTooLarge, "object to insert too large. size in bytes: " + std::to_string(doc.size()) +
                                                      ", max size: " + std::to_string(bson::kMaxUserDocumentSize));
  }
  bson::ValidateOptions opt;
  opt.max_depth = bson::kMaxStorageDepth + 1;
  if (auto v = bson::ValidateDocument(doc.bytes(), opt); !v.ok()) {
    return Status(ErrorCode::kOverflow, "Document exceeds maximum nesting depth of " + std::to_string(bson::kMaxStorageDepth));
  }
  bson::Value id = doc.Get("_id");
  if (!id.missing() && doc.begin()->name == "_id") return bson::Document(doc);
  bson::Builder b;
  if (id.missing()) {
    auto oid = bson::NewObjectId();
    b.AppendObjectId("_id", std::span<const uint8_t, 12>(oid.data(), 12));
  } else {
    b.AppendValue("_id", id);
  }
  for (const bson::Element& e : doc) {
    if (e.name != "_id") b.AppendValue(e.name, e.value);
  }
  bson::Document out = std::move(b).Finish();
  if (out.bytes().size() > bson::kMaxUserDocumentSize) {
    return Status(ErrorCode::kBSONObjectTooLarge, "object to insert too large. size in bytes: " +
                                                      std::to_string(out.bytes().size()) + ", max size: " +
                                                      std::to_string(bson::kMaxUserDocumentSize));
  }
  return out;
}

}  // namespace amalgam::api::mongo
