-- POST /v1/datasets/{ds}/ingest and /v1/ingest/{ds}: JSON, NDJSON and CSV bodies,
-- gzip/zstd encodings, labels, timestamp-field. Whole-request problems are 4xx; an event
-- that is not an object is a per-event failure in an HTTP 200 answer.
local util = require "axiomdev.util"
local json = require "axiomdev.json"
local auth = require "axiomdev.auth"
local codec = require "axiomdev.codec"
local datasets = require "axiomdev.datasets"

local ngx = ngx
local pairs, ipairs, type = pairs, ipairs, type
local find, format, lower, match, sub = string.find, string.format, string.lower, string.match, string.sub
local concat = table.concat
local fail, array, null, is_object = util.fail, json.array, json.null, json.is_object

local M = {}

M.MAX_BODY = 512 * 1024 * 1024 -- decompressed size cap (nginx caps the raw body the same)

-- Reserved names the service renames to _user_<name> when a client sends them.
local RESERVED = { "_sysTime", "_rowId", "_rowID", "_blockInfo", "_cursor", "_source" }

---------------------------------------------------------------------------- body parsers

local function ndjson(s)
  local events, pos, n = {}, 1, #s
  while pos <= n do
    local nl = find(s, "\n", pos, true) or n + 1
    local line = sub(s, pos, nl - 1)
    pos = nl + 1
    if find(line, "%S") then -- blank lines are not events
      local v, err = json.decode(line)
      if v == nil then fail(400, format("invalid event at index %d: %s", #events, err)) end
      events[#events + 1] = v
    end
  end
  return events
end

-- application/json: an array of events, a single object, or NDJSON under the JSON type.
local function json_body(s)
  local first = match(s, "^%s*(.)")
  if not first then return {} end
  if first ~= "[" then
    local v = json.decode(s)
    if is_object(v) then return { v } end
    return ndjson(s)
  end
  local v, err, idx = json.decode(s)
  if v == nil then fail(400, format("invalid event at index %d: %s", idx or 0, err)) end
  return v
end

-- RFC 4180 records: quoted fields may hold delimiters, newlines and "" escapes.
local function csv_records(s, delim)
  local rows, row, i, n = {}, {}, 1, #s
  local stop = "[" .. (find(delim, "%w") and delim or "%" .. delim) .. "\r\n\"]"
  while true do
    local field
    if sub(s, i, i) == '"' then
      local parts, j = {}, i + 1
      while true do
        local q = find(s, '"', j, true)
        if not q then fail(400, "invalid CSV: unterminated quoted field") end
        parts[#parts + 1] = sub(s, j, q - 1)
        if sub(s, q + 1, q + 1) ~= '"' then i = q + 1; break end
        parts[#parts + 1] = '"'
        j = q + 2
      end
      field = concat(parts)
    else
      local j = find(s, stop, i) or n + 1
      while sub(s, j, j) == '"' do j = find(s, stop, j + 1) or n + 1 end -- stray quote: literal
      field, i = sub(s, i, j - 1), j
    end
    row[#row + 1] = field
    local c = sub(s, i, i)
    if c == delim then
      i = i + 1
    elseif c == "\r" or c == "\n" or c == "" then
      -- A lone empty field is a blank line, not a record.
      if #row > 1 or row[1] ~= "" then rows[#rows + 1] = row end
      row = {}
      if c == "" then return rows end
      i = i + ((c == "\r" and sub(s, i + 1, i + 1) == "\n") and 2 or 1)
      if i > n then return rows end
    else
      fail(400, format("invalid CSV: unexpected %q after a quoted field", c))
    end
  end
end

-- CSV values stay strings; X-Axiom-CSV-Fields names the columns, else the first record does.
local function csv(s, delim, fields_header)
  if #delim ~= 1 then fail(400, "csv-delimiter must be a single character") end
  local rows = csv_records(s, delim)
  local header
  if fields_header and fields_header ~= "" then
    header = {}
    for name in (fields_header .. ","):gmatch("%s*(.-)%s*,") do header[#header + 1] = name end
  else
    header = table.remove(rows, 1) or {}
  end
  local events, errors = {}, {}
  for i, row in ipairs(rows) do
    if #row > #header then
      events[i] = false
      errors[i] = format("CSV record has %d fields, the header has %d", #row, #header)
    else
      local ev = {}
      for j, value in ipairs(row) do ev[header[j]] = value end
      events[i] = ev
    end
  end
  return events, errors
end

---------------------------------------------------------------------------- handler

local function header(name) return ngx.var["http_" .. name] end

function M.handle(ctx, ds)
  auth.need_dataset(ctx.principal, ds, "ingest", "create")
  local set = datasets.get(ds) or fail(404, "dataset not found")
  local body = ctx.body

  local encoding = lower(match(header("content_encoding") or "", "^%s*(.-)%s*$"))
  if encoding == "gzip" or encoding == "zstd" then
    local out, err, too_large = codec.decompress(body, encoding, M.MAX_BODY)
    if not out then fail(too_large and 413 or 400, "cannot decode " .. encoding .. " body: " .. err) end
    body = out
  elseif encoding ~= "" and encoding ~= "identity" then
    fail(415, "unsupported Content-Encoding: " .. encoding)
  end

  local labels_raw, labels = header("x_axiom_event_labels"), nil
  if labels_raw then
    labels = json.decode(labels_raw)
    if not is_object(labels) then fail(400, "X-Axiom-Event-Labels must be a JSON object") end
  end

  local args = ngx.req.get_uri_args()
  local ts_field = args["timestamp-field"]
  if type(ts_field) ~= "string" or ts_field == "" then ts_field = "_time" end
  -- timestamp-format is accepted; the value is stored as given, so it needs no parsing here.

  local ctype = lower(match(header("content_type") or "", "^%s*([^;%s]*)"))
  local events, errors -- errors: index -> message, for records that are not events
  if ctype == "text/csv" then
    local delim = args["csv-delimiter"]
    events, errors = csv(body, type(delim) == "string" and delim or ",", header("x_axiom_csv_fields"))
  elseif ctype == "application/x-ndjson" or ctype == "application/nd-json" then
    events = ndjson(body)
  elseif ctype == "application/json" or ctype == "" then
    events = json_body(body)
  else
    fail(415, "unsupported Content-Type: " .. ctype)
  end

  local now = util.now_rfc3339()
  local store, failures = set.events, array()
  for i = 1, #events do
    local ev = events[i]
    local err = errors and errors[i]
    if err then -- luacheck: ignore 542 (the CSV parser already said why)
    elseif not is_object(ev) then
      local got = type(ev) == "table" and "an array" or ev == null and "null" or "a " .. type(ev)
      err = "expected a JSON object, got " .. got
    else
      for _, name in ipairs(RESERVED) do
        if ev[name] ~= nil then ev["_user_" .. sub(name, 2)], ev[name] = ev[name], nil end
      end
      if labels then for k, v in pairs(labels) do ev[k] = v end end
      if ts_field ~= "_time" and ev[ts_field] ~= nil then
        ev._time, ev[ts_field] = ev[ts_field], nil
      end
      local t = ev._time
      if t == nil or t == null then
        ev._time = now
      elseif type(t) ~= "string" and type(t) ~= "number" then
        err = "invalid _time: must be a string or a number"
      end
    end
    if err then
      failures[#failures + 1] = { timestamp = now, error = format("event at index %d: %s", i - 1, err) }
    else
      ev._sysTime = now
      store[#store + 1] = ev
    end
  end

  local ingested = #events - #failures
  return 200, {
    ingested = ingested, failed = #failures, failures = failures,
    processedBytes = #body + (labels_raw and #labels_raw or 0),
    blocksCreated = 0, walLength = ingested,
  }
end

return M
