# lua-axiom — build, test and run.
#
#   make            build axiom/core.so for Lua 5.4 and for the 5.1 ABI (LuaJIT, OpenResty)
#   make deps       install the Debian packages this project needs (as root; else prints the command)
#   make test       everything: deps, build, lint, local server, specs on lua5.4, luajit, lua5.1, JS peer
#   make demo       the main job: ship /var/log/dpkg.log to Axiom (or the local server)
#   make server     run the local Axiom-compatible server in the foreground (PORT=18123, SINK=1)
#   make bench      the batcher benchmark against the local server (BENCH_EVENTS=1000000)
#
# Every variable below can be overridden on the command line.

CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      := -std=c99 -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -pedantic
DEFS      := -D_POSIX_C_SOURCE=200809L -pthread
PKG_CONFIG ?= pkg-config
CURL_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
LIBS      ?= -lcurl -lzstd -lz -pthread
LUA54_INC ?= /usr/include/lua5.4
LUA51_INC ?= /usr/include/lua5.1
LUAJIT_INC ?= /usr/include/luajit-2.1
PORT      ?= 18123

SRCS := $(wildcard csrc/*.c)
HDRS := $(wildcard csrc/*.h)

# Everything the project needs from Debian (luajit2, not luajit: nginx's Lua module needs it).
# Node.js (for the official JS client's conformance run) is taken as found, else Debian's.
DEB_PACKAGES := build-essential pkg-config curl ca-certificates gzip zstd \
  lua5.4 liblua5.4-dev lua5.1 liblua5.1-0-dev luajit2 libluajit2-5.1-dev \
  libcurl4-openssl-dev libzstd-dev zlib1g-dev lua-cjson lua-busted lua-check luarocks lua-socket lua-posix lua-curl \
  nginx libnginx-mod-http-lua

.PHONY: all clean deps test lint demo server bench check-luajit-headers

all: build/5.4/axiom/core.so build/5.1/axiom/core.so

# One shared object per Lua ABI, each against its own headers; never linked with liblua.
build/5.4/axiom/core.so: $(SRCS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) -fPIC -shared -I$(LUA54_INC) $(CURL_CFLAGS) -o $@ $(SRCS) $(LIBS)

build/5.1/axiom/core.so: $(SRCS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) -fPIC -shared -I$(LUA51_INC) $(CURL_CFLAGS) -o $@ $(SRCS) $(LIBS)

# LuaJIT's headers declare several 5.2 functions: prove the compat shims tolerate them.
check-luajit-headers:
	$(CC) $(WARN) $(DEFS) -fsyntax-only -I$(LUAJIT_INC) $(CURL_CFLAGS) $(SRCS)

# bench only: a nanosecond monotonic clock module for each ABI.
build/bench/%/hrtime.so: bench/hrtime.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) -fPIC -shared -I$(if $(filter 5.4,$*),$(LUA54_INC),$(LUA51_INC)) -o $@ $<

bench: deps all build/bench/5.4/hrtime.so build/bench/5.1/hrtime.so
	bench/run $(BENCH_EVENTS)

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null || missing="$$missing nodejs npm"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	cmd="apt-get install -y --no-install-recommends$$missing"; \
	if [ "$$(id -u)" -ne 0 ]; then echo "missing packages; run as root:"; echo "  $$cmd"; exit 1; fi; \
	echo "installing:$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$cmd

test: deps all
	spec/run

lint:
	luacheck lua spec examples server/lua bench

server: deps all
	@server/run $(PORT) $(if $(SINK),--sink)

demo: deps all
	@examples/demo

clean:
	rm -rf build
