-- The local server's fault injection (POST /_dev/script, /_dev/down) and its instruments
-- (journal, stats, reset), seen from the wire: each kind is asserted as curl sees it (status,
-- headers, body, or curl's exit code: 52 empty reply, 56 reset, 18 partial, 28 timeout).
-- Needs a running server:  server/run 18123  (or AXIOM_TEST_URL=http://127.0.0.1:PORT)
local h = require "server_curl"
local BASE, PORT, ALT, ADMIN = h.BASE, h.PORT, h.ALT, h.ADMIN
local request, admin, ingest, events, journal, script = h.request, h.admin, h.ingest, h.events, h.journal, h.script
local q, sh, slurp, spit, tmpfile, assert_error = h.q, h.sh, h.slurp, h.spit, h.tmpfile, h.assert_error

local CURL_EMPTY_REPLY, CURL_RESET, CURL_PARTIAL, CURL_TIMEOUT = 52, 56, 18, 28

local function stats() return request { path = "/_dev/stats" }.json end

describe("local server fault injection", function()
  setup(h.need_server)
  teardown(h.cleanup)
  before_each(function()
    h.reset()
    h.create_dataset("f")
  end)

  describe("scripted answers", function()
    local function kind(status, headers, body)
      script { path = "^/v1/datasets/f/ingest$", status = status, headers = headers, body = body }
      local r = ingest("f", '{"a":1}')
      assert.equal(status, r.status, r.body)
      assert.equal(0, r.exit)
      assert.matches("^%x+$", r.headers["x-axiom-trace-id"]) -- scripted answers carry one too
      return r
    end

    it("429 with X-RateLimit-* and Retry-After in seconds", function()
      local r = kind(429, { ["X-RateLimit-Scope"] = "organization", ["X-RateLimit-Limit"] = "100",
                            ["X-RateLimit-Remaining"] = "0", ["X-RateLimit-Reset"] = "1700000000",
                            ["Retry-After"] = "7" }, '{"message":"rate limit exceeded"}')
      assert.equal("1700000000", r.headers["x-ratelimit-reset"])
      assert.equal("0", r.headers["x-ratelimit-remaining"])
      assert.equal("7", r.headers["retry-after"])
      assert.equal("rate limit exceeded", r.json.message)
      assert.matches("^application/json", r.headers["content-type"])
      assert.same({}, events("f"))
    end)

    it("429 with Retry-After as an HTTP-date", function()
      local date = "Wed, 21 Oct 2026 07:28:00 GMT"
      assert.equal(date, kind(429, { ["Retry-After"] = date }).headers["retry-after"])
    end)

    it("430 with X-IngestLimit-*", function()
      local r = kind(430, { ["X-IngestLimit-Limit"] = "1000", ["X-IngestLimit-Remaining"] = "0",
                            ["X-IngestLimit-Reset"] = "1700003600" }, '{"message":"ingest limit exceeded"}')
      assert.equal("1000", r.headers["x-ingestlimit-limit"])
      assert.equal("0", r.headers["x-ingestlimit-remaining"])
      assert.equal("1700003600", r.headers["x-ingestlimit-reset"])
    end)

    it("500, 502, 503, 504, 413 and 401, JSON or not", function()
      for _, status in ipairs { 500, 502, 503, 504, 413, 401 } do
        local r = kind(status, nil, '{"message":"boom"}')
        assert.equal("boom", r.json.message)
      end
      local html = kind(502, { ["Content-Type"] = "text/html" }, "<html>bad gateway</html>")
      assert.equal("<html>bad gateway</html>", html.body)
      assert.equal("text/html", html.headers["content-type"])
      assert.matches("^text/plain", kind(503, nil, "down").headers["content-type"])
      assert.equal("", kind(500).body)
      assert.same({}, events("f"))
    end)

    it("a 200 with a partial-failure body", function()
      local body = '{"ingested":1,"failed":1,"failures":[{"timestamp":"2026-01-01T00:00:00Z",'
        .. '"error":"bad field"}],"processedBytes":14,"blocksCreated":0,"walLength":1}'
      local r = kind(200, nil, body)
      assert.equal(1, r.json.failed)
      assert.equal("bad field", r.json.failures[1].error)
      assert.same({}, events("f")) -- scripted: nothing was stored
    end)

    it("307 and 308 to the alt port, which a following client reaches", function()
      for _, status in ipairs { 307, 308 } do
        script { path = "^/v1/ingest/f$", port = PORT, status = status,
                 headers = { Location = ALT .. "/v1/ingest/f" } }
        local r = ingest(nil, '{"moved":' .. status .. "}", nil, { path = "/v1/ingest/f" })
        assert.equal(status, r.status)
        assert.equal(ALT .. "/v1/ingest/f", r.headers.location)
        script { path = "^/v1/ingest/f$", port = PORT, status = status,
                 headers = { Location = ALT .. "/v1/ingest/f" } }
        local f = request { method = "POST", path = "/v1/ingest/f", token = ADMIN, body = '{"moved":true}',
                            headers = { ["Content-Type"] = "application/json" }, curl = "--location-trusted" }
        assert.equal(200, f.status, f.body)
      end
      assert.equal(2, #events("f")) -- the followed POSTs, with their bodies
      local j = journal()
      local ports, statuses = {}, {}
      for i = #j - 2, #j do ports[#ports + 1], statuses[#statuses + 1] = j[i].port, j[i].status end
      assert.same({ PORT, PORT, PORT + 1 }, ports)
      assert.same({ 308, 308, 200 }, statuses)
    end)

    it("answers the next `count` matching requests, then the real thing", function()
      script { path = "^/v1/datasets/f/ingest$", count = 2, status = 503 }
      assert.equal(503, ingest("f", '{"a":1}').status)
      assert.equal(503, ingest("f", '{"a":2}').status)
      assert.equal(200, ingest("f", '{"a":3}').status)
      assert.equal(1, #events("f"))
    end)

    it("matches by method, path pattern (without /api) and port", function()
      script { method = "get", path = "^/v2/datasets$", status = 500 }
      assert.equal(200, admin { method = "POST", path = "/v2/datasets", json = { name = "other" } }.status)
      assert.equal(500, admin { path = "/api/v2/datasets" }.status)
      script { path = "^/v2/datasets", port = PORT + 1, status = 502 }
      assert.equal(200, admin { path = "/v2/datasets" }.status)
      assert.equal(502, admin { base = ALT, path = "/v2/datasets/f" }.status)
      script { path = "/ingest$", status = 504 } -- a pattern, not a prefix
      assert.equal(504, ingest("f", '{"a":1}').status)
    end)

    it("waits `delay` seconds first", function()
      script { path = "^/v2/datasets$", status = 503, delay = 1 }
      local r = admin { path = "/v2/datasets" }
      assert.equal(503, r.status)
      assert.is_true(r.time >= 1, "answered after " .. r.time .. " s")
      local fast = admin { path = "/v2/datasets" }
      assert.is_true(fast.time < 0.5)
    end)

    it("validates scripts", function()
      local bad = {
        { path = "^/x", status = 42 }, { status = 500 }, { path = "[", status = 500 },
        { path = "^/x" }, { path = "^/x", action = "explode" }, { path = "^/x", status = 500, count = 0 },
        { path = "^/x", status = 500, delay = -1 }, { path = "^/x", status = 500, headers = { A = {} } },
        { path = "^/x", status = 500, port = "80" },
      }
      for _, s in ipairs(bad) do assert_error(request { method = "POST", path = "/_dev/script", json = s }, 400) end
    end)

    it("refuses a malformed pattern wherever the error hides, so no request answers 500", function()
      -- Lua reports these only when matching reaches the bad item: "/v[" never on "/x".
      for _, p in ipairs { "/v[", "^/v1/datasets/f/ingest[", "/v1%", "/v1/(x", "/v1/x)", "/v1%f", "/v1%b(",
                           "/v1/%1", "/v1/(x%1)", "/v1[%" } do
        local r = request { method = "POST", path = "/_dev/script", json = { path = p, status = 503 } }
        assert_error(r, 400)
        assert.matches("pattern", r.json.message)
      end
      assert.equal(200, ingest("f", '{"a":1}').status)
      assert.equal(200, admin { path = "/v2/datasets" }.status)
      -- well-formed ones still go in
      for _, p in ipairs { "^/v1/datasets/[^/]+/ingest$", "/v1/(x)%1", "%[%]", "[]]", "[^]]", "%f[%w]v2", "%b()",
                           "()/v2", "[%]]" } do
        script { path = p, status = 503, count = 1 }
      end
    end)
  end)

  describe("broken connections", function()
    local function broken(action, extra)
      local s = { path = "^/v1/datasets/f/ingest$", action = action }
      for k, v in pairs(extra or {}) do s[k] = v end
      script(s)
      return ingest("f", '{"a":1}\n', nil, {})
    end

    it("close: the request is read, then the connection closes unanswered", function()
      local r = broken("close")
      assert.equal(CURL_EMPTY_REPLY, r.exit)
      assert.equal(0, r.status)
      assert.same({}, events("f"))
      local e = journal()[2]
      assert.same({ "close", 8, 8 }, { e.fault, e.raw_bytes, e.decoded_bytes })
    end)

    it("reset: the connection is reset (RST)", function()
      assert.equal(CURL_RESET, broken("reset").exit)
      assert.equal("reset", journal()[2].fault)
      assert.equal(200, ingest("f", '{"a":1}').status) -- later requests are answered
    end)

    it("partial: the status line, the full Content-Length, half the body", function()
      local body = '{"ingested":1,"failed":0,"failures":[],"processedBytes":8}'
      local r = broken("partial", { status = 200, body = body })
      assert.equal(CURL_PARTIAL, r.exit)
      assert.equal(200, r.status)
      assert.equal(tostring(#body), r.headers["content-length"])
      assert.equal(body:sub(1, math.floor(#body / 2)), r.body)
      -- without a body of its own it cuts an ingest status in half
      local d = broken("partial")
      assert.equal(CURL_PARTIAL, d.exit)
      assert.matches('^{"ingested"', d.body)
    end)

    it("hang: never answers (the client times out)", function()
      script { path = "^/v2/datasets$", action = "hang" }
      local r = admin { path = "/v2/datasets", curl = "--max-time 1" }
      assert.equal(CURL_TIMEOUT, r.exit)
      assert.is_true(r.time >= 1)
    end)

    it("hang: a reset releases the hanging request", function()
      script { path = "^/v2/datasets$", action = "hang" }
      local rc = tmpfile(".rc")
      sh("(curl -s -o /dev/null --max-time 20 -H 'Authorization: Bearer " .. ADMIN .. "' "
        .. q(BASE .. "/v2/datasets") .. "; echo $? > " .. q(rc) .. ") &")
      os.execute("sleep 0.5")
      h.reset()
      local code
      for _ = 1, 40 do
        local f = io.open(rc)
        code = f and f:read("*n")
        if f then f:close() end
        if code then break end
        os.execute("sleep 0.1")
      end
      assert.equal(CURL_EMPTY_REPLY, code) -- within 4 s, not after 20
    end)

    it("delays, then breaks", function()
      local r = broken("close", { delay = 1 })
      assert.equal(CURL_EMPTY_REPLY, r.exit)
      assert.is_true(r.time >= 1)
    end)
  end)

  describe("outages", function()
    it("closes every non-/_dev request unanswered for N seconds", function()
      assert.equal(204, h.dev("POST", "/_dev/down", { seconds = 1 }).status)
      assert.equal(CURL_EMPTY_REPLY, ingest("f", '{"a":1}').exit)
      assert.equal(CURL_EMPTY_REPLY, admin { base = ALT, path = "/v2/datasets" }.exit)
      assert.equal(200, request { path = "/_dev/stats" }.status) -- the dev API still answers
      os.execute("sleep 1.2")
      assert.equal(200, ingest("f", '{"a":1}').status)
      assert.equal(1, #events("f"))
      assert.equal("down", journal()[2].fault)
    end)

    it("ends early with seconds = 0, and on reset", function()
      h.dev("POST", "/_dev/down", { seconds = 60 })
      assert.equal(CURL_EMPTY_REPLY, admin { path = "/v2/datasets" }.exit)
      h.dev("POST", "/_dev/down", { seconds = 0 })
      assert.equal(200, admin { path = "/v2/datasets" }.status)
      h.dev("POST", "/_dev/down", { seconds = 60 })
      h.reset()
      assert.equal(200, admin { path = "/v2/datasets" }.status)
      assert_error(h.dev("POST", "/_dev/down", { seconds = -1 }), 400)
      assert_error(h.dev("POST", "/_dev/down", {}), 400)
    end)
  end)

  describe("journal", function()
    it("records arrival time, raw and decoded sizes, the decoded body's SHA-256, events", function()
      local lines = {}
      for i = 1, 300 do lines[i] = ('{"i":%d,"msg":"hello %d"}'):format(i, i) end
      local plain = spit(tmpfile(".ndjson"), table.concat(lines, "\n") .. "\n")
      sh("zstd -q -c " .. q(plain) .. " > " .. q(plain .. ".zst"))
      local sha = h.out("sha256sum " .. q(plain)):match("^%x+")
      local before = os.time()
      local r = ingest("f", nil, { ["Content-Encoding"] = "zstd" }, { file = plain .. ".zst" })
      assert.equal(200, r.status, r.body)
      local e = journal()[2]
      assert.is_true(e.time >= before - 1 and e.time <= os.time() + 1)
      assert.equal(#slurp(plain .. ".zst"), e.raw_bytes)
      assert.equal(#slurp(plain), e.decoded_bytes)
      assert.equal(sha, e.body_sha256)
      assert.equal(300, e.events)
      assert.is_number(e.connection)
      assert.equal(h.cjson.null, e.fault)
    end)

    it("hashes what a scripted or failed request carried, and marks bodies that do not decode", function()
      script { path = "^/v1/datasets/f/ingest$", status = 503 }
      local body = '{"a":1}\n'
      ingest("f", body)
      ingest("f", "not zstd", { ["Content-Encoding"] = "zstd" })
      local j = journal()
      assert.equal(h.out("printf '%s' " .. q(body) .. " | sha256sum"):match("^%x+"), j[2].body_sha256)
      assert.equal(0, j[2].events)
      assert.equal(503, j[2].status)
      assert.equal(h.cjson.null, j[3].decoded_bytes)
      assert.equal(8, j[3].raw_bytes)
      assert.equal(400, j[3].status)
    end)
  end)

  describe("stats and reset", function()
    it("counts requests, events and bytes since the last reset, not /_dev calls", function()
      local s = stats() -- the dataset create in before_each
      assert.same({ 1, 0, 0 }, { s.requests, s.events, s.failed })
      assert.is_false(s.sink)
      ingest("f", '{"a":1}\n{"a":2}\n[3]\n')
      local gz = tmpfile(".gz")
      sh("printf '{\"b\":1}\\n' | gzip -c > " .. q(gz))
      ingest("f", nil, { ["Content-Encoding"] = "gzip" }, { file = gz })
      s = stats()
      assert.equal(3, s.requests)
      assert.equal(3, s.events)
      assert.equal(1, s.failed)
      assert.equal(#'{"name":"f"}' + 20 + #slurp(gz), s.bytes)
      assert.equal(#'{"name":"f"}' + 20 + 8, s.decoded_bytes)
      h.reset()
      assert.same({ 0, 0, 0, 0 }, { stats().requests, stats().events, stats().bytes, stats().failed })
    end)

    it("resets scripts too", function()
      script { path = "^/v2/datasets$", status = 500, count = 5 }
      h.reset()
      assert.equal(200, admin { path = "/v2/datasets" }.status)
    end)
  end)

  describe("loopback only", function()
    it("answers /_dev to 127.0.0.1 only", function()
      for _, path in ipairs { "/_dev/stats", "/_dev/journal", "/api/_dev/stats" } do
        local r = request { path = path, curl = "--interface 127.0.0.2" }
        assert_error(r, 403)
      end
      assert_error(request { method = "POST", path = "/_dev/reset", curl = "--interface 127.0.0.2" }, 403)
      assert.equal(1, #admin { path = "/v2/datasets" }.json) -- not reset
      -- the API itself answers any local peer
      assert.equal(200, admin { path = "/v2/datasets", curl = "--interface 127.0.0.2" }.status)
    end)

    it("listens on 127.0.0.1 only", function()
      local found = {}
      for line in slurp("/proc/net/tcp"):gmatch("[^\n]+") do -- local address, remote, state (0A: LISTEN)
        local addr, port, state = line:match("^%s*%d+: (%x+):(%x+) %x+:%x+ (%x+)")
        port = port and tonumber(port, 16)
        if state == "0A" and (port == PORT or port == PORT + 1) then found[#found + 1] = addr end
      end
      assert.same({ "0100007F", "0100007F" }, found)
      assert.equal("", (slurp("/proc/net/tcp6"):gsub("[^\n]*\n", function(line)
        local port, state = line:match("^%s*%d+: %x+:(%x+) %x+:%x+ (%x+)")
        port = port and tonumber(port, 16)
        return (state == "0A" and (port == PORT or port == PORT + 1)) and line or ""
      end)))
    end)
  end)
end)
