#pragma once
// DynamoDB's reserved words: names that cannot appear literally in an expression (use an
// ExpressionAttributeNames placeholder instead). Thread-safe, no allocation beyond a copy.

#include <cstddef>
#include <string_view>

namespace amalgam::dynamo {

// True if `word` (any case) is one of DynamoDB's 573 reserved words.
bool IsReservedWord(std::string_view word);
size_t ReservedWordCount();

}  // namespace amalgam::dynamo
