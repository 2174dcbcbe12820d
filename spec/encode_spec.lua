-- Encoding rules 1-6 of axiom.core (see the contract). Unit level: no network.
local core = require("axiom.core")
local cjson = require("cjson")

-- A private instance, so rule 6's changes to the shared module cannot
-- change how the outputs are checked.
local json = cjson.new()

local FFFD = "\239\191\189"

local function enc(v)
  local s, err = core.encode(v)
  assert(s, err)
  return s
end

-- Decodes NDJSON into a list of tables.
local function lines(body)
  local out = {}
  for line in body:gmatch("([^\n]*)\n") do
    out[#out + 1] = json.decode(line)
  end
  return out
end

-- What rule 1 says a float must look like, computed independently.
local function expected_float(x)
  if x ~= x or x == math.huge or x == -math.huge then return "null" end
  if x == math.floor(x) and math.abs(x) < 2^53 then
    if x == 0 and 1 / x < 0 then return "-0" end
    return string.format("%.0f", x)
  end
  for p = 15, 16 do
    local s = string.format("%." .. p .. "g", x)
    if tonumber(s) == x then return s end
  end
  return string.format("%.17g", x)
end

-- Runs a snippet in a fresh interpreter (same binary, same cpath).
local function interpreter()
  local p = io.popen("readlink /proc/$PPID/exe")
  local exe = p:read("*l")
  p:close()
  return exe
end

describe("rule 1: numbers", function()
  if math.type then
    it("writes integers exactly, beyond 2^53 too", function()
      assert.equal("9007199254740993", enc(9007199254740993))
      assert.equal("9223372036854775807", enc(math.maxinteger))
      assert.equal("-9223372036854775808", enc(math.mininteger))
      assert.equal("0", enc(0))
      assert.equal("-1", enc(-1))
      assert.equal('[1234567890123456789]', enc({ 1234567890123456789 }))
      assert.equal('{"ns":1700000000123456789}', enc({ ns = 1700000000123456789 }))
    end)
  end

  it("writes integral floats below 2^53 without exponent or fraction", function()
    assert.equal("3", enc(3.0))
    assert.equal("-42", enc(-42.0))
    assert.equal("1000000000000000", enc(1e15))
    assert.equal("4503599627370496", enc(2.0^52))
    assert.equal("9007199254740991", enc(2.0^53 - 1))
    assert.equal("-9007199254740991", enc(-(2.0^53 - 1)))
    assert.equal("1700000000123", enc(1700000000123.0))
  end)

  it("uses the shortest of %.15g/%.16g/%.17g that reads back", function()
    assert.equal("0.1", enc(0.1))
    assert.equal("0.30000000000000004", enc(0.1 + 0.2))
    assert.equal("0.3333333333333333", enc(1 / 3))
    assert.equal("123.456", enc(123.456))
    assert.equal("-1.5e-07", enc(-1.5e-7))
    assert.equal("1e+300", enc(1e300))
    assert.equal("9007199254740992", enc(2.0^53))
    assert.equal("1.7976931348623157e+308", enc(1.7976931348623157e308))
  end)

  it("round-trips random doubles exactly, in the shortest form", function()
    math.randomseed(12345)
    for i = 1, 20000 do
      local x = (math.random() - 0.5) * 10 ^ math.random(-310, 308)
      if i % 4 == 0 then x = math.random(-1e9, 1e9) / 2 ^ math.random(0, 60) end
      local s = enc(x)
      assert.equal(x, tonumber(s))
      -- PUC Lua formats with the same C library; LuaJIT has its own %g,
      -- which may round a decimal tie the other way, so only check length.
      if math.type then
        assert.equal(expected_float(x), s)
      else
        assert.is_true(#s <= #expected_float(x), s)
      end
    end
  end)

  it("writes numbers the same inside tables and as keys", function()
    assert.equal('[0.1,[2.5,-3]]', enc({ 0.1, { 2.5, -3 } }))
    assert.equal('{"0.5":true}', enc({ [0.5] = true }))
  end)

  it("writes '.' as the decimal point whatever LC_NUMERIC says", function()
    local names = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8" }
    for _, name in ipairs(names) do
      if os.setlocale(name, "numeric") then
        local ok, s = pcall(enc, { 0.5, 1.25e-7, 123.456 })
        os.setlocale("C", "numeric")
        assert.is_true(ok, s)
        assert.equal("[0.5,1.25e-07,123.456]", s)
        return
      end
    end
    -- None installed: build one and use it in a child interpreter.
    local dir = os.tmpname()
    os.remove(dir)
    if not os.execute("mkdir " .. dir .. " && localedef -i de_DE -f UTF-8 "
                      .. dir .. "/de_DE.UTF-8 >/dev/null 2>&1") then
      os.execute("rm -rf " .. dir)
      pending("no comma-decimal locale and no localedef")
      return
    end
    local code = "package.cpath = " .. string.format("%q", package.cpath) .. "\n"
      .. "assert(os.setlocale('de_DE.UTF-8', 'numeric'), 'setlocale')\n"
      .. "io.write(require('axiom.core').encode({0.5, 1.25e-7, 123.456}))"
    local script = dir .. "/t.lua"
    local f = assert(io.open(script, "w"))
    f:write(code)
    f:close()
    local p = io.popen("LOCPATH=" .. dir .. " " .. interpreter() .. " " .. script .. " 2>&1")
    local out = p:read("*a")
    p:close()
    os.execute("rm -rf " .. dir)
    assert.equal("[0.5,1.25e-07,123.456]", out)
  end)
end)

describe("rule 2: strings and keys", function()
  it("escapes quote, backslash and control characters only", function()
    assert.equal([["\"\\/\n\r\t\b\f"]], enc('"\\/\n\r\t\b\f'))
    assert.equal([["\u0000\u0001\u001f\u000b"]], enc("\0\1\31\11"))
    assert.equal('"a\127b"', enc("a\127b"))
  end)

  it("passes valid UTF-8 through byte for byte", function()
    local samples = {
      "h\195\169llo",                 -- é
      "\226\130\172",                 -- €
      "\240\157\132\158",             -- U+1D11E
      "\244\143\191\191",             -- U+10FFFF
      "\237\159\191\238\128\128",     -- U+D7FF U+E000, either side of the surrogates
      FFFD,
      "\239\187\191bom",
    }
    for _, s in ipairs(samples) do
      assert.equal('"' .. s .. '"', enc(s))
      assert.equal(s, json.decode(enc({ s }))[1])
    end
  end)

  it("replaces each maximal invalid subpart with one U+FFFD", function()
    local cases = {
      { "a\128b", "a" .. FFFD .. "b" },                         -- stray continuation
      { "\192\175", FFFD .. FFFD },                             -- overlong C0 AF
      { "\224\128\128", FFFD .. FFFD .. FFFD },                 -- overlong E0 80 80
      { "\237\160\128", FFFD .. FFFD .. FFFD },                 -- CESU-8 surrogate
      { "\244\144\128\128", FFFD .. FFFD .. FFFD .. FFFD },     -- above U+10FFFF
      { "\226\130", FFFD },                                     -- truncated at the end
      { "\226\130x", FFFD .. "x" },                             -- truncated mid-string
      { "\240\159\152", FFFD },                                 -- truncated 4-byte
      { "\255\245\128", FFFD .. FFFD .. FFFD },                 -- never-valid bytes
      -- The example of Unicode 15, section 3.9 (table 3-8).
      { "a\241\128\128\225\128\194b\128c\128\191d",
        "a" .. FFFD .. FFFD .. FFFD .. "b" .. FFFD .. "c" .. FFFD .. FFFD .. "d" },
    }
    for _, c in ipairs(cases) do
      assert.equal('"' .. c[2] .. '"', enc(c[1]))
    end
  end)

  it("treats keys like values", function()
    assert.equal('{"k' .. FFFD .. '\\"":1}', enc({ ["k\128\""] = 1 }))
  end)

  it("handles long strings across internal chunk boundaries", function()
    for _, pad in ipairs({ 4093, 4094, 4095, 4096 }) do
      local s = string.rep("a", pad) .. "\226\130\172" .. string.rep("\n\"", 3000) .. "\128"
      local out = enc(s)
      assert.equal(string.rep("a", pad) .. "\226\130\172" .. string.rep('\\n\\"', 3000) .. FFFD,
                   out:sub(2, -2))
    end
  end)
end)

describe("rule 3: NaN and infinities", function()
  it("become null wherever they appear", function()
    assert.equal("null", enc(0 / 0))
    assert.equal("null", enc(-(0 / 0)))
    assert.equal("null", enc(math.huge))
    assert.equal("null", enc(-math.huge))
    assert.equal("[null,1,null]", enc({ 1 / 0, 1, -1 / 0 }))
    assert.equal('{"a":null}', enc({ a = 0 / 0 }))
  end)
end)

describe("rule 4: tables", function()
  it("writes an empty table as an object and a marked one as an array", function()
    assert.equal("{}", enc({}))
    assert.equal("[]", enc(core.array({})))
    local s = enc({ a = core.array({}), b = {} })
    assert.is_true(s == '{"a":[],"b":{}}' or s == '{"b":{},"a":[]}', s)
  end)

  it("writes positive integer keys as an array, holes as null", function()
    assert.equal("[1,2,3]", enc({ 1, 2, 3 }))
    assert.equal("[1,null,3]", enc({ 1, nil, 3 }))
    assert.equal("[null,null,null,null,null,null,null,null,null,1]", enc({ [10] = 1 }))
    assert.equal("[1,2]", enc(core.array({ 1, 2 })))
  end)

  it("keeps sparse keys as strings instead of padding with nulls", function()
    local s = enc({ [1] = 1, [1000000] = 2 })
    assert.is_true(#s < 30, s)
    local t = json.decode(s)
    assert.equal(1, t["1"])
    assert.equal(2, t["1000000"])
    assert.equal('{"11":1}', enc({ [11] = 1 }))
  end)

  it("switches at max_key = 2 * count", function()
    assert.equal("[1,2,3,4,5,null,null,null,null,null,null,6]",
                 enc({ 1, 2, 3, 4, 5, [12] = 6 }))
    local t = json.decode(enc({ 1, 2, 3, 4, 5, [13] = 6 }))
    assert.equal(6, t["13"])
    assert.equal(1, t["1"])
  end)

  it("writes mixed and non-integer keys as an object", function()
    local t = json.decode(enc({ 1, 2, a = "x" }))
    assert.same({ ["1"] = 1, ["2"] = 2, a = "x" }, t)
    assert.equal('{"1.5":"x"}', enc({ [1.5] = "x" }))
    t = json.decode(enc({ [0] = "z", [-1] = "m" }))
    assert.same({ ["0"] = "z", ["-1"] = "m" }, t)
  end)

  it("writes a marked table that is too sparse, or has string keys, as an object", function()
    assert.same({ ["1"] = 1, ["100"] = 2 }, json.decode(enc(core.array({ [1] = 1, [100] = 2 }))))
    assert.same({ a = 1 }, json.decode(enc(core.array({ a = 1 }))))
  end)

  it("writes null and booleans", function()
    assert.equal("[null,true,false]", enc({ core.null, true, false }))
    assert.equal(cjson.null, core.null)
    assert.equal("null", enc(nil))
  end)

  it("encodes a shared (acyclic) table twice", function()
    local shared = { 1 }
    assert.same({ a = { 1 }, b = { 1 } }, json.decode(enc({ a = shared, b = shared })))
  end)

  it("exposes the array marker", function()
    local t = {}
    assert.equal(t, core.array(t))
    assert.equal(core.array_mt, getmetatable(t))
    assert.equal(t, core.array(t))
    assert.equal("axiom.array", core.array_mt.__name)
    assert.has_error(function() core.array("x") end)
    assert.has_error(function() core.array(setmetatable({}, {})) end)
  end)
end)

describe("rule 5: unsupported values fail only their event", function()
  local co = coroutine.create(function() end)
  local cyc = { a = { b = {} } }
  cyc.a.b.c = cyc.a
  local deep = {}
  local d = deep
  for _ = 1, 100 do d.a = {}; d = d.a end        -- 101 tables: one too many

  local cases = {
    { { user = { cb = print } }, "cannot encode a function at $.user.cb" },
    { { u = io.stdout }, "cannot encode a userdata at $.u" },
    { { co = co }, "cannot encode a thread at $.co" },
    { cyc, "cycle at $.a.b.c" },
    { deep, "nesting deeper than 100 at $" .. string.rep(".a", 100) },
    { { a = { [true] = 1 } }, "unsupported key type boolean at $.a" },
    { { list = { 1, { f = print } } }, "cannot encode a function at $.list[2].f" },
    { { ["a b"] = { print } }, 'cannot encode a function at $["a b"][1]' },
    { 42, "event is a number, not a table" },
    { { 1, 2 }, "event is an array, not an object" },
    { core.array({}), "event is an array, not an object" },
  }

  it("reports index and reason, and keeps every other event", function()
    local events = {}
    for i, c in ipairs(cases) do
      events[2 * i - 1] = { n = i }
      events[2 * i] = c[1]
    end
    events[#events + 1] = { last = true }
    local body, count, failures = core.encode_events(events)
    assert.equal(#cases + 1, count)
    assert.equal(#cases, #failures)
    for i, c in ipairs(cases) do
      assert.same({ index = 2 * i, error = c[2] }, failures[i])
    end
    local decoded = lines(body)
    assert.equal(#cases + 1, #decoded)
    for i = 1, #cases do assert.same({ n = i }, decoded[i]) end
    assert.same({ last = true }, decoded[#decoded])
  end)

  it("makes core.encode return nil and the same message", function()
    for i = 1, 8 do
      local s, err = core.encode(cases[i][1])
      assert.is_nil(s)
      assert.equal(cases[i][2], err)
    end
  end)

  it("allows exactly max_depth levels", function()
    local ok = {}
    d = ok
    for _ = 1, 99 do d.a = {}; d = d.a end       -- 100 tables
    assert.is_truthy(core.encode(ok))
    assert.is_nil(core.encode(ok, 99))
    assert.is_truthy(core.encode(ok, 1000))
    assert.has_error(function() core.encode(ok, 0) end)
  end)

  it("returns nil failures, and an empty body, when there is nothing to report", function()
    local body, count, failures = core.encode_events({ { a = 1 }, { b = "x" } })
    assert.equal('{"a":1}\n{"b":"x"}\n', body)
    assert.equal(2, count)
    assert.is_nil(failures)
    body, count, failures = core.encode_events({})
    assert.equal("", body)
    assert.equal(0, count)
    assert.is_nil(failures)
  end)

  it("reports a hole as a failed event instead of dropping what follows it", function()
    local t = {}
    t[1] = { a = 1 }
    t[3] = { a = 3 }
    local body, count, failures = core.encode_events(t)
    assert.equal('{"a":1}\n{"a":3}\n', body)
    assert.equal(2, count)
    assert.same({ { index = 2, error = "event is a nil, not a table" } }, failures)

    body, count, failures = core.encode_events({ nil, nil, { b = 2 } })
    assert.equal('{"b":2}\n', body)
    assert.equal(1, count)
    assert.same({ { index = 1, error = "event is a nil, not a table" },
                  { index = 2, error = "event is a nil, not a table" } }, failures)

    -- Holes at the end do not count: the batch ends at its largest index.
    t = {}
    for i = 1, 100 do t[i] = { i = i } end
    t[50], t[99], t[100] = nil, nil, nil
    body, count, failures = core.encode_events(t)
    assert.equal(97, count)
    assert.same({ { index = 50, error = "event is a nil, not a table" } }, failures)
    assert.equal(97, #lines(body))
  end)

  it("raises when events has keys that are no array indices", function()
    local function raises(events, what)
      local ok, err = pcall(core.encode_events, events)
      assert.is_false(ok)
      assert.is_truthy(err:find("bad argument #1", 1, true), err)
      assert.is_truthy(err:find("events must be an array (found " .. what .. ")", 1, true), err)
    end
    raises({ { a = 1 }, x = { a = 2 } }, 'key "x"')
    raises({ { a = 1 }, n = 1 }, 'key "n"')
    raises({ [0] = { a = 1 } }, "key 0")
    raises({ [-1] = { a = 1 } }, "key -1")
    raises({ [1.5] = { a = 1 } }, "key 1.5")
    raises({ [true] = { a = 1 } }, "a boolean key")
    -- One event at index 10^9 would report a billion holes.
    raises({ [1e9] = { a = 1 } }, "key 1000000000, far beyond its 1 entries")
  end)

  it("raises on misuse", function()
    assert.has_error(function() core.encode_events("x") end)
    assert.has_error(function() core.encode() end)
  end)
end)

describe("rule 6: no use of the host's cjson", function()
  it("gives the same output whatever the cjson module is set to", function()
    local sample = { 0.1, 1 / 3, 123456789.125, { [50] = 2 }, "\128", {} }
    local before = enc(sample)
    local restore = {}
    local function set(name, ...)
      if cjson[name] then
        restore[#restore + 1] = { name, cjson[name]() }
        pcall(cjson[name], ...)
      end
    end
    set("encode_number_precision", 3)
    set("encode_sparse_array", true, 1, 1)
    set("encode_max_depth", 2)
    set("encode_invalid_numbers", true)
    set("encode_keep_buffer", false)
    local after = enc(sample)
    local unpack_ = table.unpack or unpack
    for _, r in ipairs(restore) do pcall(cjson[r[1]], unpack_(r, 2)) end
    assert.equal(before, after)
    assert.equal('[0.1,0.3333333333333333,123456789.125,{"50":2},"' .. FFFD .. '",{}]', after)
  end)
end)
