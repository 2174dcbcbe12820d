-- Token stores and the two token APIs:
--   legacy ingest tokens (v1, /v1/tokens/ingest, secrets "xait-...")
--   API tokens (v2, /v2/tokens, secrets "xaat-...")
-- Records double as auth principals (see auth.lua), so a secret maps straight to its record.
local util = require "axiomdev.util"
local json = require "axiomdev.json"

local ipairs, pairs, next, type, remove = ipairs, pairs, next, type, table.remove
local fail, copy, array, null, is_object = util.fail, util.copy, json.array, json.null, json.is_object

local M = {}

local legacy, api, secrets -- legacy/api: records in creation order; secrets: secret -> record

function M.reset() legacy, api, secrets = {}, {}, {} end
M.reset()

function M.lookup(secret) return secrets[secret] end

local function find(list, id)
  for i, r in ipairs(list) do if r.id == id then return r, i end end
  fail(404, "token not found")
end

local function string_list(v, what)
  if type(v) ~= "table" or is_object(v) and next(v) ~= nil then fail(400, what .. " must be an array of strings") end
  for _, s in ipairs(v) do
    if type(s) ~= "string" then fail(400, what .. " must be an array of strings") end
  end
  return array(copy(v))
end

local function required_name(body)
  local name = util.opt_string(body, "name")
  if not name or name == "" then fail(400, "name is required") end
  return name
end

---------------------------------------------------------------------------- v1: ingest tokens

local function legacy_view(r)
  return { id = r.id, name = r.name, description = r.description, scopes = array(copy(r.scopes)) }
end

-- Fills name, description, scopes of r from a request body (create and update share it).
local function legacy_fill(r, body)
  r.name = required_name(body)
  r.description = util.opt_string(body, "description") or ""
  local scopes = body.scopes
  scopes = (scopes == nil or scopes == null) and {} or string_list(scopes, "scopes")
  r.scopes = #scopes > 0 and scopes or array { "*" } -- empty scopes mean every dataset
  return r
end

function M.legacy_list()
  local out = array()
  for i, r in ipairs(legacy) do out[i] = legacy_view(r) end
  return 200, out
end

function M.legacy_create(ctx)
  local r = legacy_fill({ kind = "ingest", id = util.uuid(), secret = "xait-" .. util.hex(16) },
    util.json_body(ctx))
  legacy[#legacy + 1] = r
  secrets[r.secret] = r
  return 200, legacy_view(r)
end

function M.legacy_get(_, id) return 200, legacy_view((find(legacy, id))) end

function M.legacy_update(ctx, id)
  local r = find(legacy, id)
  local body = util.json_body(ctx)
  return 200, legacy_view(legacy_fill(r, body))
end

function M.legacy_delete(_, id)
  local r, i = find(legacy, id)
  remove(legacy, i)
  secrets[r.secret] = nil
  return 204
end

function M.legacy_secret(_, id)
  local r = find(legacy, id)
  return 200, { token = r.secret, scopes = array(copy(r.scopes)) }
end

-- The router only lets a valid ingest token reach this.
function M.legacy_validate() return 204 end

---------------------------------------------------------------------------- v2: API tokens

local function api_view(r, with_secret)
  return {
    id = r.id, name = r.name, description = r.description, expiresAt = r.expiresAt,
    datasetCapabilities = copy(r.datasetCapabilities), orgCapabilities = copy(r.orgCapabilities),
    viewCapabilities = copy(r.viewCapabilities), samlAuthenticated = false,
    token = with_secret and r.secret or nil,
  }
end

-- Capability maps: {name -> {capability -> [actions]}} (nested = true) or {capability -> [actions]}.
local function capabilities(v, what, nested)
  if v == nil or v == null then return {} end
  if not is_object(v) then fail(400, what .. " must be an object") end
  local out = {}
  for k, x in pairs(v) do
    out[k] = nested and capabilities(x, what .. "." .. k) or string_list(x, what .. "." .. k)
  end
  return out
end

local function api_new(spec, expires_at)
  local r = { kind = "api", id = util.uuid(), secret = "xaat-" .. util.hex(16) }
  r.name = required_name(spec)
  r.description = util.opt_string(spec, "description") or ""
  if expires_at == nil then expires_at = spec.expiresAt end
  r.expiresAt, r.expires = util.opt_time({ expiresAt = expires_at }, "expiresAt")
  r.datasetCapabilities = capabilities(spec.datasetCapabilities, "datasetCapabilities", true)
  r.orgCapabilities = capabilities(spec.orgCapabilities, "orgCapabilities")
  r.viewCapabilities = capabilities(spec.viewCapabilities, "viewCapabilities", true)
  api[#api + 1] = r
  secrets[r.secret] = r
  return r
end

function M.api_list()
  local out = array()
  for i, r in ipairs(api) do out[i] = api_view(r) end
  return 200, out
end

function M.api_get(_, id) return 200, api_view((find(api, id))) end

function M.api_create(ctx)
  return 200, api_view(api_new(util.json_body(ctx)), true)
end

-- A fresh id and secret with the same capabilities (or those of body.newToken). The old id
-- leaves the list now; its secret keeps working until existingTokenExpiresAt.
function M.api_regenerate(ctx, id)
  local old, i = find(api, id)
  local body = util.json_body(ctx)
  local _, old_until = util.opt_time(body, "existingTokenExpiresAt")
  if not old_until then fail(400, "existingTokenExpiresAt is required") end
  local spec = is_object(body.newToken) and body.newToken or api_view(old)
  local new = api_new(spec, body.newTokenExpiresAt or null)
  remove(api, i)
  if not old.expires or old_until < old.expires then old.expires = old_until end
  return 200, api_view(new, true)
end

function M.api_delete(_, id)
  local r, i = find(api, id)
  remove(api, i)
  secrets[r.secret] = nil
  return 204
end

return M
