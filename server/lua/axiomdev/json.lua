-- JSON for the dev server. A private cjson instance decodes on the fast path. A small Lua
-- codec covers what Debian's cjson 2.1.0 can't: it has no array marker, so `[]` would come
-- back as `{}`, and it prints numbers with only 14 significant digits.
local cjson = require("cjson").new()
local validate = require "axiomdev.validate"
cjson.decode_invalid_numbers(false) -- NaN, Infinity, hex: rejected like the real service

local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local getmetatable, setmetatable, error, pcall = getmetatable, setmetatable, error, pcall
local byte, char, find, format, gsub, match, sub =
  string.byte, string.char, string.find, string.format, string.gsub, string.match, string.sub
local concat, sort, floor, huge = table.concat, table.sort, math.floor, math.huge

local M = {}
local null = cjson.null
M.null = null

local array_mt = { __name = "axiomdev.array" }
function M.array(t) return setmetatable(t or {}, array_mt) end

-- A decoded JSON object: a table that is neither marked nor a non-empty sequence.
function M.is_object(v)
  return type(v) == "table" and getmetatable(v) ~= array_mt and v[1] == nil
end

---------------------------------------------------------------------------- encoder

local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
local function escape_char(c) return escapes[c] or format("\\u%04x", byte(c)) end
local function quote(s) return '"' .. gsub(s, '[%z\1-\31"\\]', escape_char) .. '"' end

local function number(x)
  if x ~= x or x == huge or x == -huge then return "null" end
  if x == floor(x) and x > -2^53 and x < 2^53 then return format("%d", x) end
  for _, f in ipairs { "%.15g", "%.16g" } do
    local s = format(f, x)
    if tonumber(s) == x then return s end
  end
  return format("%.17g", x)
end

local function is_array(t)
  if getmetatable(t) == array_mt then return true end
  local n = #t
  if n == 0 then return false end -- unmarked empty table: {}
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local encode
function encode(v, buf)
  local t = type(v)
  if t == "string" then buf[#buf + 1] = quote(v)
  elseif t == "number" then buf[#buf + 1] = number(v)
  elseif t == "boolean" then buf[#buf + 1] = tostring(v)
  elseif t == "table" then
    if is_array(v) then
      buf[#buf + 1] = "["
      for i = 1, #v do
        if i > 1 then buf[#buf + 1] = "," end
        encode(v[i], buf)
      end
      buf[#buf + 1] = "]"
    else
      -- Sorted keys: deterministic output is easier to test and to diff.
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      sort(keys)
      buf[#buf + 1] = "{"
      for i, k in ipairs(keys) do
        local val = v[k]
        if val == nil then val = v[tonumber(k)] end
        buf[#buf + 1] = (i > 1 and "," or "") .. quote(k) .. ":"
        encode(val, buf)
      end
      buf[#buf + 1] = "}"
    end
  else
    buf[#buf + 1] = "null" -- nil, cjson.null, anything unencodable
  end
end

function M.encode(v)
  local buf = {}
  encode(v, buf)
  return concat(buf)
end

---------------------------------------------------------------------------- Lua decoder

local function fail(pos, msg) error({ pos = pos, msg = msg }, 0) end

local function ws(s, i) return find(s, "[^ \t\r\n]", i) or #s + 1 end

local function utf8(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64,
              0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

local simple = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n',
                 r = '\r', t = '\t' }

local function dstring(s, i) -- s[i] == '"'
  local parts, j = {}, i + 1
  while true do
    local k = find(s, '[%z\1-\31"\\]', j)
    if not k then fail(i, "unterminated string") end
    parts[#parts + 1] = sub(s, j, k - 1)
    local c = sub(s, k, k)
    if c == '"' then return concat(parts), k + 1 end
    if c ~= "\\" then fail(k, "control character in string") end
    local e = sub(s, k + 1, k + 1)
    if e == "u" then
      local cp = tonumber(match(s, "^%x%x%x%x", k + 2) or fail(k, "invalid \\u escape"), 16)
      j = k + 6
      if cp >= 0xD800 and cp <= 0xDBFF then
        local lo = tonumber(match(s, "^\\u(%x%x%x%x)", j) or "", 16)
        if lo and lo >= 0xDC00 and lo <= 0xDFFF then
          cp, j = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00), j + 6
        else
          cp = 0xFFFD
        end
      elseif cp >= 0xDC00 and cp <= 0xDFFF then
        cp = 0xFFFD -- lone low surrogate
      end
      parts[#parts + 1] = utf8(cp)
    else
      parts[#parts + 1] = simple[e] or fail(k, "invalid escape")
      j = k + 2
    end
  end
end

local value -- forward

-- top_index: element index of the top-level array being decoded, for error messages.
local top_index

local function darray(s, i, depth)
  local t, n = setmetatable({}, array_mt), 0
  i = ws(s, i + 1)
  if sub(s, i, i) == "]" then return t, i + 1 end
  while true do
    if depth == 1 then top_index = n end
    n = n + 1
    t[n], i = value(s, i, depth)
    i = ws(s, i)
    local c = sub(s, i, i)
    if c == "]" then return t, i + 1 end
    if c ~= "," then fail(i, "expected ',' or ']'") end
    i = ws(s, i + 1)
  end
end

local function dobject(s, i, depth)
  local t = {}
  i = ws(s, i + 1)
  if sub(s, i, i) == "}" then return t, i + 1 end
  while true do
    if sub(s, i, i) ~= '"' then fail(i, "expected a string key") end
    local k
    k, i = dstring(s, i)
    i = ws(s, i)
    if sub(s, i, i) ~= ":" then fail(i, "expected ':'") end
    t[k], i = value(s, ws(s, i + 1), depth)
    i = ws(s, i)
    local c = sub(s, i, i)
    if c == "}" then return t, i + 1 end
    if c ~= "," then fail(i, "expected ',' or '}'") end
    i = ws(s, i + 1)
  end
end

local literals = { t = { "true", true }, f = { "false", false }, n = { "null", null } }

function value(s, i, depth)
  if depth > 1000 then fail(i, "nesting too deep") end
  local c = sub(s, i, i)
  if c == "{" then return dobject(s, i, depth + 1) end
  if c == "[" then return darray(s, i, depth + 1) end
  if c == '"' then return dstring(s, i) end
  local lit = literals[c]
  if lit then
    if sub(s, i, i + #lit[1] - 1) ~= lit[1] then fail(i, "invalid literal") end
    return lit[2], i + #lit[1]
  end
  local num = match(s, "^-?%d+", i)
  if not num then fail(i, "unexpected character") end
  local j = i + #num
  local frac = match(s, "^%.%d+", j)
  if frac then j = j + #frac end
  local exp = match(s, "^[eE][-+]?%d+", j)
  if exp then j = j + #exp end
  return tonumber(sub(s, i, j - 1)), j
end

local function lua_decode(s)
  top_index = nil
  local ok, v, i = pcall(value, s, ws(s, 1), 0)
  if ok then
    i = ws(s, i)
    if i <= #s then ok, v = false, { pos = i, msg = "trailing data" } end
  end
  if ok then return v end
  if type(v) ~= "table" then return nil, tostring(v) end
  return nil, format("%s at character %d", v.msg, v.pos), top_index
end

-- decode(text) -> value | nil, err, top_level_index
-- cjson first; the Lua codec only when the text has an empty array (which it must keep as
-- an array) or when cjson failed (to find which top-level element was broken).
function M.decode(s)
  if not find(s, "%[%s*%]") then
    local ok, v = pcall(cjson.decode, s)
    if ok then return v end
    local _, _, idx = lua_decode(s)
    return nil, v, idx
  end
  return lua_decode(s)
end

-- decode_strict(text) -> value | nil, err, top_level_index
-- Only RFC 8259 JSON in valid UTF-8 (see validate.lua), checked before decoding.
function M.decode_strict(s)
  local pos, msg, index = validate.json(validate.ptr(s), #s)
  if pos then return nil, format("%s at character %d", msg, pos + 1), index end
  if not find(s, "%[%s*%]") then
    local ok, v = pcall(cjson.decode, s)
    if ok then return v end
  end
  -- An empty array to keep, or what cjson refuses although it is valid (a lone surrogate
  -- escape, which becomes U+FFFD).
  return lua_decode(s)
end

return M
