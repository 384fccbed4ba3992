#pragma once
// A reader for the small TOML subset that amalgamd's --config file uses:
//
//   # comment
//   data_dir = "/var/lib/amalgam"   # basic string: escapes \" \\ \n \t \r
//   bind = '0.0.0.0'                # literal string: no escapes
//   mongo_port = 27017              # integer: optional sign, '_' between digits
//   verbose = true                  # boolean: true or false
//   [server]                        # at most one table, and it must be [server]
//
// Keys are bare (A-Z a-z 0-9 _ -). Keys before and after the [server] header form one flat set;
// a key may appear only once. Anything else (arrays, inline tables, floats, dates, dotted or
// quoted keys, multi-line strings) is rejected rather than misread.
//
// Pure functions: safe to call from any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace amalgam::server {

struct ConfigValue {
  enum class Type : uint8_t { kString, kInteger, kBool };
  Type type = Type::kString;
  std::string string_value;  // for kString
  int64_t int_value = 0;     // for kInteger
  bool bool_value = false;   // for kBool
};

// "a string", "an integer" or "a boolean", for error messages.
std::string_view ConfigTypeName(ConfigValue::Type type);

struct ConfigEntry {
  std::string key;
  ConfigValue value;
  int line = 0;  // 1-based line number in the file
};

// Parses `text`, in file order. `source` (usually the path) prefixes error messages.
// Errors: kFailedToParse, "<source>:<line>: <what is wrong>".
Result<std::vector<ConfigEntry>> ParseConfigText(std::string_view text, std::string_view source);

}  // namespace amalgam::server
