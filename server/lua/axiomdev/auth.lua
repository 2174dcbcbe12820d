-- Bearer authentication and capability checks.
-- A principal is the admin (every capability), an API token record (capability maps) or a
-- legacy ingest token record (dataset scopes, ingest only).
local tokens = require "axiomdev.tokens"
local util = require "axiomdev.util"

local ngx = ngx
local ipairs, type, match, format = ipairs, type, string.match, string.format
local fail = util.fail

local M = {}

local admin_secret = os.getenv("AXIOM_DEV_TOKEN")
if not admin_secret or admin_secret == "" then admin_secret = "xaat-axiom-dev-token" end
local ADMIN = { kind = "api", admin = true, id = "axiom-dev-admin", name = "axiom-dev" }

-- The caller's principal, or a 401.
function M.authenticate()
  local header = ngx.var.http_authorization
  if not header then fail(401, "missing Authorization header") end
  local secret = match(header, "^%s*[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
  if not secret then fail(401, "Authorization header must be 'Bearer <token>'") end
  if secret == admin_secret then return ADMIN end
  local p = tokens.lookup(secret)
  if not p then fail(401, "invalid token") end
  if p.expires and p.expires <= util.epoch() then fail(401, "token expired") end
  return p
end

local function has(list, action)
  if type(list) ~= "table" then return false end
  for _, a in ipairs(list) do if a == action then return true end end
  return false
end

function M.can_dataset(p, ds, capability, action)
  if p.admin then return true end
  if p.kind == "ingest" then
    return capability == "ingest" and (has(p.scopes, "*") or has(p.scopes, ds))
  end
  local caps = p.datasetCapabilities
  return has((caps[ds] or {})[capability], action) or has((caps["*"] or {})[capability], action)
end

function M.need_dataset(p, ds, capability, action)
  if not M.can_dataset(p, ds, capability, action) then
    fail(403, format("token lacks %s:%s on dataset %s", capability, action, ds))
  end
end

function M.need_org(p, capability, action)
  if p.admin then return end
  if p.kind == "api" and has(p.orgCapabilities[capability], action) then return end
  fail(403, format("token lacks org capability %s:%s", capability, action))
end

return M
