# SPDX-License-Identifier: MIT
#
# ugpu build. Sources are found by folder, so a new module or test needs
# no edit here:
#   daemon/{core,mm,dev,gpu,front}/*.c  -> $(B)/libugpud.a (daemon internals)
#   daemon/main.c                      -> $(B)/ugpud
#   libclient/*.c                      -> $(B)/libugpu.so, $(B)/libugpu.a
#   tools/bench/*.c                    -> $(B)/ugpu-bench
#   tools/ugpuctl/*.c                  -> $(B)/ugpuctl
#   tests/unit/X_test.c                -> $(B)/tests/unit/X_test
#   tests/integration/X_test.c         -> $(B)/tests/integration/X_test
#   tests/helpers/X.c                  -> $(B)/tests/helpers/X (client programs,
#                                         with tests/helpers/lib/*.c and libugpu)
#   tests/lib/*.c                      -> linked into every test
#
# `make check` and `make demo` first run `make deps` (Debian packages),
# then re-enter make so pkg-config sees what was just installed.

PREFIX  ?= /usr/local
DESTDIR ?=
SANITIZE ?=
# Extra -D switches for test builds, e.g. NOTIFIER_BROKEN=skip_set_seq.
DEFS ?=

ifeq ($(SANITIZE),)
B ?= build
SANFLAGS :=
else
B ?= build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

PKGS    := fuse3 libevent libevent_pthreads liburing libsystemd
CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
           -D_GNU_SOURCE -pthread -fPIC -I. -Idaemon -Ilibclient \
           $(SANFLAGS) $(DEFS)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)
LDFLAGS += $(SANFLAGS) -pthread

DAEMON_SRCS := $(wildcard daemon/core/*.c daemon/mm/*.c daemon/dev/*.c \
                          daemon/gpu/*.c daemon/front/*.c)
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(B)/%.o)
LIBCLIENT_SRCS := $(wildcard libclient/*.c)
LIBCLIENT_OBJS := $(LIBCLIENT_SRCS:%.c=$(B)/%.o)
BENCH_SRCS  := $(wildcard tools/bench/*.c)
BENCH_OBJS  := $(BENCH_SRCS:%.c=$(B)/%.o)
CTL_SRCS    := $(wildcard tools/ugpuctl/*.c)
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(B)/%.o)
UNIT_TESTS  := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(wildcard tests/unit/*_test.c))
INTEG_TESTS := $(patsubst tests/integration/%.c,$(B)/tests/integration/%,$(wildcard tests/integration/*_test.c))
HELPERS     := $(patsubst tests/helpers/%.c,$(B)/tests/helpers/%,$(wildcard tests/helpers/*.c))
HELPERLIB_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard tests/helpers/lib/*.c))
STRESS      := $(patsubst tests/stress/%.c,$(B)/tests/stress/%,$(wildcard tests/stress/*_stress.c))

PROGS := $(B)/ugpu-bench
ifneq ($(wildcard daemon/main.c),)
PROGS += $(B)/ugpud
endif
ifneq ($(CTL_SRCS),)
PROGS += $(B)/ugpuctl
endif
LIBS := $(B)/libugpud.a
ifneq ($(LIBCLIENT_SRCS),)
LIBS += $(B)/libugpu.so $(B)/libugpu.a $(B)/ugpu.pc
endif

.PHONY: all deps check _check demo _demo install clean tests check-mutants check-stress _check-stress \
	check-hw
.SECONDARY:

all: $(LIBS) $(PROGS) $(HELPERS)

deps:
	@scripts/deps.sh

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/libugpud.a: $(DAEMON_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/libugpu.a: $(LIBCLIENT_OBJS)
	rm -f $@ && ar rcs $@ $^

$(B)/libugpu.so: $(LIBCLIENT_OBJS) libclient/libugpu.map
	$(CC) -shared -Wl,-soname,libugpu.so.0 -Wl,--version-script=libclient/libugpu.map \
	    $(LDFLAGS) -o $@ $(LIBCLIENT_OBJS)

$(B)/ugpu.pc: libclient/ugpu.pc.in
	@mkdir -p $(dir $@)
	sed 's|@PREFIX@|$(PREFIX)|' $< > $@

$(B)/ugpud: $(B)/daemon/main.o $(B)/libugpud.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(B)/ugpuctl: $(CTL_SRCS:%.c=$(B)/%.o)
	$(CC) $(LDFLAGS) -o $@ $^

$(B)/ugpu-bench: $(BENCH_OBJS) $(B)/libugpud.a $(filter $(B)/libugpu.a,$(LIBS))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(TESTLIB_OBJS) $(B)/libugpud.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) -lm

$(B)/tests/integration/%: $(B)/tests/integration/%.o $(TESTLIB_OBJS) $(B)/libugpud.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) -lm

# Stress harnesses: Check suites too, run by `make check-stress` (short
# mode in CI; UGPU_STRESS_SECONDS etc. for long runs, see RELIABILITY.md).
$(B)/tests/stress/%: $(B)/tests/stress/%.o $(TESTLIB_OBJS) $(B)/libugpud.a $(filter $(B)/libugpu.a,$(LIBS))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) -lm

# Helpers are client programs: they may use libugpu.
$(B)/tests/helpers/%: $(B)/tests/helpers/%.o $(HELPERLIB_OBJS) $(filter $(B)/libugpu.a,$(LIBS))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

tests: all $(UNIT_TESTS) $(INTEG_TESTS)

check: deps
	@$(MAKE) --no-print-directory _check

_check: tests $(B)/mutants/notifier_break_1 $(B)/mutants/notifier_break_2
	@B=$(B) scripts/check-mutants.sh $(B)/mutants/notifier_break_1 $(B)/mutants/notifier_break_2
	@B=$(B) scripts/check-systemd.sh
	@B=$(B) scripts/run-tests.sh $(UNIT_TESTS) $(INTEG_TESTS)

# The notifier stress test built against deliberately broken notifiers
# (notifier.c, NOTIFIER_BREAK): proves the test can fail.
$(B)/mutants/notifier_break_%: tests/unit/notifier_stress_test.c daemon/core/notifier.c daemon/core/interval_tree.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -DNOTIFIER_BREAK=$* -o $@ $^ $(LDFLAGS) $(CHECK_LIBS)

check-mutants: $(B)/mutants/notifier_break_1 $(B)/mutants/notifier_break_2
	@B=$(B) scripts/check-mutants.sh $^

check-stress: deps
	@$(MAKE) --no-print-directory _check-stress

_check-stress: all $(STRESS)
	@B=$(B) scripts/run-tests.sh $(STRESS)

# The hardware path in QEMU guests (tests/hw/README.md): installs
# qemu-system-x86 and cpio if missing (root), downloads a Debian kernel
# and busybox once (not installed), boots edu configurations under TCG.
check-hw: deps
	@B=$(B) scripts/check-hw.sh

demo: deps
	@$(MAKE) --no-print-directory _demo

_demo: all
	@B=$(B) scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/ugpu
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 uapi/*.h $(DESTDIR)$(PREFIX)/include/ugpu/
ifneq ($(LIBCLIENT_SRCS),)
	install -m 0755 $(B)/libugpu.so $(DESTDIR)$(PREFIX)/lib/libugpu.so.0
	ln -sf libugpu.so.0 $(DESTDIR)$(PREFIX)/lib/libugpu.so
	install -m 0644 $(B)/libugpu.a $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 libclient/ugpu.h $(DESTDIR)$(PREFIX)/include/
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig
	sed 's|@PREFIX@|$(PREFIX)|' libclient/ugpu.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ugpu.pc
endif

clean:
	rm -rf build build-san

-include $(shell find $(B) -name '*.d' 2>/dev/null)
