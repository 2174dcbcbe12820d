--- Error values: one place builds them, one place reads Axiom's error responses.
-- Every runtime failure of the library is `nil, err` where `err` is a table made here:
-- `kind`, `status`, `message`, `trace_id`, `limit`, `retry_after`, `request`.
-- Nothing here ever sees the token, so no message can carry it.
local time = require "axiom.time"

local type, tonumber, getmetatable, setmetatable, error = type, tonumber, getmetatable, setmetatable, error
local getinfo = debug.getinfo
local concat, os_time = table.concat, os.time
local match, gsub, sub, format = string.match, string.gsub, string.sub, string.format

local M = { _VERSION = "0.1.0" }

local Error = {}
Error.__index = Error
Error.__name = "axiom.error"

function Error.__tostring(e)
  local out = { "axiom: ", e.kind }
  if e.status then out[#out + 1] = " " .. e.status end
  if e.request then out[#out + 1] = " (" .. e.request .. ")" end
  out[#out + 1] = ": " .. (e.message or "unknown error")
  if e.retry_after then out[#out + 1] = format("; retry after %ds", e.retry_after) end
  if e.trace_id then out[#out + 1] = " [trace " .. e.trace_id .. "]" end
  return concat(out)
end

--- A new error. `fields` may add status, trace_id, limit, retry_after, request.
function M.new(kind, message, fields)
  local e = fields or {}
  e.kind, e.message = kind, message
  return setmetatable(e, Error)
end

-- The folder this library's modules load from ("@.../axiom/"): frames from there are ours.
local OURS = "@" .. (debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "")

--- Raise a misuse error (a wrong argument, a closed client) at the user's line: the first
-- Lua frame outside this library, so no function needs to count its depth, and tail calls
-- (which drop frames on some VMs) cannot misplace it.
function M.misuse(msg)
  local level = 2
  local info = getinfo(level, "S")
  while info and (info.what == "C" or info.what == "tail" or info.source:sub(1, #OURS) == OURS) do
    level = level + 1
    info = getinfo(level, "S")
  end
  error(msg, info and level or 2) -- not `return error()`: a tail call would shift the level
end

--- Is `v` an error made here?
function M.is(v)
  return type(v) == "table" and getmetatable(v) == Error
end

local MAX_WAIT = 86400

--- Seconds to wait from a Retry-After value (delta seconds or HTTP-date), never negative.
function M.retry_after(value, now)
  if type(value) ~= "string" then return nil end
  value = match(value, "^%s*(.-)%s*$")
  local secs = match(value, "^%d+$")
  if secs then
    secs = tonumber(secs)
    return secs < MAX_WAIT and secs or MAX_WAIT -- a day is forever for a log shipper
  end
  local at = time.http_date(value)
  if not at then return nil end
  local wait = at - (now or os_time())
  return wait > MAX_WAIT and MAX_WAIT or wait > 0 and wait or 0
end

-- The limit families, in the order the official Go client prefers them.
local FAMILIES = {
  { kind = "ingest", prefix = "x-ingestlimit-" },
  { kind = "query", prefix = "x-querylimit-" },
  { kind = "rate", prefix = "x-ratelimit-" },
}

--- The limit a response reports, from the first complete header family, or nil.
-- `headers` has lowercased names.
function M.limit(headers)
  for i = 1, #FAMILIES do
    local f = FAMILIES[i]
    local limit = tonumber(headers[f.prefix .. "limit"])
    local remaining = tonumber(headers[f.prefix .. "remaining"])
    local reset = tonumber(headers[f.prefix .. "reset"])
    if limit and remaining and reset then
      return { kind = f.kind, limit = limit, remaining = remaining, reset = reset,
               scope = headers[f.prefix .. "scope"] }
    end
  end
  return nil
end

local STATUS_TEXT = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [409] = "Conflict", [413] = "Payload Too Large",
  [415] = "Unsupported Media Type", [422] = "Unprocessable Entity", [429] = "Too Many Requests",
  [430] = "Quota Exceeded", [500] = "Internal Server Error", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local MAX_MESSAGE = 512

-- The readable message of an error body: its JSON `message`, else the text itself; one line
-- without control characters (no terminal escapes from a server), at most MAX_MESSAGE bytes.
local function body_message(body, decode)
  if type(body) ~= "string" or body == "" then return nil end
  local doc = decode(body)
  local text = body
  if type(doc) == "table" and type(doc.message) == "string" and doc.message ~= "" then
    text = doc.message
  end
  text = match(gsub(text, "%c+", " "), "^%s*(.-)%s*$")
  if #text > MAX_MESSAGE then text = sub(text, 1, MAX_MESSAGE) .. "..." end
  return text ~= "" and text or nil
end

--- The error for an HTTP response that is not a success.
-- `decode` turns a body into a value or nil (the caller's JSON decoder).
function M.from_response(status, headers, body, decode, request)
  local kind = status == 429 and "rate_limited" or status == 430 and "quota" or "http"
  return M.new(kind, body_message(body, decode) or STATUS_TEXT[status] or ("HTTP " .. status), {
    status = status,
    trace_id = headers["x-axiom-trace-id"],
    limit = M.limit(headers),
    retry_after = M.retry_after(headers["retry-after"]),
    request = request,
  })
end

return M
