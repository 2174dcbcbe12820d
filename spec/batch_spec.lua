-- client:batcher against the local server and its fault injection: batching, background
-- delivery, retries, limits, overflow, shutdown, fork and the spool. Behaviour only: the one
-- timing check is a generous "did not block" bound.
local support = require "support"
local socket = require "socket"

local DS = "batch"
local PATH = "/v1/datasets/" .. DS .. "/ingest"
local PATTERN = "^/v1/datasets/batch/ingest$"

local function sleep(s) socket.sleep(s) end

-- The ingest requests of the batcher's dataset since journal length n.
local function requests(n)
  local out = {}
  for _, r in ipairs(support.journal_since(n or 0)) do
    if r.path == PATH then out[#out + 1] = r end
  end
  return out
end

local function events() return support.events(DS) end

-- A port where nothing listens: connections are refused (a network error).
local function dead_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return port
end

local function event(i) return { i = i, msg = "event " .. i, user = { id = i % 7 } } end

-- Waits up to `secs` for cond() to hold.
local function eventually(secs, cond)
  local deadline = socket.gettime() + secs
  repeat
    if cond() then return true end
    sleep(0.05)
  until socket.gettime() > deadline
  return cond()
end

-- The sum that must always balance: every accepted event is somewhere.
local function balanced(st)
  local d = st.dropped
  return st.enqueued + st.replayed == st.sent + st.failed + d.overflow + d.retry_exhausted
    + d.rejected + d.shutdown + st.spooled + st.queue_events
end

-- The interpreter running this spec and its module paths, for child processes.
local function lua_command(script)
  local vm = jit and "luajit" or _VERSION == "Lua 5.1" and "lua5.1" or "lua5.4"
  return string.format("LUA_PATH=%q LUA_CPATH=%q AXIOM_TEST_URL=%q %s %q",
    package.path, package.cpath, support.url, vm, script)
end

local function write_script(text)
  local name = os.tmpname()
  local f = assert(io.open(name, "w"))
  f:write(text)
  f:close()
  return name
end

local function has_dev(path)
  local _, status = support.dev("POST", path, { seconds = 0 })
  return status < 400
end

describe("client:batcher", function()
  local client, open = nil, {}
  -- Every batcher a test makes is closed after it, so a failed test cannot leak one that
  -- goes on sending into the next.
  local function track(c)
    local batcher = c.batcher
    return setmetatable({ batcher = function(self, ...)
      local b, err = batcher(c, ...)
      if b then open[#open + 1] = b end
      return b, err
    end }, { __index = function(_, k)
      local v = c[k]
      if type(v) == "function" then return function(_, ...) return v(c, ...) end end
      return v
    end })
  end
  local plain_client = support.client
  local function new_client(opts) return track(plain_client(opts)) end
  before_each(function()
    support.reset()
    support.dataset(DS)
    client = new_client()
  end)
  after_each(function()
    for i = #open, 1, -1 do open[i]:close(0); open[i] = nil end
    client:close()
  end)

  describe("misuse raises at the caller's line", function()
    local function raises_here(f, pattern)
      local ok, err = pcall(f)
      assert.is_false(ok)
      assert.matches(pattern, err)
      assert.matches("batch_spec.lua:%d+:", err)
    end

    it("for options", function()
      local client = plain_client() -- luacheck: ignore 431 (the raw client: errors point here)
      raises_here(function() client:batcher(DS, { max_event = 10 }) end, "unknown option 'max_event'")
      raises_here(function() client:batcher(DS, { max_events = "10" }) end, "must be a number")
      raises_here(function() client:batcher(DS, { max_events = 10001 }) end, "max_events")
      raises_here(function() client:batcher(DS, { max_events = 0 }) end, "max_events")
      raises_here(function() client:batcher(DS, { interval = 0 }) end, "interval")
      raises_here(function() client:batcher(DS, { overflow = "block" }) end, "drop_oldest")
      raises_here(function() client:batcher(DS, { encoding = "br" }) end, "encoding")
      raises_here(function() client:batcher(DS, { on_error = true }) end, "on_error")
      raises_here(function() client:batcher(DS, { encoding = "gzip", compression_level = 12 }) end,
        "compression_level")
      raises_here(function() client:batcher(DS, { max_buffer_bytes = 10, max_bytes = 100 }) end,
        "at least max_bytes")
      raises_here(function() client:batcher(42) end, "dataset must be a string")
      raises_here(function() client.batcher(DS) end, "expected a client")
    end)

    it("for calls", function()
      local client = plain_client() -- luacheck: ignore 431
      local b = assert(client:batcher(DS))
      raises_here(function() b:add("text") end, "event must be a table")
      raises_here(function() b:add() end, "event must be a table")
      raises_here(function() b.add({}) end, "expected a batcher")
      raises_here(function() b:flush(-1) end, "timeout")
      b:close()
      raises_here(function() b:add({}) end, "closed")
      raises_here(function() b:flush() end, "closed")
    end)

    it("but a bad dataset name is a config error", function()
      local b, err = client:batcher("..")
      assert.is_nil(b)
      assert.equal("config", err.kind)
    end)
  end)

  describe("delivery", function()
    it("adds, flushes and closes: every event arrives once, in order, zstd NDJSON", function()
      local b = assert(client:batcher(DS, { max_events = 100 }))
      for i = 1, 1050 do assert.is_true(b:add(event(i))) end
      assert.is_true(b:flush(10))
      local ev = events()
      assert.equal(1050, #ev)
      for i = 1, 1050 do assert.equal(i, ev[i].i) end
      local reqs = requests()
      assert.equal(11, #reqs)
      assert.equal("zstd", reqs[1].headers["content-encoding"])
      assert.equal("application/x-ndjson", reqs[1].headers["content-type"])
      local st = b:stats()
      assert.equal(1050, st.enqueued)
      assert.equal(1050, st.sent)
      assert.equal(11, st.batches)
      assert.equal(0, st.dropped.total)
      assert.equal(0, st.queue_bytes)
      assert.is_true(st.bytes_raw > st.bytes_sent)
      assert.is_nil(st.last_error)
      assert.is_true(balanced(st))
      assert.is_true(b:close())
      assert.is_true(b:close()) -- idempotent
      assert.equal(1050, b:stats().sent) -- stats survive close
    end)

    it("honours max_bytes, labels, timestamp_field and the other encodings", function()
      local b = assert(client:batcher(DS, {
        max_bytes = 1000, encoding = "gzip", labels = { env = "test" }, timestamp_field = "ts",
      }))
      for i = 1, 100 do b:add({ i = i, ts = "2026-01-01T00:00:00Z", pad = string.rep("x", 50) }) end
      assert.is_true(b:close())
      local reqs = requests()
      assert.is_true(#reqs >= 8)
      for _, r in ipairs(reqs) do
        assert.is_true(r.body_bytes > 0)
        assert.equal("gzip", r.headers["content-encoding"])
      end
      local ev = events()
      assert.equal(100, #ev)
      assert.equal("test", ev[1].env)
      assert.equal("2026-01-01T00:00:00Z", ev[1]._time)
      local b2 = assert(client:batcher(DS, { encoding = "identity" }))
      b2:add({ n = 1 })
      b2:close()
      assert.is_nil(requests()[#requests()].headers["content-encoding"])
    end)

    it("refuses an event it cannot encode, alone, and counts it", function()
      local b = assert(client:batcher(DS))
      assert.is_true(b:add({ ok = 1 }))
      local ok, err = b:add({ f = function() end })
      assert.is_nil(ok)
      assert.equal("encode", err.kind)
      assert.matches("function at %$%.f", err.message)
      assert.is_true(b:add({ ok = 2 }))
      b:close()
      assert.equal(2, #events())
      local st = b:stats()
      assert.equal(1, st.dropped.encode)
      assert.equal(2, st.enqueued)
    end)

    it("flushes an idle tail after `interval`, without flush or close", function()
      local b = assert(client:batcher(DS, { interval = 0.2 }))
      for i = 1, 3 do b:add(event(i)) end
      assert.is_true(eventually(5, function() return #events() == 3 end))
      b:close()
    end)

    it("loses nothing at the normal end of a script that never calls close()", function()
      local script = write_script([[
        local axiom = require "axiom"
        local c = assert(axiom.new { url = os.getenv("AXIOM_TEST_URL"), token = "xaat-axiom-dev-token" })
        local b = assert(c:batcher("batch", { interval = 60 }))
        for i = 1, 2500 do b:add({ i = i }) end
      ]])
      local rc = os.execute(lua_command(script))
      assert.is_true(rc == true or rc == 0)
      os.remove(script)
      assert.equal(2500, #events())
    end)

    if _VERSION == "Lua 5.4" then
      it("closes with <close>", function()
        local f = assert(load([[
          local client, DS = ...
          local b <close> = assert(client:batcher(DS, { interval = 60 }))
          b:add({ n = 1 })
          return b
        ]]))
        local b = f(client, DS)
        assert.equal(1, #events())
        assert.equal(1, b:stats().sent)
      end)
    end
  end)

  describe("retries", function()
    it("retries 5xx with backoff and resends the same body whole", function()
      support.script { path = PATTERN, status = 503, count = 2, body = '{"message":"busy"}' }
      local b = assert(client:batcher(DS, { retry_initial = 0.05 }))
      for i = 1, 10 do b:add(event(i)) end
      assert.is_true(b:flush(10))
      local reqs = requests()
      assert.equal(3, #reqs)
      assert.equal(reqs[1].body_bytes, reqs[3].body_bytes)
      assert.is_true(reqs[1].body_bytes > 0)
      assert.equal(10, #events())
      local st = b:stats()
      assert.equal(2, st.retries)
      assert.equal(10, st.sent)
      assert.equal(503, st.last_error.status)
      assert.equal("busy", st.last_error.message)
      b:close()
    end)

    it("retries network errors until max_retry_time, then drops and reports", function()
      local c = new_client { url = "http://127.0.0.1:" .. dead_port() }
      local seen = {}
      local b = assert(c:batcher(DS, { max_retry_time = 0.5, retry_initial = 0.05,
        on_error = function(info) seen[#seen + 1] = info end }))
      for i = 1, 5 do b:add(event(i)) end
      assert.is_true(b:flush(10))
      local st = b:stats()
      assert.equal(5, st.dropped.retry_exhausted)
      assert.is_true(st.retries >= 1)
      assert.equal("network", st.last_error.kind)
      assert.equal(1, #seen)
      assert.equal("retry_exhausted", seen[1].reason)
      assert.equal(5, seen[1].events)
      assert.is_true(balanced(st))
      b:close()
      c:close()
    end)

    local function waited(reqs)
      if reqs[1].time then return reqs[2].time - reqs[1].time end
    end

    for _, case in ipairs({
      { 429, { ["Retry-After"] = "2" }, "Retry-After seconds" },
      { 429, { ["Retry-After"] = "date+3" }, "Retry-After date" },
      { 429, { ["X-RateLimit-Reset"] = "+2" }, "X-RateLimit-Reset" },
      { 430, { ["X-IngestLimit-Reset"] = "+2" }, "X-IngestLimit-Reset" },
    }) do
      it("waits out a " .. case[1] .. " with " .. case[3], function()
        local headers = {}
        for k, v in pairs(case[2]) do
          headers[k] = v == "+2" and tostring(os.time() + 2)
            or v == "date+3" and os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 3) or v
        end
        support.script { path = PATTERN, status = case[1], headers = headers, body = '{"message":"slow down"}' }
        local b = assert(client:batcher(DS, { retry_initial = 0.01 }))
        b:add(event(1))
        local t0 = socket.gettime()
        assert.is_true(b:flush(15))
        local elapsed = socket.gettime() - t0
        local reqs = requests()
        assert.equal(2, #reqs)
        -- a reset in epoch seconds may be up to 1 s nearer than it looks
        local wait = waited(reqs) or elapsed
        assert.is_true(wait >= 0.95, "waited only " .. wait .. " s")
        assert.equal(1, #events())
        assert.equal(1, b:stats().retries)
        assert.equal(case[1] == 429 and "rate_limited" or "quota", b:stats().last_error.kind)
        b:close()
      end)
    end

    for _, status in ipairs({ 400, 401, 403, 404 }) do
      it("does not retry a " .. status .. ", drops the batch and reports the server's message", function()
        support.script { path = PATTERN, status = status,
          body = '{"code":' .. status .. ',"message":"nope ' .. status .. '"}' }
        local seen = {}
        local b = assert(client:batcher(DS, { on_error = function(info) seen[#seen + 1] = info end }))
        for i = 1, 4 do b:add(event(i)) end
        assert.is_true(b:flush(10))
        assert.equal(1, #requests())
        local st = b:stats()
        assert.equal(4, st.dropped.rejected)
        assert.equal(0, st.retries)
        assert.equal(1, #seen)
        assert.equal("rejected", seen[1].reason)
        assert.equal(status, seen[1].status)
        assert.equal("nope " .. status, seen[1].message)
        assert.equal(4, seen[1].events)
        assert.matches("http " .. status, tostring(seen[1].error))
        -- the next batch goes through
        b:add(event(5))
        assert.is_true(b:flush(10))
        assert.equal(1, #events())
        b:close()
      end)
    end

    it("splits a 413 in halves down to the single event, which fails alone", function()
      -- 8 events: 413 for 8, 4, 2 and 1 events; then 1, 2 and 4 are accepted.
      support.script { path = PATTERN, status = 413, count = 4, body = '{"message":"too large"}' }
      local seen = {}
      local b = assert(client:batcher(DS, { on_error = function(info) seen[#seen + 1] = info end }))
      for i = 1, 8 do b:add(event(i)) end
      assert.is_true(b:flush(10))
      local ev = events()
      assert.equal(7, #ev)
      for k = 1, 7 do assert.equal(k + 1, ev[k].i) end
      local st = b:stats()
      assert.equal(1, st.failed)
      assert.equal(7, st.sent)
      assert.equal(7, #requests())
      assert.equal("too_large", seen[1].reason)
      assert.equal(1, seen[1].events)
      b:close()
    end)

    it("counts a 200 with failures per event and reports them", function()
      support.script { path = PATTERN, status = 200,
        body = '{"ingested":2,"failed":1,"failures":[{"timestamp":"t","error":"bad field"}]}' }
      local seen = {}
      local b = assert(client:batcher(DS, { on_error = function(info) seen[#seen + 1] = info end }))
      for i = 1, 3 do b:add(event(i)) end
      assert.is_true(b:flush(10))
      local st = b:stats()
      assert.equal(2, st.sent)
      assert.equal(1, st.failed)
      assert.equal("partial", seen[1].reason)
      assert.equal("bad field", seen[1].failures[1].error)
      b:close()
    end)

    it("never lets on_error throw into the caller", function()
      support.script { path = PATTERN, status = 400, body = "no" }
      local b = assert(client:batcher(DS, { on_error = function() error("handler bug") end }))
      b:add(event(1))
      assert.is_true(b:flush(10))
      assert.equal(1, b:stats().handler_errors)
      b:close()
    end)
  end)

  describe("never blocks, bounded memory", function()
    it("keeps add() fast while the server stalls 2 s per request, and close() drains", function()
      support.script { path = PATTERN, status = 200, count = 3, delay = 2,
        body = '{"ingested":1000,"failed":0,"failures":[]}' }
      local b = assert(client:batcher(DS, { max_events = 1000 }))
      local t0 = socket.gettime()
      for i = 1, 100000 do local _ = event(i) end
      local build = socket.gettime() - t0 -- what building the events alone costs here
      t0 = socket.gettime()
      for i = 1, 100000 do b:add(event(i)) end
      local spent = socket.gettime() - t0
      -- a single wait on the stalled server would cost 2 s
      assert.is_true(spent < 1.5 + 3 * build, "100,000 adds took " .. spent .. " s")
      assert.is_true(b:close(60))
      local st = b:stats()
      assert.equal(100000, st.enqueued)
      assert.equal(0, st.dropped.total)
      -- the 3 stalled batches were answered by the script, the other 97 stored
      assert.equal(97000, #events())
    end)

    it("respects max_buffer_bytes during an outage, dropping the oldest", function()
      local c = new_client { url = "http://127.0.0.1:" .. dead_port() }
      local seen = {}
      local b = assert(c:batcher(DS, { max_bytes = 4096, max_buffer_bytes = 32768, max_retry_time = 30,
        retry_initial = 0.05, on_error = function(info) seen[#seen + 1] = info end }))
      local max_seen = 0
      for i = 1, 20000 do
        b:add(event(i))
        if i % 500 == 0 then
          local st = b:stats()
          if st.queue_bytes > max_seen then max_seen = st.queue_bytes end
          assert.is_true(balanced(st))
        end
      end
      assert.is_true(max_seen <= 32768, "queue reached " .. max_seen)
      local st = b:stats()
      assert.is_true(st.dropped.overflow > 15000)
      assert.equal("overflow", seen[1].reason)
      b:close(0)
      st = b:stats()
      assert.is_true(balanced(st))
      assert.is_true(st.dropped.shutdown > 0)
      c:close()
    end)

    it("with overflow = drop_newest, refuses the new event", function()
      local c = new_client { url = "http://127.0.0.1:" .. dead_port() }
      local b = assert(c:batcher(DS, { max_bytes = 1024, max_buffer_bytes = 4096, overflow = "drop_newest" }))
      local refused
      for i = 1, 200 do
        local ok, err = b:add(event(i))
        if not ok then refused = err break end
      end
      assert.equal("overflow", refused.kind)
      assert.is_true(b:stats().dropped.overflow >= 1)
      b:close(0)
      c:close()
    end)

    it("survives a 10 s outage in the middle of 100,000 events with 0 lost", function()
      if not has_dev("/_dev/down") then pending("needs /_dev/down") return end
      local b = assert(client:batcher(DS, { max_retry_time = 120 }))
      for i = 1, 50000 do b:add(event(i)) end
      assert.is_true(b:flush(30))
      support.dev("POST", "/_dev/down", { seconds = 10 })
      for i = 50001, 100000 do b:add(event(i)) end
      assert.is_true(b:flush(60))
      local st = b:stats()
      local ev = events()
      -- A connection lost after a request went out may have been stored: such batches are
      -- resent and counted in st.duplicates, an upper bound of what the server holds twice.
      assert.is_true(#ev >= 100000 and #ev <= 100000 + st.duplicates,
        #ev .. " stored, " .. st.duplicates .. " possible duplicates")
      local seen = {}
      for _, e in ipairs(ev) do seen[e.i] = (seen[e.i] or 0) + 1 end
      local twice = 0
      for i = 1, 100000 do
        assert(seen[i], "lost event " .. i)
        twice = twice + seen[i] - 1
      end
      assert.equal(#ev - 100000, twice)
      assert.equal(0, st.dropped.total)
      assert.is_true(st.retries > 0)
      b:close()
    end)
  end)

  describe("fork", function()
    local ok_posix, unistd = pcall(require, "posix.unistd")
    local wait = ok_posix and require "posix.sys.wait"

    local function in_child(f)
      local pid = unistd.fork()
      if pid == 0 then
        local ok = pcall(f)
        unistd._exit(ok and 0 or 1)
      end
      local _, _, code = wait.wait(pid)
      return code
    end

    it("a batcher created before fork() works in the child", function()
      if not ok_posix then pending("needs lua-posix") return end
      local b = assert(client:batcher(DS))
      assert.equal(0, in_child(function()
        for i = 1, 10 do assert(b:add(event(i))) end
        assert(b:close())
      end))
      assert.equal(10, #events())
      b:close()
    end)

    it("after the parent started sending, the child starts its own queue and thread", function()
      if not ok_posix then pending("needs lua-posix") return end
      local b = assert(client:batcher(DS))
      for i = 1, 5 do b:add(event(i)) end -- queued in the parent: the parent sends them
      assert.equal(0, in_child(function()
        assert(b:stats().enqueued == 0)
        for i = 101, 103 do assert(b:add(event(i))) end
        assert(b:flush(10))
        assert(b:stats().sent == 3)
        b:close()
      end))
      assert.is_true(b:flush(10))
      assert.equal(5, b:stats().sent)
      assert.equal(8, #events())
      b:close()
    end)
  end)

  describe("spool", function()
    local lfs = require "lfs"
    local dir
    before_each(function()
      dir = os.tmpname()
      os.remove(dir)
      assert(lfs.mkdir(dir))
    end)
    after_each(function()
      for f in lfs.dir(dir) do
        if f ~= "." and f ~= ".." then os.remove(dir .. "/" .. f) end
      end
      lfs.rmdir(dir)
    end)

    local function files(suffix)
      local n = 0
      for f in lfs.dir(dir) do
        if f:sub(-#suffix) == suffix then n = n + 1 end
      end
      return n
    end

    it("needs a writable directory", function()
      local b, err = client:batcher(DS, { spool_dir = dir .. "/missing/deeper" })
      assert.is_nil(b)
      assert.equal("config", err.kind)
    end)

    it("survives SIGKILL during an outage: the next batcher delivers every event exactly once", function()
      local script = write_script(string.format([[
        local axiom = require "axiom"
        local c = assert(axiom.new { url = "http://127.0.0.1:%d", token = "xaat-axiom-dev-token" })
        local b = assert(c:batcher("batch", { spool_dir = %q, max_events = 100, max_retry_time = 0.3,
          retry_initial = 0.05 }))
        for i = 1, 1000 do b:add({ i = i }) end
        local socket = require "socket"
        for _ = 1, 400 do
          if b:stats().spooled == 1000 then break end
          socket.sleep(0.05)
        end
        io.stdout:write("spooled ", b:stats().spooled, "\n")
        io.stdout:flush()
        local pid = io.open("/proc/self/stat"):read("*n")
        os.execute("kill -KILL " .. pid)
      ]], dead_port(), dir))
      local p = io.popen(lua_command(script))
      local out = p:read("*a")
      p:close()
      os.remove(script)
      assert.matches("spooled 1000", out)
      assert.equal(0, #events())
      assert.equal(10, files(".axb"))

      local b = assert(client:batcher(DS, { spool_dir = dir }))
      assert.is_true(b:flush(20))
      local ev = events()
      assert.equal(1000, #ev)
      for i = 1, 1000 do assert.equal(i, ev[i].i) end -- in order, exactly once
      local st = b:stats()
      assert.equal(1000, st.replayed)
      assert.equal(1000, st.sent)
      assert.equal(0, files(".axb"))
      b:close()
    end)

    it("spools what close() could not deliver, and replays it before new events", function()
      local c = new_client { url = "http://127.0.0.1:" .. dead_port() }
      local b = assert(c:batcher(DS, { spool_dir = dir, max_events = 10 }))
      for i = 1, 25 do b:add(event(i)) end
      b:close(0.2)
      local st = b:stats()
      assert.equal(25, st.spooled)
      assert.equal(0, st.dropped.total)
      assert.equal(3, files(".axb"))
      c:close()

      local b2 = assert(client:batcher(DS, { spool_dir = dir }))
      for i = 26, 30 do b2:add(event(i)) end
      assert.is_true(b2:flush(20))
      local ev = events()
      assert.equal(30, #ev)
      for i = 1, 30 do assert.equal(i, ev[i].i) end
      b2:close()
    end)

    it("sets a corrupt file aside as .bad and reports it", function()
      local f = assert(io.open(dir .. "/0000000000000000-00000000-0000000000000001.axb", "w"))
      f:write("AXSPOOL\ngarbage")
      f:close()
      local seen = {}
      local b = assert(client:batcher(DS, { spool_dir = dir, on_error = function(i) seen[#seen + 1] = i end }))
      assert.is_true(b:flush(10))
      assert.equal(1, files(".bad"))
      assert.equal("spool_corrupt", seen[1].reason)
      b:close()
    end)
  end)
end)
