# manners: a plain Makefile.  `make`, `make check`, `make run`, `make bench`,
# `make install PREFIX=/usr DESTDIR=...`, `make clean`.

PREFIX	?= /usr/local
DESTDIR	?=
BINDIR	 = $(PREFIX)/bin
SBINDIR	 = $(PREFIX)/sbin
MANDIR	 = $(PREFIX)/share/man
LOCALEDIR ?= $(PREFIX)/share/manners/locale
SYSCONFDIR ?= /etc
UNITDIR	?= /lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d

CC	?= cc
PKGS	 = libevent libevent_pthreads libcurl lmdb libxml-2.0 jansson libsystemd libcrypto gmime-3.0 icu-i18n libcares

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
	   -DCONF_LOCALEDIR='"$(LOCALEDIR)"' \
	   -DMANNERSD_DEV_LOCALEDIR='"$(BUILD)/locale"' \
	   -MMD -MP -Ilib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS	+= $(SANFLAGS)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

LIB_SRCS = \
	lib/addr.c \
	lib/admit.c \
	lib/admit_quiet.c \
	lib/backup.c \
	lib/breaker.c \
	lib/campaign.c \
	lib/campaign_record.c \
	lib/conf.c \
	lib/conf_check.c \
	lib/conf_rep.c \
	lib/erase.c \
	lib/feedback.c \
	lib/feedback_apply.c \
	lib/form.c \
	lib/hashtab.c \
	lib/hostport.c \
	lib/hostname.c \
	lib/http_frame.c \
	lib/i18n.c \
	lib/ledger.c \
	lib/log.c \
	lib/message.c \
	lib/pace.c \
	lib/plaintext.c \
	lib/policy.c \
	lib/prefs.c \
	lib/probe.c \
	lib/quiet.c \
	lib/quiet_policy.c \
	lib/quota.c \
	lib/quota_admit.c \
	lib/rcpt_zone.c \
	lib/retention.c \
	lib/schedule.c \
	lib/shaping.c \
	lib/smtp_reply.c \
	lib/store.c \
	lib/text.c \
	lib/token.c \
	lib/unsub_page.c \
	lib/util.c \
	lib/warmup.c \
	lib/weigh.c

MANNERSD_SRCS = \
	daemon/backup_http.c \
	daemon/control.c \
	daemon/control_ops.c \
	daemon/control_routes.c \
	daemon/curlev.c \
	daemon/drain.c \
	daemon/drain_campaign.c \
	daemon/drain_commit.c \
	daemon/drain_quota.c \
	daemon/drain_sched.c \
	daemon/drain_shape.c \
	daemon/drain_status.c \
	daemon/drain_units.c \
	daemon/drain_xfer.c \
	daemon/handback.c \
	daemon/http_guard.c \
	daemon/intake.c \
	daemon/jobthread.c \
	daemon/mailbox.c \
	daemon/mannersd.c \
	daemon/measure.c \
	daemon/metrics.c \
	daemon/mx.c \
	daemon/prune.c \
	daemon/smtp_threads.c \
	daemon/submit.c \
	daemon/unsub_http.c \
	daemon/writer.c

MANNERSCTL_SRCS = \
	daemon/mannersctl.c

UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJS	= $(LIB_SRCS:%.c=$(BUILD)/%.o)
MANNERSD_OBJS	= $(MANNERSD_SRCS:%.c=$(BUILD)/%.o)
MANNERSCTL_OBJS	= $(MANNERSCTL_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS	= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# What every unit test links besides its own file: the store fixture.
UNIT_FIXTURE	= $(BUILD)/tests/store_fixture.o
LIBMANNERS	= $(BUILD)/libmanners.a

# The pages' languages: po/LANG.po, compiled by GNU msgfmt into
# $(BUILD)/locale (the tests point [daemon] locale_dir there).
PO_LANGS	= de es fr
LOCALE_MOS	= $(PO_LANGS:%=$(BUILD)/locale/%/LC_MESSAGES/manners.mo)

# Debian packages: RUN_PKGS build and run the development set-up (`make
# run`); DEB_PKGS is everything `make check` needs: those, the unit-test
# library and the peers the integration tests start (Postfix, Dovecot,
# OpenDKIM, headless Chromium, axe-core through npm).  Add a package a test needs to DEB_PKGS.
RUN_PKGS = gcc make pkg-config libevent-dev libcurl4-openssl-dev \
	   liblmdb-dev libxml2-dev libssl-dev \
	   libjansson-dev libsystemd-dev libgmime-3.0-dev libicu-dev \
	   libc-ares-dev curl python3 python3-aiosmtpd gettext
DEB_PKGS = $(RUN_PKGS) libcriterion-dev \
	   postfix dovecot-imapd dovecot-pop3d opendkim opendkim-tools \
	   python3-dkim lmdb-utils chromium \
	   chromium-driver python3-selenium $(NPM_PKG) \
	   $(PKG_BUILD_PKGS) prometheus
CHECK_PKGS = $(DEB_PKGS)

.PHONY: all deps run-deps run check unit integration bench soak install \
	clean deb pot axe

# npm only installs axe-core for the browser tests (`make axe`): Debian's
# package, unless an npm is there already (nodejs from elsewhere bundles
# one, and Debian's npm would conflict with it).
NPM_PKG := $(if $(shell command -v npm 2>/dev/null),,npm)

# What `make deb` needs besides the build dependencies above; the tests
# build the package too (tests/integration/test_package.py), and check
# the alert rules with promtool (Debian's prometheus package).
PKG_BUILD_PKGS = debhelper dpkg-dev lintian git

all: $(BUILD)/mannersd $(BUILD)/mannersctl $(LOCALE_MOS)
	@ln -sf $(BUILD)/mannersd mannersd
	@ln -sf $(BUILD)/mannersctl mannersctl

# Install, with apt-get and without questions, those of $(1) missing.
define apt_install
missing=""; for p in $(1); do \
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
endef

# Install only what is missing, without questions: everything `make
# check` needs, or (run-deps) only what building and running need.
deps:
	@$(call apt_install,$(CHECK_PKGS))

run-deps:
	@$(call apt_install,$(RUN_PKGS))

$(LIBMANNERS): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/mannersd: $(MANNERSD_OBJS) $(LIBMANNERS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mannersctl: $(MANNERSCTL_OBJS) $(LIBMANNERS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_FIXTURE) $(LIBMANNERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_FIXTURE) $(LIBMANNERS) $(LDLIBS) -lcriterion

$(UNIT_FIXTURE): tests/unit/store_fixture.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# A catalog with an untranslated or fuzzy text, or one the template lacks,
# is refused: every page is complete in every language.
$(BUILD)/locale/%/LC_MESSAGES/manners.mo: po/%.po po/manners.pot
	@mkdir -p $(@D)
	@msgcmp $< po/manners.pot
	@test -z "$$(msgattrib --only-fuzzy --no-obsolete $<)" \
	    -a -z "$$(msgattrib --untranslated --no-obsolete $<)" || \
	    { echo "$<: untranslated or fuzzy texts"; exit 1; }
	msgfmt --check -o $@ $<

# The template, from the texts marked N_() in the pages (msgmerge then
# brings po/LANG.po up to date).
pot:
	xgettext --language=C --keyword=N_ --from-code=UTF-8 \
	    --add-comments=TRANSLATORS: --package-name=manners --no-location \
	    -o po/manners.pot lib/unsub_page.c
	@for l in $(PO_LANGS); do msgmerge -q -U --backup=none po/$$l.po \
	    po/manners.pot; done

# axe-core for the browser tests, from tests/axe/package-lock.json.
axe: tests/axe/node_modules/axe-core/axe.min.js

tests/axe/node_modules/axe-core/axe.min.js: tests/axe/package.json tests/axe/package-lock.json
	cd tests/axe && npm ci --no-audit --no-fund --silent

run: run-deps
	@$(MAKE) --no-print-directory all
	@exec tests/devrun.sh $(BUILD)

check: deps
	@$(MAKE) --no-print-directory all axe $(UNIT_BINS)
	@$(MAKE) --no-print-directory unit integration

unit: $(UNIT_BINS)
	@tests/run-unit.sh $(UNIT_BINS)

integration: all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	    MANNERSD=$(CURDIR)/$(BUILD)/mannersd MANNERSCTL=$(CURDIR)/$(BUILD)/mannersctl \
	    /usr/bin/python3 tests/integration/run.py

bench: deps
	@$(MAKE) --no-print-directory all
	@MANNERSD=$(CURDIR)/$(BUILD)/mannersd /usr/bin/python3 bench/report.py

# Issue 19: `make soak`, a simulated year of weekly campaigns against
# libmanners with a simulated clock (bench/soak.c), printing the store's
# size after each quarter: it must level off.  SOAK_ARGS="-n 20000" for
# a quick run, "-r 0" to keep every campaign for comparison.
SOAK_ARGS ?=

soak: $(BUILD)/bench/soak
	@$(BUILD)/bench/soak $(SOAK_ARGS)

$(BUILD)/bench/soak: bench/soak.c $(LIBMANNERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBMANNERS) $(LDLIBS)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/manners $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/mannersd $(DESTDIR)$(SBINDIR)/mannersd
	install -m 0755 $(BUILD)/mannersctl $(DESTDIR)$(BINDIR)/mannersctl
	install -m 0644 conf/manners.conf $(DESTDIR)$(SYSCONFDIR)/manners/manners.conf.example
	install -m 0644 conf/shaping.rules $(DESTDIR)$(SYSCONFDIR)/manners/shaping.rules
	sed 's,@SBINDIR@,$(SBINDIR),g' systemd/mannersd.service > \
	    $(DESTDIR)$(UNITDIR)/mannersd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mannersd.service
	install -m 0644 systemd/mannersd.socket $(DESTDIR)$(UNITDIR)/mannersd.socket
	install -d $(DESTDIR)$(SYSUSERSDIR)
	install -m 0644 systemd/manners.sysusers $(DESTDIR)$(SYSUSERSDIR)/manners.conf
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/mannersctl.1 $(DESTDIR)$(MANDIR)/man1/mannersctl.1
	install -m 0644 man/manners.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/manners.conf.5
	install -m 0644 man/mannersd.8 $(DESTDIR)$(MANDIR)/man8/mannersd.8
	for l in $(PO_LANGS); do \
		install -d $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES; \
		install -m 0644 $(BUILD)/locale/$$l/LC_MESSAGES/manners.mo \
		    $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/manners.mo; \
	done

clean:
	rm -rf build mannersd mannersctl

# A Debian package from debian/ (debhelper), built from a copy of the
# tracked tree so the checkout stays clean, then checked with lintian:
# $(DEB_OUT)/manners_VERSION_ARCH.deb.
DEB_OUT	?= build/debian
deb: deps
	@$(call apt_install,$(PKG_BUILD_PKGS))
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/src
	git ls-files -co --exclude-standard | grep -v '^build/' | \
	    tar -cf - -T - | tar -xf - -C $(DEB_OUT)/src
	cd $(DEB_OUT)/src && dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning $(DEB_OUT)/*.changes
	@ls $(DEB_OUT)/*.deb

-include $(LIB_OBJS:.o=.d) $(MANNERSD_OBJS:.o=.d) $(MANNERSCTL_OBJS:.o=.d)
-include $(UNIT_FIXTURE:.o=.d) $(UNIT_BINS:=.d)

# Fuzzing: one libFuzzer target per parser (tests/fuzz/fuzz_*.c), built
# with clang, ASan and UBSan from the library's sources into build/fuzz.
# `make fuzz` runs each target for FUZZ_SECONDS on its seeds and crash
# reproducers (`make -k -j2 fuzz FUZZ_SECONDS=600` for the long run, two
# at a time, going on past a target that crashes).  New inputs land in build/fuzz/corpus/TARGET and crashes in
# build/fuzz/crash/TARGET; a crash, once fixed, goes to
# tests/fuzz/regress/TARGET/, which `make check` replays without clang.
FUZZ_PKGS	 = clang libclang-rt-14-dev llvm-14
FUZZ_CC		 = clang
FUZZ_SECONDS	?= 30
FUZZ_BUILD	 = build/fuzz
FUZZ_TARGETS	 = addr campaign conf feedback form http token weigh
FUZZ_SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS	 = -std=gnu11 -O1 -g -fno-omit-frame-pointer $(WARN) \
		   -Wno-format-nonliteral \
		   -D_GNU_SOURCE -MMD -MP -Ilib \
		   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# A smaller quarantine than ASan's 256 MB doubles the speed of the
# targets that parse with libxml2, and still catches a use after free.
FUZZ_ASAN_OPTIONS = quarantine_size_mb=64
FUZZ_LIB_OBJS	 = $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BINS	 = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
# Longest input per target: above each parser's own limit, where it has one.
FUZZ_MAXLEN_addr	= 512
FUZZ_MAXLEN_campaign	= 16384
FUZZ_MAXLEN_conf	= 8192
FUZZ_MAXLEN_feedback	= 65536
FUZZ_MAXLEN_form	= 17408
FUZZ_MAXLEN_http	= 12288
FUZZ_MAXLEN_token	= 1024
FUZZ_MAXLEN_weigh	= 65536

.PHONY: fuzz fuzz-deps fuzz-build $(FUZZ_TARGETS:%=fuzz-run-%)

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=fuzz-run-%)

fuzz-deps:
	@$(call apt_install,$(FUZZ_PKGS))

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	    -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_LIB_OBJS) $(LDLIBS)

$(FUZZ_TARGETS:%=fuzz-run-%): fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/crash/$*
	@regress=; [ -d tests/fuzz/regress/$* ] && regress=tests/fuzz/regress/$*; \
	dict=; [ -f tests/fuzz/dict/$*.dict ] && dict=-dict=tests/fuzz/dict/$*.dict; \
	log=$(FUZZ_BUILD)/fuzz_$*.log; \
	ASAN_OPTIONS=$${ASAN_OPTIONS:-$(FUZZ_ASAN_OPTIONS)} \
	$< -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAXLEN_$*) \
	    -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 $$dict \
	    -artifact_prefix=$(FUZZ_BUILD)/crash/$*/ \
	    $(FUZZ_BUILD)/corpus/$* tests/fuzz/corpus/$* $$regress \
	    2>$$log || { tail -60 $$log; echo "fuzz_$*: FAILED, see $$log"; \
	    exit 1; }; \
	done=$$(grep -E '^#[0-9]+[[:space:]]+DONE' $$log | sed 's/.*DONE *//'); \
	eps=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$log); \
	echo "fuzz_$*: $(FUZZ_SECONDS) s, $$eps exec/s, $$done"

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_BINS:=.d)

# Issue 8: `make load` (8 submitters x 50 campaigns of 1,000 overlapping
# recipients against smtp-sink; prints figures, fails on a broken
# invariant; then issue 14's 500 slow clients per listener during a drain,
# tests/load/slow.py) and `make valgrind` (end-to-end tests with mannersd under
# valgrind memcheck; see tests/load/valgrind.sh).
.PHONY: load valgrind

load: all
	@MANNERSD=$(CURDIR)/$(BUILD)/mannersd /usr/bin/python3 tests/load/load.py
	@MANNERSD=$(CURDIR)/$(BUILD)/mannersd /usr/bin/python3 tests/load/slow.py

valgrind: all
	@MANNERSD=$(CURDIR)/$(BUILD)/mannersd MANNERSCTL=$(CURDIR)/$(BUILD)/mannersctl \
	    tests/load/valgrind.sh
