-- Entry point (content phase): trace id, /api prefix, dev API, scripted responses, routing,
-- authentication, and turning errors into {"code","message"} JSON.
local util = require "axiomdev.util"
local auth = require "axiomdev.auth"
local dev = require "axiomdev.dev"
local datasets = require "axiomdev.datasets"
local tokens = require "axiomdev.tokens"
local ingest = require "axiomdev.ingest"
local query = require "axiomdev.query"

local ngx = ngx
local ipairs, pcall, tostring, tonumber, unpack = ipairs, pcall, tostring, tonumber, unpack
local match, sub, floor = string.match, string.sub, math.floor
local fail = util.fail

local M = {}

local ID = "([^/]+)"

-- {method, path pattern (anchored), handler, options}. Options: org = {capability, action};
-- ingest_token = legacy xait- tokens allowed; ingest_token_only = nothing else allowed.
-- Order matters where a literal segment could also match ID.
local ROUTES = {
  { "POST", "/v1/datasets/_apl", query.handle },
  { "POST", "/v1/query/_apl", query.handle },
  { "POST", "/v1/datasets/" .. ID .. "/ingest", ingest.handle, { ingest_token = true } },
  { "POST", "/v1/ingest/" .. ID, ingest.handle, { ingest_token = true } },

  { "GET", "/v2/datasets", datasets.list, { org = { "datasets", "read" } } },
  { "POST", "/v2/datasets", datasets.create, { org = { "datasets", "create" } } },
  { "GET", "/v2/datasets/" .. ID, datasets.show, { org = { "datasets", "read" } } },
  { "DELETE", "/v2/datasets/" .. ID, datasets.delete, { org = { "datasets", "delete" } } },

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
  r.pattern, r.captures = "^" .. r[2] .. "$", r[2]:find("(", 1, true) ~= nil
end
local NO_OPTS, NO_CAPS = {}, {}

-- The route for method+path -> route, captures; or a 404/405.
local function resolve(method, path)
  local path_known = false
  for _, r in ipairs(ROUTES) do
    local caps = { match(path, r.pattern) }
    if caps[1] then
      if r[1] == method then return r, r.captures and caps or NO_CAPS end
      path_known = true
    end
  end
  if path_known then fail(405, "method not allowed") end
  fail(404, "not found")
end

-- Requests per minute for the whole (single) org. Informational: never enforced, because
-- tests script their 429s through /_dev/script.
local RATE_LIMIT, rate_minute, rate_used = 100000, 0, 0

local function rate_limit_headers()
  local minute = floor(ngx.time() / 60)
  if minute ~= rate_minute then rate_minute, rate_used = minute, 0 end
  rate_used = rate_used + 1
  local h = ngx.header
  h["X-RateLimit-Scope"] = "organization"
  h["X-RateLimit-Limit"] = RATE_LIMIT
  h["X-RateLimit-Remaining"] = RATE_LIMIT > rate_used and RATE_LIMIT - rate_used or 0
  h["X-RateLimit-Reset"] = (minute + 1) * 60 -- epoch seconds of the next minute
end

local function dispatch(ctx, method, path)
  if dev.is_dev_path(path) then return dev.handle(ctx, method, path) end
  local script = dev.take_script(method, path, tonumber(ngx.var.server_port))
  if script then return "script", script end
  local route, caps = resolve(method, path)
  local opts = route[4] or NO_OPTS
  local p = auth.authenticate()
  ctx.principal = p
  rate_limit_headers()
  if p.kind == "ingest" and not (opts.ingest_token or opts.ingest_token_only) then
    fail(403, "ingest tokens can only ingest")
  end
  if opts.ingest_token_only and p.kind ~= "ingest" then fail(401, "not an ingest token") end
  if opts.org then auth.need_org(p, opts.org[1], opts.org[2]) end
  return route[3](ctx, unpack(caps))
end

function M.handle()
  ngx.header["X-Axiom-Trace-Id"] = util.hex(16)
  local ctx = ngx.ctx
  local method = ngx.req.get_method()
  local path = ngx.var.uri
  path = match(path, "^/api(/.*)$") or (path == "/api" and "/" or path)
  if #path > 1 and sub(path, -1) == "/" then path = sub(path, 1, -2) end -- trailing slash
  ctx.body = util.read_body()
  ctx.body_bytes = #ctx.body

  local ok, status, body = pcall(dispatch, ctx, method, path)
  if ok then
    if status == "script" then return dev.send_script(body) end
    return util.send(status, body)
  end
  if util.is_http_error(status) then return util.send_error(status.status, status.message) end
  ngx.log(ngx.ERR, "axiomdev: ", tostring(status))
  return util.send_error(500, "internal error: " .. tostring(status))
end

-- error_page target: nginx's own errors (413, bad requests) as JSON too.
function M.nginx_error()
  ngx.header["X-Axiom-Trace-Id"] = util.hex(16)
  local status = tonumber(ngx.var.status) or ngx.status
  return util.send_error(status, "request rejected by nginx (" .. status .. ")")
end

return M
