-- POST /v1/datasets/_apl?format=tabular|legacy (also /v1/query/_apl). Only the APL subset
-- the demo needs:  ['ds'] [| where field == "string"]... [| count]
local util = require "axiomdev.util"
local json = require "axiomdev.json"
local auth = require "axiomdev.auth"
local datasets = require "axiomdev.datasets"

local ngx = ngx
local pairs, ipairs, next, type, floor, huge = pairs, ipairs, next, type, math.floor, math.huge
local find, gmatch, match, sort = string.find, string.gmatch, string.match, table.sort
local fail, array, null, is_object = util.fail, json.array, json.null, json.is_object

local M = {}

local function unsupported(why)
  fail(400, "unsupported APL" .. (why and " (" .. why .. ")" or "") .. ": the local server only "
    .. [[understands ['dataset'] | where field == "string" | count]])
end

-- A bracketed name ['x'] or ["x"] at the start of s -> name, rest.
local function bracketed(s)
  local name, rest = match(s, "^%[%s*'([^']*)'%s*%](.*)$")
  if not name then name, rest = match(s, '^%[%s*"([^"]*)"%s*%](.*)$') end
  return name, rest
end

local function parse(apl)
  local ds, rest = bracketed(match(apl, "^%s*(.*)$"))
  if not ds or ds == "" then unsupported("expected ['dataset'] first") end
  local q = { ds = ds, where = {} }
  while true do
    rest = match(rest, "^%s*(.-)%s*$")
    if rest == "" then return q end
    if q.count then unsupported("nothing may follow count") end
    local stage = match(rest, "^|%s*(.*)$") or unsupported("expected '|'")
    local after = match(stage, "^count(.*)$")
    if after and (after == "" or match(after, "^[%s|]")) then
      q.count, rest = true, after
    else
      local body = match(stage, "^where%s+(.*)$") or unsupported("only where and count")
      local field, r = bracketed(body)
      if not field then field, r = match(body, "^([%w_.]+)(.*)$") end
      if not field then unsupported("bad field in where") end
      local value, r2 = match(r, '^%s*==%s*"([^"]*)"(.*)$')
      if not value then value, r2 = match(r, "^%s*==%s*'([^']*)'(.*)$") end
      if not value then unsupported('where needs field == "string"') end
      q.where[#q.where + 1] = { field, value }
      rest = r2
    end
  end
end

-- A field by its name, or by a dotted path into nested objects ("geo.city").
local function get_field(ev, name)
  local v = ev[name]
  if v ~= nil or not find(name, ".", 1, true) then return v end
  for seg in gmatch(name, "[^.]+") do
    if not is_object(ev) then return nil end
    ev = ev[seg]
  end
  return ev
end

local function matches(ev, where)
  for _, w in ipairs(where) do
    if get_field(ev, w[1]) ~= w[2] then return false end
  end
  return true
end

-- Nested objects become dotted fields, as Axiom shows them.
local function flatten(ev, prefix, out)
  for k, v in pairs(ev) do
    local name = prefix .. k
    if is_object(v) and next(v) ~= nil then flatten(v, name .. ".", out) else out[name] = v end
  end
  return out
end

local function field_type(name, v)
  if name == "_time" or name == "_sysTime" then return "datetime" end
  local t = type(v)
  if t == "number" then return v == floor(v) and "integer" or "float" end
  if t == "table" then return is_object(v) and "object" or "array" end
  return t -- string, boolean
end

local function tabular(q, rows)
  local tbl = { name = "0", sources = array { { name = q.ds } }, groups = array(),
                range = q.range }
  if q.count then
    tbl.fields = array { { name = "count_", type = "integer", agg = { name = "count" } } }
    tbl.columns, tbl.order = array { array { #rows } }, array()
    return tbl
  end
  local types = {}
  for _, row in ipairs(rows) do
    for name, v in pairs(row.flat) do
      if not types[name] and v ~= null then types[name] = field_type(name, v) end
    end
  end
  local names = {}
  for name in pairs(types) do names[#names + 1] = name end
  sort(names)
  tbl.fields, tbl.columns = array(), array()
  for i, name in ipairs(names) do
    tbl.fields[i] = { name = name, type = types[name] }
    local col = array()
    for j, row in ipairs(rows) do
      local v = row.flat[name]
      col[j] = v == nil and null or v
    end
    tbl.columns[i] = col
  end
  tbl.order = array { { field = "_time", desc = true } }
  return tbl
end

local function legacy(q, rows, result)
  result.buckets = { series = array(), totals = array() }
  if q.count then
    result.buckets.totals[1] = { group = {}, aggregations = array { { op = "count", value = #rows } } }
    result.matches = array()
    return
  end
  result.matches = array()
  for i, row in ipairs(rows) do
    local data = {}
    for k, v in pairs(row.ev) do
      if k ~= "_time" and k ~= "_sysTime" then data[k] = v end
    end
    result.matches[i] = { _time = row.ev._time, _sysTime = row.ev._sysTime,
                          _rowId = q.ds .. "-" .. row.index, data = data }
  end
end

function M.handle(ctx)
  local started = util.epoch()
  local format = ngx.req.get_uri_args().format or "legacy"
  if format ~= "tabular" and format ~= "legacy" then fail(400, "format must be tabular or legacy") end
  local body = util.json_body(ctx)
  local apl = util.opt_string(body, "apl") or fail(400, "apl is required")
  local start_s, start_t = util.opt_time(body, "startTime")
  local end_s, end_t = util.opt_time(body, "endTime")
  local q = parse(apl)
  auth.need_dataset(ctx.principal, q.ds, "query", "read")
  local set = datasets.get(q.ds) or fail(404, "dataset not found: " .. q.ds)
  if start_s or end_s then
    q.range = { field = "_time", start = start_s or "1970-01-01T00:00:00Z", ["end"] = end_s or util.now_rfc3339() }
  end

  -- Matching rows, newest first; the time range is inclusive at both ends. Times are
  -- parsed only when needed: a bare count over a big dataset stays cheap.
  local ranged = start_t or end_t
  local lo, hi, need_time = start_t or -huge, end_t or huge, ranged or not q.count
  local rows, tmin, tmax = {}, huge, -huge
  for i, ev in ipairs(set.events) do
    local t = need_time and util.event_time(ev._time) or nil
    if (not ranged or t and t >= lo and t <= hi) and matches(ev, q.where) then
      rows[#rows + 1] = { ev = ev, t = t or -huge, index = i }
      if t and t < tmin then tmin = t end
      if t and t > tmax then tmax = t end
    end
  end
  if not q.count then
    sort(rows, function(a, b)
      if a.t ~= b.t then return a.t > b.t end
      return a.index > b.index
    end)
    for _, row in ipairs(rows) do row.flat = flatten(row.ev, "", {}) end
  end

  local now = util.epoch()
  local result = {
    format = format, datasetNames = array { q.ds },
    status = {
      elapsedTime = floor((now - started) * 1e6), blocksExamined = 0, blocksCached = 0,
      blocksMatched = 0, rowsExamined = #set.events, rowsMatched = #rows, numGroups = 0,
      isPartial = false, cacheStatus = 0,
      minBlockTime = util.rfc3339(floor(tmin < huge and tmin or now)),
      maxBlockTime = util.rfc3339(floor(tmax > -huge and tmax or now)),
    },
  }
  if format == "tabular" then result.tables = array { tabular(q, rows) } else legacy(q, rows, result) end
  return 200, result
end

return M
