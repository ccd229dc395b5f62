# PGXS build for smarthub. The version lives only in smarthub.control.
EXTENSION = smarthub
EXTVERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = smarthub
OBJS = \
	src/smarthub.o \
	src/foundation.o \
	src/uuid_v7.o \
	src/updated_at.o \
	src/identity.o \
	src/password.o \
	src/token.o \
	src/audit_writer.o \
	src/audit_chain.o \
	src/audit.o \
	src/onetime.o \
	src/account.o \
	src/jsonb_diff.o \
	src/encryption.o \
	src/jwt.o \
	src/mfa.o

# The current version's install script is assembled from one fragment per concern
# (sql/install/NN_topic.sql), in name order, so each concern's DDL sits next to its C code: those
# fragments are the one definition of every object as the current version has it. Released
# versions are frozen files (sql/smarthub--1.0.sql), and every change since the last release is
# also written once more as an upgrade step in sql/smarthub--<last>--<current>.sql; the upgrade
# test (test/shell/080_upgrade.sh) proves that both give the same catalog.
#
# Cutting release X.Y (the current default_version), then opening X.Z:
#   1. make; git add -f sql/smarthub--X.Y.sql   (frozen from now on: never edit it again)
#   2. default_version = 'X.Z' in smarthub.control; META.json versions to X.Z.0
#   3. create sql/smarthub--X.Y--X.Z.sql; add X.Y to the upgrade test's chain; CHANGELOG heading
EXT_SCRIPT = sql/$(EXTENSION)--$(EXTVERSION).sql
EXT_PARTS = $(sort $(wildcard sql/install/*.sql))
DATA_built = $(EXT_SCRIPT)
# Frozen released install scripts and every upgrade script.
DATA = $(filter-out $(EXT_SCRIPT),$(wildcard sql/$(EXTENSION)--*.sql))

# pg_regress tests, in order (never a wildcard: sql/ also holds the install scripts).
# Each runs on a stock server; what needs a keyring or special settings is a pgTAP or shell test.
REGRESS = schema credentials identity audit audit_identity
REGRESS_OPTS = --load-extension=pgcrypto --load-extension=$(EXTENSION)

SHLIB_LINK += -lcrypt -lcrypto
PG_CPPFLAGS = -I$(srcdir)/src

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXT_SCRIPT): $(EXT_PARTS) $(EXTENSION).control
	cat $(EXT_PARTS) > $@
