-- Dev API under /_dev (loopback only, no auth): stored events, request journal, reset and
-- scripted responses. /_dev requests themselves are neither journaled nor scriptable.
local util = require "axiomdev.util"
local json = require "axiomdev.json"
local datasets = require "axiomdev.datasets"
local tokens = require "axiomdev.tokens"

local ngx = ngx
local pairs, ipairs, type, tonumber, concat, remove = pairs, ipairs, type, tonumber, table.concat, table.remove
local find, lower, match, upper = string.find, string.lower, string.match, string.upper
local fail, array = util.fail, json.array

local M = {}

M.JOURNAL_MAX = 1000

local journal, scripts = {}, {}

---------------------------------------------------------------------------- journal (log phase)

function M.is_dev_path(path) return find(path, "^/_dev/") ~= nil or path == "/_dev" end

function M.record()
  local path = match(ngx.var.request_uri or "/", "^[^?]*")
  if M.is_dev_path((match(path, "^/api(/.*)$") or path)) then return end
  local headers = {}
  for k, v in pairs(ngx.req.get_headers()) do
    headers[lower(k)] = type(v) == "table" and concat(v, ", ") or v
  end
  if headers.authorization then headers.authorization = "Bearer <redacted>" end
  local ctx = ngx.ctx
  journal[#journal + 1] = {
    port = tonumber(ngx.var.server_port), method = ngx.req.get_method(), path = path,
    connection = tonumber(ngx.var.connection), -- nginx's connection serial: shows keep-alive reuse
    query = ngx.req.get_uri_args(), headers = headers,
    body_bytes = ctx.body_bytes or tonumber(headers["content-length"]) or 0,
    status = ngx.status,
  }
  if #journal > M.JOURNAL_MAX then remove(journal, 1) end
end

---------------------------------------------------------------------------- scripted responses

-- The first script matching this request, with its count used up; nil when none.
function M.take_script(method, path, port)
  for i, s in ipairs(scripts) do
    if (not s.method or s.method == method) and (not s.port or s.port == port)
      and find(path, s.path) then
      s.count = s.count - 1
      if s.count <= 0 then remove(scripts, i) end
      return s
    end
  end
end

local function add_script(ctx)
  local b = util.json_body(ctx)
  local path = util.opt_string(b, "path") or fail(400, "path (a Lua pattern) is required")
  if not pcall(find, "", path) then fail(400, "path is not a valid Lua pattern") end
  local status, count, port = b.status, b.count or 1, b.port
  if type(status) ~= "number" or status < 100 or status > 599 or status % 1 ~= 0 then
    fail(400, "status must be an integer 100-599")
  end
  if type(count) ~= "number" or count < 1 then fail(400, "count must be a positive integer") end
  if port ~= nil and type(port) ~= "number" then fail(400, "port must be a number") end
  local delay = b.delay or 0
  if type(delay) ~= "number" or delay < 0 or delay > 600 then fail(400, "delay must be 0-600 seconds") end
  local headers = b.headers or {}
  if not json.is_object(headers) then fail(400, "headers must be an object") end
  for k, v in pairs(headers) do
    if type(v) ~= "string" and type(v) ~= "number" then fail(400, "header " .. k .. " must be a string") end
  end
  local method = util.opt_string(b, "method")
  scripts[#scripts + 1] = {
    method = method and upper(method), path = path, count = count, port = port,
    status = status, headers = headers, body = util.opt_string(b, "body") or "", delay = delay,
  }
  return 204
end

-- Sends a scripted response. Without a Content-Type, a JSON body is labelled JSON.
function M.send_script(s)
  if s.delay > 0 then ngx.sleep(s.delay) end -- yields: other requests go on meanwhile
  local headers = {}
  local has_type = false
  for k, v in pairs(s.headers) do
    headers[k] = v
    if lower(k) == "content-type" then has_type = true end
  end
  if not has_type then
    headers["Content-Type"] = json.decode(s.body) ~= nil and "application/json" or "text/plain"
  end
  return util.send(s.status, s.body, headers)
end

---------------------------------------------------------------------------- routes

function M.reset()
  datasets.reset()
  tokens.reset()
  journal, scripts = {}, {}
end

-- path: the raw path; segs: its segments, decoded.
function M.handle(ctx, method, path, segs)
  local addr = ngx.var.remote_addr
  if addr ~= "127.0.0.1" and addr ~= "::1" then fail(403, "the dev API is loopback only") end
  local ds = #segs == 3 and segs[2] == "events" and segs[3]
  if ds and method == "GET" then
    local set = datasets.get(ds) or fail(404, "dataset not found")
    return 200, array(set.events)
  elseif path == "/_dev/journal" and method == "GET" then
    return 200, array(journal)
  elseif path == "/_dev/reset" and method == "POST" then
    M.reset()
    return 204
  elseif path == "/_dev/script" and method == "POST" then
    return add_script(ctx)
  end
  fail(404, "no such dev endpoint")
end

return M
