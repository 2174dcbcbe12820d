--- What every endpoint group (client.ingest_tokens, client.api_tokens, client.datasets) shares:
-- a class bound to its client, and argument checks that raise at the user's call.
local client = require "axiom.client"
local errors = require "axiom.errors"
local time = require "axiom.time"

local type, getmetatable, setmetatable, format = type, getmetatable, setmetatable, string.format

local M = { _VERSION = "0.1.0" }

M.misuse = errors.misuse

--- A class whose instances are `{client = c}`.
function M.class(name)
  local cls = { __name = "axiom." .. name }
  cls.__index = cls
  cls.new = function(c) return setmetatable({ client = c }, cls) end
  return cls
end

--- The checked client behind `self`.
function M.owner(self, what)
  if type(self) ~= "table" or not getmetatable(self) or type(self.client) ~= "table" then
    M.misuse(what .. ": call it with ':' (client.x:method())")
  end
  return client.check(self.client, what)
end

--- A time field for the API (epoch seconds or a string), or nil when absent; else misuse.
function M.time(what, field, v)
  if v == nil then return nil end
  local s = time.rfc3339(v)
  if type(s) ~= "string" then
    M.misuse(what .. ": field '" .. field .. "' must be epoch seconds or an RFC 3339 string")
  end
  return s
end

--- owner() plus a path segment for `id`: client, segment or client, nil, err.
function M.with_id(self, what, id)
  local c = M.owner(self, what)
  local seg, err = client.segment(what .. ": id", id)
  return c, seg, err
end

--- The common call: `method` on `path`, whose "%s" becomes the escaped `id`.
function M.on_id(self, what, method, path, id, opts)
  local c, seg, err = M.with_id(self, what, id)
  if not seg then return nil, err end
  return c:request(method, format(path, seg), opts)
end

--- Options of a call whose success has no body to return (deletes): it is `true`.
M.EMPTY = { empty = true }

return M
