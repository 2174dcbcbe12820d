-- The request body: read once, decoded per Content-Encoding once (cached in ngx.ctx, so the
-- handler and the journal share the work), and hashed for the journal.
local ffi = require "ffi"
local codec = require "axiomdev.codec"

local ngx = ngx
local format, lower, match, byte, gsub = string.format, string.lower, string.match, string.byte, string.gsub
local io_open = io.open

local M = {}

M.MAX_DECODED = 512 * 1024 * 1024 -- decompressed size cap (nginx caps the raw body the same)

ffi.cdef [[ unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *md); ]]
local crypto = ffi.C -- nginx links libcrypto; its symbols are global in the worker
local digest = ffi.new("unsigned char[32]")

-- The raw body as a string ("" when none). Large bodies may sit in a temp file.
function M.read()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then return data end
  local path = ngx.req.get_body_file()
  if not path then return "" end
  local f = assert(io_open(path, "rb"))
  data = f:read("*a")
  f:close()
  return data
end

-- The Content-Encoding, normalised: "" for identity (absent, empty or "identity").
function M.encoding()
  local e = lower(match(ngx.var.http_content_encoding or "", "^%s*(.-)%s*$"))
  return e == "identity" and "" or e
end

-- ctx.body decoded -> string | nil, status, message. Cached in ctx.
function M.decoded(ctx)
  if ctx.decoded then return ctx.decoded end
  if ctx.decode_status then return nil, ctx.decode_status, ctx.decode_error end
  local enc, out = M.encoding(), nil
  if enc == "" then
    out = ctx.body
  elseif enc == "gzip" or enc == "zstd" then
    local err, too_large
    out, err, too_large = codec.decompress(ctx.body, enc, M.MAX_DECODED)
    if not out then
      ctx.decode_status = too_large and 413 or 400
      ctx.decode_error = format("body does not decode as %s: %s", enc, err)
    end
  else
    ctx.decode_status, ctx.decode_error = 415, "unsupported Content-Encoding: " .. enc
  end
  ctx.decoded = out
  return M.decoded(ctx)
end

function M.sha256_hex(s)
  crypto.SHA256(s, #s, digest)
  return (gsub(ffi.string(digest, 32), ".", function(c) return format("%02x", byte(c)) end))
end

return M
