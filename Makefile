# mlwatch: CO-RE eBPF sensors + C collector.
#   make run    install what is missing (Debian 12, as root), build, run mlwatch
#   make test   the same set-up, then every test (unit + end-to-end)
#   make bench  overhead benchmark (ratios against bare and the empty-program floor),
#               static scan speed, and the collector's tables under a process storm
#   make lint   the C style (.clang-format); make format applies it

.DEFAULT_GOAL := all
OUTPUT    := .output
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= cc
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION   := 0.1.0

# Packages a fresh Debian 12 machine needs for build, tests and benchmarks.
BUILD_PKGS := clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libcjson-dev \
	      pkg-config make gcc libclang-rt-14-dev libssl-dev clang-format \
	      libcurl4-openssl-dev
TEST_PKGS  := python3 python3-torch python3-numpy python3-joblib python3-sklearn python3-h5py \
	      iproute2 procps curl p7zip-full rsyslog rsyslog-gnutls openssl prometheus python3-yaml
DEPS_STAMP := $(OUTPUT)/.deps-$(shell echo $(BUILD_PKGS) $(TEST_PKGS) | md5sum | cut -c1-8)

CFLAGS    ?= -g -O2
CFLAGS    += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE \
	     -Iinclude -Iuser -I$(OUTPUT) -DMLWATCH_VERSION='"$(VERSION)"'
DEPFLAGS   = -MMD -MP
LDLIBS    := -lbpf -lelf -lz -lcjson -lcurl -lssl -lcrypto -lpthread
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
	      -Ivmlinux/$(ARCH) -Iinclude -Ibpf

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS  := $(wildcard bpf/*.h) $(wildcard include/mlwatch/*.h)

# user/ by component, in the order data flows; a folder may call only the
# folders before it (tests/layout checks it on the built objects).
SCAN_DIRS := lib scan/formats scan/pickle scan
USER_DIRS := $(SCAN_DIRS) collect detect config sense inventory output forward/format forward \
	     cluster metrics pipeline cmd
src_of     = $(foreach d,$(1),$(wildcard user/$(d)/*.c))
obj_of     = $(patsubst user/%.c,$(2)/%.o,$(call src_of,$(1)))
# The scanner is a library of its own (it calls nothing else of mlwatch);
# libmlwatch.a is the rest. Link both, libmlwatch.a first.
SCAN_OBJS := $(call obj_of,$(SCAN_DIRS),$(OUTPUT)/user)
MLW_OBJS  := $(call obj_of,$(filter-out $(SCAN_DIRS),$(USER_DIRS)),$(OUTPUT)/user)
LIBS      := $(OUTPUT)/libmlwatch.a $(OUTPUT)/libmlwscan.a
UNIT_SRCS := $(shell find tests/unit -name 'test_*.c')
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	       -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -Iuser
# Every tests/fuzz/fuzz_<name>.c is a target; tests/fuzz/corpus/<name> seeds it.
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

# The sensors also compile for the other architecture of GPU nodes (arm64
# Grace Hopper, or x86 from arm64): CI runs on one, this keeps both honest.
OTHER_ARCH := $(if $(filter x86,$(ARCH)),arm64,x86)
$(OUTPUT)/cross/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(subst $(ARCH),$(OTHER_ARCH),$(BPF_CFLAGS)) -mcpu=$(BPF_CPU) -c $< -o $@
$(OUTPUT)/cross/model_match.bpf.o: BPF_CPU := v2
$(OUTPUT)/cross/mlwatch.bpf.o: $(patsubst bpf/%.bpf.c,$(OUTPUT)/cross/%.bpf.o,$(BPF_SRCS))
	$(BPFTOOL) gen object $@ $^
cross-check: $(OUTPUT)/cross/mlwatch.bpf.o

.PHONY: all deps run test unit bench fuzz fuzz-build cross-check lint format clean
.DELETE_ON_ERROR:

all: mlwatch

# Install only what is missing; apt-get update once, and only when needed.
deps: $(DEPS_STAMP)
$(DEPS_STAMP):
	@missing=$$(for p in $(BUILD_PKGS) $(TEST_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "mlwatch: installing:" $$missing; \
		[ "$$(id -u)" = 0 ] || { echo "mlwatch: run as root to install packages" >&2; exit 1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p $(OUTPUT) && touch $@

# v3 for the atomic bit operations of the fast-path bitmaps; the path
# matcher's loops verify far faster as v2 code (see model_match.bpf.c).
BPF_CPU := v3
$(OUTPUT)/bpf/model_match.bpf.o: BPF_CPU := v2

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -mcpu=$(BPF_CPU) -c $< -o $@

# Each sensor family is its own object; bpftool links them into one.
$(OUTPUT)/mlwatch.bpf.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@ $^

$(OUTPUT)/mlwatch.skel.h: $(OUTPUT)/mlwatch.bpf.o
	$(BPFTOOL) gen skeleton $< name mlwatch_bpf > $@

# Header dependencies come from the compiler (-MMD); only sense/ includes
# the BPF skeleton, so only sense/ waits for the BPF build.
$(OUTPUT)/user/%.o: user/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/user/sense/%.o: user/sense/%.c $(OUTPUT)/mlwatch.skel.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/libmlwscan.a: $(SCAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(OUTPUT)/libmlwatch.a: $(MLW_OBJS)
	@rm -f $@
	ar rcs $@ $^

mlwatch: $(OUTPUT)/user/main.o $(LIBS)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# tests/unit mirrors user/: a scanner test links the scanner alone, so a
# call from the scanner into the rest of mlwatch fails to link.
$(OUTPUT)/tests/%: tests/unit/%.c $(LIBS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Itests/unit $< $(if $(filter lib/% scan/%,$*),$(OUTPUT)/libmlwscan.a,$(LIBS)) $(LDLIBS) -o $@

unit: $(UNIT_BINS)

# BPF unit tests (BPF_PROG_TEST_RUN): a syscall program linked with the
# product's model_match.bpf.o runs the kernel's path matcher on a table of
# paths; the binary needs root.
BPF_TEST_OUT := $(OUTPUT)/tests/sense

$(BPF_TEST_OUT)/model_match_test.bpf.o: bpf/tests/model_match_test.bpf.c bpf/tests/model_match_test.h \
		$(BPF_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -mcpu=$(BPF_CPU) -c $< -o $@

$(BPF_TEST_OUT)/model_match_test.linked.bpf.o: $(BPF_TEST_OUT)/model_match_test.bpf.o \
		$(OUTPUT)/bpf/model_match.bpf.o
	$(BPFTOOL) gen object $@ $^

$(BPF_TEST_OUT)/model_match_test.skel.h: $(BPF_TEST_OUT)/model_match_test.linked.bpf.o
	$(BPFTOOL) gen skeleton $< name model_match_test_bpf > $@

$(BPF_TEST_OUT)/test_model_match_bpf: tests/unit/sense/test_model_match_bpf.c \
		$(BPF_TEST_OUT)/model_match_test.skel.h $(LIBS) | $(DEPS_STAMP)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Itests/unit -Ibpf/tests -I$(BPF_TEST_OUT) $< $(LIBS) $(LDLIBS) -o $@


# libFuzzer targets for the parsers of untrusted bytes (clang only): the
# scanner, and the folders the other parsers (records, rules files,
# blocklists) live in, built with the sanitizers.
FUZZ_SCAN_OBJS := $(call obj_of,$(SCAN_DIRS),$(OUTPUT)/fuzz/obj)
FUZZ_MLW_OBJS  := $(call obj_of,collect detect forward/format,$(OUTPUT)/fuzz/obj) \
		  $(OUTPUT)/fuzz/obj/cmd/rules_cmd.o $(OUTPUT)/fuzz/obj/config/outputs_conf.o \
		  $(OUTPUT)/fuzz/obj/cluster/podjson.o $(OUTPUT)/fuzz/obj/config/listen_addr.o \
		  $(OUTPUT)/fuzz/obj/metrics/httpreq.o $(OUTPUT)/fuzz/obj/metrics/expo.o \
		  $(OUTPUT)/fuzz/obj/output/workload_render.o
FUZZ_LIBS      := $(OUTPUT)/fuzz/libmlwatch.a $(OUTPUT)/fuzz/libmlwscan.a

$(OUTPUT)/fuzz/obj/%.o: user/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/fuzz/libmlwscan.a: $(FUZZ_SCAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(OUTPUT)/fuzz/libmlwatch.a: $(FUZZ_MLW_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $(DEPFLAGS) $< $(FUZZ_LIBS) -lcjson -lz -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build
	bash tests/fuzz/run.sh

# The C style (.clang-format, clang-format 14 as Debian 12 ships it): check
# only; `make format` rewrites the files.
LINT_SRCS = $(shell find user bpf include/mlwatch tests/unit tests/fuzz tests/bench \
		-name '*.[ch]' -not -path '*/corpus/*')
lint: deps
	clang-format --dry-run --Werror $(LINT_SRCS)

format: deps
	clang-format -i $(LINT_SRCS)

run: deps mlwatch
	./mlwatch

test: deps mlwatch unit fuzz-build cross-check
	bash tests/run.sh

bench: deps mlwatch
	bash tests/bench/run.sh
	bash tests/bench/scan.sh
	bash tests/bench/tables.sh
	bash tests/bench/forward.sh

clean:
	rm -rf $(OUTPUT) mlwatch

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
