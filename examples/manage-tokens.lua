--- Manage Axiom tokens: the legacy ingest tokens (v1) and API tokens (v2).
--   lua5.4 examples/manage-tokens.lua DATASET
-- Needs a token that may manage tokens (AXIOM_TOKEN; AXIOM_URL for the local server).
local axiom = require "axiom"

local dataset = arg[1] or "lua-axiom-demo"
local admin = assert(axiom.new())
local function check(v, err) if v == nil then error(tostring(err), 2) end return v end

-- API tokens (today's API): create an ingest-only token, list, regenerate, delete.
local tok = check(admin.api_tokens:create {
  name = "example-ingest", description = "created by examples/manage-tokens.lua",
  datasetCapabilities = { [dataset] = { ingest = { "create" } } },
})
print(("api token %s created, secret %s…"):format(tok.id, tok.token:sub(1, 9)))
for _, t in ipairs(check(admin.api_tokens:list())) do print("  api token: " .. t.id .. " " .. t.name) end
local new = check(admin.api_tokens:regenerate(tok.id, {
  existingTokenExpiresAt = os.time() + 60,   -- the old secret keeps working for a minute
}))
print(("regenerated: new id %s; the old secret expires in 60 s"):format(new.id))
check(admin.api_tokens:delete(new.id))
print("deleted " .. new.id)

-- Legacy ingest tokens (/v1/tokens/ingest), where the service still offers them.
local it, err = admin.ingest_tokens:create { name = "example-legacy", scopes = { dataset } }
if not it then
  print("legacy ingest tokens unavailable here: " .. tostring(err))
else
  local secret = check(admin.ingest_tokens:token(it.id))
  local legacy = check(axiom.new { token = secret.token })
  print(("ingest token %s valid: %s"):format(it.id, tostring(legacy.ingest_tokens:validate())))
  legacy:close()
  check(admin.ingest_tokens:update(it.id, { name = "example-legacy-renamed", scopes = { dataset } }))
  print("renamed to " .. check(admin.ingest_tokens:get(it.id)).name)
  check(admin.ingest_tokens:delete(it.id))
  print("deleted " .. it.id)
end
admin:close()
