// libFuzzer target: the DynamoDB expression parsers (condition, update, projection, key
// condition), the legacy-parameter converters, the wire-JSON reader and the number rules.
// The first input byte picks the parser; the rest is its text. Whatever parses is evaluated /
// applied to a few fixed items, and every JSON item must round-trip through BSON and JSON
// exactly. Any crash, sanitizer report, hang or broken round trip is a bug in
// src/api/dynamo/model/. Bad input must come back as a Status.
//
// fuzz-sources: src/common/*.cc src/bson/*.cc src/api/dynamo/model/*.cc
// fuzz-pkgs: libbson-1.0

#include "api/dynamo/model/rapidjson.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "api/dynamo/model/bson_mapping.h"
#include "api/dynamo/model/expression.h"
#include "api/dynamo/model/json.h"
#include "api/dynamo/model/key_condition.h"
#include "api/dynamo/model/legacy.h"
#include "api/dynamo/model/update_expression.h"

namespace {

using namespace amalgam;
using namespace amalgam::dynamo;

const std::vector<Item>& Samples() {
  static const std::vector<Item> items = [] {
    std::vector<Item> v;
    for (const char* j : {
             R"({"pk":{"S":"k"},"sk":{"N":"1"},"a":{"N":"5"},"b":{"S":"hello"},"l":{"L":[{"N":"1"},{"M":{"x":{"S":"y"}}}]},"m":{"M":{"a":{"L":[]},"b":{"SS":["p","q"]}}},"ns":{"NS":["1","2.5"]},"bin":{"B":"AAE="}})",
             R"({"pk":{"S":"k2"},"sk":{"N":"-3"}})", R"({})"}) {
      v.push_back(ParseItemJson(j).value());
    }
    return v;
  }();
  return items;
}

ExpressionAttributes Attrs() {
  static const char* kNames = R"({"#a":"a","#b":"b","#n":"name","#pk":"pk","#sk":"sk"})";
  static const char* kValues = R"({":s":{"S":"he"},":n":{"N":"3"},":z":{"N":"0"},":l":{"L":[{"S":"x"}]},
      ":m":{"M":{"k":{"BOOL":true}}},":ss":{"SS":["p"]},":ns":{"NS":["1"]},":b":{"B":"AA=="},
      ":t":{"S":"N"},":big":{"N":"9e125"},":neg":{"N":"-1e-130"}})";
  rapidjson::Document n, v;
  n.Parse(kNames);
  v.Parse(kValues);
  return ExpressionAttributes::FromJson(&n, &v).value();
}

KeySchema Schema() {
  KeySchema s;
  s.hash_name = "pk";
  s.range_name = "sk";
  s.range_type = AttrType::kN;
  return s;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

void FuzzItemJson(std::string_view text) {
  Result<Item> item = ParseItemJson(text);
  if (!item.ok()) return;
  std::string json = ItemToJson(item.value());
  Result<Item> again = ParseItemJson(json);
  Check(again.ok() && ItemToJson(again.value()) == json);
  KeySchema schema;
  schema.hash_name = "pk";
  if (!ValidateItemForWrite(schema, item.value()).ok()) return;
  amalgam::bson::Document doc = ItemToBson(schema, item.value());
  Item back = ItemFromBson(schema, doc.view());
  Check(ItemToJson(back) == json);
  (void)ItemSize(back);
}

void FuzzLegacy(std::string_view text) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (d.HasParseError()) return;
  rapidjson::Document op;
  op.Parse(R"("OR")");
  if (Result<Condition> c = ConditionFromExpected(d, &op); c.ok()) {
    for (const Item& i : Samples()) (void)EvaluateCondition(c.value(), i);
  }
  if (Result<Condition> c = ConditionFromFilter(d, nullptr, "ScanFilter"); c.ok()) {
    for (const Item& i : Samples()) (void)EvaluateCondition(c.value(), i);
  }
  if (Result<KeyCondition> kc = KeyConditionFromLegacy(d, Schema()); kc.ok()) {
    for (const Item& i : Samples()) (void)MatchesKeyCondition(kc.value(), Schema(), i);
  }
  if (Result<Update> u = UpdateFromAttributeUpdates(d); u.ok()) {
    for (Item i : Samples()) (void)ApplyUpdate(u.value(), &i).ok();
  }
  if (Result<std::vector<DocumentPath>> p = ProjectionFromAttributesToGet(d); p.ok()) {
    for (const Item& i : Samples()) (void)ApplyProjection(i, p.value());
  }
  if (d.IsObject()) {
    auto n = d.FindMember("names");
    auto v = d.FindMember("values");
    (void)ExpressionAttributes::FromJson(n == d.MemberEnd() ? nullptr : &n->value,
                                         v == d.MemberEnd() ? nullptr : &v->value)
        .ok();
  }
}

void FuzzNumbers(std::string_view text) {
  size_t cut = text.find('|');
  Result<std::string> a = CanonicalizeNumber(text.substr(0, cut));
  if (!a.ok()) return;
  Check(CanonicalizeNumber(a.value()).ok() && CanonicalizeNumber(a.value()).value() == a.value());
  Check(CompareNumbers(a.value(), a.value()) == 0);
  if (cut == std::string_view::npos) return;
  Result<std::string> b = CanonicalizeNumber(text.substr(cut + 1));
  if (!b.ok()) return;
  Result<std::string> sum = AddNumbers(a.value(), b.value());
  Result<std::string> diff = SubtractNumbers(sum.ok() ? sum.value() : a.value(), b.value());
  if (sum.ok() && diff.ok()) Check(CompareNumbers(diff.value(), a.value()) == 0);
  int ab = CompareNumbers(a.value(), b.value());
  Check(ab == -CompareNumbers(b.value(), a.value()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace amalgam;
  using namespace amalgam::dynamo;
  if (size == 0) return 0;
  uint8_t mode = data[0] % 8;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  ExpressionAttributes attrs = Attrs();
  switch (mode) {
    case 0:
    case 1: {
      Result<Condition> c =
          ParseCondition(text, mode == 0 ? ExpressionKind::kCondition : ExpressionKind::kFilter, attrs);
      if (c.ok()) {
        for (const Item& i : Samples()) (void)EvaluateCondition(c.value(), i);
      }
      break;
    }
    case 2: {
      Result<Update> u = ParseUpdate(text, attrs);
      if (u.ok()) {
        (void)CheckKeyNotUpdated(u.value(), Schema()).ok();
        for (Item i : Samples()) {
          Item before = i;
          if (ApplyUpdate(u.value(), &i).ok()) {
            (void)ApplyProjection(before, UpdatedPaths(u.value()));
            (void)ApplyProjection(i, UpdatedPaths(u.value()));
          } else {
            Check(ItemToJson(before) == ItemToJson(i));  // failed updates change nothing
          }
        }
      }
      break;
    }
    case 3: {
      Result<std::vector<DocumentPath>> p = ParseProjection(text, attrs);
      if (p.ok()) {
        for (const Item& i : Samples()) (void)ApplyProjection(i, p.value());
      }
      break;
    }
    case 4: {
      Result<KeyCondition> kc = ParseKeyCondition(text, Schema(), attrs);
      if (kc.ok()) {
        for (const Item& i : Samples()) (void)MatchesKeyCondition(kc.value(), Schema(), i);
      }
      break;
    }
    case 5:
      FuzzItemJson(text);
      break;
    case 6:
      FuzzLegacy(text);
      break;
    default:
      FuzzNumbers(text);
      break;
  }
  (void)attrs.CheckAllUsed().ok();
  return 0;
}
