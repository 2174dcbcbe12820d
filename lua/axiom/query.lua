--- APL queries (POST /v1/datasets/_apl): here so a program can read back what it shipped.
local client = require "axiom.client"
local errors = require "axiom.errors"
local resource = require "axiom.resource"
local url = require "axiom.url"

local type, pairs, tostring = type, pairs, tostring

local M = { _VERSION = "0.1.0" }

local FIELDS = { startTime = true, endTime = true, format = true }

--- client:query(apl, {startTime=, endTime=, format="tabular"|"legacy"}) → result table or nil, err.
-- Times may be RFC 3339 strings or epoch seconds.
function M.query(self, apl, opts)
  local c = client.check(self, "query")
  if type(apl) ~= "string" then errors.misuse("query: apl must be a string, got " .. type(apl)) end
  opts = opts or {}
  if type(opts) ~= "table" then errors.misuse("query: options must be a table, got " .. type(opts)) end
  for k in pairs(opts) do
    if not FIELDS[k] then errors.misuse("query: unknown option '" .. tostring(k) .. "'") end
  end
  local format = opts.format or "tabular"
  if format ~= "tabular" and format ~= "legacy" then
    errors.misuse("query: format must be \"tabular\" or \"legacy\"")
  end
  local req = {
    apl = apl,
    startTime = resource.time("query", "startTime", opts.startTime),
    endTime = resource.time("query", "endTime", opts.endTime),
  }
  local body, err = client.body(req)
  if not body then return nil, err end
  return c:request("POST", "/v1/datasets/_apl", {
    query = url.query({ { "format", format } }), body = body, content_type = "application/json",
  })
end

return M
