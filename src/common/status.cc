#include "common/status.h"

namespace amalgam {

Status::Status(ErrorCode code, std::string message) {
  if (code == ErrorCode::kOk) return;
  state_ = std::make_unique<State>(State{code, std::move(message)});
}

Status Status::WithContext(std::string_view prefix) const {
  if (ok()) return Status();
  std::string msg(prefix);
  msg += ": ";
  msg += state_->message;
  return Status(state_->code, std::move(msg));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(GetErrorCodeInfo(state_->code).name);
  out += ": ";
  out += state_->message;
  return out;
}

}  // namespace amalgam
