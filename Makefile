# PGXS build for smarthub. The version lives only in smarthub.control.
EXTENSION = smarthub
EXTVERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = smarthub
OBJS = \
	src/smarthub.o \
	src/updated_at.o \
	src/identity.o \
	src/password.o \
	src/token.o \
	src/audit.o \
	src/jsonb_diff.o \
	src/encryption.o

# The install script is assembled from one fragment per concern (sql/install/NN_topic.sql), in
# name order, so each concern's DDL sits next to its C code. Upgrade scripts are plain files.
EXT_SCRIPT = sql/$(EXTENSION)--$(EXTVERSION).sql
EXT_PARTS = $(sort $(wildcard sql/install/*.sql))
DATA_built = $(EXT_SCRIPT)
DATA = $(filter-out $(EXT_SCRIPT),$(wildcard sql/$(EXTENSION)--*--*.sql))

# pg_regress tests, in order (never a wildcard: sql/ also holds the install scripts).
REGRESS = schema credentials encryption identity audit audit_identity
REGRESS_OPTS = --load-extension=pgcrypto --load-extension=$(EXTENSION)

SHLIB_LINK += -lcrypt -lcrypto
PG_CPPFLAGS = -I$(srcdir)/src

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXT_SCRIPT): $(EXT_PARTS) $(EXTENSION).control
	cat $(EXT_PARTS) > $@
