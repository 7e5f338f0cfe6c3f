-- wrk script for the benchmarks: POST requests prepared beforehand, or WeChat text callbacks built here.
-- BENCH_REQUESTS names a file of "path<TAB>body[<TAB>header<TAB>value]..." lines, prepared beforehand
--   (wrk has neither AES nor HMAC); each wrk thread takes every BENCH_THREADS-th line, cycling.
-- Otherwise each request is a text message with a fresh MsgId, to BENCH_PATH (a signed query), from
--   BENCH_OPENID, saying BENCH_CONTENT.
-- BENCH_CONTENT_TYPE sets the Content-Type (text/xml by default).
local threads_seen = 0

function setup(thread)
  thread:set("thread_no", threads_seen)
  threads_seen = threads_seen + 1
end

local counter = 0
local prepared = nil
local content_type = os.getenv("BENCH_CONTENT_TYPE") or "text/xml"

local function split_tabs(line)
  local fields, start = {}, 1
  while true do
    local tab = string.find(line, "\t", start, true)
    if not tab then
      table.insert(fields, string.sub(line, start))
      return fields
    end
    table.insert(fields, string.sub(line, start, tab - 1))
    start = tab + 1
  end
end

local function prepared_request(fields)
  local headers = {["Content-Type"] = content_type}
  for i = 3, #fields - 1, 2 do
    headers[fields[i]] = fields[i + 1]
  end
  return wrk.format("POST", fields[1], headers, fields[2])
end

function init(args)
  local file = os.getenv("BENCH_REQUESTS")
  if file ~= nil and file ~= "" then
    prepared = {}
    local total, n = tonumber(os.getenv("BENCH_THREADS")), 0
    for line in io.lines(file) do
      if n % total == thread_no then
        table.insert(prepared, prepared_request(split_tabs(line)))
      end
      n = n + 1
    end
  end
end

function request()
  counter = counter + 1
  if prepared ~= nil then
    return prepared[(counter - 1) % #prepared + 1]
  end
  local msg_id = os.getenv("BENCH_RUN") .. thread_no .. string.format("%09d", counter)
  local body = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[" ..
    os.getenv("BENCH_OPENID") .. "]]></FromUserName><CreateTime>1700000000</CreateTime>" ..
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" .. os.getenv("BENCH_CONTENT") ..
    "]]></Content><MsgId>" .. msg_id .. "</MsgId></xml>"
  return wrk.format("POST", os.getenv("BENCH_PATH"), {["Content-Type"] = content_type}, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
