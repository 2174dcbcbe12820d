-- Integration spec for the local Axiom-compatible server (server/). Drives it with the curl
-- command line, not with the project's client, so the two can check each other.
-- Needs a running server:  server/run 18123  (or AXIOM_TEST_URL=http://127.0.0.1:PORT)
--   busted --lua=luajit spec/server_spec.lua
local h = require "server_curl"
local cjson = h.cjson
local BASE, PORT, ALT, ADMIN = h.BASE, h.PORT, h.ALT, h.ADMIN
local tmpfile, q, slurp, spit, sh = h.tmpfile, h.q, h.slurp, h.spit, h.sh
local request, admin, reset, events, ingest = h.request, h.admin, h.reset, h.events, h.ingest
local create_dataset, create_token, journal, script = h.create_dataset, h.create_token, h.journal, h.script
local iso, assert_error = h.iso, h.assert_error

local function apl(query, token, format, extra)
  local body = { apl = query }
  for k, v in pairs(extra or {}) do body[k] = v end
  return request { method = "POST", path = "/v1/datasets/_apl?format=" .. (format or "tabular"),
                   token = token or ADMIN, json = body }
end

describe("local axiom server", function()
  setup(h.need_server)
  teardown(h.cleanup)
  before_each(reset)

  describe("basics", function()
    it("puts a trace id on every response, errors included", function()
      local ok = admin { path = "/v2/datasets" }
      local missing = request { path = "/no/such/route" }
      assert.equal(200, ok.status)
      assert.matches("^%x+$", ok.headers["x-axiom-trace-id"])
      assert.matches("^%x+$", missing.headers["x-axiom-trace-id"])
      assert.are_not.equal(ok.headers["x-axiom-trace-id"], missing.headers["x-axiom-trace-id"])
      local others = {
        request { path = "/v2/datasets" },                                  -- 401
        request { path = "/_dev/stats" },                                   -- the dev API
        request { method = "POST", path = "/_dev/reset" },                  -- 204
        admin { method = "PATCH", path = "/v2/datasets" },                  -- 405
        admin { path = "/v2/datasets", headers = { ["X-Big"] = ("a"):rep(20000) } }, -- nginx's 400
      }
      for _, r in ipairs(others) do assert.matches("^%x+$", r.headers["x-axiom-trace-id"]) end
    end)

    it("answers unknown routes with a JSON 404 and wrong methods with 405", function()
      assert_error(admin { path = "/v9/nothing" }, 404)
      assert_error(admin { method = "PATCH", path = "/v2/datasets" }, 405)
    end)

    it("serves every route under /api too", function()
      local r = admin { method = "POST", path = "/api/v2/datasets", json = { name = "viaapi" } }
      assert.equal(200, r.status)
      assert.equal(200, admin { path = "/api/v2/datasets/viaapi" }.status)
      assert.equal(200, ingest(nil, '{"a":1}\n', nil, { path = "/api/v1/ingest/viaapi" }).status)
      assert.equal(1, #events("viaapi"))
    end)

    it("answers on the alt port with the same state", function()
      create_dataset("shared")
      local r = admin { base = ALT, path = "/v2/datasets/shared" }
      assert.equal(200, r.status)
      assert.equal("shared", r.json.name)
    end)

    it("turns nginx's own rejections into JSON errors", function()
      local r = admin { path = "/v2/datasets", headers = { ["X-Big"] = ("a"):rep(20000) } }
      assert_error(r, 400)
      assert.is_string(r.headers["x-axiom-trace-id"])
      -- Malformed or unroutable request lines, which nginx rejects before any location.
      for _, path in ipairs({ "/%2e%2e", "/..", "/%zz", "/v2/datasets/a%00b" }) do
        assert_error(admin { path = path, curl = "--path-as-is" }, 400)
      end
      assert_error(admin { method = "TRACE", path = "/v2/datasets" }, 405)
    end)
  end)

  -- Routing sees the path as sent: "%2F" inside a segment does not split it, and nothing
  -- resolves "..", so an escaped name can never reach another route.
  describe("paths", function()
    local function path_as_is(o)
      o.curl = "--path-as-is"
      return admin(o)
    end

    local function tokens_untouched(victim)
      assert.equal(200, admin { path = "/v2/tokens/" .. victim.id }.status)
      assert.same({}, admin { path = "/v1/tokens/ingest" }.json)
    end

    it("keeps a percent-encoded segment as one segment", function()
      local victim = create_token { name = "victim" }
      create_dataset("logs")
      local r = path_as_is { method = "DELETE", path = "/v2/datasets/..%2Ftokens%2F" .. victim.id }
      assert_error(r, 404)
      r = path_as_is { method = "DELETE", path = "/v2/datasets/..%2F..%2Fv2%2Ftokens%2F" .. victim.id }
      assert_error(r, 404)
      r = path_as_is { method = "GET", path = "/v2/datasets/..%2Ftokens%2F" .. victim.id }
      assert_error(r, 404)
      r = path_as_is { method = "POST", path = "/v1/datasets/..%2Ftokens/ingest", json = { name = "sneaky" } }
      assert_error(r, 404)
      r = path_as_is { method = "POST", path = "/v1/datasets/logs%2F..%2F..%2Ftokens/ingest",
                       json = { name = "sneaky" } }
      assert_error(r, 404)
      r = path_as_is { path = "/v2/tokens/x%2F.." }
      assert_error(r, 404)
      r = path_as_is { path = "/v2/tokens/%2e%2e" }
      assert_error(r, 404)
      r = path_as_is { method = "DELETE", path = "/v2/datasets/%2e%2e" }
      assert_error(r, 404)
      tokens_untouched(victim)
      assert.equal(200, admin { path = "/v2/datasets/logs" }.status)
      assert.same({}, events("logs"))
    end)

    it("rejects '.' and '..' segments with a 400", function()
      local victim = create_token { name = "victim" }
      local cases = {
        { "DELETE", "/v2/datasets/../tokens/" .. victim.id },
        { "POST", "/v1/datasets/../tokens/ingest" },
        { "GET", "/v2/tokens/x/.." },
        { "GET", "/v2/./datasets" },
        { "GET", "/v2/datasets/." },
        { "GET", "/api/../v2/tokens" },
      }
      for _, c in ipairs(cases) do
        local r = path_as_is { method = c[1], path = c[2], json = c[1] == "POST" and { name = "x" } or nil }
        assert_error(r, 400)
      end
      tokens_untouched(victim)
    end)

    it("decodes each segment once", function()
      create_dataset("logs")
      assert.equal("logs", path_as_is { path = "/v2/datasets/%6Cogs" }.json.name)
      assert.equal(200, path_as_is { path = "/v2/data%73ets" }.status)
      assert_error(path_as_is { path = "/v2/datasets/%256Cogs" }, 404)  -- "%6Cogs", not "logs"
      assert_error(path_as_is { path = "/v2/datasets/logs%2F" }, 404)
      -- Empty segments are still ignored, as before.
      assert.equal(200, path_as_is { path = "/v2//datasets/logs/" }.status)
    end)
  end)

  describe("auth", function()
    it("returns 401 without a token, with an unknown one, or with another scheme", function()
      assert_error(request { path = "/v2/datasets" }, 401)
      assert_error(request { path = "/v2/datasets", token = "xaat-nope" }, 401)
      assert_error(request { path = "/v2/datasets", headers = { Authorization = "Basic " .. ADMIN } }, 401)
    end)

    it("sends rate-limit headers on authenticated responses", function()
      local r = admin { path = "/v2/datasets" }
      assert.equal("organization", r.headers["x-ratelimit-scope"])
      assert.truthy(tonumber(r.headers["x-ratelimit-limit"]))
      assert.truthy(tonumber(r.headers["x-ratelimit-remaining"]))
      local reset_at = tonumber(r.headers["x-ratelimit-reset"])
      assert.equal(0, reset_at % 60)
      assert.truthy(reset_at > os.time() - 2 and reset_at <= os.time() + 61)
      assert.is_nil(request { path = "/v2/datasets" }.headers["x-ratelimit-limit"])
    end)

    describe("a personal token (xapt-)", function()
      local ORG = { ["X-Axiom-Org-Id"] = h.ORG }
      local function pat(o)
        o.token = h.PAT
        return request(o)
      end

      it("works with a matching X-Axiom-Org-Id, rate-limited per user", function()
        local r = pat { method = "POST", path = "/v2/datasets", json = { name = "p" }, headers = ORG }
        assert.equal(200, r.status, r.body)
        assert.equal("user", r.headers["x-ratelimit-scope"])
        assert.equal(200, pat { path = "/v2/tokens", headers = ORG }.status)
        assert.equal(200, ingest("p", '{"a":1}', ORG, { token = h.PAT }).status)
        assert.equal(200, ingest(nil, '{"a":1}', ORG, { token = h.PAT, path = "/api/v1/datasets/p/ingest" }).status)
      end)

      it("is refused without X-Axiom-Org-Id or with another org (403)", function()
        local r = pat { path = "/v2/datasets" }
        assert_error(r, 403)
        assert.matches("X%-Axiom%-Org%-Id", r.json.message)
        assert_error(pat { path = "/v2/datasets", headers = { ["X-Axiom-Org-Id"] = "someone-else" } }, 403)
        assert_error(pat { path = "/v2/datasets", headers = { ["X-Axiom-Org-Id"] = "" } }, 403)
      end)

      it("is refused on the edge endpoints, org id or not", function()
        create_dataset("p")
        local r = ingest(nil, '{"a":1}', { ["X-Axiom-Org-Id"] = h.ORG }, { token = h.PAT, path = "/v1/ingest/p" })
        assert_error(r, 403)
        assert.matches("edge", r.json.message)
        assert_error(ingest(nil, '{"a":1}', nil, { token = h.PAT, path = "/v1/ingest/p" }), 403)
        assert.same({}, events("p"))
      end)

      it("is not a legacy ingest token, and an unknown xapt- is a 401", function()
        assert_error(pat { path = "/v1/tokens/ingest/validate", headers = ORG }, 401)
        assert_error(request { path = "/v2/datasets", token = "xapt-unknown", headers = ORG }, 401)
      end)

      it("lets API tokens ignore X-Axiom-Org-Id", function()
        assert.equal(200, admin { path = "/v2/datasets", headers = { ["X-Axiom-Org-Id"] = "whatever" } }.status)
      end)
    end)

    it("returns 403 when the token lacks the capability", function()
      local t = create_token { name = "ingest-only", datasetCapabilities = { ["*"] = { ingest = { "create" } } } }
      assert_error(request { path = "/v2/datasets", token = t.token }, 403)
      assert_error(request { path = "/v2/tokens", token = t.token }, 403)
      -- 403 still carries the rate-limit headers: the token did authenticate.
      assert.truthy(request { path = "/v2/datasets", token = t.token }.headers["x-ratelimit-reset"])
    end)
  end)

  describe("datasets", function()
    it("creates a dataset and returns its JSON", function()
      local r = admin { method = "POST", path = "/v2/datasets",
                        json = { name = "logs.app_1-x", description = "app logs", kind = "axiom:events:v1" } }
      assert.equal(200, r.status)
      local d = r.json
      assert.equal("logs.app_1-x", d.id)
      assert.equal("logs.app_1-x", d.name)
      assert.equal("app logs", d.description)
      assert.equal("axiom:events:v1", d.kind)
      assert.is_string(d.who)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d", d.created)
      assert.equal(d.created, d.updatedAt)
      assert.same({ 0, false }, { d.retentionDays, d.useRetentionPeriod })
      local kept = admin { method = "POST", path = "/v2/datasets",
                           json = { name = "kept", retentionDays = 30, useRetentionPeriod = true } }.json
      assert.same({ 30, true }, { kept.retentionDays, kept.useRetentionPeriod })
      assert.same(kept, admin { path = "/v2/datasets/kept" }.json)
      assert_error(admin { method = "POST", path = "/v2/datasets", json = { name = "x", retentionDays = "30" } }, 400)
      assert_error(admin { method = "POST", path = "/v2/datasets", json = { name = "x", useRetentionPeriod = 1 } }, 400)
    end)

    it("defaults kind and rejects an unknown one", function()
      assert.equal("axiom:events:v1", create_dataset("plain").kind)
      assert_error(admin { method = "POST", path = "/v2/datasets", json = { name = "k", kind = "nope" } }, 400)
    end)

    it("returns 409 for an existing name", function()
      create_dataset("dup")
      assert_error(admin { method = "POST", path = "/v2/datasets", json = { name = "dup" } }, 409)
    end)

    it("returns 400 for invalid names and bodies", function()
      for _, name in ipairs { "", "-lead", "trail.", "_x", "sp ace", "axiom-reserved", "ünï", ("a"):rep(81) } do
        assert_error(admin { method = "POST", path = "/v2/datasets", json = { name = name } }, 400)
      end
      assert.equal(200, admin { method = "POST", path = "/v2/datasets", json = { name = ("a"):rep(80) } }.status)
      assert_error(admin { method = "POST", path = "/v2/datasets", json = "{not json" }, 400)
      assert_error(admin { method = "POST", path = "/v2/datasets", json = "{}" }, 400)
    end)

    it("lists, gets and deletes", function()
      create_dataset("b-set")
      create_dataset("a-set")
      local list = admin { path = "/v2/datasets" }
      assert.equal(200, list.status)
      assert.same({ "a-set", "b-set" }, { list.json[1].name, list.json[2].name })
      assert.equal("b-set", admin { path = "/v2/datasets/b-set" }.json.name)
      local del = admin { method = "DELETE", path = "/v2/datasets/b-set" }
      assert.equal(204, del.status)
      assert.equal("", del.body)
      assert_error(admin { path = "/v2/datasets/b-set" }, 404)
      assert_error(admin { method = "DELETE", path = "/v2/datasets/b-set" }, 404)
    end)

    it("lists an empty set as []", function()
      assert.equal("[]", admin { path = "/v2/datasets" }.body)
    end)
  end)

  describe("ingest", function()
    before_each(function() create_dataset("ing") end)

    it("stores NDJSON and sets _time and _sysTime", function()
      local body = '{"a":1}\n\n{"b":"two","_time":"2024-01-02T03:04:05Z"}\n'
      local r = ingest("ing", body)
      assert.equal(200, r.status)
      assert.same({ ingested = 2, failed = 0, failures = {}, processedBytes = #body,
                    blocksCreated = 0, walLength = 2 }, r.json)
      assert.matches('"failures":%[%]', r.body)
      local evs = events("ing")
      assert.equal(2, #evs)
      assert.equal(1, evs[1].a)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d%d%d%d%d%d%dZ$", evs[1]._time)
      assert.equal(evs[1]._time, evs[1]._sysTime)
      assert.equal("2024-01-02T03:04:05Z", evs[2]._time)
      assert.is_string(evs[2]._sysTime)
    end)

    it("also takes the edge path /v1/ingest/{ds}", function()
      local r = ingest(nil, '{"edge":true}', nil, { path = "/v1/ingest/ing" })
      assert.equal(200, r.status)
      assert.is_true(events("ing")[1].edge)
    end)

    it("accepts a JSON array, a single object and NDJSON as application/json", function()
      local json = { ["Content-Type"] = "application/json" }
      assert.equal(2, ingest("ing", '[{"n":1},{"n":2}]', json).json.ingested)
      assert.equal(1, ingest("ing", '{\n  "n": 3\n}', json).json.ingested)
      local charset = { ["Content-Type"] = "application/json; charset=utf-8" }
      assert.equal(2, ingest("ing", '{"n":4}\n{"n":5}\n', charset).json.ingested)
      assert.equal(5, #events("ing"))
    end)

    it("keeps empty arrays, empty objects, nulls and number precision", function()
      ingest("ing", '{"arr":[],"obj":{},"nil":null,"f":1.396373193863436,"big":9007199254740991,'
        .. '"s":"\\u00e9\\ud83d\\ude00"}')
      local raw = request { path = "/_dev/events/ing" }.body
      assert.matches('"arr":%[%]', raw)
      assert.matches('"obj":{}', raw)
      assert.matches('"nil":null', raw)
      assert.matches('"f":1%.396373193863436', raw)
      assert.matches('"big":9007199254740991', raw)
      assert.equal("é😀", events("ing")[1].s)
    end)

    it("rejects a body that is not valid JSON with 400 and the event index", function()
      local r = ingest("ing", '{"ok":1}\n{"ok":2}\n{"broken":\n')
      assert_error(r, 400)
      assert.matches("^invalid event at index 2: ", r.json.message)
      r = ingest("ing", '[{"ok":1},{"x":NaN}]', { ["Content-Type"] = "application/json" })
      assert_error(r, 400)
      assert.matches("^invalid event at index 1: ", r.json.message)
      assert_error(ingest("ing", '{"x":Infinity}'), 400)
      assert.equal(0, #events("ing"))
    end)

    it("reports non-object events as failures in a 200", function()
      local r = ingest("ing", '{"ok":1}\n[1,2]\n"str"\n42\n{"ok":2}\n')
      assert.equal(200, r.status)
      assert.equal(2, r.json.ingested)
      assert.equal(3, r.json.failed)
      assert.equal(3, #r.json.failures)
      assert.matches("^%d%d%d%d%-", r.json.failures[1].timestamp)
      for i, f in ipairs(r.json.failures) do
        assert.matches("index " .. i .. ": expected a JSON object", f.error)
      end
      assert.equal(2, #events("ing"))
    end)

    it("reads CSV with a header line, RFC 4180 quoting and strings for values", function()
      local body = 'name,count,note\r\nalpha,1,"comma, inside"\r\nbeta,2,"quote ""q"" and\nnewline"\r\n'
      local r = ingest("ing", body, { ["Content-Type"] = "text/csv" })
      assert.equal(200, r.status, r.body)
      assert.equal(2, r.json.ingested)
      local evs = events("ing")
      assert.equal("alpha", evs[1].name)
      assert.equal("1", evs[1].count)
      assert.equal("comma, inside", evs[1].note)
      assert.equal('quote "q" and\nnewline', evs[2].note)
      -- a record with more fields than the header fails alone
      r = ingest("ing", "a,b\n1,2,3\n4,5\n", { ["Content-Type"] = "text/csv" })
      assert.same({ 1, 1 }, { r.json.ingested, r.json.failed })
      assert.matches("3 fields", r.json.failures[1].error)
    end)

    it("reads CSV with X-Axiom-CSV-Fields and csv-delimiter", function()
      local r = request { method = "POST", path = "/v1/datasets/ing/ingest?csv-delimiter=%3B", token = ADMIN,
                          headers = { ["Content-Type"] = "text/csv", ["X-Axiom-CSV-Fields"] = "host, level" },
                          body = "web1;info\nweb2;warn\n" }
      assert.equal(200, r.status, r.body)
      assert.equal(2, r.json.ingested)
      assert.same({ "web1", "info" }, { events("ing")[1].host, events("ing")[1].level })
      assert_error(ingest("ing", 'a,b\n"open,1\n', { ["Content-Type"] = "text/csv" }), 400)
    end)

    it("decodes gzip and zstd bodies (from the system tools)", function()
      local lines = {}
      for i = 1, 500 do lines[i] = ('{"i":%d,"msg":"hello %d"}'):format(i, i) end
      local plain = spit(tmpfile(".ndjson"), table.concat(lines, "\n") .. "\n")
      local size = #slurp(plain)
      sh("gzip -c " .. q(plain) .. " > " .. q(plain .. ".gz"))
      sh("zstd -q -c " .. q(plain) .. " > " .. q(plain .. ".zst"))
      for enc, file in pairs { gzip = plain .. ".gz", zstd = plain .. ".zst" } do
        local r = ingest("ing", nil, { ["Content-Encoding"] = enc }, { file = file })
        assert.equal(200, r.status, r.body)
        assert.equal(500, r.json.ingested)
        assert.equal(size, r.json.processedBytes) -- uncompressed length
      end
      local evs = events("ing")
      assert.equal(1000, #evs)
      assert.equal("hello 500", evs[1000].msg)
    end)

    it("accepts an empty Content-Encoding and rejects unknown or corrupt encodings", function()
      assert.equal(200, ingest("ing", '{"a":1}', { ["Content-Encoding"] = "" }).status)
      assert_error(ingest("ing", '{"a":1}', { ["Content-Encoding"] = "br" }), 415)
      assert_error(ingest("ing", "not gzip at all", { ["Content-Encoding"] = "gzip" }), 400)
      assert_error(ingest("ing", "not zstd at all", { ["Content-Encoding"] = "zstd" }), 400)
      local gz = tmpfile(".gz")
      sh("printf '{\"a\":1}\\n' | gzip -c > " .. q(gz))
      local truncated = spit(tmpfile(".gz"), slurp(gz):sub(1, -5))
      assert_error(ingest("ing", nil, { ["Content-Encoding"] = "gzip" }, { file = truncated }), 400)
      assert_error(ingest("ing", '{"a":1}', { ["Content-Type"] = "application/xml" }), 415)
    end)

    it("merges X-Axiom-Event-Labels into every event and counts its bytes", function()
      local labels = '{"region":"eu-west-1"}'
      local body = '{"a":1}\n{"a":2,"region":"mine"}\n'
      local r = ingest("ing", body, { ["X-Axiom-Event-Labels"] = labels })
      assert.equal(#body + #labels, r.json.processedBytes)
      for _, ev in ipairs(events("ing")) do assert.equal("eu-west-1", ev.region) end
      assert_error(ingest("ing", body, { ["X-Axiom-Event-Labels"] = "[1]" }), 400)
    end)

    it("moves timestamp-field into _time and accepts timestamp-format", function()
      local r = request { method = "POST", token = ADMIN,
        path = "/v1/datasets/ing/ingest?timestamp-field=ts&timestamp-format=2006-01-02",
        headers = { ["Content-Type"] = "application/x-ndjson" },
        body = '{"ts":"2024-05-06","m":1}\n{"m":2}\n' }
      assert.equal(200, r.status, r.body)
      local evs = events("ing")
      assert.equal("2024-05-06", evs[1]._time)
      assert.is_nil(evs[1].ts)
      assert.is_string(evs[2]._time) -- missing field: receive time
    end)

    it("renames reserved fields the client sent", function()
      ingest("ing", '{"_sysTime":"mine","a":1}')
      local ev = events("ing")[1]
      assert.equal("mine", ev._user_sysTime)
      assert.are_not.equal("mine", ev._sysTime)
    end)

    it("returns 404 for an unknown dataset", function()
      assert_error(ingest("nope", '{"a":1}'), 404)
    end)

    it("needs ingest:create on the dataset or on *", function()
      local only = create_token { name = "one", datasetCapabilities = { ing = { ingest = { "create" } } } }
      local star = create_token { name = "all", datasetCapabilities = { ["*"] = { ingest = { "create" } } } }
      local query = create_token { name = "q", datasetCapabilities = { ing = { query = { "read" } } } }
      create_dataset("other")
      assert.equal(200, ingest("ing", '{"a":1}', nil, { token = only.token }).status)
      assert_error(ingest("other", '{"a":1}', nil, { token = only.token }), 403)
      assert.equal(200, ingest("other", '{"a":1}', nil, { token = star.token }).status)
      assert_error(ingest("ing", '{"a":1}', nil, { token = query.token }), 403)
    end)
  end)

  describe("legacy ingest tokens (v1)", function()
    local P = "/v1/tokens/ingest"

    it("creates, lists, gets, updates, shows the secret and deletes", function()
      local r = admin { method = "POST", path = P, json = { name = "lt", description = "d", scopes = { "ing" } } }
      assert.equal(200, r.status, r.body)
      local t = r.json
      assert.is_string(t.id)
      assert.same({ id = t.id, name = "lt", description = "d", scopes = { "ing" } }, t)

      assert.same({ t }, admin { path = P }.json)
      assert.same(t, admin { path = P .. "/" .. t.id }.json)

      local secret = admin { path = P .. "/" .. t.id .. "/token" }.json
      assert.matches("^xait%-%x+$", secret.token)
      assert.equal(37, #secret.token)
      assert.same({ "ing" }, secret.scopes)

      local up = admin { method = "PUT", path = P .. "/" .. t.id,
                         json = '{"name":"lt2","description":"e","scopes":[]}' }
      assert.equal(200, up.status)
      assert.same({ id = t.id, name = "lt2", description = "e", scopes = { "*" } }, up.json)

      local del = admin { method = "DELETE", path = P .. "/" .. t.id }
      assert.equal(204, del.status)
      assert.equal("", del.body)
      assert_error(admin { path = P .. "/" .. t.id }, 404)
      assert_error(admin { path = P .. "/" .. t.id .. "/token" }, 404)
      assert.equal("[]", admin { path = P }.body)
    end)

    it("changes nothing when an update is refused", function()
      local t = admin { method = "POST", path = P, json = { name = "lt", description = "d", scopes = { "ing" } } }.json
      for _, body in ipairs { '{"name":"new","description":"new","scopes":"bad"}',
                              '{"name":"new","description":"new","scopes":[1]}',
                              '{"name":"new","description":"new","scopes":{"a":1}}',
                              '{"name":"new","description":7}', '{"description":"new"}' } do
        assert_error(admin { method = "PUT", path = P .. "/" .. t.id, json = body }, 400)
        assert.same(t, admin { path = P .. "/" .. t.id }.json, body)
      end
    end)

    it("defaults empty or missing scopes to *", function()
      assert.same({ "*" }, admin { method = "POST", path = P, json = { name = "n" } }.json.scopes)
      assert.same({ "*" }, admin { method = "POST", path = P, json = '{"name":"e","scopes":[]}' }.json.scopes)
    end)

    it("lets the secret ingest within its scopes, validate, and nothing else", function()
      create_dataset("ing")
      create_dataset("other")
      local t = admin { method = "POST", path = P, json = { name = "lt", scopes = { "ing" } } }.json
      local secret = admin { path = P .. "/" .. t.id .. "/token" }.json.token
      assert.equal(200, ingest("ing", '{"a":1}', nil, { token = secret }).status)
      assert.equal(200, ingest(nil, '{"a":1}', nil, { token = secret, path = "/api/v1/datasets/ing/ingest" }).status)
      -- the edge path takes API tokens only
      for _, path in ipairs { "/v1/ingest/ing", "/api/v1/ingest/ing" } do
        local r = ingest(nil, '{"a":1}', nil, { token = secret, path = path })
        assert_error(r, 403)
        assert.matches("edge", r.json.message)
      end
      assert.equal(2, #events("ing"))
      assert_error(ingest("other", '{"a":1}', nil, { token = secret }), 403)
      assert.equal(204, request { path = P .. "/validate", token = secret }.status)
      assert_error(request { path = "/v2/datasets", token = secret }, 403)
      assert_error(request { path = P, token = secret }, 403)
      assert_error(apl("['ing'] | count", secret), 403)
      -- validate wants an ingest token
      assert_error(admin { path = P .. "/validate" }, 401)
      assert_error(request { path = P .. "/validate", token = "xait-unknown" }, 401)

      assert.equal(204, admin { method = "DELETE", path = P .. "/" .. t.id }.status)
      assert_error(ingest("ing", '{"a":1}', nil, { token = secret }), 401)
      assert_error(request { path = P .. "/validate", token = secret }, 401)
    end)

    it("needs orgCapabilities.apiTokens to manage tokens", function()
      local t = create_token { name = "reader", orgCapabilities = { apiTokens = { "read" } } }
      assert.equal(200, request { path = P, token = t.token }.status)
      assert_error(request { method = "POST", path = P, token = t.token, json = { name = "x" } }, 403)
      assert_error(admin { path = P .. "/no-such-id" }, 404)
      assert_error(admin { method = "POST", path = P, json = { description = "no name" } }, 400)
    end)
  end)

  describe("API tokens (v2)", function()
    local P = "/v2/tokens"

    it("creates a token and returns its secret once", function()
      local spec = { name = "api", description = "for tests", expiresAt = "2099-01-01T00:00:00Z",
                     datasetCapabilities = { ing = { ingest = { "create" }, query = { "read" } } },
                     orgCapabilities = { datasets = { "read" } } }
      local t = create_token(spec)
      assert.is_string(t.id)
      assert.matches("^xaat%-%x+$", t.token)
      assert.equal(37, #t.token)
      assert.equal("api", t.name)
      assert.equal("for tests", t.description)
      assert.equal("2099-01-01T00:00:00Z", t.expiresAt)
      assert.same(spec.datasetCapabilities, t.datasetCapabilities)
      assert.same(spec.orgCapabilities, t.orgCapabilities)

      local list = admin { path = P }
      assert.equal(1, #list.json)
      assert.equal(t.id, list.json[1].id)
      assert.is_nil(list.json[1].token)
      assert.not_matches(t.token, list.body)
      local got = admin { path = P .. "/" .. t.id }.json
      assert.equal("api", got.name)
      assert.is_nil(got.token)
    end)

    it("requires a name and well-formed fields", function()
      assert_error(admin { method = "POST", path = P, json = { description = "x" } }, 400)
      assert_error(admin { method = "POST", path = P, json = { name = "x", expiresAt = "tomorrow" } }, 400)
      local bad_caps = { name = "x", datasetCapabilities = { a = { ingest = "create" } } }
      assert_error(admin { method = "POST", path = P, json = bad_caps }, 400)
      assert_error(admin { path = P .. "/nope" }, 404)
    end)

    it("takes only the capabilities and actions of the OpenAPI enums", function()
      local function create(spec) return admin { method = "POST", path = P, json = spec } end
      local bad = {
        { { ing = { ingest = { "read" } } }, nil, '"read"' },
        { { ing = { ingest = { "create" }, shout = { "create" } } }, nil, '"shout"' },
        { { ing = { query = { "read", "write" } } }, nil, '"write"' },
        { nil, { datasets = { "read", "purge" } }, '"purge"' },
        { nil, { datasetz = { "read" } }, '"datasetz"' },
        { nil, { auditLog = { "create" } }, '"create"' },
      }
      for _, b in ipairs(bad) do
        local r = create { name = "x", datasetCapabilities = b[1], orgCapabilities = b[2] }
        assert_error(r, 400)
        assert.matches(b[3], r.json.message, 1, true)
      end
      assert_error(create('{"name":"x","datasetCapabilities":{"ing":{"ingest":{}}}}'), 400)
      assert_error(create('{"name":"x","orgCapabilities":{"datasets":{}}}'), 400)
      assert_error(create('{"name":"x","viewCapabilities":{"v":{"query":["create"]}}}'), 400)
      local ok = create { name = "all", datasetCapabilities = { ["*"] = {
        data = { "delete" }, ingest = { "create" }, query = { "read" }, share = { "create", "read", "delete" },
        starredQueries = { "create", "read", "update", "delete" }, trim = { "update" }, vacuum = { "update" },
        virtualFields = { "create", "read", "update", "delete" } } },
        orgCapabilities = { billing = { "read", "update" }, sharedAccessKeys = { "read", "update" },
                            rbac = { "create", "read", "update", "delete" } },
        viewCapabilities = { v = { query = { "read" }, share = { "create", "read", "delete" } } } }
      assert.equal(200, ok.status, ok.body)
      assert.equal(1, #admin { path = P }.json) -- nothing refused was stored
    end)

    it("takes only RFC 3339 date-times with real calendar days", function()
      local t = create_token { name = "t" }
      local good = { "2099-01-01T00:00:00Z", "2096-02-29T23:59:59.5+01:00", "2099-12-31t00:00:00z" }
      local bad = { "2099-02-30T00:00:00Z", "2099-02-29T00:00:00Z", "2099-04-31T00:00:00Z", "2099-13-01T00:00:00Z",
                    "2099-01-01 00:00:00Z", "2099-01-01T00:00:00", "2099-01-01T25:00:00Z", "2099-01-01T00:00:00+0100",
                    "2099-01-01", "2099-01-00T00:00:00Z" }
      for _, v in ipairs(good) do
        assert.equal(200, admin { method = "POST", path = P, json = { name = "x", expiresAt = v } }.status, v)
      end
      for _, v in ipairs(bad) do
        assert_error(admin { method = "POST", path = P, json = { name = "x", expiresAt = v } }, 400)
        local regen = P .. "/" .. t.id .. "/regenerate"
        assert_error(admin { method = "POST", path = regen, json = { existingTokenExpiresAt = v } }, 400)
        assert_error(admin { method = "POST", path = regen,
                             json = { existingTokenExpiresAt = iso(60), newTokenExpiresAt = v } }, 400)
      end
      assert_error(admin { method = "POST", path = P, json = { name = "x", expiresAt = 4102444800 } }, 400)
      local regen = P .. "/" .. t.id .. "/regenerate"
      assert_error(admin { method = "POST", path = regen,
                           json = '{"existingTokenExpiresAt":"' .. iso(60) .. '","newTokenExpiresAt":false}' }, 400)
      assert.equal(t.id, admin { path = P .. "/" .. t.id }.json.id) -- still there: nothing regenerated
    end)

    it("takes newToken only as a CreateAPIToken object", function()
      local t = create_token { name = "t" }
      local regen = P .. "/" .. t.id .. "/regenerate"
      local function send(new_token)
        return admin { method = "POST", path = regen,
                       json = '{"existingTokenExpiresAt":"' .. iso(60) .. '","newToken":' .. new_token .. '}' }
      end
      for _, v in ipairs { '"x"', "1", "[]", "true", "null", '{"description":"no name"}', '{"name":5}',
                           '{"name":"n","orgCapabilities":{"datasets":["fly"]}}',
                           '{"name":"n","datasetCapabilities":{"a":{"ingest":{}}}}',
                           '{"name":"n","expiresAt":"2099-02-30T00:00:00Z"}' } do
        assert_error(send(v), 400)
        assert.equal(t.id, admin { path = P .. "/" .. t.id }.json.id, v)
      end
      local r = send('{"name":"renamed","orgCapabilities":{"datasets":["read"]}}')
      assert.equal(200, r.status, r.body)
      assert.equal("renamed", r.json.name)
      assert.same({ datasets = { "read" } }, r.json.orgCapabilities)
    end)

    it("authenticates within its capabilities", function()
      create_dataset("ing")
      local t = create_token { name = "ds", datasetCapabilities = { ing = { ingest = { "create" } } },
                               orgCapabilities = { datasets = { "read" } } }
      assert.equal(200, ingest("ing", '{"a":1}', nil, { token = t.token }).status)
      assert.equal(200, request { path = "/v2/datasets", token = t.token }.status)
      assert_error(request { method = "POST", path = "/v2/datasets", token = t.token, json = { name = "new" } }, 403)
      assert_error(apl("['ing'] | count", t.token), 403)
    end)

    it("rejects an expired token with 401", function()
      create_dataset("ing")
      local t = create_token { name = "old", expiresAt = "2001-01-01T00:00:00Z",
                               datasetCapabilities = { ["*"] = { ingest = { "create" } } } }
      assert_error(ingest("ing", '{"a":1}', nil, { token = t.token }), 401)
    end)

    it("stops a deleted token at once", function()
      create_dataset("ing")
      local t = create_token { name = "gone", datasetCapabilities = { ["*"] = { ingest = { "create" } } } }
      assert.equal(200, ingest("ing", '{"a":1}', nil, { token = t.token }).status)
      local del = admin { method = "DELETE", path = P .. "/" .. t.id }
      assert.equal(204, del.status)
      assert.equal("", del.body)
      assert_error(ingest("ing", '{"a":1}', nil, { token = t.token }), 401)
      assert_error(admin { path = P .. "/" .. t.id }, 404)
      assert_error(admin { method = "DELETE", path = P .. "/" .. t.id }, 404)
    end)

    it("regenerates: new id and secret, same capabilities, old secret until its deadline", function()
      create_dataset("ing")
      local caps = { ing = { ingest = { "create" } } }
      local t = create_token { name = "rot", datasetCapabilities = caps }
      local r = admin { method = "POST", path = P .. "/" .. t.id .. "/regenerate",
                        json = { existingTokenExpiresAt = iso(3600), newTokenExpiresAt = "2099-01-01T00:00:00Z" } }
      assert.equal(200, r.status, r.body)
      local n = r.json
      assert.are_not.equal(t.id, n.id)
      assert.are_not.equal(t.token, n.token)
      assert.matches("^xaat%-", n.token)
      assert.equal("rot", n.name)
      assert.same(caps, n.datasetCapabilities)
      assert.equal("2099-01-01T00:00:00Z", n.expiresAt)

      local ids = {}
      for _, x in ipairs(admin { path = P }.json) do ids[#ids + 1] = x.id end
      assert.same({ n.id }, ids)
      assert_error(admin { path = P .. "/" .. t.id }, 404)

      -- the old secret still works until existingTokenExpiresAt, the new one works too
      assert.equal(200, ingest("ing", '{"a":1}', nil, { token = t.token }).status)
      assert.equal(200, ingest("ing", '{"a":2}', nil, { token = n.token }).status)

      -- regenerate the new one with a deadline in the past: its secret stops at once
      local r2 = admin { method = "POST", path = P .. "/" .. n.id .. "/regenerate",
                         json = { existingTokenExpiresAt = iso(-1) } }
      assert.equal(200, r2.status)
      assert_error(ingest("ing", '{"a":3}', nil, { token = n.token }), 401)
      assert.equal(200, ingest("ing", '{"a":4}', nil, { token = r2.json.token }).status)
    end)

    it("stops the old secret exactly at existingTokenExpiresAt", function()
      create_dataset("ing")
      local t = create_token { name = "soon", datasetCapabilities = { ["*"] = { ingest = { "create" } } } }
      local r = admin { method = "POST", path = P .. "/" .. t.id .. "/regenerate",
                        json = { existingTokenExpiresAt = iso(1.5) } }
      assert.equal(200, r.status, r.body)
      assert.equal(200, ingest("ing", '{"a":1}', nil, { token = t.token }).status)
      os.execute("sleep 1.6")
      assert_error(ingest("ing", '{"a":2}', nil, { token = t.token }), 401)
      assert.equal(200, ingest("ing", '{"a":3}', nil, { token = r.json.token }).status)
      -- the secret is shown once: get and list never carry it
      assert.is_nil(admin { path = P .. "/" .. r.json.id }.json.token)
      assert.not_matches(r.json.token, admin { path = P }.body, 1, true)
    end)

    it("requires existingTokenExpiresAt to regenerate", function()
      local t = create_token { name = "x" }
      assert_error(admin { method = "POST", path = P .. "/" .. t.id .. "/regenerate", json = "{}" }, 400)
      assert_error(admin { method = "POST", path = P .. "/nope/regenerate",
                           json = { existingTokenExpiresAt = iso(0) } }, 404)
    end)

    it("lets a token with apiTokens manage tokens", function()
      local mgr = create_token { name = "mgr",
                                 orgCapabilities = { apiTokens = { "create", "read", "update", "delete" } } }
      local r = request { method = "POST", path = P, token = mgr.token, json = { name = "child" } }
      assert.equal(200, r.status)
      assert.equal(2, #request { path = P, token = mgr.token }.json)
      assert.equal(204, request { method = "DELETE", path = P .. "/" .. r.json.id, token = mgr.token }.status)
    end)
  end)

  describe("query", function()
    before_each(function()
      create_dataset("q")
      ingest("q", table.concat({
        '{"level":"info","n":1,"_time":"2024-01-01T00:00:00Z"}',
        '{"level":"error","n":2,"_time":"2024-01-02T00:00:00Z","geo":{"city":"Oslo"}}',
        '{"level":"info","n":3.5,"_time":"2024-01-03T00:00:00Z"}',
      }, "\n"))
    end)

    it("counts", function()
      local r = apl("['q'] | count")
      assert.equal(200, r.status, r.body)
      local t = r.json.tables[1]
      assert.equal("count_", t.fields[1].name)
      assert.same({ { 3 } }, t.columns)
      assert.equal(3, r.json.status.rowsMatched)
      assert.equal(3, r.json.status.rowsExamined)
      assert.is_number(r.json.status.elapsedTime)
    end)

    it("filters with where and a time range", function()
      assert.same({ { 2 } }, apl("['q'] | where level == \"info\" | count").json.tables[1].columns)
      assert.same({ { 1 } }, apl([[['q'] | where ['geo.city'] == 'Oslo' | count]]).json.tables[1].columns)
      local r = apl("['q'] | where level == \"info\"", nil, "tabular",
                    { startTime = "2024-01-02T00:00:00Z", endTime = "2024-01-05T00:00:00Z" })
      assert.equal(1, r.json.status.rowsMatched)
      local since = apl("['q'] | count", nil, "tabular", { startTime = "2024-01-03T00:00:00Z" })
      assert.same({ { 1 } }, since.json.tables[1].columns)
    end)

    it("returns rows as tabular fields and columns, newest first", function()
      local t = apl("['q']").json.tables[1]
      local col = {}
      for i, f in ipairs(t.fields) do col[f.name] = { type = f.type, values = t.columns[i] } end
      assert.same({ 3.5, 2, 1 }, col.n.values)
      assert.equal("float", col.n.type)
      assert.equal("datetime", col._time.type)
      assert.equal("Oslo", col["geo.city"].values[2])
      assert.equal(cjson.null, col["geo.city"].values[1])
      assert.same({ { name = "q" } }, t.sources)
    end)

    it("answers in the legacy format", function()
      local r = apl("['q'] | where level == 'error'", nil, "legacy")
      assert.equal(200, r.status)
      assert.equal(1, #r.json.matches)
      assert.equal("error", r.json.matches[1].data.level)
      assert.equal("2024-01-02T00:00:00Z", r.json.matches[1]._time)
      local c = apl("['q'] | count", nil, "legacy").json
      assert.equal(3, c.buckets.totals[1].aggregations[1].value)
    end)

    it("rejects what it does not support, unknown datasets and missing rights", function()
      for _, bad in ipairs { "['q'] | summarize count() by level", "q | count", "['q'] | where n > 1",
                             "['q'] | count | count" } do
        local r = apl(bad)
        assert_error(r, 400)
        assert.matches("unsupported APL", r.json.message)
      end
      assert_error(apl("['nope'] | count"), 404)
      assert_error(apl("['q'] | count", nil, "csv"), 400)
      assert_error(admin { method = "POST", path = "/v1/datasets/_apl", json = "{}" }, 400)
      local reader = create_token { name = "r", datasetCapabilities = { q = { query = { "read" } } } }
      assert.equal(200, apl("['q'] | count", reader.token).status)
    end)
  end)

  describe("dev API", function()
    it("journals requests, redacting the token", function()
      create_dataset("j")
      ingest("j", '{"a":1}\n', nil, { path = "/api/v1/datasets/j/ingest?timestamp-field=ts" })
      request { path = "/v2/datasets" }
      local j = journal()
      assert.equal(3, #j)
      local e = j[2]
      assert.equal(PORT, e.port)
      assert.equal("POST", e.method)
      assert.equal("/api/v1/datasets/j/ingest", e.path)
      assert.same({ ["timestamp-field"] = "ts" }, e.query)
      assert.equal("Bearer <redacted>", e.headers.authorization)
      assert.equal("application/x-ndjson", e.headers["content-type"])
      assert.equal(8, e.body_bytes)
      assert.equal(200, e.status)
      assert.is_nil(j[3].headers.authorization)
      assert.equal(401, j[3].status)
      assert.not_matches(ADMIN, request { path = "/_dev/journal" }.body)
    end)

    it("keeps only the last 1000 requests", function()
      sh("curl -s -o /dev/null " .. q(BASE .. "/bulk/[1-1010]"))
      local j = journal()
      assert.equal(1000, #j)
      assert.equal("/bulk/11", j[1].path)
      assert.equal("/bulk/1010", j[1000].path)
    end)

    it("returns stored events, 404 for unknown datasets", function()
      create_dataset("e")
      assert.equal("[]", request { path = "/_dev/events/e" }.body)
      assert_error(request { path = "/_dev/events/none" }, 404)
    end)

    it("resets everything but the admin token", function()
      create_dataset("gone")
      create_token { name = "t" }
      admin { method = "POST", path = "/v1/tokens/ingest", json = { name = "l" } }
      script { path = "^/never$", status = 500 }
      reset()
      assert.equal("[]", admin { path = "/v2/datasets" }.body)
      assert.equal("[]", admin { path = "/v2/tokens" }.body)
      assert.equal("[]", admin { path = "/v1/tokens/ingest" }.body)
      assert.equal(404, request { path = "/never" }.status)
      assert.equal(4, #journal()) -- only the requests made since the reset
    end)
  end)

  -- A second server, in sink mode, started here on PORT + 4 (and + 5).
  describe("sink mode", function()
    local SINK_PORT = PORT + 4
    local SINK = "http://127.0.0.1:" .. SINK_PORT
    local pid, log
    local function sink(o)
      o.base = SINK
      return request(o)
    end
    local function sink_ingest(body, headers, opts)
      opts = opts or {}
      local hd = { ["Content-Type"] = "application/x-ndjson" }
      for k, v in pairs(headers or {}) do hd[k] = v end
      return sink { method = "POST", path = opts.path or "/v1/datasets/s/ingest", token = opts.token or ADMIN,
                    headers = hd, body = body, file = opts.file }
    end

    setup(function()
      log = tmpfile(".log")
      pid = h.out("server/run " .. SINK_PORT .. " --sink > " .. q(log) .. " 2>&1 & echo $!")
      for _ = 1, 100 do
        if slurp(log):find("listening on", 1, true) then break end
        os.execute("sleep 0.1")
      end
      assert.matches("listening on 127%.0%.0%.1:" .. SINK_PORT .. " %(sink mode%)", slurp(log))
    end)
    teardown(function() if pid then os.execute("kill -TERM " .. pid) end end)
    before_each(function()
      assert.equal(204, sink { method = "POST", path = "/_dev/reset" }.status)
      assert.equal(200, sink { method = "POST", path = "/v2/datasets", token = ADMIN, json = { name = "s" } }.status)
    end)

    it("counts NDJSON events in identity, gzip and zstd bodies, and stores nothing", function()
      local lines = {}
      for i = 1, 20000 do lines[i] = ('{"i":%d,"msg":"hello %d"}'):format(i, i) end
      local plain = spit(tmpfile(".ndjson"), table.concat(lines, "\n") .. "\n")
      sh("gzip -c " .. q(plain) .. " > " .. q(plain .. ".gz"))
      sh("zstd -q -c " .. q(plain) .. " > " .. q(plain .. ".zst"))
      local size = #slurp(plain)
      for enc, file in pairs { [""] = plain, gzip = plain .. ".gz", zstd = plain .. ".zst" } do
        local r = sink_ingest(nil, { ["Content-Encoding"] = enc }, { file = file })
        assert.equal(200, r.status, r.body)
        -- no 10,000-events cap here: one big request measures throughput
        assert.same({ 20000, 0, size, 0, 20000 }, { r.json.ingested, r.json.failed, r.json.processedBytes,
                                                   r.json.blocksCreated, r.json.walLength })
        assert.same({}, r.json.failures)
      end
      local st = sink { path = "/_dev/stats" }.json
      assert.is_true(st.sink)
      assert.same({ 4, 60000, #'{"name":"s"}' + 3 * size }, { st.requests, st.events, st.decoded_bytes })
      assert_error(sink { path = "/_dev/events/s" }, 404)
      assert_error(sink { path = "/_dev/journal" }, 404)
      assert_error(sink { method = "POST", path = "/_dev/script", json = { path = "x", status = 500 } }, 404)
    end)

    it("counts across its two workers", function()
      local urls = {}
      for i = 1, 40 do urls[i] = "-o /dev/null " .. q(SINK .. "/v2/datasets/s") end
      sh("curl -s --parallel --parallel-max 8 -H " .. q("Authorization: Bearer " .. ADMIN) .. " "
        .. table.concat(urls, " ") .. " 2>/dev/null")
      assert.equal(41, sink { path = "/_dev/stats" }.json.requests)
      local pids = h.out("pgrep -P $(pgrep -P " .. pid .. " nginx) 2>/dev/null | wc -l")
      assert.equal("2", pids)
    end)

    it("checks the framing: objects on NDJSON lines, an array in JSON, CSV quoting, the encoding", function()
      local r = sink_ingest('{"a":1}\n[1]\n')
      assert_error(r, 400)
      assert.matches("^invalid event at index 1", r.json.message)
      assert_error(sink_ingest('{"a":1}\n{"a":2\n'), 400)
      assert_error(sink_ingest('{"a":1} x\n'), 400)
      assert.equal(2, sink_ingest(' {"a":1} \r\n\n\t{"b":{"c":2}}').json.ingested)
      local arr = sink_ingest('[{"a":"]"},{"b":[1,{"c":2}]}, 3, "x"]', { ["Content-Type"] = "application/json" })
      assert.same({ 2, 2 }, { arr.json.ingested, arr.json.failed })
      assert.equal(2, #arr.json.failures)
      assert.equal(1, sink_ingest('{"a":1}', { ["Content-Type"] = "application/json" }).json.ingested)
      assert_error(sink_ingest('[{"a":1}', { ["Content-Type"] = "application/json" }), 400)
      assert_error(sink_ingest('[{"a":1}] [', { ["Content-Type"] = "application/json" }), 400)
      local csv = { ["Content-Type"] = "text/csv" }
      assert.equal(2, sink_ingest('a,b\n1,"x\ny"\n\n3,4', csv).json.ingested)
      csv["X-Axiom-CSV-Fields"] = "a,b"
      assert.equal(3, sink_ingest('0,0\n1,"x\ny"\n3,4\n', csv).json.ingested)
      assert_error(sink_ingest('a\n"open\n', { ["Content-Type"] = "text/csv" }), 400)
      assert_error(sink_ingest('{"a":1}', { ["Content-Encoding"] = "gzip" }), 400)
      assert_error(sink_ingest('{"a":1}', { ["Content-Encoding"] = "br" }), 415)
      assert_error(sink_ingest('{"a":1}', { ["Content-Type"] = "application/xml" }), 415)
      assert_error(sink_ingest('{"a":1}', { ["X-Axiom-Event-Labels"] = "[1]" }), 400)
      local labelled = sink_ingest('{"a":1}\n', { ["X-Axiom-Event-Labels"] = '{"k":"v"}' })
      assert.equal(8 + 9, labelled.json.processedBytes)
    end)

    it("still checks auth and datasets; serves no tokens or queries", function()
      assert_error(sink_ingest('{"a":1}', nil, { token = "xaat-nope" }), 401)
      assert_error(sink { method = "POST", path = "/v1/datasets/s/ingest", body = '{"a":1}' }, 401)
      assert_error(sink_ingest('{"a":1}', nil, { token = h.PAT }), 403)
      assert.equal(200, sink_ingest('{"a":1}', { ["X-Axiom-Org-Id"] = h.ORG }, { token = h.PAT }).status)
      assert_error(sink_ingest('{"a":1}', nil, { path = "/v1/ingest/none" }), 404)
      assert.equal(200, sink_ingest('{"a":1}', nil, { path = "/api/v1/ingest/s" }).status)
      assert_error(sink { path = "/v2/tokens", token = ADMIN }, 404)
      assert_error(sink { method = "POST", path = "/v1/datasets/_apl", token = ADMIN, json = { apl = "['s']" } }, 404)
      assert.equal("s", sink { path = "/v2/datasets", token = ADMIN }.json[1].name)
      assert_error(sink { method = "POST", path = "/v2/datasets", token = ADMIN, json = { name = "s" } }, 409)
    end)
  end)
end)
