-- The examples keep working: each runs, as a user would, against the local server.
local support = require "support"

local VM = jit and "luajit" or (_VERSION == "Lua 5.1" and "lua5.1" or "lua5.4")
local CPATH = _VERSION == "Lua 5.4" and "build/5.4/?.so" or "build/5.1/?.so"

local function run(script, ...)
  local env = ("AXIOM_URL=%s AXIOM_TOKEN=%s LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='%s;;'")
    :format(support.url, support.token, CPATH)
  local cmd = ("%s %s %s %s 2>&1; echo rc=$?"):format(env, VM, script, table.concat({ ... }, " "))
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return out
end

local function file(name, text)
  local path = os.tmpname() .. name
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

describe("examples", function()
  before_each(function()
    support.reset()
    support.dataset("ex")
  end)

  it("ship-file.lua ships log lines, NDJSON, CSV and a JSON array", function()
    local cases = {
      { file(".log", "one\ntwo\n\nthree\n"), 3 },
      { file(".ndjson", '{"a":1}\n{"a":2}\n'), 2 },
      { file(".csv", "x,y\n1,2\n3,4\n"), 2 },
      { file(".json", '[{"a":1},{"a":2},{"a":3}]'), 3 },
    }
    local total = 0
    for _, c in ipairs(cases) do
      local out = run("examples/ship-file.lua", "ex", c[1])
      os.remove(c[1])
      assert.matches("ingested " .. c[2] .. ", failed 0", out)
      assert.matches("rc=0", out)
      total = total + c[2]
    end
    assert.equal(total, #support.events("ex"))
  end)

  it("ship-file.lua says what is wrong with a missing file", function()
    local out = run("examples/ship-file.lua", "ex", "/nonexistent/file.log")
    assert.matches("No such file", out)
    assert.matches("rc=1", out)
  end)

  it("manage-tokens.lua walks both token APIs", function()
    local out = run("examples/manage-tokens.lua", "ex")
    assert.matches("rc=0", out)
    assert.matches("regenerated: new id", out)
    assert.matches("valid: true", out)
    assert.matches("renamed to example%-legacy%-renamed", out)
  end)
end)
