--- Background batching: `client:batcher(dataset, opts)`. Policy lives here — options, the
-- ingest URL and headers, stats, on_error — and the mechanism in the C core's sender: a bounded
-- queue of NDJSON batches and a thread with its own libcurl handle that compresses, POSTs,
-- retries, splits and spools them. Lua hands it bytes; it never calls back into Lua.
local core = require "axiom.core"
local client = require "axiom.client"
local errors = require "axiom.errors"
local ingest = require "axiom.ingest"
local json = require "axiom.json"
local url = require "axiom.url"

local type, pairs, pcall, tostring, setmetatable, open =
  type, pairs, pcall, tostring, setmetatable, io.open
local format = string.format

local M = { _VERSION = "0.1.0" }

M.DEFAULTS = {
  max_events = 1000, max_bytes = 1048576, interval = 1.0, max_buffer_bytes = 64 * 1048576,
  overflow = "drop_oldest", encoding = "zstd", max_retry_time = 60, close_timeout = 5,
  retry_initial = 0.2, retry_max = 10,
}
M.MAX_EVENTS = 10000

-- option -> expected type; the ingest options among them are checked by axiom.ingest.
local OPTIONS = {
  max_events = "number", max_bytes = "number", interval = "number",
  max_buffer_bytes = "number", overflow = "string", max_retry_time = "number",
  retry_initial = "number", retry_max = "number", close_timeout = "number",
  on_error = "function", spool_dir = "string", compression_level = "number",
  encoding = "string", labels = "table", timestamp_field = "string", timestamp_format = "string",
}
local INGEST_OPTIONS = { encoding = true, labels = true, timestamp_field = true, timestamp_format = true }

local Batcher = {}
Batcher.__index = Batcher
Batcher.__name = "axiom.batcher"
M.Batcher = Batcher

-- Raises at the user's line (errors.misuse skips the library's own frames).
local function misuse(msg) errors.misuse("batcher: " .. msg) end

local function number_in(opts, name, lo, hi, whole)
  local v = opts[name]
  if v == nil then return end
  if not (v >= lo and v <= hi) or (whole and v % 1 ~= 0) then -- also refuses NaN
    misuse(format("option '%s' must be %s between %s and %s, got %s", name,
      whole and "a whole number" or "a number", tostring(lo), tostring(hi), tostring(v)))
  end
end

local function check_options(opts)
  if opts == nil then return {}, {} end
  if type(opts) ~= "table" then misuse("options must be a table, got " .. type(opts)) end
  local ingest_opts = {}
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then misuse("unknown option '" .. tostring(k) .. "'") end
    if type(v) ~= want then
      misuse("option '" .. k .. "' must be a " .. want .. ", got " .. type(v))
    end
    if INGEST_OPTIONS[k] then ingest_opts[k] = v end
  end
  ingest.check_options(ingest_opts)
  number_in(opts, "max_events", 1, M.MAX_EVENTS, true)
  number_in(opts, "max_bytes", 1, 2 ^ 40, true)
  number_in(opts, "max_buffer_bytes", 1, 2 ^ 50, true)
  number_in(opts, "interval", 0.001, 86400)
  number_in(opts, "max_retry_time", 0, 1e9)
  number_in(opts, "retry_initial", 0.001, 3600)
  number_in(opts, "retry_max", 0.001, 86400)
  number_in(opts, "close_timeout", 0, 86400)
  if (opts.encoding or M.DEFAULTS.encoding) == "gzip" then
    number_in(opts, "compression_level", 0, 9, true)
  else
    number_in(opts, "compression_level", -5, 19, true)
  end
  if opts.overflow and opts.overflow ~= "drop_oldest" and opts.overflow ~= "drop_newest" then
    misuse("overflow must be \"drop_oldest\" or \"drop_newest\", got \"" .. opts.overflow .. "\"")
  end
  local max_bytes = opts.max_bytes or M.DEFAULTS.max_bytes
  if (opts.max_buffer_bytes or M.DEFAULTS.max_buffer_bytes) < max_bytes then
    misuse("max_buffer_bytes must be at least max_bytes (" .. max_bytes .. ")")
  end
  return opts, ingest_opts
end

--- client:batcher(dataset, opts) → batcher, or nil, err (kind "config" or "encode").
-- Misuse (unknown option, wrong type, value out of range) raises at the caller's line.
function M.batcher(self, dataset, opts)
  local c = client.check(self, "batcher")
  local seg, err = client.segment("batcher: dataset", dataset)
  local ingest_opts
  opts, ingest_opts = check_options(opts)
  if not seg then return nil, err end

  local encoding = opts.encoding or M.DEFAULTS.encoding
  local query, extra, mime = ingest.parameters(ingest_opts, "ndjson", encoding)
  if not query then return nil, extra end
  local headers = client.headers(c)
  headers[#headers + 1] = "Content-Type: " .. mime
  for i = 1, #extra do headers[#headers + 1] = extra[i] end

  local spool_dir = opts.spool_dir
  if spool_dir then
    spool_dir = spool_dir:gsub("(.)/+$", "%1")
    local f, why = open(spool_dir .. "/.lock", "a")
    if not f then return nil, errors.new("config", "spool_dir is not a writable directory: " .. why) end
    f:close()
  end

  local target = url.ingest(c, seg)
  local cfg = {
    url = target .. query, headers = headers, encoding = encoding,
    level = opts.compression_level, spool_dir = spool_dir, reports = true,
    overflow = opts.overflow or M.DEFAULTS.overflow,
  }
  for k, v in pairs(M.DEFAULTS) do
    if cfg[k] == nil and k ~= "encoding" and k ~= "overflow" then cfg[k] = opts[k] or v end
  end
  for k, v in pairs(c._http) do cfg[k] = v end
  cfg.max_response = nil

  local sender = core.sender(cfg)
  return setmetatable({
    dataset = dataset,
    _sender = sender,
    _on_error = opts.on_error,
    _request = client.label("POST", target),
    _handler_errors = 0,
  }, Batcher)
end

local function check(self, what)
  if type(self) ~= "table" or self._sender == nil then
    misuse(what .. ": expected a batcher (did you use '.' instead of ':'?)")
  end
  if self._closed then misuse(what .. ": batcher is closed") end
  return self._sender
end

-- The per-event failures of a partial success, from the ingest status the sender kept.
local function failures_of(body)
  local doc = body and json.decode(body)
  if type(doc) ~= "table" or type(doc.failures) ~= "table" then return nil end
  return doc.failures
end

-- Hands the sender's reports to on_error, on the caller's thread; a failing handler is
-- counted, never raised.
local function drain(self)
  local reports = self._sender:reports()
  local handler = self._on_error
  for i = 1, #reports do
    local r = reports[i]
    local info = {
      reason = r.reason, kind = r.kind, status = r.status, message = r.message,
      events = r.events, trace_id = r.trace_id, dataset = self.dataset,
    }
    if r.reason == "partial" then info.failures = failures_of(r.body) end
    info.error = errors.new(r.kind, r.message, {
      status = r.status, trace_id = r.trace_id, request = r.status and self._request or nil,
    })
    if handler and not pcall(handler, info) then
      self._handler_errors = self._handler_errors + 1
    end
  end
end

--- Queue one event (a table, encoded now). Never waits on the network.
-- → true, or nil, err (kind "encode": the event cannot be encoded; "overflow": the queue is
-- full and overflow = "drop_newest").
function Batcher:add(event)
  local s = type(self) == "table" and not self._closed and self._sender
  if not s then check(self, "add") end
  if type(event) ~= "table" then misuse("add: event must be a table, got " .. type(event)) end
  local ok, kind, msg = s:add(event)
  if ok then
    if kind then drain(self) end
    return true
  end
  return nil, errors.new(kind, msg)
end

--- Send what is queued now and wait up to `timeout` seconds (default 5) until it is delivered
-- or given up. → true, or nil, err (kind "timeout").
function Batcher:flush(timeout)
  local s = check(self, "flush")
  if timeout ~= nil and (type(timeout) ~= "number" or timeout < 0 or timeout ~= timeout) then
    misuse("flush: timeout must be a non-negative number of seconds")
  end
  local ok = s:flush(timeout or M.DEFAULTS.close_timeout)
  drain(self)
  if ok then return true end
  return nil, errors.new("timeout", format("flush: not everything was delivered within %g s",
    timeout or M.DEFAULTS.close_timeout))
end

--- Counters: enqueued, sent, failed, dropped = {overflow, retry_exhausted, rejected, encode,
-- shutdown, total}, retries, batches, requests, bytes_raw, bytes_sent, queue_bytes,
-- queue_events, in_flight, spooled, replayed, spool_files, duplicates, last_error.
function Batcher:stats()
  if type(self) ~= "table" or self._sender == nil then check(self, "stats") end
  if not self._closed then drain(self) end
  local st = self._sender:stats()
  local e = st.last_error
  if e then
    st.last_error = errors.new(e.kind, e.message, {
      status = e.status, request = e.status and self._request or nil,
    })
  end
  st.handler_errors = self._handler_errors
  return st
end

--- Drain with a deadline (default close_timeout, 5 s), then stop the thread and free
-- everything. What is left at the deadline is spooled (spool_dir) or counted in
-- dropped.shutdown. Idempotent; __gc and __close call it too.
function Batcher:close(timeout)
  if type(self) ~= "table" or self._sender == nil then check(self, "close") end
  if self._closed then return true end
  if timeout ~= nil and (type(timeout) ~= "number" or timeout < 0 or timeout ~= timeout) then
    misuse("close: timeout must be a non-negative number of seconds")
  end
  self._closed = true
  self._sender:close(timeout)
  drain(self)
  return true
end
Batcher.__close = function(self) self:close() end
Batcher.__gc = Batcher.__close -- Lua 5.2+; on 5.1/LuaJIT the sender's own __gc drains

function Batcher:__tostring()
  return format("axiom.batcher(%s%s)", self.dataset, self._closed and ", closed" or "")
end

return M
