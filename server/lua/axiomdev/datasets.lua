-- Dataset store and the /v2/datasets API. Events live here too, one array per dataset.
local util = require "axiomdev.util"
local json = require "axiomdev.json"

local pairs, ipairs, sort, find, sub = pairs, ipairs, table.sort, string.find, string.sub
local fail, array = util.fail, json.array

local M = {}

local sets -- name -> {meta = dataset JSON, events = array}

function M.reset() sets = {} end
M.reset()

function M.get(name) return sets[name] end

local KINDS = { ["axiom:events:v1"] = true, ["otel:logs:v1"] = true,
                ["otel:traces:v1"] = true, ["otel:metrics:v1"] = true }

-- Axiom's rule: <= 80 chars of [a-zA-Z0-9._-], no special char first or last, no "axiom-".
local function valid_name(name)
  return #name >= 1 and #name <= 80 and not find(name, "[^%w._-]")
    and find(name, "^%w") and find(name, "%w$") and sub(name, 1, 6) ~= "axiom-"
end

function M.list()
  local names = {}
  for name in pairs(sets) do names[#names + 1] = name end
  sort(names)
  local out = array()
  for i, name in ipairs(names) do out[i] = sets[name].meta end
  return 200, out
end

function M.show(_, id)
  local set = sets[id] or fail(404, "dataset not found")
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
  if sets[name] then fail(409, "dataset exists") end
  local now = util.rfc3339(util.now())
  local p = ctx.principal
  local meta = {
    id = name, name = name, description = util.opt_string(body, "description") or "",
    kind = kind, who = p.name or p.id, created = now, updatedAt = now,
    retentionDays = 0, useRetentionPeriod = false,
  }
  sets[name] = { meta = meta, events = {} }
  return 200, meta
end

function M.delete(_, id)
  if not sets[id] then fail(404, "dataset not found") end
  sets[id] = nil
  return 204
end

return M
