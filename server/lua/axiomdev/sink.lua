-- Sink mode's ingest handler (server/run PORT --sink): checks the framing and counts, stores
-- nothing. Framing: the Content-Encoding decodes; NDJSON lines are `{...}`; a JSON body is
-- an array (or NDJSON); CSV records are well quoted. Events are not parsed, so no Lua string
-- is made per line: the scanners walk the body's bytes through the FFI, a decoded body chunk
-- by chunk as it comes out of the decoder. No 10,000-events cap: one big request measures
-- throughput.
local ffi = require "ffi"
local util = require "axiomdev.util"
local json = require "axiomdev.json"
local auth = require "axiomdev.auth"
local body = require "axiomdev.body"
local codec = require "axiomdev.codec"
local datasets = require "axiomdev.datasets"

local ngx = ngx
local tonumber, format, lower, match = tonumber, string.format, string.lower, string.match
local ffi_cast = ffi.cast
local fail, array, is_object = util.fail, json.array, json.is_object

ffi.cdef [[ void *memchr(const void *s, int c, size_t n); ]]
local memchr = ffi.C.memchr
local u8p = ffi.typeof("const uint8_t *")

local M = {}

local function bad_event(st, why) fail(400, format("invalid event at index %d: %s", st.events + st.failed, why)) end

---------------------------------------------------------------------------- NDJSON

-- State across chunks: open (the current line has content), last (its last non-blank byte).
local function ndjson(st, p, n)
  local i = 0
  while i < n do
    local q = memchr(p + i, 10, n - i)
    local e = q == nil and n or tonumber(ffi_cast(u8p, q) - p)
    if e > i then
      local j = i
      if not st.open then -- the line's first non-blank byte must open an object
        while j < e and (p[j] == 32 or p[j] == 9 or p[j] == 13) do j = j + 1 end
        if j < e then
          if p[j] ~= 123 then bad_event(st, "not a JSON object on one line") end
          st.open = true
        end
      end
      local k = e - 1
      if p[k] == 13 or p[k] == 32 or p[k] == 9 then
        while k >= j and (p[k] == 13 or p[k] == 32 or p[k] == 9) do k = k - 1 end
      end
      if k >= j then st.last = p[k] end
    end
    if q == nil then return end
    if st.open then
      if st.last ~= 125 then bad_event(st, "not a JSON object on one line") end
      st.events, st.open = st.events + 1, false
    end
    i = e + 1
  end
end

local function ndjson_end(st)
  if st.open then
    if st.last ~= 125 then bad_event(st, "not a JSON object on one line") end
    st.events = st.events + 1
  end
end

---------------------------------------------------------------------------- JSON array

-- Tracks strings and nesting depth only; counts the top-level elements that are objects as
-- events, the others as failures.
local function array_scan(st, p, n)
  local depth, in_str, esc, expect = st.depth, st.in_str, st.esc, st.expect
  for i = 0, n - 1 do
    local c = p[i]
    if in_str then
      if esc then esc = false elseif c == 92 then esc = true elseif c == 34 then in_str = false end
    elseif c == 123 or c == 91 then
      if depth == 0 then
        if st.started or c ~= 91 then fail(400, "invalid JSON body: expected one array of events") end
        st.started, expect = true, true
      elseif depth == 1 and expect then
        if c == 123 then st.events = st.events + 1 else st.failed = st.failed + 1 end
        expect = false
      end
      depth = depth + 1
    elseif c == 125 or c == 93 then
      if depth == 0 then fail(400, "invalid JSON body: unbalanced brackets") end
      depth = depth - 1
    elseif c == 44 then
      if depth == 1 then expect = true end
    elseif c ~= 32 and c ~= 10 and c ~= 13 and c ~= 9 then
      if depth == 0 then fail(400, "invalid JSON body: expected one array of events") end
      if depth == 1 and expect then st.failed, expect = st.failed + 1, false end
      if c == 34 then in_str = true end
    end
  end
  st.depth, st.in_str, st.esc, st.expect = depth, in_str, esc, expect
end

local function array_end(st)
  if not st.started or st.depth ~= 0 or st.in_str then fail(400, "invalid JSON body: incomplete array") end
end

---------------------------------------------------------------------------- CSV

-- Counts records: line breaks outside quotes that end a non-blank line.
local function csv_scan(st, p, n)
  local quoted, filled = st.quoted, st.filled
  for i = 0, n - 1 do
    local c = p[i]
    if c == 34 then
      quoted, filled = not quoted, true
    elseif not quoted and (c == 10 or c == 13) then
      if filled then st.events, filled = st.events + 1, false end
    else
      filled = true
    end
  end
  st.quoted, st.filled = quoted, filled
end

local function csv_end(st)
  if st.quoted then fail(400, "invalid CSV: unterminated quoted field") end
  if st.filled then st.events = st.events + 1 end
  if not st.fields_header and st.events > 0 then st.events = st.events - 1 end -- the header line
end

---------------------------------------------------------------------------- handler

function M.handle(ctx, ds)
  auth.need_dataset(ctx.principal, ds, "ingest", "create")
  if not datasets.get(ds) then fail(404, "dataset not found") end
  local labels_raw = ngx.var.http_x_axiom_event_labels
  if labels_raw and not is_object(json.decode_strict(labels_raw)) then
    fail(400, "X-Axiom-Event-Labels must be a JSON object")
  end

  local raw = ctx.body
  local ctype = lower(match(ngx.var.http_content_type or "", "^%s*([^;%s]*)"))
  local scan, finish -- application/json: an array, or NDJSON; the first byte tells, once decoded
  if ctype == "application/x-ndjson" or ctype == "application/nd-json" then
    scan, finish = ndjson, ndjson_end
  elseif ctype == "text/csv" then
    scan, finish = csv_scan, csv_end
  elseif ctype ~= "application/json" and ctype ~= "" then
    fail(415, "unsupported Content-Type: " .. ctype)
  end
  local st = { events = 0, failed = 0, depth = 0, fields_header = (ngx.var.http_x_axiom_csv_fields or "") ~= "" }
  local function feed(p, n)
    if not scan then
      local i = 0
      while i < n and (p[i] == 32 or p[i] == 10 or p[i] == 13 or p[i] == 9) do i = i + 1 end
      if i == n then return end
      if p[i] == 91 then scan, finish = array_scan, array_end else scan, finish = ndjson, ndjson_end end
    end
    scan(st, p, n)
  end

  local enc, size = body.encoding(), #raw
  if enc == "" then
    feed(ffi_cast(u8p, raw), size)
  elseif enc == "gzip" or enc == "zstd" then
    local err, too_large
    size, err, too_large = codec.each(raw, enc, function(p, n) feed(ffi_cast(u8p, p), n) end, body.MAX_DECODED)
    if not size then fail(too_large and 413 or 400, format("body does not decode as %s: %s", enc, err)) end
  else
    fail(415, "unsupported Content-Encoding: " .. enc)
  end
  if finish then finish(st) end

  local failures = array()
  local now = st.failed > 0 and util.now_rfc3339()
  for i = 1, st.failed do failures[i] = { timestamp = now, error = "event is not a JSON object" } end
  ctx.ingested, ctx.failed, ctx.decoded_bytes = st.events, st.failed, size
  return 200, {
    ingested = st.events, failed = st.failed, failures = failures,
    processedBytes = size + (labels_raw and #labels_raw or 0), blocksCreated = 0, walLength = st.events,
  }
end

return M
