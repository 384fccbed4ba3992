#include "query/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace amalgam::query {

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

namespace {

// One match-data block per thread: pcre2_code is shareable, match data is not. Only whether a
// match exists matters, so one ovector pair is enough.
struct ThreadMatchData {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  ~ThreadMatchData() { pcre2_match_data_free(data); }
};

}  // namespace

Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

Result<Regex> Regex::Compile(std::string_view pattern, std::string_view options) {
  if (pattern.find('\0') != std::string_view::npos) {
    return Status(ErrorCode::kBadValue, "Regular expression cannot contain an embedded null byte");
  }
  uint32_t flags = PCRE2_UTF;
  for (char c : options) {
    switch (c) {
      case 'i': flags |= PCRE2_CASELESS; break;
      case 'm': flags |= PCRE2_MULTILINE; break;
      case 's': flags |= PCRE2_DOTALL; break;
      case 'x': flags |= PCRE2_EXTENDED; break;
      case 'u': break;
      default:
        return Status(ErrorCode::kBadValue, std::string("invalid flag in regex options: ") + c);
    }
  }
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), flags,
                                   &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(error, buf, sizeof(buf));
    return Status(ErrorCode::kLocation51091, "Regular expression is invalid: " +
                                            std::string(reinterpret_cast<const char*>(buf)) +
                                            " at offset " + std::to_string(offset));
  }
  // JIT is an optimisation only: matching falls back to the interpreter if it is unavailable.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  Regex r;
  r.pattern_ = std::string(pattern);
  r.options_ = std::string(options);
  r.code_ = std::make_unique<Code>();
  r.code_->code = code;
  return r;
}

bool Regex::Matches(std::string_view subject) const {
  thread_local ThreadMatchData md;
  if (md.data == nullptr) return false;
  int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                       md.data, nullptr);
  return rc >= 0;
}

}  // namespace amalgam::query
