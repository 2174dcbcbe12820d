-- luacheck: the library must run on Lua 5.1/LuaJIT and 5.4 alike.
std = "max"
max_line_length = 120
unused_args = false
exclude_files = { "build/**", ".luarocks/**", "lua_modules/**", "node_modules/**" }
files["spec/**/*.lua"] = { std = "+busted" }
files["server/lua/**/*.lua"] = { std = "ngx_lua" }
files["**/*.rockspec"] = { globals = { "rockspec_format", "package", "version", "source",
  "description", "dependencies", "build", "test", "external_dependencies", "supported_platforms" } }
