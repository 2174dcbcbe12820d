--- Ship a file to an Axiom dataset.
--   lua5.4 examples/ship-file.lua DATASET FILE
-- *.csv is sent as CSV (header line first), *.ndjson as NDJSON lines, *.json as one JSON array
-- (or as NDJSON lines when it does not start with "["), anything else one event per line
-- ({message = line}). Uses AXIOM_TOKEN, AXIOM_URL, AXIOM_ORG_ID.
local axiom = require "axiom"

local dataset, path = arg[1], arg[2]
if not (dataset and path) then
  io.stderr:write("usage: ship-file.lua DATASET FILE\n")
  os.exit(2)
end

local client, err = axiom.new()
if not client then io.stderr:write(tostring(err), "\n"); os.exit(1) end
local f, ferr = io.open(path, "rb")
if not f then io.stderr:write(ferr, "\n"); os.exit(1) end

local kind = path:match("%.csv$") and "csv" or path:match("%.ndjson$") and "ndjson" or "lines"
if path:match("%.json$") then
  kind = (f:read(64) or ""):match("^%s*%[") and "array" or "ndjson"
  f:seek("set")
end

local totals = { ingested = 0, failed = 0, bytes = 0 }
local function ship(data, opts)
  local st, e = client:ingest(dataset, data, opts)
  if not st then io.stderr:write("\ningest failed: ", tostring(e), "\n"); os.exit(1) end
  totals.ingested, totals.failed = totals.ingested + st.ingested, totals.failed + st.failed
  totals.bytes = totals.bytes + st.processedBytes
  for _, fl in ipairs(st.failures or {}) do io.stderr:write("failed event: ", tostring(fl.error), "\n") end
  io.write(("\r%d events shipped"):format(totals.ingested))
  io.flush()
end

if kind == "array" then
  ship(f:read("*a"), { content_type = "json" })   -- an array cannot be split on lines
else
  local header = kind == "csv" and f:read("*l")
  local MAX_LINES, MAX_BYTES = 1000, 1024 * 1024
  local function send(lines)
    if #lines == 0 then return end
    if kind == "lines" then
      local events = {}
      for i = 1, #lines do events[i] = { message = lines[i] } end
      ship(events)
    elseif kind == "csv" then
      ship(header .. "\n" .. table.concat(lines, "\n"), { content_type = "csv" })
    else
      ship(table.concat(lines, "\n"), { content_type = "ndjson" })
    end
  end
  local lines, size = {}, 0
  for line in f:lines() do
    if line ~= "" then
      lines[#lines + 1], size = line, size + #line + 1
      if #lines >= MAX_LINES or size >= MAX_BYTES then send(lines); lines, size = {}, 0 end
    end
  end
  send(lines)
end
f:close()
client:close()
print(("\ningested %d, failed %d, processed %d bytes"):format(totals.ingested, totals.failed, totals.bytes))
os.exit(totals.failed == 0 and 0 or 1)
