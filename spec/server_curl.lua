-- Drives the local server (server/) with the curl command line, not with the project's
-- client, so the two can check each other. Shared by server_spec, server_strict_spec and
-- faults_spec. Needs a running server: server/run 18123 (or AXIOM_TEST_URL=http://127.0.0.1:PORT).
local cjson = require("cjson").new()
local luassert = require "luassert"

local M = {}

M.BASE = os.getenv("AXIOM_TEST_URL") or "http://127.0.0.1:18123"
M.PORT = tonumber(M.BASE:match(":(%d+)/?$"))
M.ALT = M.BASE:gsub(":(%d+)/?$", ":" .. (M.PORT + 1))
local function env(name, default)
  local v = os.getenv(name)
  return (v and v ~= "") and v or default
end
M.ADMIN = env("AXIOM_DEV_TOKEN", "xaat-axiom-dev-token")
M.PAT = env("AXIOM_DEV_PAT", "xapt-axiom-dev-pat")
M.ORG = env("AXIOM_DEV_ORG_ID", "axiom-dev")
M.cjson = cjson

local TMP = os.tmpname()
os.remove(TMP)
local tmp_count, tmp_made = 0, false
function M.tmpfile(suffix)
  if not tmp_made then -- (again after cleanup: several spec files share this module)
    assert(os.execute("mkdir -p '" .. TMP .. "'"))
    tmp_made = true
  end
  tmp_count = tmp_count + 1
  return ("%s/%d%s"):format(TMP, tmp_count, suffix or "")
end

function M.q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local q = M.q

function M.slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function M.spit(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

function M.sh(cmd)
  local ok = os.execute(cmd)
  assert(ok == true or ok == 0, "command failed: " .. cmd)
end

--- A shell command's output, trailing newline removed.
function M.out(cmd)
  local p = assert(io.popen(cmd))
  local s = p:read("*a")
  p:close()
  return (s:gsub("\n$", ""))
end

function M.cleanup()
  os.execute("rm -rf " .. q(TMP))
  tmp_made = false
end

--- request{method, path, token, headers, body (string) | json (table or string) | file, base,
--- curl (extra options)} -> {status, headers (lowercased names), body, json, exit (curl's exit
--- code), time (seconds)}. status is 0 when no answer came.
function M.request(o)
  local out, hdrs = M.tmpfile(".body"), M.tmpfile(".hdr")
  local cmd = { "curl -sS -o", q(out), "-D", q(hdrs), "-w '%{http_code} %{time_total}'", "-X", o.method or "GET" }
  local headers = {}
  for k, v in pairs(o.headers or {}) do headers[k] = v end
  if o.token then headers.Authorization = "Bearer " .. o.token end
  local file = o.file
  if o.json then
    headers["Content-Type"] = headers["Content-Type"] or "application/json"
    file = M.spit(M.tmpfile(".json"), type(o.json) == "string" and o.json or cjson.encode(o.json))
  elseif o.body then
    file = M.spit(M.tmpfile(".in"), o.body)
  end
  for k, v in pairs(headers) do cmd[#cmd + 1] = "-H " .. q(k .. ": " .. v) end
  if file then cmd[#cmd + 1] = "--data-binary " .. q("@" .. file) end
  if o.curl then cmd[#cmd + 1] = o.curl end
  cmd[#cmd + 1] = q((o.base or M.BASE) .. o.path)
  cmd[#cmd + 1] = "2>/dev/null; printf ' %s' $?" -- the exit code, on every Lua version
  local status, time, exit = M.out(table.concat(cmd, " ")):match("(%d+) ([%d.]+) (%d+)$")
  local res = { status = tonumber(status), time = tonumber(time), exit = tonumber(exit), headers = {} }
  local f = io.open(out, "rb")
  res.body = f and f:read("*a") or ""
  if f then f:close() end
  for line in M.slurp(hdrs):gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then res.headers[k:lower()] = v end
  end
  local ok, v = pcall(cjson.decode, res.body)
  if ok then res.json = v end
  return res
end

function M.admin(o)
  o.token = o.token or M.ADMIN
  return M.request(o)
end

function M.dev(method, path, json) return M.request { method = method, path = path, json = json } end

function M.reset() luassert.equal(204, M.dev("POST", "/_dev/reset").status) end

function M.create_dataset(name)
  local r = M.admin { method = "POST", path = "/v2/datasets", json = { name = name } }
  luassert.equal(200, r.status, r.body)
  return r.json
end

function M.events(ds) return M.request { path = "/_dev/events/" .. ds }.json end

function M.journal() return M.request { path = "/_dev/journal" }.json end

--- ingest(ds, body, headers, opts{path, token, file}): NDJSON unless headers say otherwise.
function M.ingest(ds, body, headers, opts)
  opts = opts or {}
  local h = { ["Content-Type"] = "application/x-ndjson" }
  for k, v in pairs(headers or {}) do h[k] = v end
  return M.request { method = "POST", path = opts.path or ("/v1/datasets/" .. ds .. "/ingest"),
                     token = opts.token or M.ADMIN, headers = h, body = body, file = opts.file }
end

function M.create_token(spec)
  local r = M.admin { method = "POST", path = "/v2/tokens", json = spec }
  luassert.equal(200, r.status, r.body)
  return r.json
end

function M.script(spec)
  local r = M.dev("POST", "/_dev/script", spec)
  luassert.equal(204, r.status, r.body)
end

--- An RFC 3339 time `offset` seconds from now (fractions kept).
function M.iso(offset)
  local t = os.time() + offset
  local whole = math.floor(t)
  return os.date("!%Y-%m-%dT%H:%M:%S", whole) .. ("%.3fZ"):format(t - whole):sub(2)
end

function M.assert_error(r, status)
  luassert.equal(status, r.status, r.body)
  luassert.matches("^application/json", r.headers["content-type"])
  luassert.equal(status, r.json.code)
  luassert.is_string(r.json.message)
end

--- Fails the spec unless the server is up.
function M.need_server()
  local r = M.request { path = "/_dev/stats" }
  assert(r.status == 200, "no server at " .. M.BASE .. ": start it with server/run " .. M.PORT)
end

return M
