local config = require "axiom.config"

local function env(t) return function(name) return t[name] end end

describe("config.resolve", function()
  it("falls back to the environment for every unset field", function()
    local cfg = assert(config.resolve({}, env {
      AXIOM_TOKEN = "xaat-1", AXIOM_URL = "http://127.0.0.1:9/api", AXIOM_ORG_ID = "org-1",
      AXIOM_EDGE_URL = "http://127.0.0.1:10", AXIOM_EDGE = "eu-central-1.aws.edge.axiom.co",
    }))
    assert.equal("xaat-1", cfg.token)
    assert.equal("http://127.0.0.1:9/api", cfg.url)
    assert.equal("org-1", cfg.org_id)
    assert.equal("http://127.0.0.1:10", cfg.edge_url)
    assert.equal("eu-central-1.aws.edge.axiom.co", cfg.edge)
  end)
  it("prefers explicit options over the environment", function()
    local cfg = assert(config.resolve({ token = "xaat-2", url = "http://h" },
      env { AXIOM_TOKEN = "xaat-1", AXIOM_URL = "http://other" }))
    assert.equal("xaat-2", cfg.token)
    assert.equal("http://h", cfg.url)
  end)
  it("has defaults", function()
    local cfg = assert(config.resolve({ token = "xaat-1" }, env {}))
    assert.equal("https://api.axiom.co", cfg.url)
    assert.equal(30, cfg.timeout)
    assert.equal(10, cfg.connect_timeout)
    assert.is_true(cfg.verify_tls)
    assert.is_nil(cfg.org_id)
  end)
  it("treats empty environment variables as unset", function()
    local cfg = assert(config.resolve({ token = "xaat-1" }, env { AXIOM_URL = "", AXIOM_ORG_ID = "" }))
    assert.equal("https://api.axiom.co", cfg.url)
    assert.is_nil(cfg.org_id)
  end)
  it("needs a token", function()
    local cfg, err = config.resolve({}, env {})
    assert.is_nil(cfg)
    assert.equal("config", err.kind)
    assert.matches("AXIOM_TOKEN", err.message)
  end)
  it("rejects control characters in token, org id and URLs, without printing the token", function()
    for _, opts in ipairs({
      { token = "xaat-secret\r\nX-Evil: 1" },
      { token = "xaat-1", org_id = "org\n" },
      { token = "xaat-1", url = "http://h/\r\n" },
      { token = "xaat-secret\0" },
    }) do
      local cfg, err = config.resolve(opts, env {})
      assert.is_nil(cfg)
      assert.equal("config", err.kind)
      assert.not_matches("secret", tostring(err))
    end
  end)
  it("needs an org id for a personal token on the cloud URL", function()
    local cfg, err = config.resolve({ token = "xapt-1" }, env {})
    assert.is_nil(cfg)
    assert.matches("org", err.message)
    assert.truthy(config.resolve({ token = "xapt-1", org_id = "o" }, env {}))
    assert.truthy(config.resolve({ token = "xapt-1", url = "http://127.0.0.1:1" }, env {}))
  end)
  it("refuses personal tokens on edge endpoints", function()
    local cfg, err = config.resolve({ token = "xapt-1", org_id = "o", edge = "e.example" }, env {})
    assert.is_nil(cfg)
    assert.matches("edge", err.message)
  end)
  it("checks URL forms", function()
    assert.is_nil(config.resolve({ token = "t", url = "ftp://x" }, env {}))
    assert.is_nil(config.resolve({ token = "t", edge_url = "nope" }, env {}))
    assert.is_nil(config.resolve({ token = "t", edge = "https://x/y" }, env {}))
  end)
  it("refuses timeouts and limits that cannot work", function()
    for _, opts in ipairs({ { timeout = 0 }, { timeout = 0 / 0 }, { connect_timeout = -1 },
                            { timeout = math.huge }, { max_response = 0 }, { max_response = 1.5 } }) do
      opts.token = "xaat-1"
      local cfg, err = config.resolve(opts, env {})
      assert.is_nil(cfg)
      assert.equal("config", err.kind)
    end
  end)
  it("raises on misuse: unknown options and wrong types", function()
    assert.has_error(function() config.resolve({ tokn = "x" }, env {}) end, "axiom.new: unknown option 'tokn'")
    assert.has_error(function() config.resolve({ timeout = "5" }, env {}) end)
    assert.has_error(function() config.resolve({ proxy = true }, env {}) end)
    assert.has_error(function() config.resolve("token", env {}) end)
  end)
end)
