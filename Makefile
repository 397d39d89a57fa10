# Berth build.  `make` builds build/berthd and build/berth-init; `make test`
# installs what is missing, builds plain and sanitizer variants and runs
# every test; `make help` lists the targets.

# The first rule below is a generated header's; without this, a bare `make`
# would build only that.
.DEFAULT_GOAL := all

PKGS_BUILD = build-essential pkg-config clang libuv1-dev libraft-dev libmsgpack-dev zlib1g-dev \
	libsodium-dev libsqlite3-dev libmicrohttpd-dev libjansson-dev \
	libarchive-dev libnl-3-dev libnl-route-3-dev libnftables-dev \
	libseccomp-dev libgnutls28-dev libcmocka-dev libcurl4-gnutls-dev
PKGS_TEST = busybox-static python3-docker python3-msgpack docker-compose python3-pytest python3-pytest-xdist python3-yaml \
	iproute2 nftables sqlite3 util-linux procps openssl tcpdump docker-registry apache2-utils git
PKGS = $(PKGS_BUILD) $(PKGS_TEST)

LIBS_PC = libuv libsodium sqlite3 libmicrohttpd jansson gnutls libseccomp libnl-3.0 libnl-route-3.0 libnftables raft msgpack zlib
# Not linked: loaded with dlopen on first use (lib/lazylib.h), so an idle
# daemon maps neither them nor the forty libraries they bring.  Their
# headers still declare what lib/lazy_curl.c and lib/lazy_archive.c define.
LAZY_PC = libcurl libarchive
CC ?= cc
CFLAGS_BASE = -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. \
	-fno-strict-aliasing -Wno-format-truncation $(shell pkg-config --cflags $(LIBS_PC) $(LAZY_PC) 2>/dev/null)
LDLIBS = $(shell pkg-config --libs $(LIBS_PC) 2>/dev/null) -lm

VERSION := 0.1.0
CFLAGS_BASE += -DBERTH_VERSION='"$(VERSION)"' -Ibuild/gen

OPT_CFLAGS = -O2 -g
SAN_CFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Every .c below the daemon's folders, however deep (runtime/ has a folder a
# concern); the static init is a program of its own, main.c the daemon's.
SRC_DIRS = lib node api runtime netoverlay raft scheduler
LIB_SRC := $(sort $(shell find $(SRC_DIRS) -name '*.c' -not -path 'runtime/linux/init/*'))
LIB_SRC := $(filter-out node/main.c,$(LIB_SRC))
UNIT_SRC = $(wildcard tests/unit/test_*.c)

# $(1)=variant dir, $(2)=cflags
define variant
$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	@echo "  CC $$<"
	@$$(CC) $$(CFLAGS_BASE) $(2) -MMD -MP -c $$< -o $$@

$(1)/obj/api/system.o $(1)/obj/node/main.o: build/gen/git_commit.h
# .incbin'd data is invisible to -MMD
$(1)/obj/runtime/linux/seccomp_default.o: runtime/linux/seccomp_default.json

$(1)/berthd: $$(patsubst %.c,$(1)/obj/%.o,$$(LIB_SRC) node/main.c)
	@echo "  LD $$@"
	@$$(CC) $(2) -o $$@ $$^ $$(LDLIBS)

$(1)/tests/%: $(1)/obj/tests/unit/%.o $$(patsubst %.c,$(1)/obj/%.o,$$(LIB_SRC))
	@mkdir -p $$(dir $$@)
	@echo "  LD $$@"
	@$$(CC) $(2) -o $$@ $$^ $$(LDLIBS) -lcmocka
endef

# The commit goes into a header rewritten only when it changes, so a new
# commit rebuilds two objects, not the tree.
build/gen/git_commit.h: FORCE
	@mkdir -p build/gen
	@c=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown); \
	line="#define BERTH_GIT_COMMIT \"$$c\""; \
	[ "$$(cat $@ 2>/dev/null)" = "$$line" ] || echo "$$line" > $@
FORCE:

$(eval $(call variant,build,$(OPT_CFLAGS)))
$(eval $(call variant,build/asan,$(SAN_CFLAGS)))

# Both cores: test files are spread over two workers, each file's tests
# staying on one worker so a module's shared daemon is started once.
PYTEST = /usr/bin/python3 -m pytest -q -n 2 --dist loadfile

UNIT_BINS = $(patsubst tests/unit/%.c,build/tests/%,$(UNIT_SRC))
UNIT_BINS_ASAN = $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRC))

.PHONY: FORCE all help fuzz fuzz-build deps run test unit unit-asan integration integration-asan chaos cluster cluster-asan install clean fixtures bench
.SECONDARY:

# The compiler flags come from pkg-config, read when make starts: on a
# fresh machine the packages are installed first and the build is a second
# make that reads them.
all: deps
	@$(MAKE) --no-print-directory build/berthd build/berth-init

help:
	@echo "make              build build/berthd and build/berth-init (the default)"
	@echo "make run          install missing Debian packages, build, start berthd (ARGS=... for flags)"
	@echo "make test         install, build plain and ASan/UBSan, run every unit and integration test"
	@echo "make unit         unit tests (cmocka) of the plain build"
	@echo "make integration  integration tests through the docker CLI and docker-py (PYTEST_ARGS=...)"
	@echo "make cluster      multi-node tests: berthd hosts in network namespaces on a lab bridge"
	@echo "make unit-asan, make integration-asan   the same under ASan/UBSan"
	@echo "make chaos        kill -9 the daemon CHAOS_KILLS times (100) under a workload and check its state"
	@echo "make deps         install the Debian packages the build and the tests need"
	@echo "make fixtures     build the busybox test images into build/fixtures"
	@echo "make bench        the benchmarks in bench/ (figures go to docs/benchmarks.md by hand)"
	@echo "make install      install berthd, berth-init and the systemd units (PREFIX, DESTDIR)"
	@echo "make clean        remove build/"

# The init berthd runs as PID 1 for --init: static, so it works in any image.
# It is also live restore's per-container monitor (berth_monitor.c).
build/berth-init: runtime/linux/init/berth_init.c runtime/linux/init/berth_monitor.c runtime/linux/monitor_proto.h
	@mkdir -p build
	@echo "  CC $@"
	@$(CC) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -static -Os -o $@ $(filter %.c,$^)

# Installs only what is missing, so a second run is fast and works offline.
deps:
	@missing=$$(for p in $(PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The sanitizer build finds its init beside itself, like the plain one.
build/asan/berth-init: build/berth-init
	@mkdir -p build/asan
	@cp $< $@

run: deps
	@$(MAKE) --no-print-directory build/berthd build/berth-init
	./build/berthd $(ARGS)

fixtures: deps
	/usr/bin/python3 tests/fixtures/mkimages.py build/fixtures

unit: build/berthd build/berth-init $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

unit-asan: build/asan/berthd build/asan/berth-init $(UNIT_BINS_ASAN)
	@set -e; for t in $(UNIT_BINS_ASAN); do echo "== $$t"; $$t; done

integration: build/berthd build/berth-init fixtures
	BERTHD=$(CURDIR)/build/berthd $(PYTEST) tests/integration $(PYTEST_ARGS)

# The long pass of the kill -9 chaos test (the default run has 20 kills).
CHAOS_KILLS ?= 100
chaos: build/berthd build/berth-init fixtures
	BERTHD=$(CURDIR)/build/berthd BERTH_CHAOS_KILLS=$(CHAOS_KILLS) /usr/bin/python3 -m pytest -q -s tests/integration/test_chaos.py

integration-asan: build/asan/berthd build/asan/berth-init fixtures
	BERTHD=$(CURDIR)/build/asan/berthd BERTH_SANITIZED=1 $(PYTEST) tests/integration $(PYTEST_ARGS)

# Several berthd hosts in network namespaces on a lab bridge (tests/cluster).
cluster: build/berthd build/berth-init fixtures
	BERTHD=$(CURDIR)/build/berthd $(PYTEST) tests/cluster $(PYTEST_ARGS)

cluster-asan: build/asan/berthd build/asan/berth-init fixtures
	BERTHD=$(CURDIR)/build/asan/berthd BERTH_SANITIZED=1 $(PYTEST) tests/cluster $(PYTEST_ARGS)

test: deps
	/usr/bin/python3 docs/gen_compatibility.py --check
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) cluster
	$(MAKE) unit-asan
	$(MAKE) integration-asan
	$(MAKE) cluster-asan
	$(MAKE) fuzz FUZZ_SECONDS=$(CI_FUZZ_SECONDS)

PREFIX ?= /usr/local
install: deps
	@$(MAKE) --no-print-directory build/berthd build/berth-init
	install -D -m 0755 build/berthd $(DESTDIR)$(PREFIX)/bin/berthd
	install -D -m 0755 build/berth-init $(DESTDIR)$(PREFIX)/bin/berth-init
	install -D -m 0644 deploy/berthd.service $(DESTDIR)/etc/systemd/system/berthd.service
	install -D -m 0644 deploy/berthd.socket $(DESTDIR)/etc/systemd/system/berthd.socket
	install -d -m 0755 $(DESTDIR)/etc/docker
	getent group docker >/dev/null || groupadd --system docker

bench: build/berthd build/berth-init fixtures
	/usr/bin/python3 bench/targets.py
	bench/run.sh
	/usr/bin/python3 bench/containers.py
	/usr/bin/python3 bench/network.py
	/usr/bin/python3 bench/cluster.py

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang against the
# daemon's own objects compiled with coverage, ASan and UBSan.  `make fuzz`
# runs each for FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus/NAME);
# what it finds is written to build/fuzz/crashes/ and fails the run.
FUZZ_CC = clang
FUZZ_SECONDS ?= 30
CI_FUZZ_SECONDS ?= 5
FUZZ_CFLAGS = $(filter-out -Werror -Wno-format-truncation,$(CFLAGS_BASE)) -O1 -g \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS = $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC(fuzz) $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
build/fuzz/obj/runtime/linux/seccomp_default.o: runtime/linux/seccomp_default.json
build/fuzz/obj/api/system.o: build/gen/git_commit.h

build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRC))
	@echo "  LD $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-build: deps $(FUZZ_BINS)

fuzz: fuzz-build
	@mkdir -p build/fuzz/crashes
	@set -e; for t in $(FUZZ_BINS); do n=$$(basename $$t); \
		mkdir -p build/fuzz/corpus/$$n; \
		echo "== $$n ($(FUZZ_SECONDS) s)"; \
		$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
			-artifact_prefix=build/fuzz/crashes/$$n- -print_final_stats=1 \
			build/fuzz/corpus/$$n tests/fuzz/corpus/$$n 2>build/fuzz/$$n.log || \
			{ tail -40 build/fuzz/$$n.log; exit 1; }; \
		grep -E 'DONE|stat::average_exec_per_sec' build/fuzz/$$n.log | tail -2; \
	done

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
