#pragma once
// DynamoDB wire JSON <-> AttributeValue / Item, over RapidJSON.
//
// API (no I/O, thread-safe):
//   ParseAttributeValue(json)  {"S": "x"} etc. -> AttributeValue, validated as DynamoDB does.
//   ParseItem(json)            {"a": {"S": "x"}, ...} -> Item (an Item, a Key, or
//                              ExpressionAttributeValues: all are maps of AttributeValue).
//   WriteAttributeValue / WriteItem: emit the wire form through a RapidJSON Writer (the caller
//                              owns the writer; these append one JSON value).
//   AttributeValueToJson / ItemToJson: the same into a std::string.
//
// Errors: ErrorCode::kFailedToParse (DynamoDB SerializationException) for JSON of the wrong shape
// (a string where a map is expected, {"N": 1}, invalid base64), ErrorCode::kBadValue (DynamoDB
// ValidationException) for values DynamoDB rejects (empty AttributeValue, more than one type,
// empty or duplicated set members, NULL not true, invalid numbers, nesting deeper than 32).
// Messages are DynamoDB's.

#include <rapidjson/fwd.h>

#include <string>

#include "api/dynamo/model/attribute_value.h"
#include "common/result.h"

namespace amalgam::dynamo {

// rapidjson::Writer<rapidjson::StringBuffer> with its default template arguments spelled out,
// so this header needs only rapidjson/fwd.h.
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<char>,
                                     rapidjson::UTF8<char>, rapidjson::CrtAllocator, 0>;

Result<AttributeValue> ParseAttributeValue(const rapidjson::Value& json);
// Also used for Key, ExpressionAttributeValues and each element of a batch.
Result<Item> ParseItem(const rapidjson::Value& json);

void WriteAttributeValue(const AttributeValue& v, JsonWriter& w);
void WriteItem(const Item& item, JsonWriter& w);

std::string AttributeValueToJson(const AttributeValue& v);
std::string ItemToJson(const Item& item);

// Convenience for tests and tools: parses JSON text, then ParseItem / ParseAttributeValue.
// Malformed JSON text is kFailedToParse.
Result<Item> ParseItemJson(std::string_view text);
Result<AttributeValue> ParseAttributeValueJson(std::string_view text);

// Base64 (RFC 4648, with padding), as DynamoDB uses for B. Decode fails (kFailedToParse, DynamoDB's
// SerializationException text) on bad length, bad characters or non-canonical trailing bits.
std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);

}  // namespace amalgam::dynamo
