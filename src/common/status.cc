#include "common/status.h"

namespace amalgam {

Status::Status(ErrorCode code, std::string message) {
  if (code == ErrorCode::kOk) return;
  state_ = std::make_unique<State>(State{code, std::move(message), {}});
}

Status Status::WithContext(std::string_view prefix) const {
  if (ok()) return Status();
  std::string msg(prefix);
  msg += ": ";
  msg += state_->message;
  Status out(state_->code, std::move(msg));
  out.state_->details = state_->details;
  return out;
}

Status Status::WithDetails(std::string details) const {
  if (ok()) return Status();
  Status out(state_->code, state_->message);
  out.state_->details = std::move(details);
  return out;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(GetErrorCodeInfo(state_->code).name);
  out += ": ";
  out += state_->message;
  return out;
}

}  // namespace amalgam
