#pragma once
// The internal error vocabulary (see error_codes.def for the table and its wire mappings).

#include <cstdint>
#include <span>
#include <string_view>

namespace amalgam {

enum class ErrorCategory : uint8_t {
  kInvalidInput,  // the request is wrong; retrying it unchanged fails again
  kNotFound,      // a named thing does not exist
  kConflict,      // the request collides with existing state or a concurrent writer
  kUnavailable,   // a limit or shutdown; may succeed later
  kIO,            // the disk failed or returned bad bytes
  kInternal,      // a bug: logged, fails one request, never the server
};

enum class ErrorCode : uint16_t {
  kOk = 0,
#define X(name, category, mongo, mongo_name, dynamo) k##name,
#include "common/error_codes.def"
#undef X
};

struct ErrorCodeInfo {
  ErrorCode code;
  std::string_view name;
  ErrorCategory category;
  int32_t mongo_code;
  std::string_view mongo_code_name;
  std::string_view dynamo_type;
};

// Returns the registry row for `code`. REQUIRES: code != kOk.
const ErrorCodeInfo& GetErrorCodeInfo(ErrorCode code);

// All registry rows, in .def order (for tests that walk every row).
std::span<const ErrorCodeInfo> AllErrorCodes();

}  // namespace amalgam
