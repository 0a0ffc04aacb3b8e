# manners: a plain Makefile.  `make`, `make check`, `make run`, `make bench`,
# `make install PREFIX=/usr DESTDIR=...`, `make clean`.

PREFIX	?= /usr/local
DESTDIR	?=
BINDIR	 = $(PREFIX)/bin
SBINDIR	 = $(PREFIX)/sbin
MANDIR	 = $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR	?= /lib/systemd/system

CC	?= cc
PKGS	 = libevent libevent_pthreads libcurl lmdb libxml-2.0 jansson libsystemd libcrypto

ifeq ($(SANITIZE),1)
BUILD	?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT	?= -O1 -g
else
BUILD	?= build/default
SANFLAGS =
OPT	?= -O2 -g
endif

WARN	 = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wformat=2
CFLAGS	+= -std=gnu11 $(OPT) $(WARN) $(SANFLAGS) -D_GNU_SOURCE \
	   -MMD -MP -Ilib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS	+= $(SANFLAGS)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

LIB_SRCS = \
	lib/addr.c \
	lib/admit.c \
	lib/campaign.c \
	lib/conf.c \
	lib/ledger.c \
	lib/log.c \
	lib/message.c \
	lib/pace.c \
	lib/page.c \
	lib/policy.c \
	lib/record.c \
	lib/reply.c \
	lib/store.c \
	lib/token.c \
	lib/util.c \
	lib/weigh.c

MANNERSD_SRCS = \
	daemon/control.c \
	daemon/curlev.c \
	daemon/drain.c \
	daemon/mannersd.c \
	daemon/measure.c \
	daemon/metrics.c \
	daemon/public.c \
	daemon/writer.c

MANNERSCTL_SRCS = \
	daemon/mannersctl.c

UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJS	= $(LIB_SRCS:%.c=$(BUILD)/%.o)
MANNERSD_OBJS	= $(MANNERSD_SRCS:%.c=$(BUILD)/%.o)
MANNERSCTL_OBJS	= $(MANNERSCTL_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS	= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
LIBMANNERS	= $(BUILD)/libmanners.a

# Debian packages needed to build, test and run the development set-up.
DEB_PKGS = gcc make pkg-config libevent-dev libcurl4-openssl-dev \
	   liblmdb-dev libxml2-dev libcriterion-dev libssl-dev \
	   libjansson-dev libsystemd-dev curl python3 python3-aiosmtpd \
	   postfix lmdb-utils chromium chromium-driver python3-selenium

.PHONY: all deps run check unit integration bench install clean

all: $(BUILD)/mannersd $(BUILD)/mannersctl
	@ln -sf $(BUILD)/mannersd mannersd
	@ln -sf $(BUILD)/mannersctl mannersctl

# Install only what is missing, without questions.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		    grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		sudo=""; [ "$$(id -u)" -ne 0 ] && sudo=sudo; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		    -qq --no-install-recommends $$missing; \
	fi

$(LIBMANNERS): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/mannersd: $(MANNERSD_OBJS) $(LIBMANNERS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mannersctl: $(MANNERSCTL_OBJS) $(LIBMANNERS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBMANNERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBMANNERS) $(LDLIBS) -lcriterion

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

run: deps
	@$(MAKE) --no-print-directory all
	@exec tests/devrun.sh $(BUILD)

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@$(MAKE) --no-print-directory unit integration

unit: $(UNIT_BINS)
	@tests/run-unit.sh $(UNIT_BINS)

integration: all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	    MANNERSD=$(CURDIR)/$(BUILD)/mannersd MANNERSCTL=$(CURDIR)/$(BUILD)/mannersctl \
	    /usr/bin/python3 tests/integration/run.py

bench: deps
	@$(MAKE) --no-print-directory all
	@MANNERSD=$(CURDIR)/$(BUILD)/mannersd /usr/bin/python3 bench/run.py

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/manners $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/mannersd $(DESTDIR)$(SBINDIR)/mannersd
	install -m 0755 $(BUILD)/mannersctl $(DESTDIR)$(BINDIR)/mannersctl
	install -m 0644 conf/manners.conf $(DESTDIR)$(SYSCONFDIR)/manners/manners.conf.example
	sed 's,@SBINDIR@,$(SBINDIR),g' systemd/mannersd.service > \
	    $(DESTDIR)$(UNITDIR)/mannersd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mannersd.service

clean:
	rm -rf build mannersd mannersctl

-include $(LIB_OBJS:.o=.d) $(MANNERSD_OBJS:.o=.d) $(MANNERSCTL_OBJS:.o=.d)
