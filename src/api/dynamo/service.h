#pragma once
// DynamoService: the DynamoDB face. Takes one HTTP request of the DynamoDB JSON protocol
// (already framed by the listener, src/server/dynamo_listener.cc), checks its envelope
// (X-Amz-Target "DynamoDB_20120810.<Operation>", Content-Type application/x-amz-json-1.0 or
// 1.1, a SigV4 Authorization header, gzip/deflate Content-Encoding), runs the operation on the
// engine and produces the response body with its request id and CRC32.
//
// Tables are collections of the reserved database "dynamodb" (docs/dynamodb-mapping.md).
//
// Errors never escape as exceptions or crashes: every failure is a response. Client mistakes
// are HTTP 400 with {"__type": "<DynamoDB's namespace>#<Name>", "message": ...}; internal and
// I/O faults are HTTP 500 (InternalServerError). The namespace is the one real DynamoDB uses:
// com.amazon.coral.validate# for ValidationException, com.amazon.coral.service# for the
// protocol-level errors (UnknownOperation, Serialization, MissingAuthenticationToken,
// IncompleteSignature), com.amazonaws.dynamodb.v20120810# for the rest.
//
// Threading: Handle() may be called concurrently from any number of threads; it runs the
// request on the calling thread (no hand-off). Ownership: borrows `engine` and `clock`, which
// must outlive it.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace amalgam::engine {
class Engine;
}

namespace amalgam::api::dynamo {

struct ServiceOptions {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // What DescribeEndpoints answers ("host:port").
  std::string endpoint_address = "127.0.0.1:8000";
};

// The largest request body accepted, before and after decompression (DynamoDB's 16 MB).
inline constexpr size_t kMaxRequestBytes = 16 * 1024 * 1024;

// One request as the listener saw it. Views borrow the listener's buffers for the call.
struct HttpRequestView {
  std::string_view method;
  std::string_view path;
  std::string_view amz_target;        // X-Amz-Target
  std::string_view content_type;      // Content-Type
  std::string_view content_encoding;  // Content-Encoding
  std::string_view authorization;     // Authorization
  bool has_date = false;              // X-Amz-Date or Date present
  std::string_view amz_date;          // the X-Amz-Date value (empty when absent)
  std::string_view body;
};

struct HttpResponseOut {
  int status = 200;
  std::string_view content_type;  // static storage
  std::string body;
  std::string request_id;  // x-amzn-RequestId
  uint32_t crc32 = 0;      // x-amz-crc32 (zlib CRC-32 of body)
};

class DynamoService {
 public:
  DynamoService(engine::Engine& engine, Clock& clock, ServiceOptions options);
  ~DynamoService();
  DynamoService(const DynamoService&) = delete;
  DynamoService& operator=(const DynamoService&) = delete;

  // Answers one request (see the file comment). Never throws.
  void Handle(const HttpRequestView& request, HttpResponseOut* response);

  // Stops the background work (DescribeTable's recounts). Call once no request runs, before
  // the engine closes. Idempotent.
  void Stop();

  // The port the listener bound, for DescribeEndpoints. Call before serving.
  void SetAdvertisedAddress(std::string address);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace amalgam::api::dynamo
