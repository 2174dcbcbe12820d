-- One benchmark case per run (bench/run runs them all and prints the table):
--   <vm> bench/cases.lua CASE N URL
-- Prints "RESULT case vm events seconds peak_rss_kb [extra]". Every case builds each event
-- fresh, as a user's code would: a 10-field web-log event of about 266 bytes of NDJSON.
local CASE, N, URL = arg[1], tonumber(arg[2]), arg[3]
local TOKEN = os.getenv("AXIOM_DEV_TOKEN") or "xaat-axiom-dev-token"
local DS = "bench"
local hrtime = require "hrtime"
local now = hrtime.now
local concat, format, floor = table.concat, string.format, math.floor

local VM = jit and "luajit" or _VERSION:gsub("Lua ", "lua")
local METHODS = { "GET", "GET", "GET", "POST", "PUT", "DELETE" }
local STATUS = { 200, 200, 200, 201, 204, 301, 404, 500 }
local AGENT = "Mozilla/5.0 (X11; Linux) Firefox/126.0"

local function make(i)
  return {
    _time = "2026-12-03T10:00:00Z",
    method = METHODS[i % 6 + 1],
    path = "/api/v1/items/" .. (i % 9973),
    status = STATUS[i % 8 + 1],
    bytes = 512 + (i * 7919) % 65536,
    duration_ms = (i % 10007) / 8,
    remote_addr = "10.0." .. (i % 256) .. "." .. (i * 31 % 256),
    user_agent = AGENT,
    referer = "https://example.com/page/" .. (i % 101),
    request_id = format("%08x-%03x", i, i % 4096),
  }
end

local function peak_rss_kb()
  local f = io.open("/proc/self/status")
  local kb = f and f:read("*a"):match("VmHWM:%s*(%d+)")
  if f then f:close() end
  return tonumber(kb) or 0
end

local function report(name, seconds, extra)
  io.write(format("RESULT %s %s %d %.4f %d %s\n", name, VM, N, seconds, peak_rss_kb(), extra or ""))
end

local BATCH = 1000
local cases = {}

-- 1. The ceiling: build and encode with lua-cjson, table.concat per 1,000; no I/O.
function cases.ceiling()
  local cjson = require "cjson"
  local encode = cjson.encode
  local t0 = now()
  local bytes = 0
  for base = 0, N - 1, BATCH do
    local lines = {}
    for j = 1, BATCH do lines[j] = encode(make(base + j)) end
    bytes = bytes + #concat(lines, "\n")
  end
  report("ceiling", now() - t0, format("avg_bytes=%.0f", bytes / N))
end

local function client()
  local axiom = require "axiom"
  return assert(axiom.new { url = URL, token = TOKEN })
end

-- 2a. lua-axiom, synchronous: client:ingest per 1,000 events, zstd.
function cases.ingest()
  local c = client()
  local t0 = now()
  for base = 0, N - 1, BATCH do
    local events = {}
    for j = 1, BATCH do events[j] = make(base + j) end
    assert(c:ingest(DS, events))
  end
  report("ingest", now() - t0)
end

-- 2b. lua-axiom, background: add() loop, then close() (which waits for delivery), zstd.
function cases.batcher()
  local c = client()
  local b = assert(c:batcher(DS))
  local t0 = now()
  for i = 1, N do b:add(make(i)) end
  local added = now() - t0
  b:close(300)
  local st = b:stats()
  assert(st.dropped.total == 0 and st.queue_events == 0 and st.batches == N / BATCH,
    "batcher: not everything was delivered")
  report("batcher", now() - t0, format("add_loop=%.3fs ndjson_bytes=%.0f zstd_ratio=%.1f", added,
    st.bytes_raw / N, st.bytes_raw / st.bytes_sent))
end

local function cjson_body(cjson, base)
  local lines = {}
  for j = 1, BATCH do lines[j] = cjson.encode(make(base + j)) end
  return concat(lines, "\n")
end

-- 3a. luasocket's socket.http + cjson, one POST per 1,000, no compression.
function cases.luasocket()
  local cjson = require "cjson"
  local http = require "socket.http"
  local ltn12 = require "ltn12"
  local target = URL .. "/v1/datasets/" .. DS .. "/ingest"
  local t0 = now()
  for base = 0, N - 1, BATCH do
    local body = cjson_body(cjson, base)
    local sink = {}
    local _, code = http.request {
      url = target, method = "POST", source = ltn12.source.string(body), sink = ltn12.sink.table(sink),
      headers = { ["Authorization"] = "Bearer " .. TOKEN, ["Content-Type"] = "application/x-ndjson",
                  ["Content-Length"] = tostring(#body) },
    }
    assert(code == 200, "luasocket: HTTP " .. tostring(code))
  end
  report("luasocket", now() - t0)
end

-- 3b. Debian's lua-curl (luacurl, 5.1 ABI) with one reused easy handle + cjson, no
-- compression. FAILONERROR turns an HTTP error into a failed perform().
function cases.luacurl()
  local cjson = require "cjson"
  local curl = require "curl"
  local easy = curl.easy_init()
  easy:setopt(curl.OPT_URL, URL .. "/v1/datasets/" .. DS .. "/ingest")
  easy:setopt(curl.OPT_HTTPHEADER, { "Authorization: Bearer " .. TOKEN,
    "Content-Type: application/x-ndjson", "Expect:" })
  easy:setopt(curl.OPT_FAILONERROR, 1)
  easy:setopt(curl.OPT_WRITEFUNCTION, function(_, n) return n end)
  local t0 = now()
  for base = 0, N - 1, BATCH do
    easy:setopt(curl.OPT_POSTFIELDS, cjson_body(cjson, base))
    assert(easy:perform())
  end
  report("luacurl", now() - t0)
end

-- add() latency while the server delays every request by 500 ms (scripted by bench/run).
-- Event construction is outside the timed span; the clock's own cost is subtracted.
function cases.latency()
  local c = client()
  local b = assert(c:batcher(DS))
  local samples = {}
  local overhead = {}
  for k = 1, 10000 do local a = now(); overhead[k] = now() - a end
  table.sort(overhead)
  local clock_cost = overhead[5000]
  local t0 = now()
  for i = 1, N do
    local ev = make(i)
    local a = now()
    b:add(ev)
    samples[i] = now() - a - clock_cost
  end
  local spent = now() - t0
  table.sort(samples)
  local median, p99 = samples[floor(N / 2)], samples[floor(N * 0.99)]
  local st = b:stats()
  b:close(0)
  report("latency", spent, format("median_us=%.3f p99_us=%.3f delivered=%d queued=%d",
    median * 1e6, p99 * 1e6, st.sent, st.queue_events))
end

assert(cases[CASE], "unknown case " .. tostring(CASE))()
