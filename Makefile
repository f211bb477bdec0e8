# ngx_chatwootai — build, run and test.
#   make deps    install the Debian packages needed (idempotent)
#   make build   build/ngx_http_chatwootai_module.so (+ core library, cwai CLI)
#   make run     the gateway on 127.0.0.1:8080 with the embedded default
#   make test    every test: C unit tests + Test::Nginx suite
#   make test-asan  the Test::Nginx suite on an ASan/UBSan nginx
#   make bench   benchmarks
#   make clean

SHELL       := /bin/bash
NGINX_SRC   ?= /usr/share/nginx/src
NGINX_BIN   ?= /usr/sbin/nginx
BUILD       := build
MODULE_SO   := $(BUILD)/ngx_http_chatwootai_module.so
NGX_OBJS    := $(BUILD)/nginx-src/objs

CORE_SRCS   := $(wildcard src/*.c)
CORE_HDRS   := $(wildcard src/*.h)
CORE_OBJS   := $(patsubst src/%.c,$(BUILD)/core/%.o,$(CORE_SRCS))
ADAPTER     := $(wildcard ngx_chatwootai_module/*.c ngx_chatwootai_module/*.h)

CC          ?= cc
# The core is held to nginx's own warning flags (-Werror) plus a few more.
CORE_CFLAGS := -std=gnu99 -g -O2 -fPIC -W -Wall -Wextra -Wpointer-arith \
               -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Werror \
               -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
               $(shell pkg-config --cflags jansson yaml-0.1 2>/dev/null)
CORE_LIBS   := -ljansson -lyaml -lcrypto -lm

UNIT_SRCS   := $(wildcard t/unit/test_*.c)
UNIT_BIN    := $(BUILD)/unit-tests

.PHONY: FORCE all deps build run stop test test-unit test-nginx test-asan bench clean

all: build

deps:
	@./scripts/deps.sh

build: $(MODULE_SO) $(BUILD)/libcwai.a $(BUILD)/cwai

# ---- the nginx dynamic module -------------------------------------------
# nginx's objs/Makefile lists the sources, so a new or removed file means
# configuring again; .srclist changes only when the list does.
SRC_LIST    := $(sort $(wildcard src/*.c src/*.h ngx_chatwootai_module/*.c ngx_chatwootai_module/*.h))
$(BUILD)/.srclist: FORCE
	@mkdir -p $(BUILD)
	@echo '$(SRC_LIST)' | cmp -s - $@ || echo '$(SRC_LIST)' > $@

$(NGX_OBJS)/Makefile: config $(BUILD)/.srclist
	@./scripts/configure-nginx.sh "$(NGINX_SRC)" "$(CURDIR)/$(BUILD)/nginx-src" "$(CURDIR)"

$(MODULE_SO): $(NGX_OBJS)/Makefile $(CORE_SRCS) $(CORE_HDRS) $(ADAPTER)
	@$(MAKE) -s -C $(BUILD)/nginx-src -f objs/Makefile modules >$(BUILD)/nginx-make.log 2>&1 \
	    || { cat $(BUILD)/nginx-make.log; exit 1; }
	@# a new inode: a running nginx keeps its mapping of the old file
	@cp $(BUILD)/nginx-src/objs/ngx_http_chatwootai_module.so $@.tmp && mv -f $@.tmp $@
	@echo "built $@"

# ---- the core as a static library (unit tests, CLI, benchmarks) ---------
$(BUILD)/core/%.o: src/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	@$(CC) $(CORE_CFLAGS) -Isrc -c $< -o $@

$(BUILD)/libcwai.a: $(CORE_OBJS)
	@rm -f $@
	@ar rcs $@ $^

# ---- the command-line tool ------------------------------------------------
$(BUILD)/cwai: src/cli/cwai.c $(CORE_HDRS) $(BUILD)/libcwai.a
	$(CC) $(CORE_CFLAGS) -Isrc src/cli/cwai.c $(BUILD)/libcwai.a $(CORE_LIBS) -o $@

# ---- benchmarks ------------------------------------------------------------
$(BUILD)/bench-agent: bench/bench_agent.c $(CORE_HDRS) $(BUILD)/libcwai.a
	$(CC) $(CORE_CFLAGS) -Isrc bench/bench_agent.c $(BUILD)/libcwai.a $(CORE_LIBS) -o $@

# ---- tests ----------------------------------------------------------------
$(BUILD)/unit_suites.h: $(UNIT_SRCS)
	@mkdir -p $(BUILD)
	@{ printf '#define CWAI_SUITES(X)'; \
	   grep -ho '^CWAI_SUITE([a-z_0-9]*)' $(UNIT_SRCS) | sed 's/CWAI_SUITE(\(.*\))/ X(\1)/' | tr -d '\n'; \
	   echo; } > $@

$(UNIT_BIN): $(UNIT_SRCS) t/unit/main.c t/unit/unit.h $(BUILD)/unit_suites.h $(BUILD)/libcwai.a
	$(CC) $(CORE_CFLAGS) -Wno-shadow -Isrc -It/unit -I$(BUILD) t/unit/main.c $(UNIT_SRCS) \
	    $(BUILD)/libcwai.a $(shell pkg-config --cflags --libs check) $(CORE_LIBS) -o $@

test-unit: $(UNIT_BIN)
	@cd t/unit && CK_FORK=yes ../../$(UNIT_BIN)

test-nginx: $(MODULE_SO)
	@./t/run-suite.sh

test: deps build
	@./scripts/test-all.sh

test-asan: deps
	@./scripts/asan.sh

run: deps build
	@./scripts/run.sh

stop:
	@./scripts/run.sh stop

$(BUILD)/bench-pipeline: bench/bench_pipeline.c bench/bench_util.h $(CORE_HDRS) $(BUILD)/libcwai.a
	$(CC) $(CORE_CFLAGS) -Isrc bench/bench_pipeline.c $(BUILD)/libcwai.a $(CORE_LIBS) -o $@

$(BUILD)/webhook-load: bench/webhook_load.c bench/bench_util.h
	$(CC) -O2 -W -Wall -Werror $< -o $@

$(BUILD)/fake-upstreams: bench/fake_upstreams.c bench/bench_util.h
	$(CC) -O2 -W -Wall -Werror -D_GNU_SOURCE $< -o $@

$(BUILD)/cache-latency: bench/cache_latency.c bench/bench_util.h
	$(CC) -O2 -W -Wall -Werror $< -o $@

bench: deps build $(BUILD)/bench-agent $(BUILD)/bench-pipeline $(BUILD)/webhook-load \
       $(BUILD)/fake-upstreams $(BUILD)/cache-latency
	@./bench/run.sh

clean:
	rm -rf $(BUILD) t/servroot*
