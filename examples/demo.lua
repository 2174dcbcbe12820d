--- Ship /var/log/dpkg.log (or /var/log/alternatives.log) to Axiom through an ingest-only token
-- created for the occasion, then read the count back.
--   lua5.4 examples/demo.lua [FILE]      (examples/demo sets up the paths and the server)
local axiom = require "axiom"

local DATASET = os.getenv("AXIOM_DATASET") or "lua-axiom-demo"
local BATCH = 1000

local function fail(what, err)
  io.stderr:write("demo: ", what, ": ", tostring(err), "\n")
  os.exit(1)
end

-- The log's timestamps are local time without an offset: attach the machine's offset at that
-- instant (DST included), so `_time` names the right moment.
local function local_time(date, time)
  local y, mo, d = date:match("^(%d+)-(%d+)-(%d+)$")
  local h, mi, s = time:match("^(%d+):(%d+):(%d+)$")
  if not (y and h) then return nil end
  local epoch = os.time { year = tonumber(y), month = tonumber(mo), day = tonumber(d),
                          hour = tonumber(h), min = tonumber(mi), sec = tonumber(s) }
  local z = os.date("%z", epoch)                       -- "+0100"
  return date .. "T" .. time .. z:sub(1, 3) .. ":" .. z:sub(4, 5), epoch
end

local function none(v) if v ~= "<none>" then return v end end

local function package(ev, word)
  local name, arch = word:match("^([^:]+):(.+)$")
  ev.package, ev.arch = name or word, arch
end

-- One dpkg.log line → one event.
local function dpkg_event(line)
  local date, time, rest = line:match("^(%d%d%d%d%-%d%d%-%d%d) (%d%d:%d%d:%d%d) (.*)$")
  if not date then return { message = line } end
  local ev = { message = rest }
  ev._time, ev.epoch = local_time(date, time)
  local w = {}
  for word in rest:gmatch("%S+") do w[#w + 1] = word end
  ev.action = w[1]
  if w[1] == "status" then
    ev.state = w[2]; package(ev, w[3] or ""); ev.version = w[4]
  elseif w[1] == "startup" then
    ev.scope, ev.operation = w[2], w[3]
  elseif w[1] == "conffile" then
    ev.path, ev.decision = w[2], w[3]
  elseif w[2] then
    package(ev, w[2]); ev.old_version, ev.new_version = none(w[3]), none(w[4])
  end
  return ev
end

-- One alternatives.log line: "update-alternatives 2025-06-24 14:36:25: run with ..."
local function alternatives_event(line)
  local prog, date, time, msg = line:match("^(%S+) (%d%d%d%d%-%d%d%-%d%d) (%d%d:%d%d:%d%d): (.*)$")
  if not prog then return { message = line } end
  local ev = { program = prog, message = msg }
  ev._time, ev.epoch = local_time(date, time)
  return ev
end

local path = arg[1]
if not path then
  path = "/var/log/dpkg.log"
  if not io.open(path) then
    path = "/var/log/alternatives.log"
    print("/var/log/dpkg.log is missing: shipping " .. path .. " instead")
  end
end
local parse = path:match("alternatives") and alternatives_event or dpkg_event
local f, ferr = io.open(path)
if not f then fail("reading the log", ferr) end

local admin = assert(axiom.new())
print(("shipping %s to %s, dataset %s"):format(path, admin.url, DATASET))

local ds, err = admin.datasets:get(DATASET)
if not ds and err.status == 404 then
  ds, err = admin.datasets:create { name = DATASET, description = "lua-axiom demo: dpkg log" }
end
if not ds then fail("dataset " .. DATASET, err) end

-- An ingest-only API token, for this run only.
local run = ("%d-%d"):format(os.time(), math.random(1e6))
local tok
tok, err = admin.api_tokens:create {
  name = "lua-axiom-demo-" .. run,
  description = "ingest-only token created by lua-axiom's demo",
  expiresAt = os.time() + 3600,
  datasetCapabilities = { [DATASET] = { ingest = { "create" } } },
}
if not tok then fail("creating an ingest token", err) end
print(("created ingest-only token %s (id %s)"):format(tok.name, tok.id))

local shipper = assert(axiom.new { token = tok.token })
local total = { lines = 0, ingested = 0, failed = 0, bytes = 0 }
local first
local function ship(events)
  local st, e = shipper:ingest(DATASET, events, { labels = { run_id = run, source = path } })
  if not st then fail("ingest", e) end
  total.ingested = total.ingested + st.ingested
  total.failed = total.failed + st.failed
  total.bytes = total.bytes + st.processedBytes
  for i = 1, math.min(#(st.failures or {}), 3) do
    print("  failure: " .. tostring(st.failures[i].error))
  end
end

local batch = {}
for line in f:lines() do
  local ev = parse(line)
  if ev.epoch and (not first or ev.epoch < first) then first = ev.epoch end
  ev.epoch = nil
  batch[#batch + 1] = ev
  total.lines = total.lines + 1
  if #batch == BATCH then ship(batch); batch = {} end
end
f:close()
if #batch > 0 then ship(batch) end
shipper:close()
print(("ingested %d, failed %d, processed %d bytes (%d lines read)"):format(
  total.ingested, total.failed, total.bytes, total.lines))

local ok
ok, err = admin.api_tokens:delete(tok.id)
if not ok then print("warning: could not delete the demo token: " .. tostring(err)) end

-- Read back: Axiom makes new events queryable within seconds, so poll a little.
local apl = ("['%s'] | where run_id == \"%s\" | count"):format(DATASET, run)
local count
for _ = 1, 30 do
  local res, qerr = admin:query(apl, { startTime = (first or os.time()) - 60, endTime = os.time() + 3600 })
  if not res then fail("query", qerr) end
  local t = res.tables and res.tables[1]
  count = t and t.columns and t.columns[1] and t.columns[1][1] or 0
  if count >= total.lines then break end
  os.execute("sleep 1")
end
print(("read back %d events for run %s (shipped %d)"):format(count, run, total.lines))
admin:close()
if total.failed > 0 or count ~= total.lines or total.ingested ~= total.lines then os.exit(1) end
