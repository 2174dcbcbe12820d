--- Datasets (/v2/datasets): enough to create the dataset you ingest into, and tidy up after.
local client = require "axiom.client"
local resource = require "axiom.resource"

local type, pairs, tostring = type, pairs, tostring

local M = { _VERSION = "0.1.0" }

local Datasets = resource.class("datasets")
M.Datasets = Datasets

local CREATE_FIELDS = { name = true, description = true, kind = true,
  useRetentionPeriod = true, retentionDays = true, edgeDeployment = true }

function Datasets:list()
  return resource.owner(self, "datasets:list"):request("GET", "/v2/datasets")
end

function Datasets:get(name)
  return resource.on_id(self, "datasets:get", "GET", "/v2/datasets/%s", name)
end

--- Create a dataset: {name=, description=, kind=, ...} as the API takes them.
function Datasets:create(t)
  local c = resource.owner(self, "datasets:create")
  if type(t) ~= "table" or type(t.name) ~= "string" then
    resource.misuse("datasets:create: expected a table with a string 'name'")
  end
  for k in pairs(t) do
    if not CREATE_FIELDS[k] then resource.misuse("datasets:create: unknown field '" .. tostring(k) .. "'") end
  end
  local body, err = client.body(t)
  if not body then return nil, err end
  return c:request("POST", "/v2/datasets", { body = body, content_type = "application/json" })
end

function Datasets:delete(name)
  return resource.on_id(self, "datasets:delete", "DELETE", "/v2/datasets/%s", name, resource.EMPTY)
end

return M
