-- The transport's promises, checked against the local server: connection reuse, redirects,
-- header injection, the token kept out of every message, proxies, timeouts, limits, fork, close.
local axiom = require "axiom"
local support = require "support"

local VM = jit and "luajit" or "lua5.4"
local CPATH = jit and "build/5.1/?.so" or "build/5.4/?.so"

-- Run a Lua snippet in a fresh interpreter of the same kind, with `env` prefixed.
local function run_lua(env, code)
  local name = os.tmpname()
  local f = assert(io.open(name, "w"))
  f:write(code)
  f:close()
  local setup = "package.path='lua/?.lua;lua/?/init.lua;'..package.path; package.cpath='%s;'..package.cpath"
  local cmd = ("%s %s -e \"" .. setup .. "\" %s 2>&1"):format(env, VM, CPATH, name)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  os.remove(name)
  return out
end

describe("transport", function()
  local mark -- journal entries before the test's own requests
  local function journal() return support.journal_since(mark) end
  before_each(function()
    support.reset()
    support.dataset("logs")
    mark = #support.journal()
  end)

  it("keeps one connection alive across calls of a client", function()
    local c = support.client()
    assert(c.datasets:list())
    assert(c.datasets:list())
    assert(c:ingest("logs", { { a = 1 } }))
    local j = journal()
    assert.equal(3, #j)
    assert.equal(j[1].connection, j[2].connection)
    assert.equal(j[1].connection, j[3].connection)
    local other = support.client()
    assert(other.datasets:list())
    assert.not_equal(j[1].connection, journal()[4].connection)
    c:close(); other:close()
  end)

  it("never follows a redirect to another host, so the token stays home", function()
    support.script { path = "^/v2/tokens$", status = 307,
                     headers = { Location = support.alt_url .. "/v2/tokens" } }
    local c = support.client()
    local r, err = c.api_tokens:list()
    assert.is_nil(r)
    assert.equal("http", err.kind)
    assert.equal(307, err.status)
    assert.matches("another host", err.message)
    for _, req in ipairs(journal()) do assert.equal(support.port, req.port) end
    c:close()
  end)

  it("does not follow 301/302 either, even on the same host", function()
    support.script { path = "^/v2/datasets$", status = 302, headers = { Location = "/v2/datasets" } }
    local c = support.client()
    local r, err = c.datasets:list()
    assert.is_nil(r)
    assert.equal(302, err.status)
    assert.equal(1, #journal())
    c:close()
  end)

  it("follows a same-origin 307, keeping method and body", function()
    support.script { path = "^/v1/datasets/logs/ingest$", status = 307,
                     headers = { Location = "/api/v1/datasets/logs/ingest" } }
    local c = support.client()
    assert.equal(1, assert(c:ingest("logs", { { moved = true } })).ingested)
    local j = journal()
    assert.equal("/api/v1/datasets/logs/ingest", j[2].path)
    assert.equal("POST", j[2].method)
    assert.equal("Bearer <redacted>", j[2].headers.authorization)
    c:close()
  end)

  it("keeps the token out of errors, tostring and fields", function()
    local secret = "xaat-secret-0123456789"
    local c = support.client { token = secret }
    local _, err = c.datasets:list()
    assert.equal(401, err.status)
    assert.not_matches(secret, tostring(err))
    assert.not_matches(secret, tostring(c))
    for k, v in pairs(c) do
      assert.not_matches(secret, tostring(k))
      assert.not_matches(secret, tostring(v))
    end
    local down = assert(axiom.new { token = secret, url = "http://127.0.0.1:1" })
    _, err = down.datasets:list()
    assert.equal("network", err.kind)
    assert.not_matches(secret, tostring(err))
    local _, cfg = axiom.new { token = secret .. "\n" }
    assert.equal("config", cfg.kind)
    assert.not_matches(secret, tostring(cfg))
    c:close(); down:close()
  end)

  it("sends X-Axiom-Org-Id only when configured, and a User-Agent", function()
    local c = support.client { org_id = "my-org" }
    assert(c.datasets:list())
    local plain = support.client { user_agent = "my-app/2.0" }
    assert(plain.datasets:list())
    local j = journal()
    assert.equal("my-org", j[1].headers["x-axiom-org-id"])
    assert.matches("^lua%-axiom/", j[1].headers["user-agent"])
    assert.is_nil(j[2].headers["x-axiom-org-id"])
    assert.equal("my-app/2.0", j[2].headers["user-agent"])
    c:close(); plain:close()
  end)

  it("sends large bodies without Expect: 100-continue", function()
    local c = support.client()
    local events = {}
    for i = 1, 5000 do events[i] = { i = i, pad = ("x"):rep(300) } end
    assert.equal(5000, assert(c:ingest("logs", events, { encoding = "identity" })).ingested)
    local req = journal()[1]
    assert.is_nil(req.headers.expect)
    assert.is_true(req.body_bytes > 1024 * 1024)
    c:close()
  end)

  it("turns 429, 430 and 5xx answers into error tables with limits and Retry-After", function()
    local c = support.client()
    support.script { path = "^/v2/tokens$", status = 429, body = '{"message":"rate limit exceeded"}',
      headers = { ["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT", ["X-RateLimit-Limit"] = "100",
        ["X-RateLimit-Remaining"] = "0", ["X-RateLimit-Reset"] = "1445412480",
        ["X-RateLimit-Scope"] = "organization", ["X-Axiom-Trace-Id"] = "t-429" } }
    local r, err = c.api_tokens:list()
    assert.is_nil(r)
    assert.equal("rate_limited", err.kind)
    assert.equal(429, err.status)
    assert.equal("rate limit exceeded", err.message)
    assert.equal("t-429", err.trace_id)
    assert.equal(0, err.retry_after) -- that date is long past
    assert.same({ kind = "rate", limit = 100, remaining = 0, reset = 1445412480, scope = "organization" },
      err.limit)

    support.script { path = "^/v1/datasets/logs/ingest$", status = 430, body = '{"message":"monthly ingest limit"}',
      headers = { ["Retry-After"] = "120", ["X-IngestLimit-Limit"] = "1000", ["X-IngestLimit-Remaining"] = "0",
        ["X-IngestLimit-Reset"] = "1900000000" } }
    r, err = c:ingest("logs", { { a = 1 } })
    assert.is_nil(r)
    assert.equal("quota", err.kind)
    assert.equal(120, err.retry_after)
    assert.equal("ingest", err.limit.kind)
    assert.equal(1900000000, err.limit.reset)

    support.script { path = "^/v2/datasets$", status = 502, body = "<html>bad gateway</html>\n",
      headers = { ["Content-Type"] = "text/html" } }
    r, err = c.datasets:list()
    assert.is_nil(r)
    assert.equal("http", err.kind)
    assert.equal(502, err.status)
    assert.equal("<html>bad gateway</html>", err.message)
    assert.matches("^axiom: http 502 %(GET /v2/datasets%): <html>", tostring(err))
    c:close()
  end)

  it("reports a refused connection as a network error naming the request", function()
    local c = assert(axiom.new { token = "xaat-x", url = "http://127.0.0.1:1" })
    local r, err = c.datasets:list()
    assert.is_nil(r)
    assert.equal("network", err.kind)
    assert.equal("GET /v2/datasets", err.request)
    c:close()
  end)

  it("times out a slow answer with kind timeout", function()
    support.script { path = "^/v2/datasets$", delay = 2, status = 200, body = "[]" }
    local c = support.client { timeout = 0.3 }
    local t0 = os.time()
    local r, err = c.datasets:list()
    assert.is_nil(r)
    assert.equal("timeout", err.kind)
    assert.is_true(os.time() - t0 <= 2)
    c:close()
  end)

  it("caps the size of a response body", function()
    local admin = support.client()
    for i = 1, 20 do assert(admin.datasets:create { name = "ds" .. i }) end
    local c = support.client { max_response = 200 }
    local r, err = c.datasets:list()
    assert.is_nil(r)
    assert.equal("network", err.kind)
    assert.matches("200", err.message)
    admin:close(); c:close()
  end)

  it("uses the proxy option, and proxy = false ignores the proxy environment", function()
    local c = support.client { url = "http://axiom.invalid", proxy = support.alt_url }
    assert(c.datasets:list())
    assert.equal(support.alt_port, journal()[1].port)
    c:close()
    local code = ([[
      local axiom = require "axiom"
      local c = assert(axiom.new { url = %q, token = %q, proxy = %s })
      local r, err = c.datasets:list()
      print(r and "ok" or err.kind)
    ]])
    assert.matches("ok", run_lua("http_proxy=http://127.0.0.1:1", code:format(support.url, support.token, "false")))
    assert.matches("network", run_lua("http_proxy=http://127.0.0.1:1", code:format(support.url, support.token, "nil")))
    -- an explicit proxy wins over no_proxy as well
    assert.matches("ok", run_lua("no_proxy=axiom.invalid,127.0.0.1",
      code:format("http://axiom.invalid", support.token, ("%q"):format(support.alt_url))))
  end)

  it("closes idempotently; a closed client raises at the caller", function()
    local c = support.client()
    assert.is_true(c:close())
    assert.is_true(c:close())
    assert.matches("closed", tostring(c))
    local ok, msg = pcall(function() local r = c.datasets:list(); return r end) -- no tail call: 5.1 loses its line
    assert.is_false(ok)
    assert.matches("transport_spec.lua:%d+: datasets:list: client is closed", msg)
    assert.has_error(function() c:ingest("logs", {}) end)
  end)

  if _VERSION == "Lua 5.4" then
    it("closes with <close> on Lua 5.4", function()
      local chunk = assert(load([[
        local support = ...
        local kept
        do
          local c <close> = support.client()
          kept = c
        end
        return kept
      ]]))
      assert.matches("closed", tostring(chunk(support)))
    end)
  end

  if jit then
    it("never shares the parent's connection with a forked child", function()
      local ffi = require "ffi"
      pcall(ffi.cdef, "int fork(void); int waitpid(int, int *, int); void _exit(int);")
      local c = support.client()
      assert(c.datasets:list())
      local pid = ffi.C.fork()
      if pid == 0 then
        local ok = c.datasets:list()
        ffi.C._exit(ok and 0 or 1)
      end
      local status = ffi.new("int[1]")
      ffi.C.waitpid(pid, status, 0)
      assert.equal(0, status[0])
      assert(c.datasets:list())
      local j = journal()
      assert.equal(3, #j)
      assert.not_equal(j[1].connection, j[2].connection) -- the child's own
      assert.equal(j[1].connection, j[3].connection)     -- the parent's, untouched
      c:close()
    end)
  end
end)
