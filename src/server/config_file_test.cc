#include "server/config_file.h"

#include <gtest/gtest.h>

namespace amalgam::server {
namespace {

using Type = ConfigValue::Type;

TEST(ConfigFileTest, ParsesStringsIntegersBoolsAndComments) {
  Result<std::vector<ConfigEntry>> r = ParseConfigText(
      "# leading comment\n"
      "\n"
      "a = \"x # not a comment\"  # a comment\n"
      "b='C:\\path'\r\n"
      "[server]\n"
      "  c = -42\n"
      "d = +1_000_000\n"
      "e = true\n"
      "f = false # off\n"
      "g = \"esc \\\" \\\\ \\n \\t\"\n",
      "t.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::vector<ConfigEntry>& e = *r;
  ASSERT_EQ(e.size(), 7u);
  EXPECT_EQ(e[0].key, "a");
  EXPECT_EQ(e[0].value.type, Type::kString);
  EXPECT_EQ(e[0].value.string_value, "x # not a comment");
  EXPECT_EQ(e[0].line, 3);
  EXPECT_EQ(e[1].value.string_value, "C:\\path");
  EXPECT_EQ(e[2].value.type, Type::kInteger);
  EXPECT_EQ(e[2].value.int_value, -42);
  EXPECT_EQ(e[2].line, 6);
  EXPECT_EQ(e[3].value.int_value, 1000000);
  EXPECT_EQ(e[4].value.type, Type::kBool);
  EXPECT_TRUE(e[4].value.bool_value);
  EXPECT_FALSE(e[5].value.bool_value);
  EXPECT_EQ(e[6].value.string_value, "esc \" \\ \n \t");
}

TEST(ConfigFileTest, EmptyFileHasNoEntries) {
  Result<std::vector<ConfigEntry>> r = ParseConfigText("", "t.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(ConfigFileTest, RejectsWhatItDoesNotUnderstand) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"a = 1\nb\n", "t.toml:2: expected '=' after key 'b'"},
      {"= 1\n", "t.toml:1: expected 'key = value'"},
      {"a =\n", "t.toml:1: a: missing value"},
      {"a = # nothing\n", "t.toml:1: a: missing value"},
      {"a = 1\na = 2\n", "t.toml:2: key 'a' appears twice"},
      {"[other]\n", "t.toml:1: unknown table [other] (only [server] is allowed)"},
      {"[server]\n[server]\n", "t.toml:2: table [server] appears twice"},
      {"[server\n", "t.toml:1: malformed table header"},
      {"a = \"open\n", "t.toml:1: a: string has no closing quote"},
      {"a = 'open\n", "t.toml:1: a: string has no closing quote"},
      {"a = \"x\" y\n", "t.toml:1: a: unexpected text after the closing quote"},
      {"a = \"\\q\"\n", "t.toml:1: a: unsupported escape '\\q'"},
      {"a = word\n",
       "t.toml:1: a: 'word' is not a string, an integer or a boolean (strings need "
       "quotes)"},
      {"a = 1.5\n",
       "t.toml:1: a: '1.5' is not a string, an integer or a boolean (strings need "
       "quotes)"},
      {"a = [1]\n",
       "t.toml:1: a: '[1]' is not a string, an integer or a boolean (strings need "
       "quotes)"},
      {"a = 1__0\n",
       "t.toml:1: a: '1__0' is not a string, an integer or a boolean (strings need "
       "quotes)"},
      {"a = -\n", "t.toml:1: a: '-' is not a valid value"},
      {"a = 1 2\n", "t.toml:1: a: unexpected text after the value"},
      {"a = 99999999999999999999\n", "t.toml:1: a: integer '99999999999999999999' is out of range"},
      {"a.b = 1\n", "t.toml:1: expected '=' after key 'a'"},
  };
  for (const auto& [text, message] : cases) {
    SCOPED_TRACE(text);
    Result<std::vector<ConfigEntry>> r = ParseConfigText(text, "t.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kFailedToParse);
    EXPECT_EQ(r.status().message(), message);
  }
}

TEST(ConfigFileTest, RejectsHugeFiles) {
  std::string text(2 << 20, '#');
  EXPECT_FALSE(ParseConfigText(text, "t.toml").ok());
}

}  // namespace
}  // namespace amalgam::server
