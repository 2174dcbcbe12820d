--- lua-axiom: ship events to Axiom and manage its tokens from Lua.
--
--   local axiom = require "axiom"
--   local client = assert(axiom.new{ token = os.getenv "AXIOM_TOKEN" })
--   assert(client:ingest("my-dataset", { { msg = "hello" } }))
--
-- The data path: event tables → encoder (C) → compression (C) → libcurl transport (C) →
-- status table. Policy (options, URLs, errors) lives in the Lua modules beside this one.
local core = require "axiom.core"
local config = require "axiom.config"
local client = require "axiom.client"
local ingest = require "axiom.ingest"
local query = require "axiom.query"
local tokens = require "axiom.tokens"
local datasets = require "axiom.datasets"
local batch = require "axiom.batch"

local M = {
  _NAME = "axiom",
  _VERSION = "0.1.0",
  --- Mark a table as a JSON array, so an empty one encodes as [] (returns the table).
  array = core.array,
  --- JSON null (the same value as cjson.null).
  null = core.null,
}

local Client = client.Client
Client.ingest = ingest.ingest
Client.query = query.query
Client.batcher = batch.batcher

--- A new client, or nil and an error of kind "config". Unset options come from AXIOM_TOKEN,
-- AXIOM_URL, AXIOM_ORG_ID, AXIOM_EDGE_URL and AXIOM_EDGE.
function M.new(opts)
  local cfg, err = config.resolve(opts)
  if not cfg then return nil, err end
  local c = client.new(cfg)
  c.ingest_tokens = tokens.IngestTokens.new(c)
  c.api_tokens = tokens.ApiTokens.new(c)
  c.datasets = datasets.Datasets.new(c)
  return c
end

return M
