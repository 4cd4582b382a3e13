# SPDX-License-Identifier: Apache-2.0
# memtide — build, run, test, bench.
# `make run` and `make test` install what they miss (see `deps`), so a fresh
# Debian 12 machine needs nothing done by hand.

# make SANITIZE=1 ...: the same build with ASan and UBSan, in its own directory.
SANITIZE  ?=
ifeq ($(SANITIZE),1)
OUTPUT    := build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
OUTPUT    := build
SAN_FLAGS :=
endif
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= cc
ARCH      := x86
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
CONFIG    ?= config/memtide.yaml

CFLAGS    ?= -O2 -g
CFLAGS    += $(SAN_FLAGS) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP \
             -I$(OUTPUT) -Iuser -Ibpf -DMEMTIDE_VERSION='"$(VERSION)"'
# usdt.bpf.h includes <linux/errno.h>, whose <asm/errno.h> is in the multiarch directory.
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Ibpf -Wall -Werror \
	      -idirafter /usr/include/$(shell $(CC) -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
LDLIBS    := -lbpf -ldw -lelf -lz -lyaml -lmicrohttpd -ljson-c -lprotobuf-c -lpthread -lm

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
LIB_SRCS  := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS  := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(LIB_SRCS))
# Protocol buffer schemas (user/*.proto: pprof's profile), made into C by
# protoc-c in the build directory; generated code is neither formatted nor linted.
PROTO_SRCS := $(wildcard user/*.proto)
PROTO_GEN := $(patsubst user/%.proto,$(OUTPUT)/%.pb-c.c,$(PROTO_SRCS)) \
	     $(patsubst user/%.proto,$(OUTPUT)/%.pb-c.h,$(PROTO_SRCS))
PROTO_HDRS := $(patsubst user/%.proto,$(OUTPUT)/%.pb-c.h,$(PROTO_SRCS))
LIB_OBJS  += $(patsubst user/%.proto,$(OUTPUT)/%.pb-c.o,$(PROTO_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
TARGET_SRCS := $(filter-out tests/targets/lib%.c,$(wildcard tests/targets/*.c))
TARGET_BINS := $(patsubst tests/targets/%.c,$(OUTPUT)/targets/%,$(TARGET_SRCS)) \
	$(patsubst tests/targets/%.cc,$(OUTPUT)/targets/%,$(wildcard tests/targets/*.cc)) \
	$(OUTPUT)/targets/libsdtsite.so $(OUTPUT)/targets/libhooksite.so
TOOL_BINS := $(OUTPUT)/tools/sitesdump
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(OUTPUT)/bench/%,$(BENCH_SRCS))
# Helpers the integration tests run (linked with the agent's objects, like unit tests).
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(OUTPUT)/tools/%,$(TOOL_SRCS))

# libFuzzer harnesses (tests/fuzz/), built with clang into their own directory.
# The agent's modules go into an archive, so each harness links only those it
# calls into; the skeleton headers are the normal build's.
FUZZ_OUT  := build-fuzz
FUZZ_CC   ?= clang-14
FUZZ_SECONDS ?= 300
FUZZ_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	       -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP \
	       -I$(OUTPUT) -Iuser -Ibpf -DMEMTIDE_VERSION='"$(VERSION)"'
FUZZ_LIB_OBJS := $(patsubst user/%.c,$(FUZZ_OUT)/user/%.o,$(LIB_SRCS)) \
		 $(patsubst user/%.proto,$(FUZZ_OUT)/%.pb-c.o,$(PROTO_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(FUZZ_SRCS))

# Debian packages the build, the tests and the benchmarks need.
DEPS_PKGS := gcc g++ libc6-dev clang llvm bpftool libbpf-dev libelf-dev libdw-dev zlib1g-dev libyaml-dev \
             libmicrohttpd-dev libcurl4-openssl-dev libjson-c-dev libcmocka-dev pkg-config make \
             curl jq prometheus prometheus-pushgateway prometheus-alertmanager \
             libc-devtools util-linux procps python3 libclang-rt-14-dev clang-format systemd \
             libprotobuf-c-dev protobuf-c-compiler golang-go systemtap-sdt-dev binutils strace

# Quiet by default ("  CC      user/x.o"); make V=1 prints every command.
ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-7s %s\n' '$(1)' '$(2)';
endif

# A recipe that fails leaves no half-written target behind for the next make.
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS) $(PROTO_GEN)
.PHONY: all deps run test unit integration bench vmlinux clean format format-check sanitized \
	targets tools fuzz fuzz-build soak install uninstall image deps-image deps-bench
all: $(OUTPUT)/memtide $(OUTPUT)/libmemtide_hook.so

deps:
	@missing=$$(for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests $(OUTPUT)/targets $(OUTPUT)/bench $(OUTPUT)/tools:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c | $(OUTPUT)
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# One protoc-c run writes both files.
$(OUTPUT)/%.pb-c.c $(OUTPUT)/%.pb-c.h: user/%.proto | $(OUTPUT)
	$(call msg,PROTOC,$<)
	$(Q)protoc-c --c_out=$(OUTPUT) -Iuser $<

$(OUTPUT)/%.pb-c.o: $(OUTPUT)/%.pb-c.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The skeletons and generated headers exist before any object is compiled;
# which object includes which, the -MMD dependency files say once it has been built.
$(OUTPUT)/user/%.o: user/%.c | $(SKELS) $(PROTO_HDRS) $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The control hook targets preload: its own flags, no dependency on the agent.
$(OUTPUT)/libmemtide_hook.so: user/hook/memtide_hook.c user/hook/hook_count.c user/hook/hook_count.h \
		user/hook/hook_sample.c user/hook/hook_sample.h user/hook/hook_alloc.c \
		user/hook/hook_thread.h bpf/hook.h | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP -Ibpf -fPIC -fno-plt -shared \
		-fno-omit-frame-pointer -fvisibility=hidden user/hook/memtide_hook.c user/hook/hook_count.c \
		user/hook/hook_alloc.c user/hook/hook_sample.c -lpthread -lm -o $@

$(OUTPUT)/memtide: $(OUTPUT)/user/main.o $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -DSOURCE_DIR='"$(CURDIR)"' -DTARGETS_DIR='"$(CURDIR)/build/targets"' \
		$< $(LIB_OBJS) $(LDLIBS) -lcmocka -o $@

# Its fixtures are ELF files built from tests/targets (always build/'s).
$(OUTPUT)/tests/test_usdt_notes: build/targets/sdtalloc build/targets/libsdtsite.so \
	build/targets/heapdriver

# Drivers the integration tests run, linked with the agent's objects.
$(OUTPUT)/tools/%: tests/tools/%.c $(LIB_OBJS) | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

tools: $(TOOL_BINS)

# Test drivers of agent modules (tests/tools/), linked like the unit tests.
$(OUTPUT)/tools/%: tests/tools/%.c $(LIB_OBJS) | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

$(OUTPUT)/bench/%: tests/bench/%.c $(LIB_OBJS) | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

$(OUTPUT)/targets/static_%: tests/targets/static_%.c | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) -O1 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP -static $< -o $@

# The symbolization target: PIE, -g, -O0 (no inlining), its library beside it.
$(OUTPUT)/targets/libsymlib.so: tests/targets/lib/symlib.c | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -std=c11 -Wall -Wextra -Werror -fPIC -shared $< -o $@

$(OUTPUT)/targets/symtarget: tests/targets/symtarget.c $(OUTPUT)/targets/libsymlib.so | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIE -pie $< \
		-L$(OUTPUT)/targets -lsymlib -Wl,-rpath,'$$ORIGIN' -o $@

$(OUTPUT)/targets/%: tests/targets/%.c | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) -O1 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP -Ibpf $< -lpthread -lm -o $@

# The OpenTelemetry USDT contract without memtide's hook (<sys/sdt.h>): an
# executable and its shared library, both with frame pointers for the stacks.
$(OUTPUT)/targets/libsdtsite.so: tests/targets/libsdtsite.c tests/targets/sdtsample.h | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) -O1 -g -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC \
		-shared $< -o $@

$(OUTPUT)/targets/sdtalloc: tests/targets/sdtalloc.c tests/targets/sdtsample.h \
		$(OUTPUT)/targets/libsdtsite.so | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) -O1 -g -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $< \
		-L$(OUTPUT)/targets -lsdtsite -Wl,-rpath,'$$ORIGIN' -o $@

# Allocation sites under the hook's sampler: frame pointers, a library site.
$(OUTPUT)/targets/libhooksite.so: tests/targets/libhooksite.c | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) -O1 -g -fno-omit-frame-pointer -std=c11 -Wall -Wextra -Werror -fPIC -shared $< -o $@

$(OUTPUT)/targets/hooksites: tests/targets/hooksites.c $(OUTPUT)/targets/libhooksite.so | $(OUTPUT)/targets
	$(call msg,CC,$@)
	$(Q)$(CC) -O1 -g -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $< \
		-L$(OUTPUT)/targets -lhooksite -Wl,-rpath,'$$ORIGIN' -o $@

# C++ targets: new/delete through libstdc++.
$(OUTPUT)/targets/%: tests/targets/%.cc | $(OUTPUT)/targets
	$(call msg,CXX,$@)
	$(Q)g++ -O1 -g -std=c++17 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP -Ibpf $< -ldl -o $@

targets: $(TARGET_BINS)

$(FUZZ_OUT)/user:
	$(Q)mkdir -p $@

$(FUZZ_OUT)/user/%.o: user/%.c | $(SKELS) $(PROTO_HDRS) $(FUZZ_OUT)/user
	$(call msg,CC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/%.pb-c.o: $(OUTPUT)/%.pb-c.c | $(FUZZ_OUT)/user
	$(call msg,CC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/libmemtide.a: $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OUT)/libmemtide.a
	$(call msg,CC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/fuzz -fsanitize=fuzzer $< $(FUZZ_OUT)/libmemtide.a \
		$(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

# Every harness for FUZZ_SECONDS (make test runs them briefly, see tests/run.sh).
fuzz: deps fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS)

# Host install (README "Install on a host"). The agent goes to $(PREFIX)/sbin,
# the hook to $(PREFIX)/lib/memtide, the unit to $(PREFIX)/lib/systemd/system
# (systemd reads both /usr/local/lib/systemd/system and /usr/lib/systemd/system)
# with ExecStart and Documentation pointing into PREFIX. The configuration is
# always /etc/memtide/memtide.yaml, installed only if absent; uninstall removes
# it only while it is the shipped file unchanged. DESTDIR stages into a tree.
PREFIX    ?= /usr/local
SBINDIR   := $(PREFIX)/sbin
LIBDIR    := $(PREFIX)/lib/memtide
UNITDIR   := $(PREFIX)/lib/systemd/system
DOCDIR    := $(PREFIX)/share/doc/memtide
CONFDIR   := /etc/memtide

install: all
	install -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(CONFDIR)
	install -m 0755 $(OUTPUT)/memtide $(DESTDIR)$(SBINDIR)/memtide
	install -m 0755 $(OUTPUT)/libmemtide_hook.so $(DESTDIR)$(LIBDIR)/libmemtide_hook.so
	sed 's|/usr/local/|$(PREFIX)/|g' deploy/systemd/memtide.service >$(DESTDIR)$(UNITDIR)/memtide.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/memtide.service.tmp
	mv $(DESTDIR)$(UNITDIR)/memtide.service.tmp $(DESTDIR)$(UNITDIR)/memtide.service
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	@if [ -e $(DESTDIR)$(CONFDIR)/memtide.yaml ]; then \
		echo "install: keeping $(DESTDIR)$(CONFDIR)/memtide.yaml"; \
	else \
		install -m 0644 config/memtide.yaml $(DESTDIR)$(CONFDIR)/memtide.yaml; \
	fi
	@[ -n "$(DESTDIR)" ] || echo "install: now systemctl daemon-reload && systemctl enable --now memtide"

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/memtide $(DESTDIR)$(LIBDIR)/libmemtide_hook.so \
		$(DESTDIR)$(UNITDIR)/memtide.service $(DESTDIR)$(DOCDIR)/README.md
	-rmdir $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null
	@if cmp -s config/memtide.yaml $(DESTDIR)$(CONFDIR)/memtide.yaml; then \
		rm -f $(DESTDIR)$(CONFDIR)/memtide.yaml; rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null; \
	elif [ -e $(DESTDIR)$(CONFDIR)/memtide.yaml ]; then \
		echo "uninstall: keeping the modified $(DESTDIR)$(CONFDIR)/memtide.yaml"; \
	fi; true

run: deps $(OUTPUT)/memtide
	$(OUTPUT)/memtide --config $(CONFIG)

# The unit tests, built and run; they need no root.
unit: $(UNIT_BINS)
	tests/run.sh --unit $(OUTPUT)

# The integration tests on this build (as root: they load BPF programs).
integration: deps all $(TARGET_BINS) $(TOOL_BINS)
	tests/run.sh --integration $(OUTPUT)

# Every test twice: on the normal build, then on the sanitizer build of the
# agent and the unit tests (targets and the hook stay unsanitized: they stand
# for other people's programs).
test: deps deps-image format-check all $(UNIT_BINS) $(TARGET_BINS) $(TOOL_BINS) $(BENCH_BINS) \
	fuzz-build
	$(MAKE) --no-print-directory SANITIZE=1 sanitized
	tests/run.sh build build-san

sanitized: $(OUTPUT)/memtide $(UNIT_BINS) $(TOOL_BINS)

# The churn soak at length (make test runs 20 s of it).
SOAK_SECONDS ?= 600
soak: deps all $(TARGET_BINS)
	SOAK_SECONDS=$(SOAK_SECONDS) bash tests/integration/test_churn.sh

# The benchmarks' own packages: the exporter memtide is compared with.
BENCH_PKGS := prometheus-process-exporter
deps-bench:
	@$(MAKE) --no-print-directory deps DEPS_PKGS="$(BENCH_PKGS)"

bench: deps deps-bench all $(TARGET_BINS) $(BENCH_BINS)
	tests/bench/run.sh

# The container image (deploy/Containerfile) and the deployment tests (tests/deploy/):
# podman with runc, a Debian 12 base made from Debian's packages by mmdebstrap (no
# registry needed), python3-yaml and npm for the manifests' checks. The base is
# imported once (its tarball cached in build/image/), so later builds reuse podman's
# layer cache. IMAGE_TAGS name the result.
IMAGE_PKGS := podman runc mmdebstrap python3-yaml
IMAGE_TAGS ?= localhost/memtide:$(VERSION) localhost/memtide:latest
IMAGE_BASE := localhost/memtide-base:bookworm
PODMAN     := CONTAINERS_CONF=$${CONTAINERS_CONF:-$(CURDIR)/deploy/podman/containers.conf} podman

deps-image:
	@$(MAKE) --no-print-directory deps DEPS_PKGS="$(IMAGE_PKGS)"
	@command -v npm >/dev/null || $(MAKE) --no-print-directory deps DEPS_PKGS=npm

build/image/base.tar:
	mkdir -p $(@D)
	mmdebstrap --variant=minbase --quiet --format=tar bookworm $@.tmp && mv $@.tmp $@

image: deps-image
	@$(PODMAN) image exists $(IMAGE_BASE) || { $(MAKE) --no-print-directory build/image/base.tar && \
		$(PODMAN) import -q build/image/base.tar $(IMAGE_BASE) >/dev/null; }
	$(PODMAN) build -q --network host -f deploy/Containerfile --build-arg BASE=$(IMAGE_BASE) \
		--build-arg VERSION=$(VERSION) $(addprefix -t ,$(IMAGE_TAGS)) .

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

# Every C source, the hook and the tests included, in the kernel style of
# .clang-format; `make test` fails on any file clang-format would change.
FORMAT_SRCS := $(wildcard user/*.[ch] user/hook/*.[ch] bpf/*.[ch] tests/unit/*.c \
		 tests/targets/*.c tests/targets/*.cc tests/targets/lib/*.c tests/tools/*.[ch] \
		 tests/fuzz/*.[ch] tests/bench/*.[ch])

format:
	clang-format -i $(FORMAT_SRCS)

format-check: deps
	@clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "format-check: $(words $(FORMAT_SRCS)) files formatted"

clean:
	rm -rf build build-san $(FUZZ_OUT)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/user/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/targets/*.d $(OUTPUT)/bench/*.d \
		     $(OUTPUT)/tools/*.d \
		     $(FUZZ_OUT)/*.d $(FUZZ_OUT)/user/*.d)
