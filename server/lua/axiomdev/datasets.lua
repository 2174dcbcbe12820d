-- Dataset store and the /v2/datasets API. The dataset list is in a shared dict, so that every
-- worker (sink mode runs two) sees the same datasets; the events live in this worker only
-- (the normal mode runs one), one array per dataset.
local util = require "axiomdev.util"
local json = require "axiomdev.json"

local ngx = ngx
local ipairs, type, sort, find, sub = ipairs, type, table.sort, string.find, string.sub
local fail, array = util.fail, json.array

local M = {}

local dict = ngx.shared.axiomdev_datasets -- name -> dataset JSON
local sets -- name -> {raw = dataset JSON, meta = decoded, events = array}

function M.reset()
  dict:flush_all()
  sets = {}
end
sets = {}

-- The dataset named `name` -> {meta, events} | nil. A dataset deleted and created again has a
-- new `created` time, hence other JSON: its events start empty.
function M.get(name)
  local raw = dict:get(name)
  if not raw then sets[name] = nil; return nil end
  local set = sets[name]
  if not set or set.raw ~= raw then
    set = { raw = raw, meta = json.decode(raw), events = {} }
    sets[name] = set
  end
  return set
end

local KINDS = { ["axiom:events:v1"] = true, ["otel:logs:v1"] = true,
                ["otel:traces:v1"] = true, ["otel:metrics:v1"] = true }

-- Axiom's rule: <= 80 chars of [a-zA-Z0-9._-], no special char first or last, no "axiom-".
local function valid_name(name)
  return #name >= 1 and #name <= 80 and not find(name, "[^%w._-]")
    and find(name, "^%w") and find(name, "%w$") and sub(name, 1, 6) ~= "axiom-"
end

function M.list()
  local names = dict:get_keys(0)
  sort(names)
  local out = array()
  for _, name in ipairs(names) do
    local set = M.get(name)
    if set then out[#out + 1] = set.meta end
  end
  return 200, out
end

function M.show(_, id)
  local set = M.get(id) or fail(404, "dataset not found")
  return 200, set.meta
end

function M.create(ctx)
  local body = util.json_body(ctx)
  local name = util.opt_string(body, "name")
  if not name or name == "" then fail(400, "name is required") end
  if not valid_name(name) then
    fail(400, "invalid dataset name: use at most 80 characters of a-z, A-Z, 0-9, '.', '_', '-'"
      .. ", starting and ending with a letter or digit, not starting with 'axiom-'")
  end
  local kind = util.opt_string(body, "kind") or "axiom:events:v1"
  if not KINDS[kind] then fail(400, "unknown dataset kind: " .. kind) end
  local days, use = body.retentionDays, body.useRetentionPeriod
  if days == nil or days == json.null then days = 0 end
  if type(days) ~= "number" or days < 0 or days % 1 ~= 0 then fail(400, "retentionDays must be an integer >= 0") end
  if use == nil or use == json.null then use = false end
  if type(use) ~= "boolean" then fail(400, "useRetentionPeriod must be a boolean") end
  local now = util.rfc3339(util.now())
  local p = ctx.principal
  local meta = {
    id = name, name = name, description = util.opt_string(body, "description") or "",
    kind = kind, who = p.name or p.id, created = now, updatedAt = now,
    retentionDays = days, useRetentionPeriod = use, canWrite = true,
    edgeDeployment = util.opt_string(body, "edgeDeployment"),
  }
  local ok, err = dict:add(name, json.encode(meta)) -- add: atomic across workers
  if not ok then
    if err == "exists" then fail(409, "dataset exists") end
    fail(500, "cannot store the dataset: " .. err)
  end
  return 200, meta
end

function M.delete(_, id)
  if not dict:get(id) then fail(404, "dataset not found") end
  dict:delete(id)
  sets[id] = nil
  return 204
end

return M
