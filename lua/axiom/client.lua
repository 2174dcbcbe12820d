--- The client: configuration + one transport, and the request pipeline every endpoint uses:
-- headers → transport (C, libcurl) → status → decoded table or error.
local core = require "axiom.core"
local errors = require "axiom.errors"
local json = require "axiom.json"
local url = require "axiom.url"

local type, getmetatable, setmetatable, tostring = type, getmetatable, setmetatable, tostring
local concat, match, format, gsub, byte = table.concat, string.match, string.format, string.gsub, string.byte

local M = { _VERSION = "0.1.0" }

local Client = {}
Client.__index = Client
Client.__name = "axiom.client"
M.Client = Client

-- The token lives here, keyed by client, never in a field a `pairs` or a log could show.
local secrets = setmetatable({}, { __mode = "k" })

local MAX_REDIRECTS = 3

--- A client for a resolved configuration (see axiom.config).
function M.new(cfg)
  local http = {
    timeout = cfg.timeout,
    connect_timeout = cfg.connect_timeout,
    user_agent = cfg.user_agent,
    ca_file = cfg.ca_file,
    verify_tls = cfg.verify_tls,
    proxy = cfg.proxy,
    max_response = cfg.max_response,
  }
  local c = setmetatable({
    url = cfg.url,
    org_id = cfg.org_id,
    edge_url = cfg.edge_url,
    edge = cfg.edge,
    _transport = core.http(http),
    _http = http, -- transport options (no secrets), for the batcher's own transport
  }, Client)
  secrets[c] = cfg.token
  return c
end

--- The client, or a misuse error when it is not one or is closed.
function M.check(c, what)
  if getmetatable(c) ~= Client then
    errors.misuse(what .. ": expected a client (did you use '.' instead of ':'?)")
  end
  if not c._transport then errors.misuse(what .. ": client is closed") end
  return c
end

--- "METHOD /path" naming a request in errors: the path only (hosts are in the config, query
-- strings can be long).
function M.label(method, u)
  return method .. " " .. (match(u, "^%a[%w+.-]*://[^/?#]+([^?#]*)") or u)
end

--- The headers every request carries: Authorization, Accept and the org id (a new array).
function M.headers(c)
  local headers = { "Authorization: Bearer " .. secrets[c], "Accept: application/json" }
  if c.org_id then headers[#headers + 1] = "X-Axiom-Org-Id: " .. c.org_id end
  return headers
end

--- Send one request. `path` is appended to the base URL unless it is absolute.
-- opts: body (string), content_type, headers (array of "Name: value"), query (string),
-- empty (true: success is `true`, whatever the body). Returns the decoded JSON object or
-- array, else nil, err.
function Client:request(method, path, opts)
  opts = opts or {}
  local u = url.is_http(path) and path or url.join(self.url, path)
  u = u .. (opts.query or "")
  local headers = M.headers(self)
  if opts.content_type then headers[#headers + 1] = "Content-Type: " .. opts.content_type end
  local extra = opts.headers
  if extra then
    for i = 1, #extra do headers[#headers + 1] = extra[i] end
  end

  local label = M.label(method, u)
  local status, rheaders, body
  local function fail(msg)
    return nil, errors.new("http", msg,
      { status = status, request = label, trace_id = rheaders["x-axiom-trace-id"] })
  end
  for _ = 0, MAX_REDIRECTS do
    local kind, message
    status, kind, message = self._transport:request(method, u, headers, opts.body)
    if not status then
      return nil, errors.new(kind, message, { request = label })
    end
    rheaders, body = kind, message
    local location = rheaders.location
    if not (status == 307 or status == 308) or not location then break end
    -- Only same-origin 307/308 are followed (they keep method and body); anything else
    -- would carry the Authorization header to a host the user never configured.
    local target = url.resolve(u, location)
    if url.origin(target) ~= url.origin(u) then
      return fail("redirect to " .. location .. " not followed: another host")
    end
    u = target
  end

  if status >= 400 then return nil, errors.from_response(status, rheaders, body, json.decode, label) end
  if status >= 300 then return fail(format("redirect (HTTP %d) not followed", status)) end
  if opts.empty then return true end -- deletes and validate: the status says it all
  if body == "" then return fail("empty response, expected JSON") end
  local doc, why = json.decode(body)
  if type(doc) ~= "table" then
    return fail(doc == nil and "response is not JSON: " .. tostring(why) or "response is not a JSON object or array")
  end
  return doc
end

--- A JSON request body from a Lua table, or nil and an encode error.
function M.body(value)
  local text, why = json.encode(value)
  if not text then return nil, errors.new("encode", why) end
  return text
end

--- Free the connection and handle; harmless to call twice.
function Client:close()
  local t = self._transport
  if t then
    self._transport = nil
    t:close()
  end
  return true
end
Client.__close = Client.close
Client.__gc = Client.close -- Lua 5.2+; on 5.1/LuaJIT the transport's own __gc frees it

function Client:__tostring()
  local parts = { "axiom.client(", self.url }
  if self.org_id then parts[#parts + 1] = ", org " .. self.org_id end
  if self.edge_url or self.edge then parts[#parts + 1] = ", edge " .. (self.edge_url or self.edge) end
  parts[#parts + 1] = self._transport and ")" or ", closed)"
  return concat(parts)
end

--- Validate a name or id that goes into a path: a misuse raises, a bad value is a config error.
function M.segment(what, v)
  if type(v) ~= "string" then errors.misuse(what .. " must be a string, got " .. type(v)) end
  local seg, why = url.segment(v)
  if not seg then
    local shown = gsub(v, "%c", function(c) return format("\\%d", byte(c)) end)
    return nil, errors.new("config", format("%s '%s' %s", what, shown, why))
  end
  return seg
end

return M
