#pragma once
// Internal to the model library: the tokenizer and parser helpers shared by the expression
// parsers (condition, key condition, update, projection). Not part of the service's API.

#include <string>
#include <string_view>
#include <vector>

#include "api/dynamo/model/expression.h"

namespace amalgam::dynamo::internal {

struct Token {
  enum class Kind : uint8_t {
    kEof,
    kName,         // identifier: letters, digits, '_' (keywords are names too)
    kNameRef,      // #name
    kValueRef,     // :value
    kNumber,       // digits (list indexes)
    kLParen, kRParen, kLBracket, kRBracket, kComma, kDot,
    kEq, kNe, kLt, kLe, kGt, kGe, kPlus, kMinus,
    kInvalid,      // any other character
  };
  Kind kind = Kind::kEof;
  std::string_view text;
  size_t pos = 0;  // byte offset in the expression
};

// Splits an expression into tokens (whitespace separates, nothing else is skipped).
std::vector<Token> Tokenize(std::string_view text);

// A recursive-descent parser's cursor over the tokens, with DynamoDB's error messages.
class ParserBase {
 public:
  ParserBase(std::string_view text, ExpressionKind kind, ExpressionAttributes& attrs);

  // Length and emptiness checks every expression starts with.
  Status CheckText() const;

  const Token& Peek(size_t ahead = 0) const;
  const Token& Next();
  bool At(Token::Kind k) const { return Peek().kind == k; }
  // True (and consumes) if the current token is the keyword `kw` (case-insensitive).
  bool AcceptKeyword(std::string_view kw);
  bool AtKeyword(std::string_view kw, size_t ahead = 0) const;
  Status Expect(Token::Kind k);

  // "Invalid <kind>: Syntax error; token: "<tok>", near: "<near>"" at the current token.
  Status SyntaxError() const;
  // "Invalid <kind>: <detail>".
  Status Error(std::string detail) const;

  // path := (name | #ref) ('.' (name | #ref) | '[' number ']')*
  Result<DocumentPath> ParsePath();
  // :ref -> its value (marks it used).
  Result<AttributeValue> ParseValueRef();

  ExpressionKind kind() const { return kind_; }
  ExpressionAttributes& attrs() { return attrs_; }

  // Guards recursion (nested parentheses, NOT chains, nested functions).
  Status Enter();
  void Leave() { --depth_; }

  // Counts one operator or function (DynamoDB allows 300 per expression); fails as soon as the
  // count passes the limit, which also bounds the parser's recursion.
  Status CountOperator();

 protected:
  Result<std::string> ResolveName(const Token& t);

  std::string_view text_;
  ExpressionKind kind_;
  ExpressionAttributes& attrs_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int operators_ = 0;
};

// DynamoDB's names for types in ADD/DELETE operand messages: STRING, NUMBER, BINARY, ...
std::string_view LongTypeName(AttrType t);

}  // namespace amalgam::dynamo::internal
