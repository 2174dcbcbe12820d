-- Token endpoints against the local server: the legacy ingest tokens (v1) and API tokens (v2),
-- and that the tokens they create really work, within their scopes.
local support = require "support"

describe("client.ingest_tokens (v1)", function()
  local admin
  before_each(function()
    support.reset()
    support.dataset("logs")
    support.dataset("other")
    admin = support.client()
  end)
  after_each(function() admin:close() end)

  it("creates, lists, gets, updates, shows the secret and deletes", function()
    local t = assert(admin.ingest_tokens:create { name = "shipper", description = "d", scopes = { "logs" } })
    assert.is_string(t.id)
    assert.equal("shipper", t.name)
    assert.same({ "logs" }, t.scopes)

    local list = assert(admin.ingest_tokens:list())
    assert.equal(1, #list)
    assert.equal(t.id, list[1].id)

    assert.equal("d", assert(admin.ingest_tokens:get(t.id)).description)

    local u = assert(admin.ingest_tokens:update(t.id,
      { name = "renamed", description = "e", scopes = { "logs", "other" } }))
    assert.equal("renamed", u.name)
    assert.same({ "logs", "other" }, assert(admin.ingest_tokens:get(t.id)).scopes)

    local secret = assert(admin.ingest_tokens:token(t.id))
    assert.matches("^xait%-", secret.token)
    assert.same({ "logs", "other" }, secret.scopes)

    assert.is_true(assert(admin.ingest_tokens:delete(t.id)))
    local gone, err = admin.ingest_tokens:get(t.id)
    assert.is_nil(gone)
    assert.equal(404, err.status)
  end)

  it("sends empty scopes as an array, and the server defaults them to *", function()
    local t = assert(admin.ingest_tokens:create { name = "all", scopes = {} })
    assert.same({ "*" }, t.scopes)
  end)

  it("gives a token that ingests into its scopes only and validates itself", function()
    local t = assert(admin.ingest_tokens:create { name = "scoped", scopes = { "logs" } })
    local secret = assert(admin.ingest_tokens:token(t.id)).token
    local shipper = support.client { token = secret }
    assert.is_true(shipper.ingest_tokens:validate())
    assert.equal(1, assert(shipper:ingest("logs", { { a = 1 } })).ingested)
    local st, err = shipper:ingest("other", { { a = 1 } })
    assert.is_nil(st)
    assert.equal(403, err.status)
    -- an ingest token manages nothing
    st, err = shipper.api_tokens:list()
    assert.is_nil(st)
    assert.is_true(err.status == 401 or err.status == 403)
    -- after deletion it no longer validates
    assert(admin.ingest_tokens:delete(t.id))
    local ok, verr = shipper.ingest_tokens:validate()
    assert.is_false(ok)
    assert.equal(401, verr.status)
    shipper:close()
  end)

  it("keeps ids inside one path segment and rejects control characters", function()
    local r, err = admin.ingest_tokens:get("../../v2/tokens")
    assert.is_nil(r)
    assert.equal(404, err.status)
    r, err = admin.ingest_tokens:delete("id\r\nX: y")
    assert.is_nil(r)
    assert.equal("config", err.kind)
  end)

  it("raises on misuse", function()
    assert.has_error(function() admin.ingest_tokens:get(42) end)
    assert.has_error(function() admin.ingest_tokens:create { description = "no name" } end)
    assert.has_error(function() admin.ingest_tokens:create { name = "x", scope = {} } end)
    assert.has_error(function() admin.ingest_tokens:update("id", { description = "no name" }) end)
    assert.has_error(function() admin.ingest_tokens.list() end)
  end)
end)

describe("client.api_tokens (v2)", function()
  local admin
  before_each(function()
    support.reset()
    support.dataset("logs")
    admin = support.client()
  end)
  after_each(function() admin:close() end)

  local function ingest_only()
    return assert(admin.api_tokens:create {
      name = "ingest-only", description = "d",
      datasetCapabilities = { logs = { ingest = { "create" } } },
    })
  end

  it("creates (with the secret once), lists, gets and deletes", function()
    local t = ingest_only()
    assert.matches("^xaat%-", t.token)
    assert.same({ "create" }, t.datasetCapabilities.logs.ingest)
    local list = assert(admin.api_tokens:list())
    local found
    for _, x in ipairs(list) do
      if x.id == t.id then found = x end
      assert.is_nil(x.token)
    end
    assert.equal("ingest-only", found.name)
    local got = assert(admin.api_tokens:get(t.id))
    assert.equal("d", got.description)
    assert.is_nil(got.token)
    assert.is_true(assert(admin.api_tokens:delete(t.id)))
    local gone, err = admin.api_tokens:get(t.id)
    assert.is_nil(gone)
    assert.equal(404, err.status)
  end)

  it("gives a token that works within its capabilities, and stops at deletion", function()
    local t = ingest_only()
    local shipper = support.client { token = t.token }
    assert.equal(1, assert(shipper:ingest("logs", { { a = 1 } })).ingested)
    local r, err = shipper.api_tokens:list()
    assert.is_nil(r)
    assert.equal(403, err.status)
    assert(admin.api_tokens:delete(t.id))
    r, err = shipper:ingest("logs", { { a = 2 } })
    assert.is_nil(r)
    assert.equal(401, err.status)
    shipper:close()
  end)

  it("accepts expiry as epoch seconds, and an expired token is refused", function()
    local t = assert(admin.api_tokens:create {
      name = "short", expiresAt = os.time() - 10,
      datasetCapabilities = { logs = { ingest = { "create" } } },
    })
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT", t.expiresAt)
    local c = support.client { token = t.token }
    local r, err = c:ingest("logs", { { a = 1 } })
    assert.is_nil(r)
    assert.equal(401, err.status)
    c:close()
  end)

  it("regenerates: a new id and secret; the old secret stops at existingTokenExpiresAt", function()
    local t = ingest_only()
    local n = assert(admin.api_tokens:regenerate(t.id, { existingTokenExpiresAt = os.time() - 1 }))
    assert.not_equal(t.id, n.id)
    assert.not_equal(t.token, n.token)
    assert.same({ "create" }, n.datasetCapabilities.logs.ingest)
    for _, x in ipairs(assert(admin.api_tokens:list())) do assert.not_equal(t.id, x.id) end
    local old, new = support.client { token = t.token }, support.client { token = n.token }
    local r, err = old:ingest("logs", { { a = 1 } })
    assert.is_nil(r)
    assert.equal(401, err.status)
    assert.equal(1, assert(new:ingest("logs", { { a = 1 } })).ingested)
    old:close(); new:close()
  end)

  it("keeps the old secret working until a future existingTokenExpiresAt", function()
    local t = ingest_only()
    assert(admin.api_tokens:regenerate(t.id, { existingTokenExpiresAt = os.time() + 3600 }))
    local old = support.client { token = t.token }
    assert.equal(1, assert(old:ingest("logs", { { a = 1 } })).ingested)
    old:close()
  end)

  it("raises on misuse", function()
    assert.has_error(function() admin.api_tokens:create { description = "no name" } end)
    assert.has_error(function() admin.api_tokens:create { name = "x", expires_at = 1 } end)
    assert.has_error(function() admin.api_tokens:regenerate("id", {}) end)
    assert.has_error(function() admin.api_tokens:get() end)
  end)
end)

describe("client.datasets", function()
  it("creates, lists, gets and deletes", function()
    support.reset()
    local c = support.client()
    local ds = assert(c.datasets:create { name = "fresh", description = "x" })
    assert.equal("fresh", ds.name)
    local _, err = c.datasets:create { name = "fresh" }
    assert.equal(409, err.status)
    assert.equal("x", assert(c.datasets:get("fresh")).description)
    assert.is_true(#assert(c.datasets:list()) >= 1)
    assert.is_true(assert(c.datasets:delete("fresh")))
    _, err = c.datasets:get("fresh")
    assert.equal(404, err.status)
    c:close()
  end)
end)
