#include "api/mongo/command.h"

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
    if (field.type() != bson::BsonType::kArray) {
      return Status(ErrorCode::kTypeMismatch, "BSON field '" + std::string(cmd.begin()->name) + "." +
                                                  std::string(identifier) + "' is the wrong type '" +
                                                  std::string(bson::TypeAlias(field.type())) + "', expected type 'array'");
    }
    for (const bson::Element& e : field.AsDocument()) {
      if (e.value.type() != bson::BsonType::kDocument) {
        return Status(ErrorCode::kTypeMismatch, "BSON field '" + std::string(identifier) + "' must be an array of objects");
      }
      out.push_back(e.value.AsDocument());
    }
  }
  for (const DocumentSequence& seq : request.sequences) {
    if (seq.identifier == identifier) out.insert(out.end(), seq.documents.begin(), seq.documents.end());
  }
  return out;
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

}  // namespace amalgam::api::mongo
