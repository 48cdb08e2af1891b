-- POST /tickets/create with a fixed body, counting the purchases answered 200.
--
-- wrk -s purchase.lua URL -- <path> <body-file> <buy-seconds> <token>
--
-- wrk drops the requests still in flight when its duration ends; a purchase
-- among them would be sold by the server but never counted here, and the
-- inventory check could not be exact. So purchases are sent only for the
-- first <buy-seconds>; after that every request is a refused purchase
-- (body "{}": 400, changes nothing) until wrk stops. Each purchase asks for
-- one ticket, so "sold" must equal the number of 200 answers.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  local file = assert(io.open(args[2], "rb"))
  local body = file:read("*a")
  file:close()
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. args[4],
  }
  buy = wrk.format("POST", args[1], headers, body)
  drain = wrk.format("POST", args[1], headers, "{}")
  stop_at = now() + tonumber(args[3])
  sent, drained, ok, bad, sold_out, other = 0, 0, 0, 0, 0, 0
  -- wrk 4 calls request() once on its first thread before starting, only to
  -- check that the request parses (script_verify_request); that one is never sent.
  unsent = thread_number == 1 and 1 or 0
end

function request()
  if unsent > 0 then
    unsent = unsent - 1
    return buy
  end
  if now() < stop_at then
    sent = sent + 1
    return buy
  end
  drained = drained + 1
  return drain
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif status == 400 then
    bad = bad + 1
  elseif status == 409 then
    sold_out = sold_out + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t = { sent = 0, drained = 0, ok = 0, bad = 0, sold_out = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(t) do
      t[key] = t[key] + thread:get(key)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"sent":%d,"drained":%d,"ok":%d,"bad":%d,' ..
    '"sold_out":%d,"other":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, t.sent, t.drained, t.ok, t.bad,
    t.sold_out, t.other))
end
