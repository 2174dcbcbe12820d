--- Client configuration: explicit options, then the environment, then defaults, checked once.
-- Wrong option names or types are misuse and raise; values that cannot work (no token, a
-- token with a line break, a personal token without an org id) are `nil, err` of kind "config".
local errors = require "axiom.errors"
local url = require "axiom.url"

local type, pairs, tostring, find, sub, getenv =
  type, pairs, tostring, string.find, string.sub, os.getenv

local M = { _VERSION = "0.1.0" }

M.DEFAULT_URL = "https://api.axiom.co"
M.DEFAULT_TIMEOUT = 30
M.DEFAULT_CONNECT_TIMEOUT = 10
M.USER_AGENT = "lua-axiom/" .. M._VERSION .. " (" .. (jit and jit.version or _VERSION) .. ")"

-- option name -> accepted Lua types ("string|boolean"), and the environment variable behind it
local OPTIONS = {
  token = { "string", "AXIOM_TOKEN" },
  url = { "string", "AXIOM_URL" },
  org_id = { "string", "AXIOM_ORG_ID" },
  edge_url = { "string", "AXIOM_EDGE_URL" },
  edge = { "string", "AXIOM_EDGE" },
  timeout = { "number" },
  connect_timeout = { "number" },
  user_agent = { "string" },
  ca_file = { "string" },
  verify_tls = { "boolean" },
  proxy = { "string|boolean" },
  max_response = { "number" },
}

local function config_error(msg) return nil, errors.new("config", msg) end

local function check_types(opts)
  for k, v in pairs(opts) do
    local spec = OPTIONS[k]
    if not spec then
      errors.misuse("axiom.new: unknown option '" .. tostring(k) .. "'")
    end
    if not find(spec[1], type(v), 1, true) then
      errors.misuse("axiom.new: option '" .. k .. "' must be a " .. spec[1] .. ", got " .. type(v))
    end
  end
  if opts.proxy == true then errors.misuse("axiom.new: option 'proxy' must be a string or false") end
end

-- A value that goes into a header must be printable: a CR or LF would let it forge headers.
local function printable(name, v)
  if type(v) == "string" and find(v, "%c") then
    return nil, name .. " contains control characters"
  end
  return true
end

--- The resolved configuration, or nil and a config error.
-- `env` defaults to os.getenv (specs pass their own).
function M.resolve(opts, env)
  if opts ~= nil and type(opts) ~= "table" then
    errors.misuse("axiom.new: options must be a table, got " .. type(opts))
  end
  opts = opts or {}
  check_types(opts)
  env = env or getenv

  local cfg = {}
  for k, spec in pairs(OPTIONS) do
    local v = opts[k]
    if v == nil and spec[2] then
      v = env(spec[2])
      if v == "" then v = nil end
    end
    cfg[k] = v
  end

  if not cfg.token or cfg.token == "" then return config_error("no token: pass token= or set AXIOM_TOKEN") end
  for _, name in pairs({ "token", "org_id", "url", "edge_url", "edge", "user_agent", "ca_file", "proxy" }) do
    local ok, why = printable(name, cfg[name])
    if not ok then return config_error(why) end
  end

  cfg.url = cfg.url or M.DEFAULT_URL
  if not url.is_http(cfg.url) then
    return config_error("url must be an http:// or https:// URL, got '" .. cfg.url .. "'")
  end
  if cfg.edge_url and not url.is_http(cfg.edge_url) then
    return config_error("edge_url must be an http:// or https:// URL, got '" .. cfg.edge_url .. "'")
  end
  if cfg.edge and find(cfg.edge, "[/%s]") then
    return config_error("edge must be a domain such as eu-central-1.aws.edge.axiom.co, got '"
      .. cfg.edge .. "'")
  end

  local personal = sub(cfg.token, 1, 5) == "xapt-"
  if personal and not cfg.org_id and url.origin(cfg.url) == M.DEFAULT_URL then
    return config_error("a personal token (xapt-) needs an org id: pass org_id= or set AXIOM_ORG_ID")
  end
  if personal and (cfg.edge_url or cfg.edge) then
    return config_error("edge endpoints accept API tokens (xaat-) only, not personal tokens")
  end

  cfg.timeout = cfg.timeout or M.DEFAULT_TIMEOUT
  cfg.connect_timeout = cfg.connect_timeout or M.DEFAULT_CONNECT_TIMEOUT
  for _, name in pairs({ "timeout", "connect_timeout" }) do
    local v = cfg[name]
    if not (v > 0 and v < 1e6) then -- also refuses NaN
      return config_error(name .. " must be a positive number of seconds, got " .. tostring(v))
    end
  end
  local max = cfg.max_response
  if max and not (max >= 1 and max <= 2 ^ 53 and max % 1 == 0) then
    return config_error("max_response must be a positive whole number of bytes, got " .. tostring(max))
  end
  if opts.verify_tls == nil then cfg.verify_tls = true end
  cfg.user_agent = cfg.user_agent or M.USER_AGENT
  return cfg
end

return M
