-- Request body decompression (gzip/zlib via libz, zstd via libzstd) through the LuaJIT FFI.
-- Independent of the client's axiom.core on purpose: the server is a separate peer.
-- Streams into one reused output buffer, so sink mode can scan a body it never holds whole.
local ffi = require "ffi"

local ffi_new, ffi_string, ffi_cast, ffi_sizeof = ffi.new, ffi.string, ffi.cast, ffi.sizeof
local concat, format, pcall, error, tonumber = table.concat, string.format, pcall, error, tonumber

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

typedef struct { const void *src; size_t size; size_t pos; } axiomdev_zstd_in;
typedef struct { void *dst; size_t size; size_t pos; } axiomdev_zstd_out;
void *ZSTD_createDStream(void);
size_t ZSTD_initDStream(void *zds);
size_t ZSTD_decompressStream(void *zds, axiomdev_zstd_out *output, axiomdev_zstd_in *input);
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

local CHUNK = 256 * 1024 -- fits in L2: each chunk is scanned while still hot
local Z_OK, Z_STREAM_END, Z_BUF_ERROR, Z_NO_FLUSH = 0, 1, -5, 0

-- One decoder of each kind per worker, reset per body: a worker runs one request at a time
-- between yields, and decoding never yields.
local out = ffi_new("unsigned char[?]", CHUNK)
local strm = ffi_new("axiomdev_z_stream")
-- 15 + 16: maximum window, gzip header only (a zlib stream under "gzip" is refused).
assert(z.inflateInit2_(strm, 15 + 16, z.zlibVersion(), ffi_sizeof(strm)) == Z_OK)
local ds = assert(zstd.ZSTD_createDStream())
local zin, zout = ffi_new("axiomdev_zstd_in"), ffi_new("axiomdev_zstd_out")

local M = {}

local function gunzip(data, fn)
  z.inflateReset(strm)
  strm.next_in, strm.avail_in = ffi_cast("const unsigned char *", data), #data
  while true do
    strm.next_out, strm.avail_out = out, CHUNK
    local rc = z.inflate(strm, Z_NO_FLUSH)
    local n = CHUNK - strm.avail_out
    if n > 0 then fn(out, n) end
    if rc == Z_STREAM_END then
      if strm.avail_in == 0 then return end
      z.inflateReset(strm) -- concatenated gzip members, as gunzip accepts them
    elseif rc == Z_BUF_ERROR and strm.avail_in == 0 and n == 0 then
      return "truncated gzip stream"
    elseif rc ~= Z_OK and rc ~= Z_BUF_ERROR then
      return strm.msg ~= nil and ffi_string(strm.msg) or ("inflate error " .. rc)
    end
  end
end

local function unzstd(data, fn)
  zstd.ZSTD_initDStream(ds)
  zin.src, zin.size, zin.pos = data, #data, 0
  zout.dst, zout.size = out, CHUNK
  local rc
  repeat
    zout.pos = 0
    rc = zstd.ZSTD_decompressStream(ds, zout, zin)
    if zstd.ZSTD_isError(rc) ~= 0 then return ffi_string(zstd.ZSTD_getErrorName(rc)) end
    local n = tonumber(zout.pos)
    if n > 0 then fn(out, n) end
    -- Keep draining while the output buffer came back full: more may be buffered inside.
  until zin.pos >= zin.size and zout.pos < CHUNK
  if rc ~= 0 then return "truncated zstd frame" end
end

-- each(data, "gzip"|"zstd", fn, max) -> decoded size | nil, err, too_large
-- Calls fn(ptr, n) for each decoded chunk; ptr is valid during the call only. An error fn
-- raises is passed on (after the decoder is left reusable).
function M.each(data, encoding, fn, max)
  local total, over = 0, false
  local function count(p, n)
    total = total + n
    if total > max then over = true; error(over, 0) end
    fn(p, n)
  end
  local ok, err = pcall(encoding == "gzip" and gunzip or unzstd, data, count)
  if not ok then
    if over then return nil, format("decompressed body exceeds %d bytes", max), true end
    error(err, 0)
  end
  if err then return nil, err end
  return total
end

-- decompress(data, "gzip"|"zstd", max) -> string | nil, err, too_large
function M.decompress(data, encoding, max)
  local parts = {}
  local total, err, too_large = M.each(data, encoding, function(p, n) parts[#parts + 1] = ffi_string(p, n) end, max)
  if not total then return nil, err, too_large end
  return concat(parts)
end

return M
