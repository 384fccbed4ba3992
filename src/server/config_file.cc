#include "server/config_file.h"

#include <charconv>
#include <set>
#include <utility>

namespace amalgam::server {
namespace {

// The config file is a few hundred bytes; anything huge is a mistake (a wrong path).
constexpr size_t kMaxConfigBytes = 1 << 20;

bool IsBareKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

std::string_view Trim(std::string_view s) {
  s = TrimLeft(s);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// After a value only blanks and an optional comment may follow.
bool OnlyCommentLeft(std::string_view rest) {
  rest = Trim(rest);
  return rest.empty() || rest.front() == '#';
}

class LineParser {
 public:
  LineParser(std::string_view source, int line) : source_(source), line_(line) {}

  Status Error(std::string_view what) const {
    return Status(ErrorCode::kFailedToParse,
                  std::string(source_) + ":" + std::to_string(line_) + ": " + std::string(what));
  }

  // Parses the value text (everything after '='), including any trailing comment.
  Result<ConfigValue> ParseValue(std::string_view text, std::string_view key) const {
    text = TrimLeft(text);
    if (text.empty() || text.front() == '#') return Error(std::string(key) + ": missing value");
    if (text.front() == '"') return ParseBasicString(text, key);
    if (text.front() == '\'') return ParseLiteralString(text, key);
    // A bare word: a boolean or an integer, up to blanks or a comment.
    size_t end = 0;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '#' &&
           text[end] != '\r') {
      ++end;
    }
    std::string_view word = text.substr(0, end);
    if (!OnlyCommentLeft(text.substr(end))) {
      return Error(std::string(key) + ": unexpected text after the value");
    }
    ConfigValue value;
    if (word == "true" || word == "false") {
      value.type = ConfigValue::Type::kBool;
      value.bool_value = word == "true";
      return value;
    }
    return ParseInteger(word, key);
  }

 private:
  Result<ConfigValue> ParseInteger(std::string_view word, std::string_view key) const {
    std::string digits;
    size_t i = 0;
    if (i < word.size() && (word[i] == '+' || word[i] == '-')) {
      if (word[i] == '-') digits += '-';
      ++i;
    }
    bool prev_digit = false;
    for (; i < word.size(); ++i) {
      char c = word[i];
      if (IsDigit(c)) {
        digits += c;
        prev_digit = true;
      } else if (c == '_' && prev_digit && i + 1 < word.size() && IsDigit(word[i + 1])) {
        prev_digit = false;
      } else {
        return Error(std::string(key) + ": '" + std::string(word) +
                     "' is not a string, an integer or a boolean (strings need quotes)");
      }
    }
    if (!prev_digit) {
      return Error(std::string(key) + ": '" + std::string(word) + "' is not a valid value");
    }
    ConfigValue value;
    value.type = ConfigValue::Type::kInteger;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value.int_value);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) {
      return Error(std::string(key) + ": integer '" + std::string(word) + "' is out of range");
    }
    return value;
  }

  Result<ConfigValue> ParseBasicString(std::string_view text, std::string_view key) const {
    ConfigValue value;
    std::string& out = value.string_value;
    for (size_t i = 1; i < text.size(); ++i) {
      char c = text[i];
      if (c == '"') {
        if (!OnlyCommentLeft(text.substr(i + 1))) {
          return Error(std::string(key) + ": unexpected text after the closing quote");
        }
        return value;
      }
      if (c == '\\') {
        if (++i == text.size()) break;
        switch (text[i]) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          default:
            return Error(std::string(key) + ": unsupported escape '\\" + std::string(1, text[i]) +
                         "'");
        }
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
        return Error(std::string(key) + ": control character in string");
      }
      out += c;
    }
    return Error(std::string(key) + ": string has no closing quote");
  }

  Result<ConfigValue> ParseLiteralString(std::string_view text, std::string_view key) const {
    size_t close = text.find('\'', 1);
    if (close == std::string_view::npos) {
      return Error(std::string(key) + ": string has no closing quote");
    }
    if (!OnlyCommentLeft(text.substr(close + 1))) {
      return Error(std::string(key) + ": unexpected text after the closing quote");
    }
    ConfigValue value;
    value.string_value = std::string(text.substr(1, close - 1));
    return value;
  }

  std::string_view source_;
  int line_;
};

}  // namespace

std::string_view ConfigTypeName(ConfigValue::Type type) {
  switch (type) {
    case ConfigValue::Type::kString:
      return "a string";
    case ConfigValue::Type::kInteger:
      return "an integer";
    case ConfigValue::Type::kBool:
      return "a boolean";
  }
  return "a value";
}

Result<std::vector<ConfigEntry>> ParseConfigText(std::string_view text, std::string_view source) {
  if (text.size() > kMaxConfigBytes) {
    return Status(ErrorCode::kFailedToParse, std::string(source) + ": file is larger than " +
                                                 std::to_string(kMaxConfigBytes) + " bytes");
  }
  std::vector<ConfigEntry> entries;
  std::set<std::string, std::less<>> seen;
  bool saw_table = false;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    LineParser parser(source, line_no);

    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      size_t close = line.find(']');
      if (close == std::string_view::npos || !OnlyCommentLeft(line.substr(close + 1))) {
        return parser.Error("malformed table header");
      }
      std::string_view name = Trim(line.substr(1, close - 1));
      if (name != "server") {
        return parser.Error("unknown table [" + std::string(name) + "] (only [server] is allowed)");
      }
      if (saw_table) return parser.Error("table [server] appears twice");
      saw_table = true;
      continue;
    }
    size_t key_end = 0;
    while (key_end < line.size() && IsBareKeyChar(line[key_end])) ++key_end;
    if (key_end == 0) return parser.Error("expected 'key = value'");
    std::string key(line.substr(0, key_end));
    std::string_view rest = TrimLeft(line.substr(key_end));
    if (rest.empty() || rest.front() != '=') {
      return parser.Error("expected '=' after key '" + key + "'");
    }
    if (seen.count(key) != 0) return parser.Error("key '" + key + "' appears twice");
    AMALGAM_ASSIGN_OR_RETURN(ConfigValue value, parser.ParseValue(rest.substr(1), key));
    seen.insert(key);
    entries.push_back(ConfigEntry{std::move(key), std::move(value), line_no});
  }
  return entries;
}

}  // namespace amalgam::server
