--- Ingest: the one place that knows the ingest options. Events are encoded by the C core
-- straight into NDJSON, compressed by the C core, and sent by the client's request pipeline.
local core = require "axiom.core"
local client = require "axiom.client"
local errors = require "axiom.errors"
local json = require "axiom.json"
local url = require "axiom.url"

local type, pairs, next, tostring, getmetatable, concat, find, match =
  type, pairs, next, tostring, getmetatable, table.concat, string.find, string.match

local M = { _VERSION = "0.1.0" }

M.CONTENT_TYPES = { json = "application/json", ndjson = "application/x-ndjson", csv = "text/csv" }
M.ENCODINGS = { zstd = true, gzip = true, identity = true }
M.DEFAULT_ENCODING = "zstd"

local OPTION_TYPES = {
  content_type = "string", encoding = "string", timestamp_field = "string",
  timestamp_format = "string", csv_delimiter = "string", csv_fields = "table", labels = "table",
}

local function misuse(msg) errors.misuse("ingest: " .. msg) end

--- Check ingest options (misuse raises); returns them or {}.
function M.check_options(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then misuse("options must be a table, got " .. type(opts)) end
  for k, v in pairs(opts) do
    local want = OPTION_TYPES[k]
    if not want then misuse("unknown option '" .. tostring(k) .. "'") end
    if type(v) ~= want then
      misuse("option '" .. k .. "' must be a " .. want .. ", got " .. type(v))
    end
  end
  if opts.content_type and not M.CONTENT_TYPES[opts.content_type] then
    misuse("content_type must be \"json\", \"ndjson\" or \"csv\", got \"" .. opts.content_type .. "\"")
  end
  if opts.encoding and not M.ENCODINGS[opts.encoding] then
    misuse("encoding must be \"zstd\", \"gzip\" or \"identity\", got \"" .. opts.encoding .. "\"")
  end
  local fields = opts.csv_fields
  if fields then
    for k, v in pairs(fields) do
      if type(k) ~= "number" or type(v) ~= "string" or k > #fields then
        misuse("csv_fields must be an array of strings")
      end
    end
  end
  return opts
end

--- Content type of a raw string, as the official Go client sniffs it: `[` JSON, `{` NDJSON,
-- anything else CSV.
function M.sniff(data)
  local c = match(data, "^%s*(.)")
  return c == "[" and "json" or c == "{" and "ndjson" or "csv"
end

--- Query string and extra headers for the options, or nil, err.
function M.parameters(opts, content_type, encoding)
  local q = {}
  if opts.timestamp_field then q[#q + 1] = { "timestamp-field", opts.timestamp_field } end
  if opts.timestamp_format then q[#q + 1] = { "timestamp-format", opts.timestamp_format } end
  if opts.csv_delimiter then q[#q + 1] = { "csv-delimiter", opts.csv_delimiter } end

  local h = {}
  -- identity is sent without the header: the form every server accepts
  if encoding ~= "identity" then h[#h + 1] = "Content-Encoding: " .. encoding end
  if opts.csv_fields then
    local f = concat(opts.csv_fields, ",")
    if find(f, "%c") then return nil, errors.new("config", "csv_fields contain control characters") end
    h[#h + 1] = "X-Axiom-CSV-Fields: " .. f
  end
  if opts.labels then
    local labels, why = core.encode(opts.labels)
    if not labels then return nil, errors.new("encode", "labels: " .. why) end
    if labels:sub(1, 1) ~= "{" then return nil, errors.new("encode", "labels must be a table of fields") end
    h[#h + 1] = "X-Axiom-Event-Labels: " .. labels
  end
  return url.query(q), h, M.CONTENT_TYPES[content_type]
end

-- Status of a call whose events all failed to encode: nothing was sent.
local function empty_status()
  return { ingested = 0, failed = 0, failures = {}, processedBytes = 0 }
end

-- Encoder failures join the server's: counted in `failed`, listed with their `index`.
local function merge(status, failures)
  if not failures then return status end
  status.failed = (status.failed or 0) + #failures
  local list = status.failures or {}
  for i = 1, #failures do
    local f = failures[i]
    list[#list + 1] = { index = f.index, error = "encode: " .. f.error }
  end
  status.failures = list
  return status
end

--- client:ingest(dataset, data, opts) → status table, or nil, err.
-- `data`: an array of event tables (sent as NDJSON), or a string in JSON, NDJSON or CSV.
function M.ingest(self, dataset, data, opts)
  local c = client.check(self, "ingest")
  local seg, err = client.segment("ingest: dataset", dataset)
  opts = M.check_options(opts)
  if not seg then return nil, err end

  local body, content_type, failures
  if type(data) == "table" then
    local k = next(data)
    if k ~= nil and type(k) ~= "number" then
      misuse("data must be an array of events (wrap a single event in { })")
    end
    if k == nil and getmetatable(data) then
      misuse("data must be a plain array of events (metatables are not followed)")
    end
    if opts.content_type and opts.content_type ~= "ndjson" then
      misuse("event tables are sent as NDJSON; content_type only applies to strings")
    end
    local count
    body, count, failures = core.encode_events(data)
    if count == 0 then return merge(empty_status(), failures) end
    content_type = "ndjson"
  elseif type(data) == "string" then
    body, content_type = data, opts.content_type or M.sniff(data)
  else
    misuse("data must be an array of events or a string, got " .. type(data))
  end

  local encoding = opts.encoding or M.DEFAULT_ENCODING
  local query, headers, mime = M.parameters(opts, content_type, encoding)
  if not query then return nil, headers end
  if encoding ~= "identity" then
    local why
    body, why = core.compress(body, encoding)
    if not body then return nil, errors.new("encode", encoding .. ": " .. why) end
  end

  local status
  local target = url.ingest(c, seg)
  status, err = c:request("POST", target, {
    query = query, body = body, content_type = mime, headers = headers,
  })
  if not status then return nil, err end
  if status.failures == json.null then status.failures = nil end
  if type(status.ingested) ~= "number" or type(status.failed) ~= "number"
    or (status.failures ~= nil and type(status.failures) ~= "table") then
    return nil, errors.new("http", "the server's answer is not an ingest status",
      { status = 200, request = client.label("POST", target) })
  end
  return merge(status, failures)
end

return M
