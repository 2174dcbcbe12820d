--- Tokens: the legacy ingest tokens (/v1/tokens/ingest) and today's API tokens (/v2/tokens).
-- Results are the API's JSON as plain tables; a delete is `true`.
local client = require "axiom.client"
local json = require "axiom.json"
local resource = require "axiom.resource"

local type, pairs, tostring, format = type, pairs, tostring, string.format

local M = { _VERSION = "0.1.0" }

-- Copy `t`, keeping only the allowed fields; an unknown one is a typo and raises.
local function fields(what, t, allowed)
  if type(t) ~= "table" then
    resource.misuse(what .. ": expected a table of fields, got " .. type(t))
  end
  local out = {}
  for k, v in pairs(t) do
    if not allowed[k] then
      resource.misuse(what .. ": unknown field '" .. tostring(k) .. "'")
    end
    out[k] = v
  end
  return out
end

-- A copy of an array of strings, marked so that an empty one is still [] on the wire.
local function strings(what, v)
  local ok, out, n = type(v) == "table", json.array({}), 0
  if ok then
    for _ in pairs(v) do n = n + 1 end
    for i = 1, n do
      out[i] = v[i]
      ok = ok and type(v[i]) == "string"
    end
  end
  if not ok then resource.misuse(what .. " must be an array of strings") end
  return out
end

-- Capabilities {name = {action, ...}}, checked and copied (see strings()).
local function capabilities(what, caps)
  if type(caps) ~= "table" then resource.misuse(what .. " must be a table") end
  local out = {}
  for k, actions in pairs(caps) do
    if type(k) ~= "string" then resource.misuse(what .. " must be keyed by name") end
    out[k] = strings(what .. "." .. k, actions)
  end
  return out
end

---------------------------------------------------------------------------------------------
-- Legacy ingest tokens: client.ingest_tokens

local IngestTokens = resource.class("ingest_tokens")
M.IngestTokens = IngestTokens

local INGEST_FIELDS = { name = true, description = true, scopes = true }

-- The legacy API replaces a token whole (create and update alike), so a name is required.
local function ingest_body(what, t)
  local b = fields(what, t, INGEST_FIELDS)
  if type(b.name) ~= "string" then resource.misuse(what .. ": field 'name' must be a string") end
  if b.scopes ~= nil then b.scopes = strings(what .. ": field 'scopes'", b.scopes) end
  return client.body(b)
end

function IngestTokens:list()
  return resource.owner(self, "ingest_tokens:list"):request("GET", "/v1/tokens/ingest")
end

function IngestTokens:get(id)
  return resource.on_id(self, "ingest_tokens:get", "GET", "/v1/tokens/ingest/%s", id)
end

function IngestTokens:create(t)
  local c = resource.owner(self, "ingest_tokens:create")
  local body, err = ingest_body("ingest_tokens:create", t)
  if not body then return nil, err end
  return c:request("POST", "/v1/tokens/ingest", { body = body, content_type = "application/json" })
end

function IngestTokens:update(id, t)
  local c, seg, err = resource.with_id(self, "ingest_tokens:update", id)
  local body, berr = ingest_body("ingest_tokens:update", t)
  if not seg then return nil, err end
  if not body then return nil, berr end
  return c:request("PUT", "/v1/tokens/ingest/" .. seg, { body = body, content_type = "application/json" })
end

function IngestTokens:delete(id)
  return resource.on_id(self, "ingest_tokens:delete", "DELETE", "/v1/tokens/ingest/%s", id, resource.EMPTY)
end

--- The secret of an ingest token: {token=, scopes=}.
function IngestTokens:token(id)
  return resource.on_id(self, "ingest_tokens:token", "GET", "/v1/tokens/ingest/%s/token", id)
end

--- true when the client's own token is a valid ingest token; false, err when the server
-- refuses it (401/403); nil, err when the question could not be asked.
function IngestTokens:validate()
  local ok, err = resource.owner(self, "ingest_tokens:validate"):request("GET", "/v1/tokens/ingest/validate",
    resource.EMPTY)
  if ok then return true end
  if err.status == 401 or err.status == 403 then return false, err end
  return nil, err
end

---------------------------------------------------------------------------------------------
-- API tokens: client.api_tokens

local ApiTokens = resource.class("api_tokens")
M.ApiTokens = ApiTokens

local CREATE_FIELDS = { name = true, description = true, expiresAt = true,
  datasetCapabilities = true, orgCapabilities = true, viewCapabilities = true }
local REGENERATE_FIELDS = { existingTokenExpiresAt = true, newTokenExpiresAt = true, newToken = true }

local function create_body(what, t)
  local b = fields(what, t, CREATE_FIELDS)
  if type(b.name) ~= "string" then resource.misuse(what .. ": field 'name' must be a string") end
  b.expiresAt = resource.time(what, "expiresAt", b.expiresAt)
  local dscaps, ds = b.datasetCapabilities or {}, {}
  if type(dscaps) ~= "table" then resource.misuse(what .. ": datasetCapabilities must be a table") end
  for name, caps in pairs(dscaps) do
    ds[name] = capabilities(what .. ": datasetCapabilities." .. tostring(name), caps)
  end
  b.datasetCapabilities = ds
  b.orgCapabilities = capabilities(what .. ": orgCapabilities", b.orgCapabilities or {})
  if b.viewCapabilities ~= nil and type(b.viewCapabilities) ~= "table" then
    resource.misuse(what .. ": viewCapabilities must be a table")
  end
  return b
end

function ApiTokens:list()
  return resource.owner(self, "api_tokens:list"):request("GET", "/v2/tokens")
end

function ApiTokens:get(id)
  return resource.on_id(self, "api_tokens:get", "GET", "/v2/tokens/%s", id)
end

--- Create an API token; the result carries the secret `token`, shown only this once.
function ApiTokens:create(t)
  local c = resource.owner(self, "api_tokens:create")
  local body, err = client.body(create_body("api_tokens:create", t))
  if not body then return nil, err end
  return c:request("POST", "/v2/tokens", { body = body, content_type = "application/json" })
end

--- Replace a token: a new id and secret; the old secret works until existingTokenExpiresAt.
function ApiTokens:regenerate(id, t)
  local c, seg, err = resource.with_id(self, "api_tokens:regenerate", id)
  local b = fields("api_tokens:regenerate", t, REGENERATE_FIELDS)
  if b.existingTokenExpiresAt == nil then
    resource.misuse("api_tokens:regenerate: field 'existingTokenExpiresAt' is required")
  end
  b.existingTokenExpiresAt = resource.time("api_tokens:regenerate", "existingTokenExpiresAt",
    b.existingTokenExpiresAt)
  b.newTokenExpiresAt = resource.time("api_tokens:regenerate", "newTokenExpiresAt", b.newTokenExpiresAt)
  if b.newToken then b.newToken = create_body("api_tokens:regenerate newToken", b.newToken) end
  if not seg then return nil, err end
  local body
  body, err = client.body(b)
  if not body then return nil, err end
  return c:request("POST", format("/v2/tokens/%s/regenerate", seg),
    { body = body, content_type = "application/json" })
end

function ApiTokens:delete(id)
  return resource.on_id(self, "api_tokens:delete", "DELETE", "/v2/tokens/%s", id, resource.EMPTY)
end

return M
