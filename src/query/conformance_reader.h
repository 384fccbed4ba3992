#pragma once
// Tests only: reading the line-oriented conformance files under tests/conformance/ (projection,
// sort, aggregate): "key: value  # comment" lines; blank lines and lines starting with '#' are
// skipped. Each test binary interprets the keys itself.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace amalgam::query::testing {

inline std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

// A value without its trailing "  # comment".
inline std::string StripComment(const std::string& s) {
  size_t pos = s.find("  #");
  return Trim(pos == std::string::npos ? s : s.substr(0, pos));
}

// Calls `entry(key, value, where)` for every "key: value" line of `file`, where `where` is
// "file:line" for failure messages. A line without a colon is a test failure.
inline void ForEachEntry(const std::filesystem::path& file,
                         const std::function<void(const std::string& key, const std::string& value,
                                                  const std::string& where)>& entry) {
  std::ifstream in(file);
  EXPECT_TRUE(in.good()) << "cannot read " << file;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::string where = file.filename().string() + ":" + std::to_string(line_no);
    size_t colon = line.find(':');
    if (colon == std::string::npos) {
      ADD_FAILURE() << where << ": unrecognized line";
      continue;
    }
    entry(line.substr(0, colon), StripComment(line.substr(colon + 1)), where);
  }
}

}  // namespace amalgam::query::testing
