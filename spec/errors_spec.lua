local errors = require "axiom.errors"
local json_decode = require("cjson").new().decode
local function decode(s) local ok, v = pcall(json_decode, s); return ok and v or nil end

describe("errors.retry_after", function()
  it("reads delta seconds", function()
    assert.equal(120, errors.retry_after("120"))
    assert.equal(5, errors.retry_after(" 5 "))
  end)
  it("reads an HTTP-date relative to now, never negative", function()
    assert.equal(30, errors.retry_after("Sun, 06 Nov 1994 08:50:07 GMT", 784111777))
    assert.equal(0, errors.retry_after("Sun, 06 Nov 1994 08:49:00 GMT", 784111777))
  end)
  it("ignores what it cannot read", function()
    assert.is_nil(errors.retry_after(nil))
    assert.is_nil(errors.retry_after("soon"))
    assert.is_nil(errors.retry_after("-3"))
  end)
end)

describe("errors.limit", function()
  it("parses the first complete family: ingest, then query, then rate", function()
    local h = {
      ["x-ratelimit-limit"] = "100", ["x-ratelimit-remaining"] = "0",
      ["x-ratelimit-reset"] = "1700000000", ["x-ratelimit-scope"] = "organization",
    }
    assert.same({ kind = "rate", limit = 100, remaining = 0, reset = 1700000000, scope = "organization" },
      errors.limit(h))
    h["x-ingestlimit-limit"] = "5000"; h["x-ingestlimit-remaining"] = "1"; h["x-ingestlimit-reset"] = "1700000060"
    assert.same({ kind = "ingest", limit = 5000, remaining = 1, reset = 1700000060 }, errors.limit(h))
  end)
  it("ignores incomplete families", function()
    assert.is_nil(errors.limit({ ["x-querylimit-limit"] = "1", ["x-querylimit-remaining"] = "0" }))
  end)
end)

describe("errors.from_response", function()
  it("uses the JSON message, the trace id and the kind for the status", function()
    local e = errors.from_response(404, { ["x-axiom-trace-id"] = "abc" }, '{"message":"dataset not found"}',
      decode, "GET /v2/datasets/x")
    assert.equal("http", e.kind)
    assert.equal(404, e.status)
    assert.equal("dataset not found", e.message)
    assert.equal("abc", e.trace_id)
    assert.equal("axiom: http 404 (GET /v2/datasets/x): dataset not found [trace abc]", tostring(e))
    assert.is_true(errors.is(e))
  end)
  it("maps 429 to rate_limited and 430 to quota, with limits and Retry-After", function()
    local e = errors.from_response(429, { ["retry-after"] = "7", ["x-ratelimit-limit"] = "10",
      ["x-ratelimit-remaining"] = "0", ["x-ratelimit-reset"] = "99" }, '{"message":"rate limit exceeded"}', decode)
    assert.equal("rate_limited", e.kind)
    assert.equal(7, e.retry_after)
    assert.equal(99, e.limit.reset)
    assert.equal("quota", errors.from_response(430, {}, "", decode).kind)
  end)
  it("falls back to the body text, then the status text", function()
    assert.equal("upstream exploded", errors.from_response(502, {}, "upstream exploded\n", decode).message)
    assert.equal("Service Unavailable", errors.from_response(503, {}, "", decode).message)
    assert.equal("HTTP 418", errors.from_response(418, {}, "", decode).message)
    local long = errors.from_response(500, {}, string.rep("x", 5000), decode).message
    assert.is_true(#long < 600)
  end)
end)
