--- JSON in and out. We write with the C core's encoder (exact integers, UTF-8 repair, `[]`
-- via axiom.array) and read with a private lua-cjson instance, so no setting of the host
-- program's own `cjson` module leaks in or out.
local core = require "axiom.core"
local cjson = require "cjson"

local type, pairs, pcall = type, pairs, pcall
local tointeger = math.tointeger -- nil before Lua 5.3

local M = { _VERSION = "0.1.0" }

local private = cjson.new()

M.encode = core.encode
M.array = core.array
M.null = core.null

-- Debian's lua-cjson 2.1.0 decodes every number as a float; on 5.3+ give integral values back
-- their integer subtype, so `status.ingested` prints as 2, not 2.0.
local function integers(v)
  for k, x in pairs(v) do
    local t = type(x)
    if t == "number" then
      local i = tointeger(x)
      if i then v[k] = i end
    elseif t == "table" then
      integers(x)
    end
  end
  return v
end

--- Decode a JSON text: value, or nil and the decoder's message.
function M.decode(text)
  local ok, v = pcall(private.decode, text)
  if not ok then return nil, v end
  if tointeger and type(v) == "table" then integers(v) end
  return v
end

return M
