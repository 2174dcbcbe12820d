-- The local server is never looser than Axiom: each rule here fails if the server accepted
-- what it should refuse (or refused what it should accept).
-- Needs a running server:  server/run 18123  (or AXIOM_TEST_URL=http://127.0.0.1:PORT)
local h = require "server_curl"
local request, admin, ingest, events = h.request, h.admin, h.ingest, h.events
local q, sh, slurp, spit, tmpfile, assert_error = h.q, h.sh, h.slurp, h.spit, h.tmpfile, h.assert_error

local JSON = { ["Content-Type"] = "application/json" }
local CSV = { ["Content-Type"] = "text/csv" }

-- A 400 for the whole request, with nothing (more) stored.
local function refused(r, pattern, stored)
  assert_error(r, 400)
  if pattern then assert.matches(pattern, r.json.message) end
  assert.equal(stored or 0, #events("ing"))
end

-- A zlib (RFC 1950) stream of s in one stored deflate block (s shorter than 64 KiB).
local function zlib_stored(s)
  local a, b = 1, 0
  for i = 1, #s do
    a = (a + s:byte(i)) % 65521
    b = (b + a) % 65521
  end
  local n = #s
  local function be16(x) return string.char(math.floor(x / 256), x % 256) end
  return "\120\1" .. "\1" .. string.char(n % 256, math.floor(n / 256))
    .. string.char((65535 - n) % 256, math.floor((65535 - n) / 256)) .. s .. be16(b) .. be16(a)
end

local function lines(n, fmt)
  local t = {}
  for i = 1, n do t[i] = (fmt or '{"i":%d}'):format(i) end
  return table.concat(t, "\n") .. "\n"
end

describe("local server strictness", function()
  setup(h.need_server)
  teardown(h.cleanup)
  before_each(function()
    h.reset()
    h.create_dataset("ing")
  end)

  describe("UTF-8", function()
    it("refuses a body that is not valid UTF-8", function()
      local bad = { -- (decimal escapes: Lua 5.1 has no \x)
        "\255",               -- never valid
        "\195",               -- truncated
        "\192\175",           -- overlong "/"
        "\224\128\175",       -- overlong, 3 bytes
        "\237\160\128",       -- a surrogate (CESU-8)
        "\244\144\128\128",   -- beyond U+10FFFF
        "\128",               -- a stray continuation byte
      }
      for _, b in ipairs(bad) do
        refused(ingest("ing", '{"ok":1}\n{"s":"' .. b .. '"}\n'), "^invalid event at index 1: invalid UTF%-8")
        refused(ingest("ing", '[{"ok":1},{"s":"' .. b .. '"}]', JSON), "^invalid event at index 1: ")
        refused(ingest("ing", "a,b\n1," .. b .. "\n", CSV), "UTF%-8")
      end
      refused(ingest("ing", '{"k\255":1}'))
    end)

    it("takes valid multi-byte UTF-8 and escapes, a lone surrogate escape as U+FFFD", function()
      local r = ingest("ing", '{"s":"é€😀","e":"\\u00e9\\ud83d\\ude00","lone":"\\ud800"}')
      assert.equal(200, r.status, r.body)
      local ev = events("ing")[1]
      assert.same({ "é€😀", "é😀", "\239\191\189" }, { ev.s, ev.e, ev.lone })
    end)
  end)

  describe("JSON", function()
    it("refuses NaN and Infinity with 400 naming the event index", function()
      for _, tok in ipairs { "NaN", "Infinity", "-Infinity", "nan", "inf" } do
        local r = ingest("ing", '{"ok":1}\n{"ok":2}\n{"x":' .. tok .. '}\n')
        refused(r, "^invalid event at index 2: ")
        r = ingest("ing", '[{"ok":1},{"x":' .. tok .. '}]', JSON)
        refused(r, "^invalid event at index 1: ")
      end
      local r = ingest("ing", '{"x":NaN}')
      assert.matches("NaN is not valid JSON", r.json.message)
    end)

    it("refuses what RFC 8259 does not allow, even where cjson would take it", function()
      local bad = {
        '{"a":1.}', '{"a":.5}', '{"a":01}', '{"a":+1}', '{"a":0x10}', '{"a":1e}', '{"a":1e999}',
        '{"a":"tab\there"}', '{"a":"nl\\x"}', '{"a":"\\u12"}', "{'a':1}", '{"a":1,}', '{"a":[1,]}',
        '{"a":tru}', '{"a":1} x', '{"a" 1}', '{"a":1', '{a:1}',
      }
      for _, b in ipairs(bad) do
        refused(ingest("ing", '{"ok":1}\n' .. b .. "\n"), "^invalid event at index 1: ")
      end
      refused(ingest("ing", '[{"ok":1},{"a":01}]', JSON), "^invalid event at index 1: ")
      refused(ingest("ing", '[{"ok":1}', JSON))
    end)

    it("refuses any number that overflows a double, whatever its text length", function()
      local zeros = ("0"):rep(250)
      for _, num in ipairs { "1" .. zeros .. "e99", "-1" .. zeros .. "e99", "1" .. zeros .. ".5e60",
                             "1e400", "-2e308", "1" .. ("0"):rep(400), "0.1e310" } do
        refused(ingest("ing", '{"ok":1}\n{"a":' .. num .. '}\n'), "^invalid event at index 1: number out of range")
      end
      for _, num in ipairs { "1" .. zeros .. "e-99", "1e308", "0." .. ("0"):rep(400) .. "1e400", "1e-400" } do
        local r = ingest("ing", '{"a":' .. num .. '}\n')
        assert.equal(200, r.status, num)
      end
      assert.equal(4, #events("ing"))
    end)

    it("takes what RFC 8259 allows", function()
      local r = ingest("ing", ' { "a" : -0.5e+10 , "b" : [ ] , "c" : { } , "d" : null , "e" : "\\/\\b" } \r\n\n')
      assert.equal(200, r.status, r.body)
      assert.equal(1, r.json.ingested)
    end)
  end)

  describe("CSV", function()
    it("follows RFC 4180 quoting", function()
      local r = ingest("ing", 'a,b\r\n"x, ""y""","line\nbreak"\r\n', CSV)
      assert.equal(200, r.status, r.body)
      local ev = events("ing")[1]
      assert.same({ 'x, "y"', "line\nbreak" }, { ev.a, ev.b })
      for _, bad in ipairs { 'a,b\n1,x"y\n', 'a,b\n"1"x,2\n', 'a,b\n"open,2\n', 'a,b"\n1,2\n' } do
        refused(ingest("ing", bad, CSV), "invalid CSV", 1)
      end
    end)

    it("uses csv-delimiter and X-Axiom-CSV-Fields, and refuses a delimiter it cannot use", function()
      local r = request { method = "POST", path = "/v1/datasets/ing/ingest?csv-delimiter=%09",
                          headers = { ["Content-Type"] = "text/csv", ["X-Axiom-CSV-Fields"] = "host,msg" },
                          token = h.ADMIN, body = 'web1\t"a\tb"\n' }
      assert.equal(200, r.status, r.body)
      assert.same({ "web1", "a\tb" }, { events("ing")[1].host, events("ing")[1].msg })
      for _, d in ipairs { "%3B%3B", "%22", "%0A", "" } do
        local bad = request { method = "POST", path = "/v1/datasets/ing/ingest?csv-delimiter=" .. d,
                              token = h.ADMIN, headers = CSV, body = "a\n1\n" }
        if d == "" then assert.equal(200, bad.status) else assert_error(bad, 400) end
      end
    end)

    it("fails a record whose field count differs from the header's, alone", function()
      local r = ingest("ing", "a,b\n1,2,3\n4\n5,6\n", CSV)
      assert.equal(200, r.status)
      assert.same({ 1, 2 }, { r.json.ingested, r.json.failed })
      assert.matches("index 0: CSV record has 3 fields", r.json.failures[1].error)
      assert.matches("index 1: CSV record has 1 fields", r.json.failures[2].error)
    end)
  end)

  describe("Content-Encoding", function()
    local plain, gz, zst
    before_each(function()
      plain = spit(tmpfile(".ndjson"), lines(50))
      gz, zst = plain .. ".gz", plain .. ".zst"
      sh("gzip -c " .. q(plain) .. " > " .. q(gz) .. " && zstd -q -c " .. q(plain) .. " > " .. q(zst))
    end)

    local function send(encoding, file)
      return ingest("ing", nil, { ["Content-Encoding"] = encoding }, { file = file })
    end

    it("must match the body", function()
      refused(send("gzip", plain), "gzip")
      refused(send("zstd", plain), "zstd")
      refused(send("zstd", gz), "zstd")
      refused(send("gzip", zst), "gzip")
      local zlib = spit(tmpfile(".zz"), zlib_stored(slurp(plain)))
      refused(send("gzip", zlib), "gzip")                  -- zlib is not gzip
      refused(send("identity", gz))              -- gzip bytes are not UTF-8 JSON
      refused(send("", zst))
      refused(send("gzip", spit(tmpfile(".gz"), slurp(gz):sub(1, -9))))   -- truncated
      refused(send("zstd", spit(tmpfile(".zst"), slurp(zst):sub(1, -5))))
      refused(send("gzip", spit(tmpfile(".gz"), slurp(gz) .. "garbage")))  -- trailing data
      refused(send("zstd", spit(tmpfile(".zst"), slurp(zst) .. "garbage")))
      assert_error(send("br", plain), 415)
      assert_error(send("gzip, zstd", gz), 415)
    end)

    it("decodes gzip (several members too) and zstd; identity may be absent, empty or named", function()
      assert.equal(50, send("gzip", gz).json.ingested)
      assert.equal(50, send("zstd", zst).json.ingested)
      assert.equal(100, send("gzip", spit(tmpfile(".gz"), slurp(gz) .. slurp(gz))).json.ingested)
      assert.equal(50, send("", plain).json.ingested)
      assert.equal(50, send("identity", plain).json.ingested)
      assert.equal(50, ingest("ing", nil, nil, { file = plain }).json.ingested)
    end)
  end)

  describe("limits", function()
    it("refuses more than 10,000 events in one request with 400", function()
      refused(ingest("ing", lines(10001)), "too many events")
      local arr = "[" .. lines(10001, '{"i":%d}'):gsub("\n(.)", ",%1"):gsub("\n$", "") .. "]"
      refused(ingest("ing", arr, JSON), "too many events")
      refused(ingest("ing", "i\n" .. lines(10001, "%d"), CSV), "too many events")
      local ok = ingest("ing", lines(10000))
      assert.equal(200, ok.status)
      assert.equal(10000, ok.json.ingested)
    end)

    it("fails an event with a field name over 200 bytes alone, in a 200", function()
      local n200, n201 = ("n"):rep(200), ("n"):rep(201)
      local body = '{"ok":1}\n{"' .. n201 .. '":1}\n{"' .. n200 .. '":2}\n'
        .. '{"outer":{"' .. ("i"):rep(195) .. '":3}}\n'   -- flattened: "outer." .. 195 = 201 bytes
        .. '{"outer":{"' .. ("i"):rep(194) .. '":4}}\n'   -- 200 bytes
      local r = ingest("ing", body)
      assert.equal(200, r.status, r.body)
      assert.same({ 3, 2 }, { r.json.ingested, r.json.failed })
      assert.matches("^event at index 1: field name longer than 200 bytes", r.json.failures[1].error)
      assert.matches("^event at index 3: field name longer than 200 bytes: outer%.", r.json.failures[2].error)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT", r.json.failures[1].timestamp)
      local evs = events("ing")
      assert.equal(3, #evs)
      assert.equal(2, evs[2][n200])
      -- the name is cut on a character boundary: the answer stays valid UTF-8
      r = ingest("ing", '{"a' .. ("\195\169"):rep(100) .. '":1}\n')
      assert.equal(200, r.status, r.body)
      assert.equal("event at index 0: field name longer than 200 bytes: a" .. ("\195\169"):rep(19) .. "...",
                   r.json.failures[1].error)
      -- a label name over the limit fails every event
      r = ingest("ing", '{"a":1}\n', { ["X-Axiom-Event-Labels"] = '{"' .. n201 .. '":1}' })
      assert.same({ 0, 1 }, { r.json.ingested, r.json.failed })
    end)
  end)

  describe("datasets and paths", function()
    it("answers 404 for an unknown dataset on both paths", function()
      assert_error(ingest("nope", '{"a":1}'), 404)
      assert_error(ingest(nil, '{"a":1}', nil, { path = "/v1/ingest/nope" }), 404)
      assert_error(ingest(nil, '{"a":1}', nil, { path = "/api/v1/ingest/nope" }), 404)
    end)

    it("names datasets by Axiom's rules", function()
      local good = { "a", "A1", "a.b_c-d", ("x"):rep(80), "axiom", "my-axiom-logs" }
      local bad = { "", ".a", "a.", "-a", "a-", "_a", "a_", "a b", "a/b", "ä", ("x"):rep(81), "axiom-logs" }
      for _, name in ipairs(good) do
        assert.equal(200, admin { method = "POST", path = "/v2/datasets", json = { name = name } }.status, name)
      end
      for _, name in ipairs(bad) do
        assert_error(admin { method = "POST", path = "/v2/datasets", json = { name = name } }, 400)
      end
    end)

    it("decodes a path segment exactly once", function()
      local function post(path) return ingest(nil, '{"a":1}', nil, { path = path }) end
      assert.equal(200, post("/v1/ingest/%69ng").status)            -- %69 = "i"
      assert.equal(200, post("/v1/datasets/%69%6Eg/ingest").status)
      assert_error(post("/v1/ingest/%2569ng"), 404)                  -- "%69ng", not "ing"
      assert_error(post("/v1/ingest/ing%2F"), 404)
      assert.equal(2, #events("ing"))
    end)
  end)

  describe("what the server adds", function()
    it("sets _time when missing, _sysTime always, and merges labels", function()
      local r = ingest("ing", '{"a":1}\n{"a":2,"_time":"2024-01-02T03:04:05Z","region":"mine"}\n',
                       { ["X-Axiom-Event-Labels"] = '{"region":"eu-west-1","n":1}' })
      assert.equal(200, r.status, r.body)
      local evs = events("ing")
      local nano = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d%d%d%d%d%d%dZ$"
      assert.matches(nano, evs[1]._time)
      assert.matches(nano, evs[1]._sysTime)
      assert.equal("2024-01-02T03:04:05Z", evs[2]._time)
      assert.matches(nano, evs[2]._sysTime)
      for _, ev in ipairs(evs) do assert.same({ "eu-west-1", 1 }, { ev.region, ev.n }) end
    end)

    it("cuts maps and arrays deeper than 100 levels to null at level 100", function()
      local function nest(levels, open, close, inner)  -- the event is level 1
        return "{" .. '"a":' .. open:rep(levels - 1) .. inner .. close:rep(levels - 1) .. "}"
      end
      local body = nest(100, '{"a":', "}", "1") .. "\n" .. nest(101, '{"a":', "}", "1") .. "\n"
        .. nest(102, '{"a":', "}", '"deep"') .. "\n" .. nest(101, "[", "]", "1") .. "\n"
      local r = ingest("ing", body)
      assert.equal(200, r.status, r.body)
      assert.equal(4, r.json.ingested)
      local evs = events("ing")
      local function down(v, n) for _ = 1, n do v = v.a or v[1] end return v end
      assert.equal(1, down(evs[1], 100))                       -- 100 levels: kept whole
      assert.is_table(down(evs[2], 99))
      assert.equal(h.cjson.null, down(evs[2], 100))           -- level 101 is cut at level 100
      assert.equal(h.cjson.null, down(evs[3], 100))
      assert.equal(h.cjson.null, down(evs[4], 100))
    end)

    it("renames reserved names in labels to _user_<name>, as in events", function()
      local labels = '{"_rowId":"r","_sysTime":"s","_blockInfo":"b","_cursor":"c","_source":"o","ok":1}'
      local r = ingest("ing", '{"a":1}\n', { ["X-Axiom-Event-Labels"] = labels })
      assert.equal(200, r.status, r.body)
      local ev = events("ing")[1]
      local want = { rowId = "r", sysTime = "s", blockInfo = "b", cursor = "c", source = "o" }
      for name, v in pairs(want) do assert.equal(v, ev["_user_" .. name], name) end
      assert.is_nil(ev._rowId)
      assert.is_nil(ev._blockInfo)
      assert.is_nil(ev._cursor)
      assert.is_nil(ev._source)
      assert.matches("^%d%d%d%d%-", ev._sysTime)
      assert.equal(1, ev.ok)
    end)

    it("counts processedBytes as the uncompressed body plus the labels' JSON", function()
      local body = lines(20)
      local plain = spit(tmpfile(".ndjson"), body)
      sh("gzip -c " .. q(plain) .. " > " .. q(plain .. ".gz"))
      local labels = '{"region":"eu-west-1"}'
      local r = ingest("ing", nil, { ["Content-Encoding"] = "gzip", ["X-Axiom-Event-Labels"] = labels },
                       { file = plain .. ".gz" })
      assert.equal(#body + #labels, r.json.processedBytes)
      assert.equal(#body, ingest("ing", body).json.processedBytes)
    end)
  end)
end)
