-- CSV bodies, RFC 4180: quoted fields may hold delimiters, line breaks and "" escapes; a
-- quote anywhere else is an error (as in Go's encoding/csv without LazyQuotes).
local util = require "axiomdev.util"

local find, format, sub, gmatch = string.find, string.format, string.sub, string.gmatch
local concat, remove, ipairs = table.concat, table.remove, ipairs
local fail = util.fail

local M = {}

-- s -> array of records (arrays of strings). Blank lines are not records.
function M.records(s, delim)
  local rows, row, i, n = {}, {}, 1, #s
  local stop = "[" .. (find(delim, "%w") and delim or "%" .. delim) .. "\r\n\"]"
  while true do
    local field
    if sub(s, i, i) == '"' then
      local parts, j = {}, i + 1
      while true do
        local q = find(s, '"', j, true)
        if not q then fail(400, format("invalid CSV: unterminated quoted field in record %d", #rows + 1)) end
        parts[#parts + 1] = sub(s, j, q - 1)
        if sub(s, q + 1, q + 1) ~= '"' then i = q + 1; break end
        parts[#parts + 1] = '"'
        j = q + 2
      end
      field = concat(parts)
    else
      local j = find(s, stop, i) or n + 1
      if sub(s, j, j) == '"' then
        fail(400, format('invalid CSV: bare " in a field that is not quoted, record %d', #rows + 1))
      end
      field, i = sub(s, i, j - 1), j
    end
    row[#row + 1] = field
    local c = sub(s, i, i)
    if c == delim then
      i = i + 1
    elseif c == "\r" or c == "\n" or c == "" then
      -- A lone empty field is a blank line, not a record.
      if #row > 1 or row[1] ~= "" then rows[#rows + 1] = row end
      row = {}
      if c == "" then return rows end
      i = i + ((c == "\r" and sub(s, i + 1, i + 1) == "\n") and 2 or 1)
      if i > n then return rows end
    else
      fail(400, format("invalid CSV: unexpected %q after a quoted field, record %d", c, #rows + 1))
    end
  end
end

-- s -> events, errors. Values stay strings; X-Axiom-CSV-Fields (fields_header) names the
-- columns, else the first record does. A record whose field count differs from the header's
-- is not an event: errors[i] says why.
function M.events(s, delim, fields_header)
  if #delim ~= 1 or find(delim, '["\r\n]') then
    fail(400, "csv-delimiter must be one character other than a quote or a line break")
  end
  local rows = M.records(s, delim)
  local header
  if fields_header and fields_header ~= "" then
    header = {}
    for name in gmatch(fields_header .. ",", "%s*(.-)%s*,") do header[#header + 1] = name end
  else
    header = remove(rows, 1) or {}
  end
  local events, errors = {}, {}
  for i, row in ipairs(rows) do
    if #row ~= #header then
      events[i] = false
      errors[i] = format("CSV record has %d fields, the header has %d", #row, #header)
    else
      local ev = {}
      for j, value in ipairs(row) do ev[header[j]] = value end
      events[i] = ev
    end
  end
  return events, errors
end

return M
