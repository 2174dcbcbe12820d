--- What every endpoint group (client.ingest_tokens, client.api_tokens, client.datasets) shares:
-- a class bound to its client, and argument checks that raise at the user's call.
-- Levels: a `level` argument says where the user is, counted from the function's caller.
local client = require "axiom.client"
local time = require "axiom.time"

local type, error, getmetatable, setmetatable = type, error, getmetatable, setmetatable

local M = { _VERSION = "0.1.0" }

function M.misuse(msg, level)
  error(msg, level + 1)
end

--- A class whose instances are `{client = c}`.
function M.class(name)
  local cls = { __name = "axiom." .. name }
  cls.__index = cls
  cls.new = function(c) return setmetatable({ client = c }, cls) end
  return cls
end

--- The checked client behind `self`, called from a public method (`depth` more frames down).
function M.owner(self, what, depth)
  local level = 3 + (depth or 0)
  if type(self) ~= "table" or not getmetatable(self) or type(self.client) ~= "table" then
    error(what .. ": call it with ':' (client.x:method())", level)
  end
  local c = client.check(self.client, what, level) -- not a tail call: that would drop a level
  return c
end

--- A time field for the API (epoch seconds or a string), or nil when absent; else misuse.
function M.time(what, field, v, level)
  if v == nil then return nil end
  local s = time.rfc3339(v)
  if type(s) ~= "string" then
    M.misuse(what .. ": field '" .. field .. "' must be epoch seconds or an RFC 3339 string", level + 1)
  end
  return s
end

--- owner() plus a path segment for `id`: client, segment or client, nil, err.
function M.with_id(self, what, id)
  local c = M.owner(self, what, 1)
  local seg, err = client.segment(what .. ": id", id, 3)
  return c, seg, err
end

return M
