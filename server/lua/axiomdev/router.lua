-- Entry point (content phase): trace id, /api prefix, dev API, outages and scripted faults,
-- routing, authentication, and turning errors into {"code","message"} JSON.
local util = require "axiomdev.util"
local auth = require "axiomdev.auth"
local body = require "axiomdev.body"
local dev = require "axiomdev.dev"
local faults = require "axiomdev.faults"
local datasets = require "axiomdev.datasets"
local tokens = require "axiomdev.tokens"
local ingest = require "axiomdev.ingest"
local sink = require "axiomdev.sink"
local query = require "axiomdev.query"

local ngx = ngx
local ipairs, pcall, tostring, tonumber, unpack = ipairs, pcall, tostring, tonumber, unpack
local char, find, gmatch, gsub, match, sub = string.char, string.find, string.gmatch, string.gsub,
  string.match, string.sub
local concat, remove, floor = table.concat, table.remove, math.floor
local fail = util.fail

local M = {}

local ID = "{id}" -- one path segment, whatever it decodes to

-- {method, path, handler, options}: a path is literal segments and IDs. Options: org =
-- {capability, action}; ingest_token = legacy xait- tokens allowed; ingest_token_only = nothing
-- else allowed; edge = an edge endpoint (no personal tokens); sink = the handler in sink mode
-- (routes without one are not served there). Order matters where a literal segment could
-- also match ID.
local ROUTES = {
  { "POST", "/v1/datasets/_apl", query.handle },
  { "POST", "/v1/query/_apl", query.handle, { edge = true } },
  { "POST", "/v1/datasets/" .. ID .. "/ingest", ingest.handle, { ingest_token = true, sink = sink.handle } },
  { "POST", "/v1/ingest/" .. ID, ingest.handle, { edge = true, sink = sink.handle } },

  { "GET", "/v2/datasets", datasets.list, { org = { "datasets", "read" }, sink = datasets.list } },
  { "POST", "/v2/datasets", datasets.create, { org = { "datasets", "create" }, sink = datasets.create } },
  { "GET", "/v2/datasets/" .. ID, datasets.show, { org = { "datasets", "read" }, sink = datasets.show } },
  { "DELETE", "/v2/datasets/" .. ID, datasets.delete, { org = { "datasets", "delete" }, sink = datasets.delete } },

  { "GET", "/v1/tokens/ingest/validate", tokens.legacy_validate, { ingest_token_only = true } },
  { "GET", "/v1/tokens/ingest", tokens.legacy_list, { org = { "apiTokens", "read" } } },
  { "POST", "/v1/tokens/ingest", tokens.legacy_create, { org = { "apiTokens", "create" } } },
  { "GET", "/v1/tokens/ingest/" .. ID, tokens.legacy_get, { org = { "apiTokens", "read" } } },
  { "PUT", "/v1/tokens/ingest/" .. ID, tokens.legacy_update, { org = { "apiTokens", "update" } } },
  { "DELETE", "/v1/tokens/ingest/" .. ID, tokens.legacy_delete, { org = { "apiTokens", "delete" } } },
  { "GET", "/v1/tokens/ingest/" .. ID .. "/token", tokens.legacy_secret, { org = { "apiTokens", "read" } } },

  { "GET", "/v2/tokens", tokens.api_list, { org = { "apiTokens", "read" } } },
  { "POST", "/v2/tokens", tokens.api_create, { org = { "apiTokens", "create" } } },
  { "GET", "/v2/tokens/" .. ID, tokens.api_get, { org = { "apiTokens", "read" } } },
  { "DELETE", "/v2/tokens/" .. ID, tokens.api_delete, { org = { "apiTokens", "delete" } } },
  { "POST", "/v2/tokens/" .. ID .. "/regenerate", tokens.api_regenerate, { org = { "apiTokens", "update" } } },
}
for _, r in ipairs(ROUTES) do
  r.segments = {}
  for seg in gmatch(r[2], "[^/]+") do r.segments[#r.segments + 1] = seg end
end
local NO_OPTS = {}

-- Routing works on the path as sent (ngx.var.uri is decoded and normalised, which would let
-- "..%2Ftokens%2Fx" climb into another route): split on "/", then decode each segment once.
-- A decoded segment stays one segment, "/" or ".." in it included, as on the real service.
local function unescape(seg)
  if find(seg, "%", 1, true) then
    if find((gsub(seg, "%%%x%x", "")), "%", 1, true) then fail(400, "invalid percent-encoding in path") end
    seg = gsub(seg, "%%(%x%x)", function(h) return char(tonumber(h, 16)) end)
  end
  return seg
end

-- The request path -> raw path (no query, /api prefix, trailing or doubled "/"), decoded
-- segments. A "." or ".." segment is a 400: nothing here resolves it.
local function split_path()
  local raw = match(ngx.var.request_uri or "", "^[^?#]*")
  if sub(raw, 1, 1) ~= "/" then fail(400, "invalid request path") end
  local raws, segs = {}, {}
  for seg in gmatch(raw, "[^/]+") do
    if seg == "." or seg == ".." then fail(400, "invalid request path: dot segment") end
    raws[#raws + 1] = seg
  end
  if raws[1] == "api" then remove(raws, 1) end
  for i, seg in ipairs(raws) do segs[i] = unescape(seg) end
  return "/" .. concat(raws, "/"), segs
end

-- The route for method+segments -> route, IDs; or a 404/405.
local function resolve(method, segs)
  local path_known = false
  for _, r in ipairs(ROUTES) do
    local want = r.segments
    if #want == #segs then
      local ids = {}
      for i, w in ipairs(want) do
        if w == ID then ids[#ids + 1] = segs[i]
        elseif w ~= segs[i] then ids = nil; break end
      end
      if ids then
        if r[1] == method then return r, ids end
        path_known = true
      end
    end
  end
  if path_known then fail(405, "method not allowed") end
  fail(404, "not found")
end

-- Requests per minute, per org (API tokens) or per user (personal tokens). Informational:
-- never enforced, because tests script their 429s through /_dev/script.
local RATE_LIMIT = 100000
local shared = ngx.shared.axiomdev

local function rate_limit_headers(p)
  local minute = floor(ngx.time() / 60)
  local scope = p.kind == "personal" and "user" or "organization"
  local used = shared:incr("rate:" .. scope .. ":" .. minute, 1, 0, 120) or 1
  local h = ngx.header
  h["X-RateLimit-Scope"] = scope
  h["X-RateLimit-Limit"] = RATE_LIMIT
  h["X-RateLimit-Remaining"] = RATE_LIMIT > used and RATE_LIMIT - used or 0
  h["X-RateLimit-Reset"] = (minute + 1) * 60 -- epoch seconds of the next minute
end

local DOWN = { action = "down", delay = 0 } -- an outage: close every connection unanswered

-- -> status, body | "fault", script (carried out outside pcall: it may exit or sleep)
local function dispatch(ctx, method)
  local path, segs = split_path()
  if dev.is_dev_path(path) then return dev.handle(ctx, method, path, segs) end
  if faults.is_down() then return "fault", DOWN end
  if not util.SINK then
    local script = faults.take(method, path, tonumber(ngx.var.server_port))
    if script then return "fault", script end
  end
  local route, caps = resolve(method, segs)
  local opts = route[4] or NO_OPTS
  local handler = route[3]
  if util.SINK then handler = opts.sink or fail(404, "not served in sink mode: " .. path) end
  local p = auth.authenticate()
  ctx.principal = p
  rate_limit_headers(p)
  auth.check_personal(p, opts.edge)
  if p.kind == "ingest" and opts.edge then
    fail(403, "ingest tokens are not supported on edge endpoints: use an API token")
  end
  if p.kind == "ingest" and not (opts.ingest_token or opts.ingest_token_only) then
    fail(403, "ingest tokens can only ingest")
  end
  if opts.ingest_token_only and p.kind ~= "ingest" then fail(401, "not an ingest token") end
  if opts.org then auth.need_org(p, opts.org[1], opts.org[2]) end
  return handler(ctx, unpack(caps))
end

function M.handle()
  -- nginx's error_page lands here (an internal redirect): its own errors answer JSON too.
  if ngx.req.is_internal() then return M.nginx_error() end
  ngx.header["X-Axiom-Trace-Id"] = util.hex(16)
  local ctx = ngx.ctx
  local method = ngx.req.get_method()
  ctx.body = body.read()

  local ok, status, out = pcall(dispatch, ctx, method)
  if ok then
    if status == "fault" then return faults.perform(ctx, out) end
    return util.send(status, out)
  end
  if util.is_http_error(status) then return util.send_error(status.status, status.message) end
  ngx.log(ngx.ERR, "axiomdev: ", tostring(status))
  return util.send_error(500, "internal error: " .. tostring(status))
end

-- error_page target: nginx's own errors (413, malformed requests, ...) as JSON too.
function M.nginx_error()
  ngx.header["X-Axiom-Trace-Id"] = util.hex(16)
  local status = tonumber(ngx.var.status) or ngx.status
  return util.send_error(status, "request rejected by nginx (" .. status .. ")")
end

return M
