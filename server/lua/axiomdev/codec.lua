-- Request body decompression (gzip/zlib via libz, zstd via libzstd) through the LuaJIT FFI.
-- Independent of the client's axiom.core on purpose: the server is a separate peer.
local ffi = require "ffi"

local ffi_new, ffi_string, ffi_cast, ffi_sizeof = ffi.new, ffi.string, ffi.cast, ffi.sizeof
local concat, format = table.concat, string.format

ffi.cdef [[
typedef struct {
  const unsigned char *next_in; unsigned int avail_in; unsigned long total_in;
  unsigned char *next_out; unsigned int avail_out; unsigned long total_out;
  const char *msg; void *state;
  void *zalloc; void *zfree; void *opaque;
  int data_type; unsigned long adler; unsigned long reserved;
} axiomdev_z_stream;
const char *zlibVersion(void);
int inflateInit2_(axiomdev_z_stream *strm, int windowBits, const char *version, int stream_size);
int inflate(axiomdev_z_stream *strm, int flush);
int inflateReset(axiomdev_z_stream *strm);
int inflateEnd(axiomdev_z_stream *strm);

typedef struct { const void *src; size_t size; size_t pos; } axiomdev_zstd_in;
typedef struct { void *dst; size_t size; size_t pos; } axiomdev_zstd_out;
void *ZSTD_createDStream(void);
size_t ZSTD_freeDStream(void *zds);
size_t ZSTD_initDStream(void *zds);
size_t ZSTD_decompressStream(void *zds, axiomdev_zstd_out *output, axiomdev_zstd_in *input);
size_t ZSTD_DStreamOutSize(void);
unsigned ZSTD_isError(size_t code);
const char *ZSTD_getErrorName(size_t code);
]]

-- Debian ships the unversioned .so only with the -dev package, so fall back to the soname.
local function load(name, soname)
  local ok, lib = pcall(ffi.load, name)
  if ok then return lib end
  return ffi.load(soname)
end
local z = load("z", "libz.so.1")
local zstd = load("zstd", "libzstd.so.1")

local CHUNK = 256 * 1024
local Z_OK, Z_STREAM_END, Z_BUF_ERROR, Z_NO_FLUSH = 0, 1, -5, 0

local M = {}

-- Appends out[0..n) to parts, enforcing the size cap; returns the new total or nil, err.
local function collect(parts, out, n, total, max)
  total = total + n
  if total > max then return nil, format("decompressed body exceeds %d bytes", max) end
  if n > 0 then parts[#parts + 1] = ffi_string(out, n) end
  return total
end

local function gunzip(data, max)
  local strm = ffi_new("axiomdev_z_stream")
  -- 15 + 32: maximum window, auto-detect gzip or zlib header.
  if z.inflateInit2_(strm, 15 + 32, z.zlibVersion(), ffi_sizeof(strm)) ~= Z_OK then
    return nil, "inflateInit2 failed"
  end
  local out = ffi_new("unsigned char[?]", CHUNK)
  local parts, total, err = {}, 0
  strm.next_in, strm.avail_in = ffi_cast("const unsigned char *", data), #data
  while true do
    strm.next_out, strm.avail_out = out, CHUNK
    local rc = z.inflate(strm, Z_NO_FLUSH)
    local n = CHUNK - strm.avail_out
    total, err = collect(parts, out, n, total, max)
    if not total then break end
    if rc == Z_STREAM_END then
      if strm.avail_in == 0 then break end
      z.inflateReset(strm) -- concatenated gzip members, as gunzip accepts them
    elseif rc == Z_BUF_ERROR and strm.avail_in == 0 and n == 0 then
      err = "truncated gzip stream"; break
    elseif rc ~= Z_OK and rc ~= Z_BUF_ERROR then
      err = strm.msg ~= nil and ffi_string(strm.msg) or ("inflate error " .. rc); break
    end
  end
  z.inflateEnd(strm)
  if err then return nil, err end
  return concat(parts)
end

local function unzstd(data, max)
  local ds = zstd.ZSTD_createDStream()
  if ds == nil then return nil, "ZSTD_createDStream failed" end
  ds = ffi.gc(ds, zstd.ZSTD_freeDStream)
  zstd.ZSTD_initDStream(ds)
  local size = tonumber(zstd.ZSTD_DStreamOutSize())
  local buf = ffi_new("unsigned char[?]", size)
  local input = ffi_new("axiomdev_zstd_in", data, #data, 0)
  local output = ffi_new("axiomdev_zstd_out", buf, size, 0)
  local parts, total = {}, 0
  local err, rc
  repeat
    output.pos = 0
    rc = zstd.ZSTD_decompressStream(ds, output, input)
    if zstd.ZSTD_isError(rc) ~= 0 then err = ffi_string(zstd.ZSTD_getErrorName(rc)); break end
    total, err = collect(parts, buf, tonumber(output.pos), total, max)
    if not total then break end
    -- Keep draining while the output buffer came back full: more may be buffered inside.
  until input.pos >= input.size and output.pos < size
  ffi.gc(ds, nil); zstd.ZSTD_freeDStream(ds)
  if err then return nil, err end
  if rc ~= 0 then return nil, "truncated zstd frame" end
  return concat(parts)
end

-- decompress(data, "gzip"|"zstd", max) -> string | nil, err, too_large
function M.decompress(data, encoding, max)
  local out, err
  if encoding == "gzip" then out, err = gunzip(data, max) else out, err = unzstd(data, max) end
  if out then return out end
  return nil, err, err:find("exceeds", 1, true) ~= nil
end

return M
