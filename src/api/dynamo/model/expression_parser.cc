#include "api/dynamo/model/expression_parser.h"

#include <cctype>

#include "api/dynamo/model/reserved_words.h"

namespace amalgam::dynamo::internal {
namespace {

// Every valid nesting level (parenthesis, NOT, function call) carries at least one operator, so
// valid expressions stay under 301 levels; deeper input (e.g. a run of unmatched "(") is a syntax
// error, reported before the recursion can exhaust the stack.
constexpr int kMaxNesting = 320;
constexpr int kMaxOperators = 300;

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    Token t;
    t.pos = i;
    size_t len = 1;
    using K = Token::Kind;
    if (std::isdigit(static_cast<unsigned char>(c))) {
      while (i + len < text.size() && std::isdigit(static_cast<unsigned char>(text[i + len]))) ++len;
      t.kind = K::kNumber;
    } else if (IsWordChar(c)) {
      while (i + len < text.size() && IsWordChar(text[i + len])) ++len;
      t.kind = K::kName;
    } else if (c == '#' || c == ':') {
      while (i + len < text.size() && IsWordChar(text[i + len])) ++len;
      t.kind = len == 1 ? K::kInvalid : (c == '#' ? K::kNameRef : K::kValueRef);
    } else {
      char n = i + 1 < text.size() ? text[i + 1] : '\0';
      switch (c) {
        case '(': t.kind = K::kLParen; break;
        case ')': t.kind = K::kRParen; break;
        case '[': t.kind = K::kLBracket; break;
        case ']': t.kind = K::kRBracket; break;
        case ',': t.kind = K::kComma; break;
        case '.': t.kind = K::kDot; break;
        case '=': t.kind = K::kEq; break;
        case '+': t.kind = K::kPlus; break;
        case '-': t.kind = K::kMinus; break;
        case '<':
          if (n == '>') {
            t.kind = K::kNe;
            len = 2;
          } else if (n == '=') {
            t.kind = K::kLe;
            len = 2;
          } else {
            t.kind = K::kLt;
          }
          break;
        case '>':
          if (n == '=') {
            t.kind = K::kGe;
            len = 2;
          } else {
            t.kind = K::kGt;
          }
          break;
        default:
          t.kind = K::kInvalid;
          // Keep a UTF-8 sequence together so messages show the whole character.
          while (i + len < text.size() && (static_cast<unsigned char>(text[i + len]) & 0xC0) == 0x80) ++len;
          break;
      }
    }
    t.text = text.substr(i, len);
    out.push_back(t);
    i += len;
  }
  Token eof;
  eof.kind = Token::Kind::kEof;
  eof.pos = text.size();
  eof.text = text.substr(text.size());
  out.push_back(eof);
  return out;
}

ParserBase::ParserBase(std::string_view text, ExpressionKind kind, ExpressionAttributes& attrs)
    : text_(text), kind_(kind), attrs_(attrs) {
  if (text.size() <= kMaxExpressionLength) {
    tokens_ = Tokenize(text);
  } else {
    tokens_ = Tokenize("");  // CheckText() rejects it; keep Peek() valid
  }
}

Status ParserBase::CheckText() const {
  if (text_.size() > kMaxExpressionLength) {
    return Error("Expression size has exceeded the maximum allowed size; expression size: " +
                 std::to_string(text_.size()));
  }
  bool blank = true;
  for (char c : text_) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') blank = false;
  }
  if (blank) return Error("The expression can not be empty;");
  return Status::OK();
}

const Token& ParserBase::Peek(size_t ahead) const {
  size_t i = pos_ + ahead;
  return i < tokens_.size() ? tokens_[i] : tokens_.back();
}

const Token& ParserBase::Next() {
  const Token& t = Peek();
  if (pos_ + 1 < tokens_.size()) ++pos_;
  return t;
}

bool ParserBase::AtKeyword(std::string_view kw, size_t ahead) const {
  const Token& t = Peek(ahead);
  if (t.kind != Token::Kind::kName || t.text.size() != kw.size()) return false;
  for (size_t i = 0; i < kw.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(t.text[i])) != kw[i]) return false;
  }
  return true;
}

bool ParserBase::AcceptKeyword(std::string_view kw) {
  if (!AtKeyword(kw)) return false;
  Next();
  return true;
}

Status ParserBase::Expect(Token::Kind k) {
  if (!At(k)) return SyntaxError();
  Next();
  return Status::OK();
}

Status ParserBase::Error(std::string detail) const {
  return Status(ErrorCode::kBadValue,
                "Invalid " + std::string(ExpressionKindName(kind_)) + ": " + std::move(detail));
}

Status ParserBase::SyntaxError() const {
  const Token& cur = Peek();
  std::string token = cur.kind == Token::Kind::kEof ? "<EOF>" : std::string(cur.text);
  size_t begin = pos_ > 0 ? tokens_[pos_ - 1].pos : cur.pos;
  const Token& after = cur.kind == Token::Kind::kEof ? cur : Peek(1);
  size_t end = after.pos + after.text.size();
  std::string near(text_.substr(begin, end - begin));
  return Error("Syntax error; token: \"" + token + "\", near: \"" + near + "\"");
}

Status ParserBase::Enter() {
  if (++depth_ > kMaxNesting) {
    --depth_;
    return SyntaxError();
  }
  return Status::OK();
}

Status ParserBase::CountOperator() {
  if (++operators_ > kMaxOperators) {
    return Error("The expression contains too many operators; operator count: " +
                 std::to_string(operators_));
  }
  return Status::OK();
}

Result<std::string> ParserBase::ResolveName(const Token& t) {
  if (t.kind == Token::Kind::kNameRef) {
    const std::string* n = attrs_.Name(t.text);
    if (!n) {
      return Error(
          "An expression attribute name used in the document path is not defined; attribute "
          "name: " +
          std::string(t.text));
    }
    return *n;
  }
  if (t.kind == Token::Kind::kName) {
    if (IsReservedWord(t.text)) {
      return Error("Attribute name is a reserved keyword; reserved keyword: " + std::string(t.text));
    }
    return std::string(t.text);
  }
  return SyntaxError();
}

Result<DocumentPath> ParserBase::ParsePath() {
  DocumentPath path;
  if (!At(Token::Kind::kName) && !At(Token::Kind::kNameRef)) return SyntaxError();
  AMALGAM_ASSIGN_OR_RETURN(std::string first, ResolveName(Peek()));
  Next();
  path.push_back(PathElement::Name(std::move(first)));
  while (true) {
    if (At(Token::Kind::kDot)) {
      Next();
      if (!At(Token::Kind::kName) && !At(Token::Kind::kNameRef)) return SyntaxError();
      AMALGAM_ASSIGN_OR_RETURN(std::string n, ResolveName(Peek()));
      Next();
      path.push_back(PathElement::Name(std::move(n)));
    } else if (At(Token::Kind::kLBracket)) {
      Next();
      if (!At(Token::Kind::kNumber)) return SyntaxError();
      std::string_view digits = Peek().text;
      uint64_t v = 0;
      for (char c : digits) {
        v = v * 10 + static_cast<uint64_t>(c - '0');
        if (v > 0x7fffffff) return Error("List index is too large; index: " + std::string(digits));
      }
      Next();
      AMALGAM_RETURN_IF_ERROR(Expect(Token::Kind::kRBracket));
      path.push_back(PathElement::Index(static_cast<uint32_t>(v)));
    } else {
      break;
    }
    if (path.size() > kMaxPathDepth) {
      return Error("The document path has too many nesting levels; nesting levels: " +
                   std::to_string(path.size()));
    }
  }
  return path;
}

Result<AttributeValue> ParserBase::ParseValueRef() {
  if (!At(Token::Kind::kValueRef)) return SyntaxError();
  const AttributeValue* v = attrs_.Value(Peek().text);
  if (!v) {
    return Error("An expression attribute value used in expression is not defined; attribute value: " +
                 std::string(Peek().text));
  }
  Next();
  return *v;
}

std::string_view LongTypeName(AttrType t) {
  switch (t) {
    case AttrType::kS: return "STRING";
    case AttrType::kN: return "NUMBER";
    case AttrType::kB: return "BINARY";
    case AttrType::kBool: return "BOOLEAN";
    case AttrType::kNull: return "NULL";
    case AttrType::kM: return "MAP";
    case AttrType::kL: return "LIST";
    case AttrType::kSS: return "STRING_SET";
    case AttrType::kNS: return "NUMBER_SET";
    case AttrType::kBS: return "BINARY_SET";
  }
  return "";
}

}  // namespace amalgam::dynamo::internal
