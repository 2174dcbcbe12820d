-- What a hostile or broken server, or a careless caller, gets from the library: always
-- `nil, err` for runtime trouble and a raised error at the caller's line for misuse, never an
-- internal Lua error.
local axiom = require "axiom"
local support = require "support"

describe("odd answers from the server", function()
  local c
  before_each(function()
    support.reset()
    support.dataset("logs")
    c = support.client()
  end)
  after_each(function() c:close() end)

  for _, body in ipairs({ "false", "null", "", "42", "\"text\"", "not json" }) do
    it("a 200 with body " .. (body == "" and "(empty)" or body) .. " is an error for a list", function()
      support.script { path = "^/v2/tokens$", status = 200, body = body,
                       headers = { ["Content-Type"] = "application/json" } }
      local r, err = c.api_tokens:list()
      assert.is_nil(r)
      assert.equal("http", err.kind)
      assert.equal(200, err.status)
    end)
  end

  it("a delete succeeds on any 2xx, whatever the body", function()
    local t = assert(c.api_tokens:create { name = "x" })
    support.script { path = "^/v2/tokens/", method = "DELETE", status = 200, body = "false" }
    assert.is_true(c.api_tokens:delete(t.id))
  end)

  it("an ingest answer that is not an ingest status is an error, also with refused events", function()
    for _, body in ipairs({ '{"ingested":1,"failed":null,"failures":null}', '{"ingested":"1","failed":0}',
                            '{"ingested":1,"failed":0,"failures":"x"}', "[]" }) do
      support.script { path = "/ingest$", status = 200, body = body }
      local st, err = c:ingest("logs", { { a = 1 }, { f = print } })
      assert.is_nil(st)
      assert.equal("http", err.kind)
      assert.matches("ingest status", err.message)
    end
  end)

  it("a null failures list is an empty one", function()
    support.script { path = "/ingest$", status = 200,
                     body = '{"ingested":1,"failed":0,"failures":null,"processedBytes":9}' }
    local st = assert(c:ingest("logs", { { a = 1 }, { f = print } }))
    assert.equal(1, st.failed)
    assert.equal(1, #st.failures)
  end)

  it("keeps control characters and long messages out of errors", function()
    support.script { path = "^/v2/datasets$", status = 500, body = "boom\27[31m red\0zero",
                     headers = { ["Content-Type"] = "text/plain" } }
    local _, err = c.datasets:list()
    assert.not_matches("%c", tostring(err))
    support.script { path = "^/v2/datasets$", status = 400, body = '{"message":"' .. ("x"):rep(5000) .. '\\n"}' }
    _, err = c.datasets:list()
    assert.is_true(#err.message <= 515)
  end)

  it("caps an absurd Retry-After and still prints", function()
    support.script { path = "^/v2/datasets$", status = 429, headers = { ["Retry-After"] = "99999999999999999999" } }
    local _, err = c.datasets:list()
    assert.equal(86400, err.retry_after)
    assert.matches("retry after 86400s", tostring(err))
  end)

  it("follows a same-origin relative-path redirect", function()
    support.script { path = "^/v2/datasets$", status = 307, headers = { Location = "datasets" } }
    assert.equal(1, #assert(c.datasets:list()))
  end)
end)

describe("careless callers", function()
  local c
  before_each(function() c = support.client() end)
  after_each(function() c:close() end)

  it("raise at their own line for bad option values", function()
    local cases = {
      function() c.ingest_tokens:create { name = "n", scopes = { logs = true } } end,
      function() c.ingest_tokens:create { name = "n", scopes = { [2] = "logs" } } end,
      function() c.ingest_tokens:create { name = "n", scopes = "logs" } end,
      function() c:ingest("logs", "a,b", { csv_fields = { true } }) end,
      function() c:query("['logs']", "x") end,
      function() c:query("['logs']", { format = {} }) end,
      function() c:query("['logs']", { startTime = 1e20 }) end,
      function() c:query("['logs']", { endTime = 0 / 0 }) end,
      function() c.api_tokens:create { name = "n", expiresAt = 1 / 0 } end,
      function() c.api_tokens:create { name = "n", datasetCapabilities = "x" } end,
      function() c.api_tokens:create { name = "n", datasetCapabilities = { logs = { ingest = "create" } } } end,
      function() c.api_tokens:create { name = "n", orgCapabilities = { apiTokens = { 1 } } } end,
      function() c:ingest("logs", setmetatable({}, { __index = function() return { a = 1 } end })) end,
      function() c:ingest(42, {}) end,
      function() c:ingest("logs", {}, { encoding = "br" }) end,
      function() c.ingest("logs", {}) end,
      function() c.datasets.list() end,
      function() c.datasets:get({}) end,
      function() axiom.new { tokn = "x" } end,
      function() axiom.new { timeout = "5" } end,
      function() return c.api_tokens:regenerate("id", {}) end, -- a tail call, too
      function()
        local closed = support.client()
        closed:close()
        closed.api_tokens:list()
      end,
    }
    for i, f in ipairs(cases) do
      local ok, msg = pcall(f)
      assert.is_false(ok, "case " .. i)
      assert.matches("robustness_spec%.lua:%d+:", msg, 1, false, "case " .. i)
    end
  end)

  it("get config errors for values that cannot work", function()
    for _, opts in ipairs({ { token = "" }, { token = "t", proxy = "http://p\0x" },
                            { token = "t", ca_file = "a\nb" } }) do
      local r, err = axiom.new(opts)
      assert.is_nil(r)
      assert.equal("config", err.kind)
    end
  end)
end)
