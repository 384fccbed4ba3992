#pragma once
// Regex: a compiled PCRE2 pattern with MongoDB's $regex options, matched in UTF-8 mode.
//
// Options: i (caseless), m (multiline), s (dotall), x (extended), u (UTF, always on). Compiled
// once; Matches() may be called from any number of threads at once.

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace amalgam::query {

class Regex {
 public:
  // Errors (kBadValue): an embedded NUL in the pattern, an option letter outside "imsxu", or a
  // pattern PCRE2 rejects (the message carries PCRE2's reason and offset).
  static Result<Regex> Compile(std::string_view pattern, std::string_view options);

  // True if the pattern matches anywhere in `subject`. A subject that is not valid UTF-8, or a
  // match that exceeds PCRE2's backtracking limits, does not match.
  bool Matches(std::string_view subject) const;

  const std::string& pattern() const { return pattern_; }
  const std::string& options() const { return options_; }

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

 private:
  struct Code;
  Regex() = default;
  std::string pattern_;
  std::string options_;
  std::unique_ptr<Code> code_;
};

}  // namespace amalgam::query
