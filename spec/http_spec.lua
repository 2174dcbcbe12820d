-- core.http transport, unit level: no server needed. Real requests
-- (statuses, headers, timeouts, TLS) are covered by the integration specs.
local core = require("axiom.core")

describe("core.http", function()
  it("creates a transport with defaults or options", function()
    local t = core.http()
    assert.is_truthy(tostring(t):match("^axiom%.http: 0x%x+ %(open%)$"))
    t:close()
    t = core.http({
      timeout = 0.5, connect_timeout = 0.25, user_agent = "spec/1",
      ca_file = "/etc/ssl/certs/ca-certificates.crt", verify_tls = false,
      proxy = false, max_response = 1024,
    })
    t:close()
    core.http({ proxy = "http://127.0.0.1:3128" }):close()
  end)

  it("rejects bad options", function()
    local bad = {
      { timeout = 0 }, { timeout = -1 }, { timeout = "5" }, { timeout = 1 / 0 },
      { connect_timeout = 0 }, { user_agent = 1 }, { ca_file = true },
      { verify_tls = "no" }, { proxy = true }, { proxy = 1 },
      { max_response = -1 }, { user_agent = "a\0b" },
    }
    for _, opts in ipairs(bad) do
      assert.has_error(function() core.http(opts) end)
    end
    assert.has_error(function() core.http("x") end)
  end)

  it("closes idempotently, and tostring says so", function()
    local t = core.http()
    t:close()
    t:close()
    assert.is_truthy(tostring(t):match("^axiom%.http: 0x%x+ %(closed%)$"))
  end)

  it("raises at the caller's level when used after close", function()
    local t = core.http()
    t:close()
    local ok, err = pcall(function()
      local status = t:request("GET", "http://127.0.0.1:1/")   -- not a tail call
      return status
    end)
    assert.is_false(ok)
    assert.is_truthy(err:match("http_spec%.lua:%d+: axiom%.http: transport is closed$"), err)
  end)

  if _VERSION == "Lua 5.4" then
    it("closes through <close>", function()
      local chunk = assert(load([[
        local core = ...
        local seen
        do
          local t <close> = core.http()
          seen = t
        end
        return tostring(seen)
      ]]))
      assert.is_truthy(chunk(core):match("%(closed%)$"))
    end)
  end

  it("returns nil, 'network', message for a refused connection", function()
    local t = core.http({ connect_timeout = 2, timeout = 5 })
    local status, kind, msg = t:request("GET", "http://127.0.0.1:1/", { "X-Secret: s3cr3t" })
    assert.is_nil(status)
    assert.equal("network", kind)
    assert.is_truthy(msg:find("(CURLE_COULDNT_CONNECT)", 1, true), msg)
    assert.is_nil(msg:find("s3cr3t", 1, true))
    -- The transport stays usable after a failure.
    status, kind = t:request("POST", "http://127.0.0.1:1/", nil, "body")
    assert.is_nil(status)
    assert.equal("network", kind)
    t:close()
  end)

  it("refuses protocols other than http and https", function()
    local t = core.http()
    local status, kind, msg = t:request("GET", "file:///etc/hostname")
    assert.is_nil(status)
    assert.equal("network", kind)
    assert.is_truthy(msg:find("CURLE_UNSUPPORTED_PROTOCOL", 1, true), msg)
    t:close()
  end)

  it("raises on misuse", function()
    local t = core.http()
    assert.has_error(function() t:request("HEAD", "http://127.0.0.1:1/") end)
    assert.has_error(function() t:request("GET") end)
    assert.has_error(function() t:request("GET", "http://127.0.0.1:1/", "X-A: 1") end)
    assert.has_error(function() t:request("GET", "http://127.0.0.1:1/", { 1 }) end)
    assert.has_error(function() t.request({}, "GET", "http://127.0.0.1:1/") end)
    t:close()
  end)

  it("is collected without being closed", function()
    for _ = 1, 50 do core.http() end
    collectgarbage()
    collectgarbage()
  end)
end)
