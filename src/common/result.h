#pragma once
// Result<T>: a value or a non-OK Status, shaped like std::expected (unavailable with g++ 12 in
// C++20). Accessing value() of a failed Result is a bug and aborts.

#include <cstdlib>
#include <optional>
#include <utility>

#include "common/status.h"

namespace amalgam {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = InternalError("Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { Check(); return *value_; }
  const T& value() const& { Check(); return *value_; }
  T&& value() && { Check(); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void Check() const {
    if (!value_.has_value()) std::abort();
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace amalgam

// Evaluates `rexpr` (a Result<T>); on error returns its status, else moves the value into `lhs`.
#define AMALGAM_ASSIGN_OR_RETURN(lhs, rexpr) \
  AMALGAM_ASSIGN_OR_RETURN_IMPL_(AMALGAM_CONCAT_(_amalgam_result_, __LINE__), lhs, rexpr)
#define AMALGAM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                   \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()
