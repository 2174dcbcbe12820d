rockspec_format = "3.0"
package = "axiom"
version = "scm-1"
source = {
  url = "git+https://github.com/lua-axiom/lua-axiom.git",
}
description = {
  summary = "Axiom client for Lua: ingest events and manage tokens, on a libcurl C core",
  detailed = [[
    require "axiom": ingest events (NDJSON, JSON, CSV; zstd or gzip) into Axiom, manage its
    ingest tokens and API tokens, and get plain Lua tables back. The C core (axiom.core) encodes
    events straight into the request body and talks HTTP through libcurl. Lua 5.1-5.4, LuaJIT.
  ]],
  homepage = "https://github.com/lua-axiom/lua-axiom",
  license = "MIT",
  labels = { "axiom", "logging", "observability", "curl" },
}
-- On Debian, lua-cjson comes from the lua-cjson package, which LuaRocks cannot see:
-- build with `luarocks make --deps-mode=none rockspec/axiom-scm-1.rockspec` (see README).
dependencies = {
  "lua >= 5.1",
  "lua-cjson >= 2.1.0",
}
-- Headers are found by the compiler (Debian keeps curl's in a multiarch directory, which
-- LuaRocks' header probe would miss), so only the libraries are declared.
external_dependencies = {
  CURL = { library = "curl" },
  ZSTD = { library = "zstd" },
  ZLIB = { library = "z" },
}
build = {
  type = "builtin",
  modules = {
    ["axiom.core"] = {
      sources = { "csrc/core.c", "csrc/buffer.c", "csrc/encode.c", "csrc/compress.c", "csrc/http.c",
        "csrc/sender.c", "csrc/spool.c" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "curl", "zstd", "z", "pthread" },
      incdirs = { "$(CURL_INCDIR)", "$(ZSTD_INCDIR)", "$(ZLIB_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(ZSTD_LIBDIR)", "$(ZLIB_LIBDIR)" },
    },
    ["axiom"] = "lua/axiom/init.lua",
    ["axiom.batch"] = "lua/axiom/batch.lua",
    ["axiom.client"] = "lua/axiom/client.lua",
    ["axiom.config"] = "lua/axiom/config.lua",
    ["axiom.datasets"] = "lua/axiom/datasets.lua",
    ["axiom.errors"] = "lua/axiom/errors.lua",
    ["axiom.ingest"] = "lua/axiom/ingest.lua",
    ["axiom.json"] = "lua/axiom/json.lua",
    ["axiom.query"] = "lua/axiom/query.lua",
    ["axiom.resource"] = "lua/axiom/resource.lua",
    ["axiom.tokens"] = "lua/axiom/tokens.lua",
    ["axiom.url"] = "lua/axiom/url.lua",
  },
}
test = {
  type = "command",
  command = "make test",
}
