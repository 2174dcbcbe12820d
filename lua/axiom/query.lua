--- APL queries (POST /v1/datasets/_apl): here so a program can read back what it shipped.
local client = require "axiom.client"
local resource = require "axiom.resource"
local url = require "axiom.url"

local type, pairs, tostring, error = type, pairs, tostring, error

local M = { _VERSION = "0.1.0" }

local FIELDS = { startTime = true, endTime = true, format = true }

--- client:query(apl, {startTime=, endTime=, format="tabular"|"legacy"}) → result table or nil, err.
-- Times may be RFC 3339 strings or epoch seconds.
function M.query(self, apl, opts)
  local c = client.check(self, "query", 2)
  if type(apl) ~= "string" then error("query: apl must be a string, got " .. type(apl), 2) end
  opts = opts or {}
  if type(opts) ~= "table" then error("query: options must be a table, got " .. type(opts), 2) end
  for k in pairs(opts) do
    if not FIELDS[k] then error("query: unknown option '" .. tostring(k) .. "'", 2) end
  end
  local format = opts.format or "tabular"
  if format ~= "tabular" and format ~= "legacy" then
    error("query: format must be \"tabular\" or \"legacy\"", 2)
  end
  local req = {
    apl = apl,
    startTime = resource.time("query", "startTime", opts.startTime, 2),
    endTime = resource.time("query", "endTime", opts.endTime, 2),
  }
  local body, err = client.body(req)
  if not body then return nil, err end
  return c:request("POST", "/v1/datasets/_apl", {
    query = url.query({ { "format", format } }), body = body, content_type = "application/json",
  })
end

return M
