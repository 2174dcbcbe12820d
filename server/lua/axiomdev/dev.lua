-- Dev API under /_dev (no auth; answered only to a peer on 127.0.0.1): stored events, request
-- journal, counters, reset, scripted faults and outages. /_dev requests are neither
-- journaled, counted nor scriptable.
local util = require "axiomdev.util"
local json = require "axiomdev.json"
local body = require "axiomdev.body"
local faults = require "axiomdev.faults"
local datasets = require "axiomdev.datasets"
local tokens = require "axiomdev.tokens"

local ngx = ngx
local pairs, ipairs, type, tonumber = pairs, ipairs, type, tonumber
local concat, remove = table.concat, table.remove
local find, lower, match = string.find, string.lower, string.match
local fail, array, null = util.fail, json.array, json.null

local M = {}

M.JOURNAL_MAX = 1000

local shared = ngx.shared.axiomdev -- the counters, for every worker
local COUNTERS = { "requests", "events", "failed", "bytes", "decoded_bytes" }
local journal = {}

function M.is_dev_path(path) return find(path, "^/_dev/") ~= nil or path == "/_dev" end

---------------------------------------------------------------------------- log phase

local function count(name, n) if n > 0 then shared:incr(name, n, 0) end end

local function journal_entry(ctx, raw_bytes)
  local headers = {}
  for k, v in pairs(ngx.req.get_headers()) do
    headers[lower(k)] = type(v) == "table" and concat(v, ", ") or v
  end
  if headers.authorization then headers.authorization = "Bearer <redacted>" end
  local decoded = ctx.body and body.decoded(ctx)
  return {
    time = ngx.req.start_time(), -- when the request arrived (ms resolution)
    port = tonumber(ngx.var.server_port), method = ngx.req.get_method(),
    path = match(ngx.var.request_uri or "/", "^[^?]*"),
    connection = tonumber(ngx.var.connection), -- nginx's connection serial: shows keep-alive reuse
    query = ngx.req.get_uri_args(), headers = headers,
    raw_bytes = raw_bytes, body_bytes = raw_bytes,
    decoded_bytes = decoded and #decoded or null, -- null: the body did not decode
    body_sha256 = ctx.body and body.sha256_hex(decoded or ctx.body) or null,
    events = ctx.ingested or 0,
    status = ngx.status, fault = ctx.fault or null,
  }, decoded and #decoded
end

function M.record()
  local path = match(ngx.var.request_uri or "/", "^[^?]*")
  if M.is_dev_path((match(path, "^/api(/.*)$") or path)) then return end
  local ctx = ngx.ctx
  local raw = ctx.body and #ctx.body or tonumber(ngx.var.http_content_length) or 0
  local decoded = ctx.decoded_bytes
  if not util.SINK then
    local entry, size = journal_entry(ctx, raw)
    decoded = decoded or size
    journal[#journal + 1] = entry
    if #journal > M.JOURNAL_MAX then remove(journal, 1) end
  end
  count("requests", 1)
  count("bytes", raw)
  count("decoded_bytes", decoded or (body.encoding() == "" and raw or 0))
  count("events", ctx.ingested or 0)
  count("failed", ctx.failed or 0)
end

---------------------------------------------------------------------------- routes

local function stats()
  local out = { sink = util.SINK }
  for _, k in ipairs(COUNTERS) do out[k] = shared:get(k) or 0 end
  return out
end

function M.reset()
  datasets.reset()
  tokens.reset()
  faults.reset()
  for _, k in ipairs(COUNTERS) do shared:delete(k) end
  journal = {}
end

local function only_in_normal_mode()
  if util.SINK then fail(404, "sink mode keeps no events, journal or scripts") end
end

-- path: the raw path (without /api); segs: its segments, decoded.
function M.handle(ctx, method, path, segs)
  -- The server binds 127.0.0.1 only; this also turns away any other peer (127.0.0.2, say).
  if ngx.var.remote_addr ~= "127.0.0.1" or ngx.var.server_addr ~= "127.0.0.1" then
    fail(403, "the dev API answers 127.0.0.1 only")
  end
  local ds = #segs == 3 and segs[2] == "events" and segs[3]
  if ds and method == "GET" then
    only_in_normal_mode()
    local set = datasets.get(ds) or fail(404, "dataset not found")
    return 200, array(set.events)
  elseif path == "/_dev/journal" and method == "GET" then
    only_in_normal_mode()
    return 200, array(journal)
  elseif path == "/_dev/stats" and method == "GET" then
    return 200, stats()
  elseif path == "/_dev/reset" and method == "POST" then
    M.reset()
    return 204
  elseif path == "/_dev/script" and method == "POST" then
    only_in_normal_mode()
    faults.add(util.json_body(ctx))
    return 204
  elseif path == "/_dev/down" and method == "POST" then
    faults.down(util.json_body(ctx).seconds)
    return 204
  end
  fail(404, "no such dev endpoint")
end

return M
