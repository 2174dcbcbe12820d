-- Shared by the integration specs: the local server's address, an admin client, and the
-- server's dev API (/_dev: stored events, request journal, scripted responses, reset).
local axiom = require "axiom"
local core = require "axiom.core"
local cjson = require("cjson").new()

local M = {}

M.url = os.getenv("AXIOM_TEST_URL") or "http://127.0.0.1:18123"
local port = tonumber(M.url:match(":(%d+)$"))
M.port, M.alt_port = port, port + 1
M.alt_url = "http://127.0.0.1:" .. (port + 1)
M.token = os.getenv("AXIOM_DEV_TOKEN") or "xaat-axiom-dev-token"

local raw = core.http { timeout = 10 }

--- Call the dev API (or any path) without the client: decoded body, status.
function M.dev(method, path, body)
  local status, _, text = raw:request(method, M.url .. path,
    { "Content-Type: application/json" }, body and cjson.encode(body) or nil)
  assert(status, "local server unreachable at " .. M.url)
  if text == "" then return nil, status end
  return cjson.decode(text), status
end

function M.reset() M.dev("POST", "/_dev/reset") end
function M.journal() return M.dev("GET", "/_dev/journal") end
function M.events(ds) return M.dev("GET", "/_dev/events/" .. ds) end
function M.script(rule) local _, st = M.dev("POST", "/_dev/script", rule); assert(st < 300) end

--- The journal entries after `n` (the journal's length before the action under test).
function M.journal_since(n)
  local j, out = M.journal(), {}
  for i = n + 1, #j do out[#out + 1] = j[i] end
  return out
end

--- A client of the local server (admin token unless opts.token), with extra options.
function M.client(opts)
  local o = { url = M.url, token = M.token }
  for k, v in pairs(opts or {}) do o[k] = v end
  return assert(axiom.new(o))
end

--- A fresh dataset on the server.
function M.dataset(name)
  local c = M.client()
  assert(c.datasets:create { name = name })
  c:close()
  return name
end

return M
