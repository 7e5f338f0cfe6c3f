-- wrk script for /wechat: every request carries a fresh MsgId.
-- Plaintext: the body is built here from BENCH_PATH (signed query) and BENCH_OPENID / BENCH_CONTENT.
-- Safe mode: BENCH_REQUESTS names a file of "path<TAB>body" lines, encrypted beforehand (wrk has no AES).
local threads_seen = 0

function setup(thread)
  thread:set("thread_no", threads_seen)
  threads_seen = threads_seen + 1
end

local counter = 0
local prepared = nil
local headers = {["Content-Type"] = "text/xml"}

function init(args)
  local file = os.getenv("BENCH_REQUESTS")
  if file ~= nil and file ~= "" then
    prepared = {}
    local total = tonumber(os.getenv("BENCH_THREADS"))
    local n = 0
    for line in io.lines(file) do
      if n % total == thread_no then
        local tab = string.find(line, "\t", 1, true)
        table.insert(prepared, {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)})
      end
      n = n + 1
    end
  end
end

function request()
  counter = counter + 1
  if prepared ~= nil then
    local item = prepared[(counter - 1) % #prepared + 1]
    return wrk.format("POST", item[1], headers, item[2])
  end
  local msg_id = os.getenv("BENCH_RUN") .. thread_no .. string.format("%09d", counter)
  local body = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[" ..
    os.getenv("BENCH_OPENID") .. "]]></FromUserName><CreateTime>1700000000</CreateTime>" ..
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" .. os.getenv("BENCH_CONTENT") ..
    "]]></Content><MsgId>" .. msg_id .. "</MsgId></xml>"
  return wrk.format("POST", os.getenv("BENCH_PATH"), headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
