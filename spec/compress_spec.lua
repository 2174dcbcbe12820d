-- core.compress / core.decompress. Unit level: no network; uses the system
-- gzip and zstd commands to prove the output is standard.
local core = require("axiom.core")

local MAGIC = { gzip = "\31\139", zstd = "\40\181\47\253" }
local TOOL = { gzip = "gzip -dc", zstd = "zstd -dcq" }

local function sample(n)
  local parts = {}
  for i = 1, n do
    parts[i] = string.format('{"i":%d,"msg":"line %d \226\130\172","v":%d}\n', i, i, (i * 7919) % 1000)
  end
  return table.concat(parts)
end

-- Pseudo-random bytes: compress badly, so the output outgrows any guess.
local function noise(n)
  local t, x = {}, 12345
  for i = 1, n do
    x = (x * 1103515245 + 12345) % 2147483648
    t[i] = string.char(math.floor(x / 65536) % 256)
  end
  return table.concat(t)
end

local function through(cmd, data)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  local p = assert(io.popen(cmd .. " < " .. path, "r"))
  local out = p:read("*a")
  p:close()
  os.remove(path)
  return out
end

for _, algo in ipairs({ "gzip", "zstd" }) do
  describe(algo, function()
    it("round-trips text, binary and empty input", function()
      for _, data in ipairs({ sample(2000), noise(70000), "", "x" }) do
        local z = assert(core.compress(data, algo))
        assert.equal(data, core.decompress(z, algo))
      end
    end)

    it("starts with the format's magic bytes", function()
      local z = core.compress("hello", algo)
      assert.equal(MAGIC[algo], z:sub(1, #MAGIC[algo]))
    end)

    it("actually compresses", function()
      local data = sample(2000)
      assert.is_true(#core.compress(data, algo) < #data / 4)
    end)

    it("is readable by the system " .. algo .. " command", function()
      local data = sample(3000)
      assert.equal(data, through(TOOL[algo], core.compress(data, algo)))
      assert.equal(data, through(TOOL[algo], core.compress(data, algo, 1)))
    end)

    it("reads what the system " .. algo .. " command writes", function()
      local data = sample(500)
      local z = through(algo == "gzip" and "gzip -c" or "zstd -cq", data)
      assert.equal(MAGIC[algo], z:sub(1, #MAGIC[algo]))
      assert.equal(data, core.decompress(z, algo))
    end)

    it("reads concatenated streams as one", function()
      local z = core.compress("abc", algo) .. core.compress("def", algo)
      assert.equal("abcdef", core.decompress(z, algo))
    end)

    it("returns nil, err for corrupt, truncated or foreign input", function()
      local z = core.compress(sample(200), algo)
      local bad = {
        "definitely not compressed",
        "",
        z:sub(1, #z - 5),
        z:sub(1, 20) .. string.rep("\0", 50) .. z:sub(71),
        z .. "trailing garbage",
        core.compress("x", algo == "gzip" and "zstd" or "gzip"),
      }
      for i, data in ipairs(bad) do
        local out, err = core.decompress(data, algo)
        assert.is_nil(out, "case " .. i)
        assert.is_string(err)
        assert.is_truthy(err:find(algo, 1, true) or err:find("exceeds", 1, true), err)
      end
    end)

    it("stops at max_size", function()
      local data = string.rep("a", 100000)
      local z = core.compress(data, algo)
      assert.equal(data, core.decompress(z, algo, 100000))
      local out, err = core.decompress(z, algo, 99999)
      assert.is_nil(out)
      assert.equal("decompressed data exceeds 99999 bytes", err)
      out, err = core.decompress(core.compress("x", algo), algo, 0)
      assert.is_nil(out)
      assert.equal("decompressed data exceeds 0 bytes", err)
      assert.equal("", core.decompress(core.compress("", algo), algo, 0))
    end)

    it("caps at 256 MiB by default", function()
      -- 300 concatenated streams of 1 MiB of zeros: a small bomb.
      local z = core.compress(string.rep("\0", 1024 * 1024), algo):rep(300)
      local out, err = core.decompress(z, algo)
      assert.is_nil(out)
      assert.equal("decompressed data exceeds 268435456 bytes", err)
    end)

    it("raises on misuse", function()
      assert.has_error(function() core.compress("x", "brotli") end)
      assert.has_error(function() core.compress({}, algo) end)
      assert.has_error(function() core.compress("x", algo, 1000) end)
      assert.has_error(function() core.decompress("x", algo, -1) end)
    end)
  end)
end
