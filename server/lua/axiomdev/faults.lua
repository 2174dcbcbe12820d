-- Misbehaviour on command, for tests: scripted answers and broken connections for the next N
-- matching requests (POST /_dev/script), and outages (POST /_dev/down). Every action reads the
-- whole request first, as a real server or proxy would before it fails.
local ffi = require "ffi"
local bit = require "bit"
local util = require "axiomdev.util"
local json = require "axiomdev.json"

local ngx = ngx
local pairs, ipairs, type, tonumber, pcall = pairs, ipairs, type, tonumber, pcall
local find, lower, upper, floor, sub = string.find, string.lower, string.upper, math.floor, string.sub
local remove = table.remove
local fail = util.fail

local M = {}

M.HANG_MAX = 600 -- seconds a hanging request holds its connection

local shared = ngx.shared.axiomdev -- "down_until" and "generation" are seen by every worker
local scripts = {} -- this worker's queue, in the order added

local ACTIONS = { respond = true, hang = true, close = true, reset = true, partial = true }

-- Used when a partial answer has no body of its own: half of it is what the client gets.
local PARTIAL_BODY = '{"ingested":0,"failed":0,"failures":[],"processedBytes":0,"blocksCreated":0,"walLength":0}'

---------------------------------------------------------------------------- scripts

local function integer(v, lo, hi) return type(v) == "number" and v % 1 == 0 and v >= lo and v <= hi end

-- POST /_dev/script body -> queued (see contract: method, path, port, count, status, headers,
-- body, delay, action).
-- A "[...]" set starting at pat[i] -> the index after it, or nil when it is not closed.
local function set_end(pat, i, n)
  local j = i + 1
  if sub(pat, j, j) == "^" then j = j + 1 end
  repeat
    if j > n then return nil end
    local c = sub(pat, j, j)
    j = j + 1
    if c == "%" then
      if j > n then return nil end
      j = j + 1
    end
  until sub(pat, j, j) == "]"
  return j + 1
end

-- Whether a Lua pattern is well formed. Lua reports a malformed item only when matching
-- reaches it ("/v[" fails on "/v" but not on "/x"), so a real match attempt is not enough
-- alone: every item is checked as Lua's matcher would read it.
local function valid_pattern(pat)
  if not pcall(find, "/x", pat) then return false end
  local n, i, caps, open = #pat, 1, {}, 0
  if sub(pat, 1, 1) == "^" then i = 2 end
  while i <= n do
    local c = sub(pat, i, i)
    if c == "(" then
      caps[#caps + 1] = false
      open = open + 1
      i = i + 1
    elseif c == ")" then
      local k = #caps
      while k > 0 and caps[k] do k = k - 1 end
      if k == 0 then return false end
      caps[k], open = true, open - 1
      i = i + 1
    elseif c == "%" then
      local d = sub(pat, i + 1, i + 1)
      if d == "" then return false
      elseif d == "b" then
        if i + 3 > n then return false end
        i = i + 4
      elseif d == "f" then
        if sub(pat, i + 2, i + 2) ~= "[" then return false end
        i = set_end(pat, i + 2, n)
        if not i then return false end
      elseif find(d, "^%d$") then
        local k = tonumber(d)
        if k == 0 or not caps[k] then return false end
        i = i + 2
      else
        i = i + 2
      end
    elseif c == "[" then
      i = set_end(pat, i, n)
      if not i then return false end
    else
      i = i + 1
    end
  end
  return open == 0 and #caps <= 32
end

function M.add(b)
  local path = util.opt_string(b, "path") or fail(400, "path (a Lua pattern) is required")
  if not valid_pattern(path) then fail(400, "path is not a valid Lua pattern") end
  local action = util.opt_string(b, "action") or "respond"
  if not ACTIONS[action] then fail(400, "action must be respond, hang, close, reset or partial") end
  local status = b.status
  if status == nil and action ~= "respond" then status = 200 end
  if not integer(status, 100, 599) then fail(400, "status must be an integer 100-599") end
  local count, port = b.count or 1, b.port
  if not integer(count, 1, 1e9) then fail(400, "count must be a positive integer") end
  if port ~= nil and not integer(port, 1, 65535) then fail(400, "port must be a port number") end
  local delay = b.delay or 0
  if type(delay) ~= "number" or delay < 0 or delay > 600 then fail(400, "delay must be 0-600 seconds") end
  local headers = b.headers or {}
  if not json.is_object(headers) then fail(400, "headers must be an object") end
  for k, v in pairs(headers) do
    if type(v) ~= "string" and type(v) ~= "number" then fail(400, "header " .. k .. " must be a string") end
  end
  local method = util.opt_string(b, "method")
  scripts[#scripts + 1] = {
    method = method and upper(method), path = path, count = count, port = port, action = action,
    status = status, headers = headers, body = util.opt_string(b, "body") or "", delay = delay,
  }
end

-- The first script matching this request, with its count used up; nil when none.
function M.take(method, path, port)
  for i, s in ipairs(scripts) do
    if (not s.method or s.method == method) and (not s.port or s.port == port) and find(path, s.path) then
      s.count = s.count - 1
      if s.count <= 0 then remove(scripts, i) end
      return s
    end
  end
end

---------------------------------------------------------------------------- outages

function M.down(seconds)
  if type(seconds) ~= "number" or seconds < 0 or seconds > 3600 then fail(400, "seconds must be 0-3600") end
  if seconds == 0 then shared:delete("down_until") else shared:set("down_until", ngx.now() + seconds) end
end

function M.is_down()
  local untl = shared:get("down_until")
  return untl ~= nil and ngx.now() < untl
end

-- Forget every script, end an outage and release hanging requests (all workers).
function M.reset()
  scripts = {}
  shared:delete("down_until")
  shared:incr("generation", 1, 0)
end

---------------------------------------------------------------------------- actions

ffi.cdef [[
struct axiomdev_linger { int l_onoff; int l_linger; };
struct axiomdev_sockaddr_in { unsigned short family; unsigned short port; unsigned char addr[4]; char zero[8]; };
int setsockopt(int fd, int level, int name, const void *value, unsigned int len);
int getsockname(int fd, struct axiomdev_sockaddr_in *sa, unsigned int *len);
int getpeername(int fd, struct axiomdev_sockaddr_in *sa, unsigned int *len);
]]
local C = ffi.C
local AF_INET, SOL_SOCKET, SO_LINGER = 2, 1, 13
local sa, salen = ffi.new("struct axiomdev_sockaddr_in"), ffi.new("unsigned int[1]")
local linger0 = ffi.new("struct axiomdev_linger", 1, 0)

local function ntohs(p) return bit.bor(bit.lshift(bit.band(p, 0xff), 8), bit.rshift(p, 8)) end

local function port_of(getname, fd)
  salen[0] = ffi.sizeof(sa)
  if getname(fd, sa, salen) ~= 0 or sa.family ~= AF_INET then return nil end
  return ntohs(sa.port)
end

-- ngx_lua does not expose the connection's file descriptor: find it by its two ports (both
-- ends are on 127.0.0.1), then make close() send an RST (SO_LINGER with a zero timeout).
local function arm_reset()
  local peer, mine = tonumber(ngx.var.remote_port), tonumber(ngx.var.server_port)
  for fd = 3, 65535 do
    if port_of(C.getpeername, fd) == peer and port_of(C.getsockname, fd) == mine then
      return C.setsockopt(fd, SOL_SOCKET, SO_LINGER, linger0, ffi.sizeof(linger0)) == 0
    end
  end
  return false
end

-- 444 is nginx's "close the connection without an answer".
local function close(ctx, kind)
  ctx.fault = kind
  return ngx.exit(444)
end

local function hang(ctx)
  ctx.fault = "hang"
  local gen, waited = shared:get("generation"), 0
  -- Short naps, so that /_dev/reset and a server shutdown end the hang promptly.
  while waited < M.HANG_MAX and shared:get("generation") == gen and not ngx.worker.exiting() do
    ngx.sleep(0.25)
    waited = waited + 0.25
  end
  return ngx.exit(444)
end

local function default_type(s, headers)
  for k in pairs(headers) do if lower(k) == "content-type" then return end end
  headers["Content-Type"] = json.decode(s.body) ~= nil and "application/json" or "text/plain"
end

-- Carries out a script taken by M.take.
function M.perform(ctx, s)
  if s.delay > 0 then ngx.sleep(s.delay) end -- yields: other requests go on meanwhile
  local action = s.action
  if action == "hang" then return hang(ctx) end
  if action == "close" or action == "down" then return close(ctx, action) end
  if action == "reset" then
    if not arm_reset() then ngx.log(ngx.WARN, "axiomdev: no socket found to reset; closing") end
    return close(ctx, "reset")
  end
  local headers = {}
  for k, v in pairs(s.headers) do headers[k] = v end
  if action == "respond" then
    default_type(s, headers)
    return util.send(s.status, s.body, headers)
  end
  -- partial: the full Content-Length, half the body, then the connection closes.
  local body = s.body ~= "" and s.body or PARTIAL_BODY
  default_type({ body = body }, headers)
  headers["Content-Length"] = #body
  ngx.status = s.status
  for k, v in pairs(headers) do ngx.header[k] = v end
  ngx.print(sub(body, 1, floor(#body / 2)))
  ngx.flush(true)
  return close(ctx, "partial")
end

return M
