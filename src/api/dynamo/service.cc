#include "api/dynamo/service.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <map>
#include <exception>
#include <random>

#include "api/dynamo/service_internal.h"
#include "api/dynamo/streams_ops.h"
#include "api/dynamo/vector.h"
#include "common/logging.h"

namespace amalgam::api::dynamo {

namespace {

constexpr std::string_view kTargetPrefix = "DynamoDB_20120810.";
constexpr std::string_view kStreamsPrefix = "DynamoDBStreams_20120810.";
constexpr std::string_view kJson10 = "application/x-amz-json-1.0";
constexpr std::string_view kJson11 = "application/x-amz-json-1.1";

struct OpEntry {
  std::string_view name;
  OpHandler handler;
};

constexpr OpEntry kOps[] = {
    {"CreateTable", CreateTable},
    {"DescribeTable", DescribeTable},
    {"ListTables", ListTables},
    {"UpdateTable", UpdateTable},
    {"DeleteTable", DeleteTable},
    {"DescribeEndpoints", DescribeEndpoints},
    {"DescribeLimits", DescribeLimits},
    {"TagResource", TagResource},
    {"UntagResource", UntagResource},
    {"ListTagsOfResource", ListTagsOfResource},
    {"UpdateTimeToLive", UpdateTimeToLive},
    {"DescribeTimeToLive", DescribeTimeToLive},
    {"DescribeContinuousBackups", DescribeContinuousBackups},
    {"PutItem", PutItem},
    {"GetItem", GetItem},
    {"UpdateItem", UpdateItem},
    {"DeleteItem", DeleteItem},
    {"Query", Query},
    {"Scan", Scan},
    {"BatchGetItem", BatchGetItem},
    {"BatchWriteItem", BatchWriteItem},
    {"TransactGetItems", TransactGetItems},
    {"TransactWriteItems", TransactWriteItems},
    {"SearchVectors", SearchVectors},
};

// DynamoDB Streams (streams_ops.h), on the same port under their own target prefix.
constexpr OpEntry kStreamOps[] = {
    {"ListStreams", ListStreams},
    {"DescribeStream", DescribeStream},
    {"GetShardIterator", GetShardIterator},
    {"GetRecords", GetRecords},
};

OpHandler FindOp(std::string_view name) {
  for (const OpEntry& e : kOps) {
    if (e.name == name) return e.handler;
  }
  return nullptr;
}

// DynamoDB's namespace for each error type (see service.h).
std::string_view TypePrefix(std::string_view type) {
  if (type == "ValidationException") return "com.amazon.coral.validate#";
  if (type == "UnknownOperationException" || type == "SerializationException" ||
      type == "MissingAuthenticationTokenException" || type == "IncompleteSignatureException" ||
      type == "RequestEntityTooLarge" || type == "AccessDeniedException") {
    return "com.amazon.coral.service#";
  }
  return "com.amazonaws.dynamodb.v20120810#";
}

void AppendJsonString(std::string* out, std::string_view s) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  WriteString(w, s);
  out->append(sb.GetString(), sb.GetSize());
}

std::string ErrorBody(std::string_view type, std::string_view message, std::string_view extra) {
  std::string body = "{\"__type\":\"";
  body += TypePrefix(type);
  body += type;
  body += "\",\"message\":";
  AppendJsonString(&body, message);
  if (!extra.empty()) {
    body += ',';
    body += extra;
  }
  body += '}';
  return body;
}

// A 52-character request id like DynamoDB's (upper-case letters and digits).
std::string NewRequestId() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::string id(52, 'A');
  uint64_t bits = 0;
  int left = 0;
  for (char& c : id) {
    if (left == 0) {
      bits = rng();
      left = 10;
    }
    c = kAlphabet[(bits & 63) % 36];
    bits >>= 6;
    --left;
  }
  return id;
}

// Decompresses a gzip or zlib/raw deflate body. Errors: kFailedToParse for corrupt data,
// kRequestTooLarge past kMaxRequestBytes.
Result<std::string> Inflate(std::string_view in, bool gzip) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    // gzip: 16+15 (gzip only); deflate: 15 (zlib wrapper), then -15 (raw deflate).
    int window_bits = gzip ? 31 : (attempt == 0 ? 15 : -15);
    z_stream zs{};
    if (inflateInit2(&zs, window_bits) != Z_OK) return InternalError("inflateInit2 failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    std::string out;
    std::array<char, 64 * 1024> chunk;
    int rc = Z_OK;
    while (rc == Z_OK) {
      zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
      zs.avail_out = chunk.size();
      rc = inflate(&zs, Z_NO_FLUSH);
      out.append(chunk.data(), chunk.size() - zs.avail_out);
      if (out.size() > kMaxRequestBytes) {
        inflateEnd(&zs);
        return Status(ErrorCode::kRequestTooLarge, "Request size exceeded 16777216 bytes");
      }
      if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // truncated input
    }
    inflateEnd(&zs);
    if (rc == Z_STREAM_END) return out;
    if (gzip) break;
  }
  return Status(ErrorCode::kFailedToParse, "Could not decompress the request body");
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses (without verifying) a SigV4 Authorization header, as DynamoDB does before it checks
// the signature: "AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request,
// SignedHeaders=<h1;h2>, Signature=<hex>" plus an X-Amz-Date or Date header. Errors:
// kMissingAuthenticationToken (no header), kIncompleteSignature (anything malformed), with the
// messages AWS gives.
Status CheckAuthorization(const HttpRequestView& req) {
  if (Trim(req.authorization).empty()) {
    return Status(ErrorCode::kMissingAuthenticationToken, "Request is missing Authentication Token");
  }
  std::string_view auth = Trim(req.authorization);
  size_t space = auth.find(' ');
  std::string_view scheme = auth.substr(0, space);
  std::string_view rest = space == std::string_view::npos ? std::string_view() : auth.substr(space + 1);
  const std::string quoted = "Authorization=" + std::string(auth);
  if (scheme.substr(0, 5) == "AWS4-" && scheme != "AWS4-HMAC-SHA256") {
    return Status(ErrorCode::kIncompleteSignature, "Unsupported AWS 'algorithm': '" + std::string(scheme) + "'");
  }
  std::map<std::string_view, std::string_view> params;
  if (scheme == "AWS4-HMAC-SHA256") {
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view part = Trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (part.empty()) continue;
      size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        return Status(ErrorCode::kIncompleteSignature,
                      "Invalid key=value pair (missing equal-sign) in Authorization header: '" + std::string(part) +
                          "'. " + quoted);
      }
      params.emplace(Trim(part.substr(0, eq)), Trim(part.substr(eq + 1)));
    }
  }
  std::string missing;
  for (std::string_view name : {"Credential", "Signature", "SignedHeaders"}) {
    auto it = params.find(name);
    if (it == params.end() || it->second.empty()) {
      missing += "Authorization header requires '" + std::string(name) + "' parameter. ";
    }
  }
  if (!req.has_date) {
    missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (!missing.empty()) return Status(ErrorCode::kIncompleteSignature, missing + quoted);
  std::string_view credential = params["Credential"];
  size_t slashes = std::count(credential.begin(), credential.end(), '/');
  bool empty_element = credential.front() == '/' || credential.back() == '/' ||
                       credential.find("//") != std::string_view::npos;
  if (slashes != 4 || empty_element) {
    return Status(ErrorCode::kIncompleteSignature,
                  "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" +
                      std::string(credential) + "'");
  }
  // SigV4 signs X-Amz-Date in ISO 8601 basic format (20261124T043000Z); AWS rejects any other.
  if (!req.amz_date.empty()) {
    std::string_view d = req.amz_date;
    bool basic = d.size() == 16 && d[8] == 'T' && d[15] == 'Z';
    for (size_t i = 0; basic && i < 15; ++i) basic = i == 8 || (d[i] >= '0' && d[i] <= '9');
    if (!basic) {
      return Status(ErrorCode::kIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '" + std::string(d) +
                                                         "'. See http://en.wikipedia.org/wiki/ISO_8601");
    }
  }
  return Status::OK();
}

void Finish(HttpResponseOut* out) {
  out->crc32 = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(out->body.data()), static_cast<uInt>(out->body.size())));
}

void SetError(HttpResponseOut* out, const Status& status, std::string_view extra = {}) {
  const ErrorCodeInfo& info = GetErrorCodeInfo(status.code());
  bool internal = info.category == ErrorCategory::kInternal || info.category == ErrorCategory::kIO;
  out->status = internal ? 500 : (status.code() == ErrorCode::kRequestTooLarge ? 413 : 400);
  if (internal) {
    AMALGAM_LOG(kError, "dynamo") << "internal error: " << status.ToString();
    out->body = ErrorBody(info.dynamo_type, "Internal server error", {});
  } else {
    out->body = ErrorBody(info.dynamo_type, status.message(), extra);
  }
}

}  // namespace

DynamoService::DynamoService(engine::Engine& engine, Clock& clock, ServiceOptions options)
    : state_(std::make_unique<State>(engine, clock, std::move(options))) {}

DynamoService::~DynamoService() = default;

void DynamoService::Stop() { state_->stats.Stop(); }

void DynamoService::SetAdvertisedAddress(std::string address) {
  state_->options.endpoint_address = std::move(address);
}

void DynamoService::Handle(const HttpRequestView& req, HttpResponseOut* out) {
  out->request_id = NewRequestId();
  out->content_type = req.content_type == kJson11 ? kJson11 : kJson10;
  out->status = 200;
  out->body.clear();
  if (req.method == "GET" && (req.path == "/" || req.path.empty())) {
    // DynamoDB answers a plain GET with a health line; load balancers probe it.
    out->content_type = "text/plain";
    out->body = "healthy: dynamodb." + state_->options.region + ".amazonaws.com ";
    Finish(out);
    return;
  }
  if (req.method != "POST") {
    SetError(out, Status(ErrorCode::kCommandNotFound, "Only POST requests are supported"));
    Finish(out);
    return;
  }
  std::string_view op_name;
  if (req.amz_target.substr(0, kTargetPrefix.size()) == kTargetPrefix) {
    op_name = req.amz_target.substr(kTargetPrefix.size());
  }
  OpHandler handler = op_name.empty() ? nullptr : FindOp(op_name);
  if (req.amz_target.substr(0, kStreamsPrefix.size()) == kStreamsPrefix) {
    for (const OpEntry& e : kStreamOps) {
      if (e.name == req.amz_target.substr(kStreamsPrefix.size())) handler = e.handler;
    }
  }
  if (handler == nullptr) {
    SetError(out, Status(ErrorCode::kCommandNotFound,
                         req.amz_target.empty() ? std::string("Missing X-Amz-Target header")
                                                : "Unknown operation: " + std::string(req.amz_target)));
    Finish(out);
    return;
  }
  std::string_view ctype = req.content_type.substr(0, req.content_type.find(';'));
  if (ctype != kJson10 && ctype != kJson11 && ctype != "application/json") {
    SetError(out, Status(ErrorCode::kCommandNotFound,
                         "Unsupported Content-Type '" + std::string(req.content_type) +
                             "': expected application/x-amz-json-1.0"));
    Finish(out);
    return;
  }
  if (Status s = CheckAuthorization(req); !s.ok()) {
    SetError(out, s);
    Finish(out);
    return;
  }
  std::string_view body = req.body;
  std::string inflated;
  if (req.content_encoding == "gzip" || req.content_encoding == "deflate" ||
      req.content_encoding == "x-gzip") {
    Result<std::string> r = Inflate(body, req.content_encoding != "deflate");
    if (!r.ok()) {
      SetError(out, r.status());
      Finish(out);
      return;
    }
    inflated = std::move(r).value();
    body = inflated;
  }
  if (body.size() > kMaxRequestBytes) {
    SetError(out, Status(ErrorCode::kRequestTooLarge, "Request size exceeded 16777216 bytes"));
    Finish(out);
    return;
  }
  JsonDocument doc;
  if (Status s = ParseJsonBody(body.empty() ? std::string_view("{}") : body, &doc); !s.ok()) {
    SetError(out, s);
    Finish(out);
    return;
  }
  rapidjson::StringBuffer sb;
  JsonWriter writer(sb);
  OpContext ctx{*state_, Params(doc), writer, {}, body};
  Status status;
  try {
    status = handler(ctx);
  } catch (const std::exception& e) {
    status = InternalError(std::string("exception in ") + std::string(op_name) + ": " + e.what());
  }
  if (!status.ok()) {
    SetError(out, status, ctx.error_extra);
  } else {
    out->body.assign(sb.GetString(), sb.GetSize());
  }
  Finish(out);
}

Result<Table> TableCache::Open(engine::Engine& engine, std::string_view name, bool detailed) {
  engine::HandlePtr handle = name.empty() ? nullptr : engine.Find(kDynamoDb, name);
  std::shared_ptr<const TableMeta> meta;
  if (handle != nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(handle->info->id);
    if (it != entries_.end() && it->second.info == handle->info) {
      meta = it->second.meta;
    } else {
      AMALGAM_ASSIGN_OR_RETURN(std::optional<TableMeta> decoded, DecodeTableMeta(handle->info->options.view()));
      if (decoded) meta = std::make_shared<const TableMeta>(std::move(*decoded));
      entries_[handle->info->id] = Entry{handle->info, meta};
    }
  }
  if (meta == nullptr) {
    std::string msg = "Requested resource not found";
    if (detailed) msg += ": Table: " + std::string(name) + " not found";
    return Status(ErrorCode::kNamespaceNotFound, std::move(msg));
  }
  return Table{std::move(handle), std::move(meta)};
}

void TableCache::Forget(uint64_t collection_id) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(collection_id);
}

std::string TableArn(const DynamoService::State& state, std::string_view table) {
  return "arn:aws:dynamodb:" + state.options.region + ":" + state.options.account_id + ":table/" +
         std::string(table);
}

double NowSeconds(const DynamoService::State& state) {
  return static_cast<double>(state.clock.NowMillis()) / 1000.0;
}

}  // namespace amalgam::api::dynamo
