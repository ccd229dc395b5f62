-- smarthub upgrade from 1.0 to 1.1. Every change of 1.1 is made twice: here, for databases that
-- have 1.0, and in sql/install/, which builds the 1.1 install script. test/shell/080_upgrade.sh
-- proves the two agree.
\echo Use "ALTER EXTENSION smarthub UPDATE TO '1.1'" to load this file. \quit
