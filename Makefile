# mlwatch: CO-RE eBPF sensors + C collector.
#   make run    install what is missing (Debian 12, as root), build, run mlwatch
#   make test   the same set-up, then every test (unit + end-to-end)
#   make bench  overhead benchmark (ratios against bare and the empty-program floor)

.DEFAULT_GOAL := all
OUTPUT    := .output
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= cc
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION   := 0.1.0

# Packages a fresh Debian 12 machine needs for build, tests and benchmarks.
BUILD_PKGS := clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libcjson-dev \
	      pkg-config make gcc libclang-rt-14-dev libssl-dev
TEST_PKGS  := python3 python3-torch python3-numpy python3-joblib python3-sklearn python3-h5py \
	      iproute2 procps curl p7zip-full
DEPS_STAMP := $(OUTPUT)/.deps-$(shell echo $(BUILD_PKGS) $(TEST_PKGS) | md5sum | cut -c1-8)

CFLAGS    ?= -g -O2
CFLAGS    += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE \
	     -Iinclude -Iuser -I$(OUTPUT) -DMLWATCH_VERSION='"$(VERSION)"'
LDLIBS    := -lbpf -lelf -lz -lcjson -lcrypto -lpthread
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
	      -Ivmlinux/$(ARCH) -Iinclude -Ibpf

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS  := $(wildcard bpf/*.h) $(wildcard include/mlwatch/*.h)
USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
USER_HDRS := $(wildcard user/*.h) $(wildcard include/mlwatch/*.h)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	       -std=gnu11 -D_GNU_SOURCE -Iinclude -Iuser
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

.PHONY: all deps run test unit bench fuzz fuzz-build cross-check clean
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

$(OUTPUT)/user/%.o: user/%.c $(USER_HDRS) $(OUTPUT)/mlwatch.skel.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/libmlwatch.a: $(USER_OBJS)
	ar rcs $@ $^

mlwatch: $(OUTPUT)/user/main.o $(OUTPUT)/libmlwatch.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c tests/unit/check.h tests/unit/samples.h $(OUTPUT)/libmlwatch.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit $< $(OUTPUT)/libmlwatch.a $(LDLIBS) -o $@

unit: $(UNIT_BINS)

# libFuzzer targets for the parsers of untrusted bytes (clang only).
$(OUTPUT)/fuzz/fuzz_modelfmt: tests/fuzz/fuzz_modelfmt.c user/modelfmt.c user/modelfmt.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_modelfmt.c user/modelfmt.c -lz -o $@

$(OUTPUT)/fuzz/fuzz_decode: tests/fuzz/fuzz_decode.c user/decode.c user/decode.h user/pathres.c include/mlwatch/events.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_decode.c user/decode.c user/pathres.c user/procfs.c -o $@

RULEFILE_FUZZ_SRCS := user/rulefile.c user/rules_cmd.c user/rules.c user/pathclass.c user/netclass.c user/textsan.c
$(OUTPUT)/fuzz/fuzz_rulefile: tests/fuzz/fuzz_rulefile.c $(RULEFILE_FUZZ_SRCS) $(USER_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_rulefile.c $(RULEFILE_FUZZ_SRCS) -lcjson -o $@

BLOCKLIST_FUZZ_SRCS := user/blocklist.c user/hfcache.c user/textsan.c
$(OUTPUT)/fuzz/fuzz_blocklist: tests/fuzz/fuzz_blocklist.c $(BLOCKLIST_FUZZ_SRCS) $(USER_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_blocklist.c $(BLOCKLIST_FUZZ_SRCS) -lcjson -o $@

# The model scanner's parsers (pickle, zip, npy, joblib, tar, legacy torch,
# ...) share one rule: each target links the whole scanner.
SCAN_FUZZ_SRCS := $(wildcard user/pickle_scan.c user/pickle_strings.c user/pickle_joblib.c user/pickle_frame.c \
	user/pickle_scan_json.c user/pickle_profiles.c user/textsan.c \
	user/bytesrc.c user/zinflate.c user/zipread.c user/npy.c user/tarread.c \
	user/safetensors.c user/gguf.c user/chat_template.c user/keras_scan.c user/modelfmt.c \
	user/model_scan.c user/model_scan_json.c user/scan_archive.c user/scan_findings.c user/scan_leaf.c user/model_inert.c user/onnx.c)
$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(SCAN_FUZZ_SRCS) $(USER_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $< $(SCAN_FUZZ_SRCS) -lcjson -lz -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build
	bash tests/fuzz/run.sh

run: deps mlwatch
	./mlwatch

test: deps mlwatch unit fuzz-build cross-check
	bash tests/run.sh

bench: deps mlwatch
	bash tests/bench/run.sh
	bash tests/bench/scan.sh

clean:
	rm -rf $(OUTPUT) mlwatch
