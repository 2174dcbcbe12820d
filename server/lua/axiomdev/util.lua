-- Shared helpers: errors, responses, time, random ids.
local ffi = require "ffi"
local json = require "axiomdev.json"

local ngx = ngx
local type, tonumber, error, pairs = type, tonumber, error, pairs
local getmetatable, setmetatable = getmetatable, setmetatable
local byte, format, gsub, match, sub = string.byte, string.format, string.gsub, string.match, string.sub
local floor, date = math.floor, os.date

local M = {}

-- Sink mode (server/run PORT --sink): count and check framing, store nothing.
M.SINK = os.getenv("AXIOM_DEV_SINK") == "1"

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } axiomdev_timespec;
int clock_gettime(int clk_id, axiomdev_timespec *tp);
]]

---------------------------------------------------------------------------- errors

-- Handlers raise HttpError values; the router turns them into {"code","message"} responses.
local HttpError = {}
HttpError.__index = HttpError
HttpError.__tostring = function(e) return e.status .. " " .. e.message end

function M.fail(status, message) error(setmetatable({ status = status, message = message }, HttpError), 0) end
function M.is_http_error(e) return type(e) == "table" and getmetatable(e) == HttpError end

---------------------------------------------------------------------------- responses

-- send(status, body [, headers]): body nil -> empty; string -> as is; table -> JSON.
function M.send(status, body, headers)
  ngx.status = status
  local h = ngx.header
  if headers then for k, v in pairs(headers) do h[k] = v end end
  if body == nil then return end
  if type(body) ~= "string" then
    body = json.encode(body)
    h["Content-Type"] = "application/json"
  end
  h["Content-Length"] = #body
  ngx.print(body)
end

function M.send_error(status, message)
  return M.send(status, { code = status, message = message })
end

---------------------------------------------------------------------------- time

local ts = ffi.new("axiomdev_timespec")

-- Wall clock with nanoseconds (ngx.now() only has milliseconds).
function M.now()
  ffi.C.clock_gettime(0, ts) -- CLOCK_REALTIME
  return tonumber(ts.tv_sec), tonumber(ts.tv_nsec)
end

function M.rfc3339(sec, nsec)
  if nsec then return date("!%Y-%m-%dT%H:%M:%S", sec) .. format(".%09dZ", nsec) end
  return date("!%Y-%m-%dT%H:%M:%SZ", sec)
end

function M.now_rfc3339()
  return M.rfc3339(M.now())
end

function M.epoch()
  local s, ns = M.now()
  return s + ns / 1e9
end

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
local function days(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * (m + (m > 2 and -3 or 9)) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy - 719468
end

-- RFC 3339 string -> epoch seconds (float), or nil.
function M.parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest =
    match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  local frac = match(rest, "^%.%d+")
  if frac then rest = sub(rest, #frac + 1) end
  local off = 0
  if rest ~= "Z" and rest ~= "z" then
    local sign, oh, om = match(rest, "^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    off = (tonumber(oh) * 60 + tonumber(om)) * 60 * (sign == "-" and -1 or 1)
  end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  h, mi, sec = tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return nil end
  return days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec + (tonumber(frac or "0") or 0) - off
end

-- An event's _time as epoch seconds: RFC 3339 strings, or numbers in s/ms/us/ns by size.
function M.event_time(v)
  if type(v) == "number" then
    local a = v < 0 and -v or v
    if a >= 1e17 then return v / 1e9 elseif a >= 1e14 then return v / 1e6
    elseif a >= 1e11 then return v / 1e3 end
    return v
  end
  return M.parse_time(v)
end

---------------------------------------------------------------------------- random ids

local urandom = assert(io.open("/dev/urandom", "rb"))

function M.hex(nbytes)
  return (gsub(urandom:read(nbytes), ".", function(c) return format("%02x", byte(c)) end))
end

-- A version-4 UUID string.
function M.uuid()
  local h = M.hex(16)
  return format("%s-%s-4%s-%s%s-%s", sub(h, 1, 8), sub(h, 9, 12), sub(h, 14, 16),
    sub("89ab", tonumber(sub(h, 17, 17), 16) % 4 + 1, tonumber(sub(h, 17, 17), 16) % 4 + 1),
    sub(h, 18, 20), sub(h, 21, 32))
end

-- The request body decoded as a JSON object, or a 400.
function M.json_body(ctx)
  local v, err = json.decode_strict(ctx.body)
  if v == nil then M.fail(400, "invalid JSON body: " .. (err or "empty")) end
  if not json.is_object(v) then M.fail(400, "request body must be a JSON object") end
  return v
end

-- Optional string field: nil/null -> nil; a string -> itself; anything else -> 400.
function M.opt_string(obj, key)
  local v = obj[key]
  if v == nil or v == json.null then return nil end
  if type(v) ~= "string" then M.fail(400, key .. " must be a string") end
  return v
end

-- Optional RFC 3339 field -> string, epoch (both nil when absent); malformed -> 400.
function M.opt_time(obj, key)
  local s = M.opt_string(obj, key)
  if s == nil then return nil end
  local t = M.parse_time(s)
  if not t then M.fail(400, key .. " must be an RFC 3339 date-time") end
  return s, t
end

function M.copy(v)
  if type(v) ~= "table" then return v end
  local t = setmetatable({}, getmetatable(v))
  for k, x in pairs(v) do t[k] = M.copy(x) end
  return t
end

return M
