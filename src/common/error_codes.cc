#include "common/error_codes.h"

#include <array>

namespace amalgam {
namespace {

constexpr ErrorCodeInfo kRows[] = {
#define X(name, category, mongo, mongo_name, dynamo) \
  {ErrorCode::k##name, #name, ErrorCategory::category, mongo, mongo_name, dynamo},
#include "common/error_codes.def"
#undef X
};

}  // namespace

const ErrorCodeInfo& GetErrorCodeInfo(ErrorCode code) {
  size_t i = static_cast<size_t>(code);
  if (i == 0 || i > std::size(kRows)) return kRows[0];  // InternalError
  return kRows[i - 1];
}

std::span<const ErrorCodeInfo> AllErrorCodes() { return kRows; }

}  // namespace amalgam
