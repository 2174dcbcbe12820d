-- client:ingest against the local server: every input form, option and failure path.
local axiom = require "axiom"
local support = require "support"

describe("client:ingest", function()
  local client
  before_each(function()
    support.reset()
    support.dataset("logs")
    client = support.client()
  end)
  after_each(function() client:close() end)

  it("sends event tables as NDJSON, zstd by default, and returns the status", function()
    local st = assert(client:ingest("logs", { { msg = "a", n = 1 }, { msg = "b", n = 2 } }))
    assert.equal(2, st.ingested)
    assert.equal(0, st.failed)
    assert.is_true(st.processedBytes > 0)
    local req = support.journal()[#support.journal()]
    assert.equal("/v1/datasets/logs/ingest", req.path)
    assert.equal("zstd", req.headers["content-encoding"])
    assert.equal("application/x-ndjson", req.headers["content-type"])
    local ev = support.events("logs")
    assert.equal(2, #ev)
    assert.equal("a", ev[1].msg)
    assert.is_string(ev[1]._time)
  end)

  for _, enc in ipairs({ "gzip", "zstd", "identity" }) do
    it("sends with encoding " .. enc, function()
      local st = assert(client:ingest("logs", { { e = enc } }, { encoding = enc }))
      assert.equal(1, st.ingested)
      local req = support.journal()[#support.journal()]
      assert.equal(enc ~= "identity" and enc or nil, req.headers["content-encoding"])
      assert.equal(enc, support.events("logs")[1].e)
    end)
  end

  it("sends a JSON array string", function()
    local st = assert(client:ingest("logs", '[{"a":1},{"a":2}]', { content_type = "json" }))
    assert.equal(2, st.ingested)
    assert.equal("application/json", support.journal()[#support.journal()].headers["content-type"])
  end)

  it("sends an NDJSON string, sniffing the type when none is given", function()
    local st = assert(client:ingest("logs", '{"a":1}\n{"a":2}\n{"a":3}\n'))
    assert.equal(3, st.ingested)
    assert.equal("application/x-ndjson", support.journal()[#support.journal()].headers["content-type"])
  end)

  it("sends CSV with a header line, a delimiter, or explicit fields", function()
    assert.equal(2, assert(client:ingest("logs", "a,b\n1,2\n3,4\n", { content_type = "csv" })).ingested)
    assert.equal(1, assert(client:ingest("logs", "x;y\n\"semi;colon\";2\n",
      { content_type = "csv", csv_delimiter = ";" })).ingested)
    assert.equal(1, assert(client:ingest("logs", "5,6\n",
      { content_type = "csv", csv_fields = { "p", "q" } })).ingested)
    local req = support.journal()[#support.journal()]
    assert.equal("p,q", req.headers["x-axiom-csv-fields"])
    assert.equal("text/csv", req.headers["content-type"])
    local ev = support.events("logs")
    assert.equal("semi;colon", ev[3].x)
    assert.equal("5", ev[4].p)
  end)

  it("sends labels as X-Axiom-Event-Labels and the server merges them", function()
    assert(client:ingest("logs", { { m = 1 } }, { labels = { region = "eu-west-1", instance = 1 } }))
    local ev = support.events("logs")[1]
    assert.equal("eu-west-1", ev.region)
    assert.equal(1, ev.instance)
  end)

  it("passes timestamp-field and timestamp-format as query parameters", function()
    assert(client:ingest("logs", { { ts = "2024-01-02T03:04:05Z" } },
      { timestamp_field = "ts", timestamp_format = "2006-01-02T15:04:05Z07:00" }))
    local req = support.journal()[#support.journal()]
    assert.equal("ts", req.query["timestamp-field"])
    assert.equal("2006-01-02T15:04:05Z07:00", req.query["timestamp-format"])
    assert.equal("2024-01-02T03:04:05Z", support.events("logs")[1]._time)
  end)

  it("uses the edge path when an edge URL is configured", function()
    local edge = support.client { edge_url = support.url }
    assert.equal(1, assert(edge:ingest("logs", { { e = 1 } })).ingested)
    assert.equal("/v1/ingest/logs", support.journal()[#support.journal()].path)
    edge:close()
  end)

  it("works under a path prefix (/api)", function()
    local prefixed = support.client { url = support.url .. "/api" }
    assert.equal(1, assert(prefixed:ingest("logs", { { p = 1 } })).ingested)
    assert.equal("/api/v1/datasets/logs/ingest", support.journal()[#support.journal()].path)
    prefixed:close()
  end)

  it("fails one bad event alone: the others are sent, the failure names its index", function()
    local st = assert(client:ingest("logs", { { ok = 1 }, { bad = print }, { ok = 3 } }))
    assert.equal(2, st.ingested)
    assert.equal(1, st.failed)
    assert.equal(2, st.failures[1].index)
    assert.matches("function", st.failures[1].error)
    assert.equal(2, #support.events("logs"))
  end)

  it("sends nothing when every event fails to encode, and says so", function()
    local before = #support.journal()
    local st = assert(client:ingest("logs", { { f = print }, 42 }))
    assert.equal(0, st.ingested)
    assert.equal(2, st.failed)
    assert.equal(before, #support.journal())
  end)

  it("returns a 200 partial failure as a status with failures", function()
    local st = assert(client:ingest("logs", '[{"a":1}, 5, {"b":2}]', { content_type = "json" }))
    assert.equal(2, st.ingested)
    assert.equal(1, st.failed)
    assert.is_string(st.failures[1].error)
  end)

  it("reports an unknown dataset as an http 404 error", function()
    local st, err = client:ingest("nope", { { a = 1 } })
    assert.is_nil(st)
    assert.equal("http", err.kind)
    assert.equal(404, err.status)
    assert.is_string(err.message)
    assert.is_string(err.trace_id)
  end)

  it("keeps a dataset name inside one path segment", function()
    local st, err = client:ingest("../tokens", { { a = 1 } })
    assert.is_nil(st)
    assert.is_true(err.status == 400 or err.status == 404) -- an invalid name, not a route
    assert.equal("/v1/datasets/..%2Ftokens/ingest", support.journal()[#support.journal()].path)
  end)

  it("rejects control characters in a dataset before sending anything", function()
    local before = #support.journal()
    for _, bad in ipairs({ "logs\r\nX-Evil: 1", "logs\n", "", ".." }) do
      local st, err = client:ingest(bad, { { a = 1 } })
      assert.is_nil(st)
      assert.equal("config", err.kind)
    end
    assert.equal(before, #support.journal())
  end)

  it("raises on misuse", function()
    assert.has_error(function() client:ingest(42, {}) end)
    assert.has_error(function() client:ingest("logs", 42) end)
    assert.has_error(function() client:ingest("logs", { a = 1 }) end)
    assert.has_error(function() client:ingest("logs", "x", { content_type = "xml" }) end)
    assert.has_error(function() client:ingest("logs", "x", { encoding = "br" }) end)
    assert.has_error(function() client:ingest("logs", "x", { timestampfield = "t" }) end)
    assert.has_error(function() client.ingest(nil, "logs", {}) end)
  end)

  it("ships integers exactly and repairs invalid UTF-8 end to end", function()
    local big = math.type and math.tointeger(2 ^ 53) + 1 or 2 ^ 53
    assert(client:ingest("logs", { { n = big, s = "caf\195\169 \255" } }, { encoding = "gzip" }))
    local ev = support.events("logs")[1]
    assert.equal("caf\195\169 \239\191\189", ev.s)
  end)
end)

describe("client:query", function()
  it("counts stored events with the APL subset of the local server", function()
    support.reset()
    support.dataset("q")
    local c = support.client()
    assert(c:ingest("q", { { k = "x" }, { k = "y" }, { k = "x" } }))
    local res = assert(c:query("['q'] | where k == \"x\" | count"))
    assert.equal(2, res.tables[1].columns[1][1])
    c:close()
  end)
end)

describe("axiom module", function()
  it("has a version and the JSON markers", function()
    assert.equal("0.1.0", axiom._VERSION)
    assert.is_function(axiom.array)
    assert.equal(require("cjson").null, axiom.null)
  end)
end)
