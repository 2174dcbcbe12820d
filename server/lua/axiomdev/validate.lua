-- Strict checks over a byte buffer (LuaJIT FFI, so big bodies are scanned without making a
-- Lua string per token): RFC 8259 JSON and UTF-8. cjson alone is looser: it takes `1.`,
-- raw control characters inside strings and invalid UTF-8.
local ffi = require "ffi"

local ffi_cast, ffi_string, tonumber, huge = ffi.cast, ffi.string, tonumber, math.huge

local M = {}

M.MAX_DEPTH = 1000 -- cjson's own limit

local stack = ffi.new("uint8_t[?]", M.MAX_DEPTH + 1) -- per open level: 1 array, 2 object

local function ptr(s) return ffi_cast("const uint8_t *", s) end
M.ptr = ptr

-- One UTF-8 sequence whose lead byte p[i] is >= 0x80 -> the index after it, or nil
-- (overlongs, surrogates, > U+10FFFF and truncated sequences are invalid: Unicode table 3-7).
local function utf8_seq(p, i, n)
  local c = p[i]
  local need, lo, hi
  if c >= 0xC2 and c <= 0xDF then need, lo, hi = 1, 0x80, 0xBF
  elseif c == 0xE0 then need, lo, hi = 2, 0xA0, 0xBF
  elseif c == 0xED then need, lo, hi = 2, 0x80, 0x9F
  elseif c >= 0xE1 and c <= 0xEF then need, lo, hi = 2, 0x80, 0xBF
  elseif c == 0xF0 then need, lo, hi = 3, 0x90, 0xBF
  elseif c >= 0xF1 and c <= 0xF3 then need, lo, hi = 3, 0x80, 0xBF
  elseif c == 0xF4 then need, lo, hi = 3, 0x80, 0x8F
  else return nil end
  if i + need >= n then return nil end
  local b = p[i + 1]
  if b < lo or b > hi then return nil end
  for k = 2, need do
    b = p[i + k]
    if b < 0x80 or b > 0xBF then return nil end
  end
  return i + need + 1
end

-- utf8(p, n) -> nil when p[0..n) is valid UTF-8, else the 0-based offset of the first bad byte.
function M.utf8(p, n)
  local i = 0
  while i < n do
    if p[i] < 0x80 then
      i = i + 1
    else
      local j = utf8_seq(p, i, n)
      if not j then return i end
      i = j
    end
  end
  return nil
end

-- (Fast paths before each small loop: a root trace that runs into a loop which is not yet
-- compiled aborts, and enough aborts blacklist the main loop; LuaJIT then interprets it.)
local function ws(p, i, n)
  if i < n and p[i] > 32 then return i end
  while i < n do
    local c = p[i]
    if c ~= 32 and c ~= 10 and c ~= 13 and c ~= 9 then return i end
    i = i + 1
  end
  return n
end

local function hex(c) return (c >= 48 and c <= 57) or (c >= 65 and c <= 70) or (c >= 97 and c <= 102) end
local ESCAPES = {} -- " \ / b f n r t
for c in ('"\\/bfnrt'):gmatch(".") do ESCAPES[c:byte()] = true end

-- A string whose opening quote is p[i] -> index after the closing quote | nil, pos, msg.
local function str(p, i, n)
  i = i + 1
  while i < n do
    local c = p[i]
    if c == 34 then return i + 1 end
    if c == 92 then
      if i + 1 >= n then break end
      local e = p[i + 1]
      if e == 117 then -- \uXXXX; a lone surrogate is let through, as Go's decoder does (as U+FFFD)
        if i + 5 >= n or not (hex(p[i + 2]) and hex(p[i + 3]) and hex(p[i + 4]) and hex(p[i + 5])) then
          return nil, i, "invalid \\u escape"
        end
        i = i + 6
      elseif ESCAPES[e] then
        i = i + 2
      else
        return nil, i, "invalid escape"
      end
    elseif c < 32 then
      return nil, i, "control character in string"
    elseif c < 0x80 then
      i = i + 1
    else
      local j = utf8_seq(p, i, n)
      if not j then return nil, i, "invalid UTF-8" end
      i = j
    end
  end
  return nil, n, "unterminated string"
end

local function digits(p, i, n)
  if i >= n or p[i] < 48 or p[i] > 57 then return i, false end
  local j = i + 1
  if j >= n or p[j] < 48 or p[j] > 57 then return j, true end
  while j < n and p[j] >= 48 and p[j] <= 57 do j = j + 1 end
  return j, j > i
end

-- A number at p[i] -> index after it | nil, pos, msg.
local function number(p, i, n)
  local start = i
  if p[i] == 45 then i = i + 1 end -- -
  if i < n and p[i] == 73 then return nil, start, "Infinity is not valid JSON" end
  if i >= n or p[i] < 48 or p[i] > 57 then return nil, start, "invalid number" end
  if p[i] == 48 then
    i = i + 1
    if i < n and p[i] >= 48 and p[i] <= 57 then return nil, start, "invalid number (leading zero)" end
  else
    i = digits(p, i, n)
  end
  local int_digits = i - start - (p[start] == 45 and 1 or 0)
  local ok
  if i < n and p[i] == 46 then -- .
    i, ok = digits(p, i + 1, n)
    if not ok then return nil, start, "invalid number (no digit after '.')" end
  end
  local exp = 0
  if i < n and (p[i] == 101 or p[i] == 69) then -- e E
    i = i + 1
    local neg = false
    if i < n and (p[i] == 43 or p[i] == 45) then neg = p[i] == 45; i = i + 1 end
    local e = i
    i, ok = digits(p, i, n)
    if not ok then return nil, start, "invalid number (no digit in exponent)" end
    for k = e, i - 1 do
      if exp < 100000 then exp = exp * 10 + p[k] - 48 end -- capped: only its size matters
    end
    if neg then exp = -exp end
  end
  -- |value| < 10^(int_digits + exp); only above 10^300 can it overflow a double, and then
  -- the parsed value decides (Axiom's decoder refuses what overflows).
  if int_digits + exp > 300 then
    local x = tonumber(ffi_string(p + start, i - start))
    if x == huge or x == -huge then return nil, start, "number out of range" end
  end
  return i
end

local LITERALS = {} -- first byte -> the literal's bytes
for _, w in ipairs { "true", "false", "null" } do LITERALS[w:byte()] = { w:byte(1, -1) } end

local function literal(p, i, n)
  local word = LITERALS[p[i]]
  if word and i + #word <= n then
    local k = 1
    while k <= #word and p[i + k - 1] == word[k] do k = k + 1 end
    if k > #word then return i + #word end
  end
  if p[i] == 78 then return nil, i, "NaN is not valid JSON" end
  if p[i] == 73 then return nil, i, "Infinity is not valid JSON" end
  return nil, i, "unexpected character"
end

-- json(p, n) -> nil when p[0..n) is exactly one JSON value (whitespace around it allowed);
-- else pos (0-based), message, and the index of the top-level array element it is in.
function M.json(p, n)
  local depth, index = 0, nil
  local i = ws(p, 0, n)
  local err, msg
  while true do
    -- a value starts at i
    if i >= n then return n, "unexpected end of input", index end
    local c = p[i]
    if c == 123 or c == 91 then -- { [
      if depth == M.MAX_DEPTH then return i, "nesting deeper than " .. M.MAX_DEPTH, index end
      depth = depth + 1
      stack[depth] = c == 91 and 1 or 2
      if depth == 1 and c == 91 then index = 0 end
      i = ws(p, i + 1, n)
      if i < n and p[i] == c + 2 then -- empty: ] or }
        depth = depth - 1
        i = i + 1
        goto after
      end
      if c == 91 then goto continue end
      goto key
    elseif c == 34 then
      i, err, msg = str(p, i, n)
    elseif c == 45 or (c >= 48 and c <= 57) then
      i, err, msg = number(p, i, n)
    else
      i, err, msg = literal(p, i, n)
    end
    if not i then return err, msg, index end

    ::after:: -- after a value: a comma, a closing bracket or the end
    while true do
      i = ws(p, i, n)
      if depth == 0 then
        if i < n then return i, "trailing data after the JSON value", index end
        return nil
      end
      if i >= n then return n, "unexpected end of input", index end
      c = p[i]
      local kind = stack[depth]
      if c == 44 then -- ,
        i = ws(p, i + 1, n)
        if depth == 1 and kind == 1 then index = index + 1 end
        if kind == 1 then goto continue end
        goto key
      elseif (c == 93 and kind == 1) or (c == 125 and kind == 2) then
        depth = depth - 1
        i = i + 1
      else
        return i, kind == 1 and "expected ',' or ']'" or "expected ',' or '}'", index
      end
    end

    ::key:: -- an object member: "key" :
    if i >= n or p[i] ~= 34 then return i, "expected a string key", index end
    i, err, msg = str(p, i, n)
    if not i then return err, msg, index end
    i = ws(p, i, n)
    if i >= n or p[i] ~= 58 then return i, "expected ':'", index end
    i = ws(p, i + 1, n)

    ::continue::
  end
end

return M
