local url = require "axiom.url"

describe("url.segment", function()
  it("keeps unreserved characters", function()
    assert.equal("my-data_set.v2~x", url.segment("my-data_set.v2~x"))
  end)
  it("escapes everything else, so a name is exactly one path segment", function()
    assert.equal("..%2Ftokens", url.segment("../tokens"))
    assert.equal("a%20b%3Fc%23d%25", url.segment("a b?c#d%"))
    assert.equal("%C3%A9", url.segment("é"))
  end)
  it("refuses values that cannot be a segment", function()
    for _, bad in ipairs({ "", ".", "..", "a\nb", "a\rb", "x\0y", "tab\t" }) do
      local seg, why = url.segment(bad)
      assert.is_nil(seg)
      assert.is_string(why)
    end
  end)
end)

describe("url.query", function()
  it("escapes names and values", function()
    assert.equal("?timestamp-field=ts&timestamp-format=2006-01-02%2015%3A04",
      url.query({ { "timestamp-field", "ts" }, { "timestamp-format", "2006-01-02 15:04" } }))
    assert.equal("", url.query({}))
    assert.equal("?csv-delimiter=%3B", url.query({ { "csv-delimiter", ";" } }))
  end)
end)

describe("url.join", function()
  it("keeps a path prefix of the base URL", function()
    assert.equal("https://h/api/v1/tokens/ingest", url.join("https://h/api", "/v1/tokens/ingest"))
    assert.equal("https://h/api/v2/tokens", url.join("https://h/api/", "/v2/tokens"))
    assert.equal("https://api.axiom.co/v2/tokens", url.join("https://api.axiom.co", "/v2/tokens"))
  end)
end)

describe("url.ingest", function()
  local base = "https://api.axiom.co"
  it("uses the legacy path without an edge", function()
    assert.equal(base .. "/v1/datasets/ds/ingest", url.ingest({ url = base }, "ds"))
    assert.equal("http://h/api/v1/datasets/ds/ingest", url.ingest({ url = "http://h/api" }, "ds"))
  end)
  it("appends /v1/ingest/{ds} to an edge URL without a path", function()
    local e = "https://eu-central-1.aws.edge.axiom.co"
    assert.equal(e .. "/v1/ingest/ds", url.ingest({ url = base, edge_url = e }, "ds"))
    assert.equal(e .. "/v1/ingest/ds", url.ingest({ url = base, edge_url = e .. "/" }, "ds"))
  end)
  it("uses an edge URL with a custom path as it is", function()
    local e = "https://proxy.example/custom/ingest"
    assert.equal(e, url.ingest({ url = base, edge_url = e }, "ds"))
  end)
  it("turns an edge domain into https://{edge}/v1/ingest/{ds}", function()
    assert.equal("https://us-east-1.aws.edge.axiom.co/v1/ingest/ds",
      url.ingest({ url = base, edge = "us-east-1.aws.edge.axiom.co" }, "ds"))
  end)
  it("prefers the edge URL over the edge domain", function()
    assert.equal("http://127.0.0.1:9/v1/ingest/ds",
      url.ingest({ url = base, edge = "x.example", edge_url = "http://127.0.0.1:9" }, "ds"))
  end)
end)

describe("url.origin", function()
  it("compares scheme, host and port, case-insensitively", function()
    assert.equal("http://127.0.0.1:8080", url.origin("http://127.0.0.1:8080/a?b"))
    assert.equal(url.origin("HTTPS://API.axiom.co/x"), url.origin("https://api.axiom.co"))
    assert.not_equal(url.origin("http://127.0.0.1:1/x"), url.origin("http://127.0.0.1:2/x"))
  end)
end)

describe("url.resolve", function()
  local base = "http://127.0.0.1:9/api/v2/datasets?x=1"
  it("resolves the forms a Location header takes", function()
    assert.equal("https://other/x", url.resolve(base, "https://other/x"))
    assert.equal("http://evil/x", url.resolve(base, "//evil/x"))
    assert.equal("http://127.0.0.1:9/v1/x", url.resolve(base, "/v1/x"))
    assert.equal("http://127.0.0.1:9/api/v2/tokens", url.resolve(base, "tokens"))
  end)
end)
