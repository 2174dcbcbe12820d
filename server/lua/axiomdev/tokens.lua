-- Token stores and the two token APIs:
--   legacy ingest tokens (v1, /v1/tokens/ingest, secrets "xait-...")
--   API tokens (v2, /v2/tokens, secrets "xaat-...")
-- Records double as auth principals (see auth.lua), so a secret maps straight to its record.
local util = require "axiomdev.util"
local json = require "axiomdev.json"

local ipairs, pairs, type, tonumber, remove = ipairs, pairs, type, tonumber, table.remove
local format, match = string.format, string.match
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
  if type(v) ~= "table" or is_object(v) then fail(400, what .. " must be an array of strings") end
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
  local new = legacy_fill({}, body) -- validates everything before r changes
  r.name, r.description, r.scopes = new.name, new.description, new.scopes
  return 200, legacy_view(r)
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

-- The capabilities and actions OpenAPI v2 allows (CreateAPIToken's schemas).
local CRUD = { "create", "read", "update", "delete" }
local DATASET_CAPS = {
  data = { "delete" }, ingest = { "create" }, query = { "read" }, share = { "create", "read", "delete" },
  starredQueries = CRUD, trim = { "update" }, vacuum = { "update" }, virtualFields = CRUD,
}
local ORG_CAPS = {
  annotations = CRUD, apiTokens = CRUD, auditLog = { "read" }, billing = { "read", "update" },
  dashboards = CRUD, datasets = CRUD, endpoints = CRUD, flows = CRUD, integrations = CRUD,
  monitors = CRUD, notifiers = CRUD, rbac = CRUD, sharedAccessKeys = { "read", "update" },
  users = CRUD, views = CRUD,
}
local VIEW_CAPS = { query = { "read" }, share = { "create", "read", "delete" } }

local function member(list, x)
  for _, y in ipairs(list) do if y == x then return true end end
  return false
end

-- {capability -> [actions]} checked against enums.
local function capability_map(v, what, enums)
  if v == nil or v == null then return {} end
  if not is_object(v) then fail(400, what .. " must be an object") end
  local out = {}
  for k, x in pairs(v) do
    local actions = enums[k]
    if not actions then fail(400, format("%s: unknown capability %q", what, k)) end
    local list = string_list(x, what .. "." .. k)
    for _, a in ipairs(list) do
      if not member(actions, a) then fail(400, format("%s.%s: unknown action %q", what, k, a)) end
    end
    out[k] = list
  end
  return out
end

-- {name -> {capability -> [actions]}}.
local function capability_maps(v, what, enums)
  if v == nil or v == null then return {} end
  if not is_object(v) then fail(400, what .. " must be an object") end
  local out = {}
  for k, x in pairs(v) do
    if x == null then fail(400, what .. "." .. k .. " must be an object") end
    out[k] = capability_map(x, what .. "." .. k, enums)
  end
  return out
end

local DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- An optional RFC 3339 date-time (a real calendar day, 'T' separator) -> string, epoch;
-- nil/null -> nil; anything else -> 400.
local function opt_time(obj, key)
  local v = obj[key]
  if v == nil or v == null then return nil end
  local bad = key .. " must be an RFC 3339 date-time"
  if type(v) ~= "string" then fail(400, bad) end
  local y, mo, d, rest = match(v, "^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt]%d%d:%d%d:%d%d(.*)$")
  if not y then fail(400, bad) end
  rest = match(rest, "^%.%d+(.*)$") or rest
  local oh, om = match(rest, "^[+-](%d%d):(%d%d)$")
  if not (match(rest, "^[Zz]$") or (oh and tonumber(oh) <= 23 and tonumber(om) <= 59)) then fail(400, bad) end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  local leap = y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
  if mo < 1 or mo > 12 or d < 1 or d > (mo == 2 and leap and 29 or DAYS[mo]) then fail(400, bad) end
  local t = util.parse_time(v)
  if not t then fail(400, bad) end
  return v, t
end

-- A CreateAPIToken body -> a new record (validated whole before anything is stored).
-- expires_at/key: where the expiry comes from (regenerate's newTokenExpiresAt).
local function api_new(spec, expires_at, key)
  local r = { kind = "api", id = util.uuid(), secret = "xaat-" .. util.hex(16) }
  r.name = required_name(spec)
  r.description = util.opt_string(spec, "description") or ""
  if key then
    r.expiresAt, r.expires = opt_time({ [key] = expires_at }, key)
    opt_time(spec, "expiresAt") -- still validated
  else
    r.expiresAt, r.expires = opt_time(spec, "expiresAt")
  end
  r.datasetCapabilities = capability_maps(spec.datasetCapabilities, "datasetCapabilities", DATASET_CAPS)
  r.orgCapabilities = capability_map(spec.orgCapabilities, "orgCapabilities", ORG_CAPS)
  r.viewCapabilities = capability_maps(spec.viewCapabilities, "viewCapabilities", VIEW_CAPS)
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
  local _, old_until = opt_time(body, "existingTokenExpiresAt")
  if not old_until then fail(400, "existingTokenExpiresAt is required") end
  local spec = body.newToken
  if spec == nil then
    spec = api_view(old)
  elseif not is_object(spec) then
    fail(400, "newToken must be an object (a CreateAPIToken)")
  end
  local new = api_new(spec, body.newTokenExpiresAt, "newTokenExpiresAt")
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
