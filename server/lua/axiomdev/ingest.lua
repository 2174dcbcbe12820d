-- POST /v1/datasets/{ds}/ingest and /v1/ingest/{ds}: JSON, NDJSON and CSV bodies, gzip/zstd
-- encodings, labels, timestamp-field. Never looser than Axiom: a body that does not decode,
-- is not valid UTF-8 or not valid JSON/CSV, or has more than 10,000 events is a 400 for the
-- whole request; an event that is not an object or has a field name over 200 bytes is a
-- failure in an HTTP 200 answer, and the other events are stored.
local util = require "axiomdev.util"
local json = require "axiomdev.json"
local auth = require "axiomdev.auth"
local body = require "axiomdev.body"
local csv = require "axiomdev.csv"
local validate = require "axiomdev.validate"
local datasets = require "axiomdev.datasets"

local ngx = ngx
local pairs, ipairs, next, type = pairs, ipairs, next, type
local byte, find, format, lower = string.byte, string.find, string.format, string.lower
local match, sub = string.match, string.sub
local fail, array, null, is_object = util.fail, json.array, json.null, json.is_object

local M = {}

M.MAX_EVENTS = 10000     -- Axiom's documented batch limit; its answer to more is not documented
M.MAX_FIELD_NAME = 200   -- bytes, of the flattened name ("a.b.c"), as Axiom flattens objects
M.MAX_LEVELS = 100       -- the event is level 1; maps and arrays deeper are stored as null

-- Reserved names the service renames to _user_<name> when a client sends them.
local RESERVED = { "_sysTime", "_rowId", "_rowID", "_blockInfo", "_cursor", "_source" }

local function too_many()
  fail(400, format("too many events in one request: the limit is %d", M.MAX_EVENTS))
end

---------------------------------------------------------------------------- body parsers

local function ndjson(s)
  local events, pos, n = {}, 1, #s
  while pos <= n do
    local nl = find(s, "\n", pos, true) or n + 1
    local line = sub(s, pos, nl - 1)
    pos = nl + 1
    if find(line, "[^ \t\r]") then -- blank lines are not events
      if #events == M.MAX_EVENTS then too_many() end
      local v, err = json.decode_strict(line)
      if v == nil then fail(400, format("invalid event at index %d: %s", #events, err)) end
      events[#events + 1] = v
    end
  end
  return events
end

-- application/json: an array of events, a single object, or NDJSON under the JSON type.
local function json_body(s)
  local first = match(s, "^[ \t\r\n]*(.)")
  if not first then return {} end
  local v, err, index = json.decode_strict(s)
  if first == "[" then
    if v == nil then fail(400, format("invalid event at index %d: %s", index or 0, err)) end
    if #v > M.MAX_EVENTS then too_many() end
    return v
  end
  if v ~= nil then return { v } end
  return ndjson(s)
end

-- text/csv -> events, errors (index -> why that record is not an event)
local function csv_body(s, args)
  local bad = validate.utf8(validate.ptr(s), #s)
  if bad then fail(400, format("body is not valid UTF-8 (byte %d)", bad + 1)) end
  local delim = args["csv-delimiter"]
  if type(delim) ~= "string" or delim == "" then delim = "," end
  local events, errors = csv.events(s, delim, ngx.var.http_x_axiom_csv_fields)
  if #events > M.MAX_EVENTS then too_many() end
  return events, errors
end

---------------------------------------------------------------------------- per event

-- Renames the reserved names in t (an event or the labels) to _user_<name>, in place.
local function rename_reserved(t)
  for _, name in ipairs(RESERVED) do
    if t[name] ~= nil then t["_user_" .. sub(name, 2)], t[name] = t[name], nil end
  end
end

-- Cuts maps and arrays below level MAX_LEVELS to null, as Axiom does (t is at `level`).
local function cut_deep(t, level)
  for k, v in pairs(t) do
    if type(v) == "table" then
      if level >= M.MAX_LEVELS then t[k] = null else cut_deep(v, level + 1) end
    end
  end
end

-- The first n bytes of valid UTF-8 s, cut back to a character boundary.
local function utf8_prefix(s, n)
  if #s <= n then return s end
  local b = byte(s, n + 1)
  while n > 0 and b and b >= 0x80 and b < 0xC0 do -- s[n+1] continues a character: back off
    b = byte(s, n)
    n = n - 1
  end
  return sub(s, 1, n)
end

-- The first field name over the limit, flattened as Axiom flattens nested objects.
local function long_name(t, prefix_len)
  for k, v in pairs(t) do
    local len = prefix_len + #k
    if len > M.MAX_FIELD_NAME then return k end
    if is_object(v) and next(v) ~= nil then
      local deep = long_name(v, len + 1)
      if deep then return k .. "." .. deep end
    end
  end
end

-- Prepares one decoded event in place -> nil, or why it fails.
local function prepare(ev, labels, ts_field, now)
  if not is_object(ev) then
    local got = type(ev) == "table" and "an array" or ev == null and "null" or "a " .. type(ev)
    return "expected a JSON object, got " .. got
  end
  rename_reserved(ev)
  if labels then for k, v in pairs(labels) do ev[k] = v end end -- (renamed already)
  cut_deep(ev, 1) -- first: the names checked are those stored
  local long = long_name(ev, 0)
  if long then
    return format("field name longer than %d bytes: %s...", M.MAX_FIELD_NAME, utf8_prefix(long, 40))
  end
  if ts_field ~= "_time" and ev[ts_field] ~= nil then
    ev._time, ev[ts_field] = ev[ts_field], nil
  end
  local t = ev._time
  if t == nil or t == null then
    ev._time = now
  elseif type(t) ~= "string" and type(t) ~= "number" then
    return "invalid _time: must be a string or a number"
  end
  ev._sysTime = now
end

---------------------------------------------------------------------------- handler

function M.handle(ctx, ds)
  auth.need_dataset(ctx.principal, ds, "ingest", "create")
  local set = datasets.get(ds) or fail(404, "dataset not found")
  local data, status, err = body.decoded(ctx)
  if not data then fail(status, err) end

  local labels_raw, labels = ngx.var.http_x_axiom_event_labels, nil
  if labels_raw then
    labels = json.decode_strict(labels_raw)
    if not is_object(labels) then fail(400, "X-Axiom-Event-Labels must be a JSON object") end
    rename_reserved(labels)
  end

  local args = ngx.req.get_uri_args()
  local ts_field = args["timestamp-field"]
  if type(ts_field) ~= "string" or ts_field == "" then ts_field = "_time" end
  -- timestamp-format is accepted; the value is stored as given, so it needs no parsing here.

  local ctype = lower(match(ngx.var.http_content_type or "", "^%s*([^;%s]*)"))
  local events, errors -- errors: index -> message, for records that are not events
  if ctype == "text/csv" then
    events, errors = csv_body(data, args)
  elseif ctype == "application/x-ndjson" or ctype == "application/nd-json" then
    events = ndjson(data)
  elseif ctype == "application/json" or ctype == "" then
    events = json_body(data)
  else
    fail(415, "unsupported Content-Type: " .. ctype)
  end

  local now = util.now_rfc3339()
  local store, failures = set.events, array()
  for i = 1, #events do
    local ev = events[i]
    local why = errors and errors[i] or prepare(ev, labels, ts_field, now)
    if why then
      failures[#failures + 1] = { timestamp = now, error = format("event at index %d: %s", i - 1, why) }
    else
      store[#store + 1] = ev
    end
  end

  local ingested = #events - #failures
  ctx.ingested, ctx.failed = ingested, #failures
  return 200, {
    ingested = ingested, failed = #failures, failures = failures,
    processedBytes = #data + (labels_raw and #labels_raw or 0),
    blocksCreated = 0, walLength = ingested,
  }
end

return M
