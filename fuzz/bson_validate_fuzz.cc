// libFuzzer target: ValidateDocument on arbitrary bytes. Whatever it accepts must be safe to
// read through every view accessor, to compare, to copy with Builder and to print as JSON.
// Any ASan/UBSan report or trap is a bug in bson/.
//
// fuzz-sources: src/common/*.cc src/bson/*.cc
// fuzz-pkgs: libbson-1.0

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "bson/builder.h"
#include "bson/compare.h"
#include "bson/json.h"
#include "bson/number.h"
#include "bson/validate.h"

namespace amalgam::bson {
namespace {

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

// Touches every byte of a span so ASan sees any read outside the input.
uint64_t Sum(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  uint64_t s = 0;
  for (size_t i = 0; i < n; ++i) s += b[i];
  return s;
}

uint64_t WalkDocument(DocView doc);

uint64_t WalkValue(const Value& v) {
  uint64_t s = Sum(v.raw().data(), v.raw().size());
  FUZZ_CHECK(CompareValues(v, v) == 0);
  switch (v.type()) {
    case BsonType::kDouble:
    case BsonType::kInt32:
    case BsonType::kInt64:
    case BsonType::kDecimal128: {
      s += static_cast<uint64_t>(v.NumberAsDouble() != 0);
      ExactNumber n = ExactFromValue(v);
      FUZZ_CHECK(CompareExact(n, n) == 0);
      if (v.type() == BsonType::kDecimal128) s += Decimal128ToString(v.AsDecimal128()).size();
      break;
    }
    case BsonType::kString:
    case BsonType::kSymbol:
    case BsonType::kCode:
      s += Sum(v.AsString().data(), v.AsString().size());
      break;
    case BsonType::kDocument:
    case BsonType::kArray:
      s += WalkDocument(v.AsDocument());
      break;
    case BsonType::kBinary:
      s += Sum(v.AsBinary().data.data(), v.AsBinary().data.size());
      break;
    case BsonType::kObjectId:
      s += Sum(v.AsObjectId().data(), 12);
      break;
    case BsonType::kBool:
      s += v.AsBool();
      break;
    case BsonType::kDate:
      s += static_cast<uint64_t>(v.AsDateMillis());
      break;
    case BsonType::kTimestamp:
      s += v.AsTimestamp().seconds + v.AsTimestamp().increment;
      break;
    case BsonType::kRegex:
      s += Sum(v.AsRegex().pattern.data(), v.AsRegex().pattern.size());
      s += Sum(v.AsRegex().options.data(), v.AsRegex().options.size());
      break;
    case BsonType::kDbPointer:
      s += Sum(v.AsDbPointer().ns.data(), v.AsDbPointer().ns.size());
      s += Sum(v.AsDbPointer().oid, 12);
      break;
    case BsonType::kCodeWithScope:
      s += Sum(v.CodeWithScopeCode().data(), v.CodeWithScopeCode().size());
      s += WalkDocument(v.CodeWithScopeScope());
      break;
    default:
      break;
  }
  return s;
}

uint64_t WalkDocument(DocView doc) {
  uint64_t s = 0;
  size_t count = 0;
  Value prev;
  for (const Element& e : doc) {
    ++count;
    s += Sum(e.name.data(), e.name.size()) + WalkValue(e.value);
    FUZZ_CHECK(!doc.Get(e.name).missing());
    if (!prev.missing()) {  // antisymmetry on neighbours
      int ab = CompareValues(prev, e.value), ba = CompareValues(e.value, prev);
      FUZZ_CHECK((ab < 0) == (ba > 0) && (ab == 0) == (ba == 0));
    }
    prev = e.value;
  }
  FUZZ_CHECK(doc.CountElements() == count);
  return s;
}

}  // namespace
}  // namespace amalgam::bson

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace amalgam::bson;
  using amalgam::Result;
  Result<DocView> r = ValidateDocument({data, size});
  ValidateOptions strict;
  strict.check_utf8 = true;
  strict.max_depth = kMaxStorageDepth;
  Result<DocView> s = ValidateDocument({data, size}, strict);
  FUZZ_CHECK(!s.ok() || r.ok());  // strict never accepts what the default rejects
  if (!r.ok()) return 0;
  // Walk an exact-size copy so ASan flags any read past the validated document itself.
  std::vector<uint8_t> copy(r->data(), r->data() + r->size());
  DocView doc(copy.data(), static_cast<uint32_t>(copy.size()));
  volatile uint64_t sink = WalkDocument(doc);
  (void)sink;
  FUZZ_CHECK(CompareDocuments(doc, doc) == 0);
  Builder b;
  b.AppendElements(doc);
  FUZZ_CHECK(std::move(b).Finish().bytes() == std::string(doc.bytes_view()));
  (void)ToJson(doc);
  (void)ToCanonicalJson(doc);
  return 0;
}
