#pragma once
// Status: the outcome of an operation that can fail with an expected error.
//
// An OK status is a null pointer, so returning success costs nothing. A failed status owns a
// heap-allocated (code, message) pair. Statuses are values: copy and move freely. Thread-safe as
// values (no shared mutable state).

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/error_codes.h"

namespace amalgam {

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message);

  static Status OK() { return Status(); }

  Status(const Status& other) : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  bool ok() const { return state_ == nullptr; }
  ErrorCode code() const { return state_ ? state_->code : ErrorCode::kOk; }
  // Empty for OK.
  std::string_view message() const { return state_ ? std::string_view(state_->message) : ""; }
  ErrorCategory category() const { return GetErrorCodeInfo(code()).category; }

  // Returns a copy whose message is "<prefix>: <message>". OK stays OK.
  Status WithContext(std::string_view prefix) const;

  // Structured detail for the client, as the bytes of a BSON document whose fields the API
  // faces add to the error they send (e.g. keyPattern and keyValue of a duplicate key).
  // Empty when there is none.
  std::string_view details() const { return state_ ? std::string_view(state_->details) : ""; }
  // Returns a copy carrying `details` (REQUIRES: BSON document bytes). OK stays OK.
  Status WithDetails(std::string details) const;

  // "OK" or "<CodeName>: <message>", for logs and test failures.
  std::string ToString() const;

  // Marks a deliberately ignored error at the call site.
  void IgnoreError() const {}

 private:
  struct State {
    ErrorCode code;
    std::string message;
    std::string details;
  };
  std::unique_ptr<State> state_;
};

// Shorthands for the codes used most often.
inline Status InvalidArgument(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }
inline Status InternalError(std::string msg) { return Status(ErrorCode::kInternalError, std::move(msg)); }
inline Status IOError(std::string msg) { return Status(ErrorCode::kIOError, std::move(msg)); }
inline Status NotFound(ErrorCode code, std::string msg) { return Status(code, std::move(msg)); }

}  // namespace amalgam

#define AMALGAM_CONCAT_INNER_(a, b) a##b
#define AMALGAM_CONCAT_(a, b) AMALGAM_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define AMALGAM_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::amalgam::Status _amalgam_status = (expr);        \
    if (!_amalgam_status.ok()) return _amalgam_status; \
  } while (0)
