-- wrk script for scripts/bench.sh dynamo: one DynamoDB operation per run, sent as the AWS SDKs
-- send it (POST /, X-Amz-Target, application/x-amz-json-1.0, X-Amz-Date and a SigV4-shaped
-- Authorization header; the servers parse it but neither verifies the signature).
-- Usage: wrk -t T -c N -d D -s dynamo.lua URL -- OP TABLE PARTITIONS LABEL CONNS
--   OP: get | put | update | query | static (a plain POST, for the nginx ceiling)
--   PARTITIONS: how many partitions preload.py wrote (keys p0..p{N-1}, sort keys 0..9)
-- done() prints one line: RESULT label op conns requests rps p50_us p99_us p999_us errors
-- Globals, not locals: done() runs in wrk's main Lua state, which never sees init()'s
-- arguments, and reads them back from the first thread with thread:get().
op, tbl, parts, label, conns = "get", "bench", 1000, "server", 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local target = {
  get = "GetItem", put = "PutItem", update = "UpdateItem", query = "Query", static = "GetItem",
}
local payload = string.rep("x", 100)
local counter = 0

function init(args)
  op = args[1] or op
  tbl = args[2] or tbl
  parts = tonumber(args[3] or parts)
  label = args[4] or label
  conns = tonumber(args[5] or "0")
  if target[op] == nil then error("dynamo.lua: unknown op " .. op) end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  wrk.method = "POST"
  wrk.path = "/"
  wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
  wrk.headers["X-Amz-Target"] = "DynamoDB_20120810." .. target[op]
  wrk.headers["X-Amz-Date"] = "20260101T000000Z"
  wrk.headers["Authorization"] =
    "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, " ..
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, " ..
    "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
end

local function key(pk, sk)
  return '{"pk":{"S":"p' .. pk .. '"},"sk":{"N":"' .. sk .. '"}}'
end

function request()
  local pk = math.random(0, parts - 1)
  local body
  if op == "get" or op == "static" then
    body = '{"TableName":"' .. tbl .. '","Key":' .. key(pk, math.random(0, 9)) .. '}'
  elseif op == "put" then
    -- New partitions above the preloaded ones, so puts do not disturb the read data.
    counter = counter + 1
    body = '{"TableName":"' .. tbl .. '","Item":{"pk":{"S":"w' .. math.random(0, 1000000000) ..
           '"},"sk":{"N":"' .. counter .. '"},"payload":{"S":"' .. payload .. '"},"n":{"N":"' ..
           counter .. '"}}}'
  elseif op == "update" then
    body = '{"TableName":"' .. tbl .. '","Key":' .. key(pk, 0) ..
           ',"UpdateExpression":"ADD #c :one","ExpressionAttributeNames":{"#c":"counter"},' ..
           '"ExpressionAttributeValues":{":one":{"N":"1"}}}'
  else  -- query: one whole partition, 10 items
    body = '{"TableName":"' .. tbl .. '","KeyConditionExpression":"pk = :p",' ..
           '"ExpressionAttributeValues":{":p":{"S":"p' .. pk .. '"}}}'
  end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.status + summary.errors.timeout
  local secs = summary.duration / 1e6
  local t = threads[1]
  label, op, conns = t:get("label"), t:get("op"), t:get("conns")
  io.write(string.format("RESULT %s %s %d %d %.0f %d %d %d %d\n", label, op,
    conns, summary.requests, summary.requests / secs,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), errors))
end
