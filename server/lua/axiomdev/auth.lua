-- Bearer authentication and capability checks.
-- A principal is the admin (every capability), the dev personal token (every capability, but
-- only with its org id and never on edge endpoints), an API token record (capability maps) or
-- a legacy ingest token record (dataset scopes, ingest only).
local tokens = require "axiomdev.tokens"
local util = require "axiomdev.util"

local ngx = ngx
local ipairs, type, match, format = ipairs, type, string.match, string.format
local fail = util.fail

local M = {}

local function env(name, default)
  local v = os.getenv(name)
  if not v or v == "" then return default end
  return v
end
local admin_secret = env("AXIOM_DEV_TOKEN", "xaat-axiom-dev-token")
local pat_secret = env("AXIOM_DEV_PAT", "xapt-axiom-dev-pat")
M.ORG_ID = env("AXIOM_DEV_ORG_ID", "axiom-dev")
local ADMIN = { kind = "api", admin = true, id = "axiom-dev-admin", name = "axiom-dev" }
local PAT = { kind = "personal", admin = true, id = "axiom-dev-user", name = "Axiom Dev" }

-- The caller's principal, or a 401.
function M.authenticate()
  local header = ngx.var.http_authorization
  if not header then fail(401, "missing Authorization header") end
  local secret = match(header, "^%s*[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
  if not secret then fail(401, "Authorization header must be 'Bearer <token>'") end
  if secret == admin_secret then return ADMIN end
  if secret == pat_secret then return PAT end
  local p = tokens.lookup(secret)
  if not p then fail(401, "invalid token") end
  if p.expires and p.expires <= util.epoch() then fail(401, "token expired") end
  return p
end

-- A personal token acts for a user in one org, named by X-Axiom-Org-Id; edge endpoints take
-- API tokens only (both as on the real service). The token is genuine either way, hence 403.
function M.check_personal(p, edge)
  if p.kind ~= "personal" then return end
  if edge then fail(403, "personal tokens are not supported on edge endpoints: use an API token") end
  local org = ngx.var.http_x_axiom_org_id
  if not org or org == "" then fail(403, "a personal token needs the X-Axiom-Org-Id header") end
  if org ~= M.ORG_ID then fail(403, "the personal token has no access to org " .. org) end
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
