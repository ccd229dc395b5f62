#!/usr/bin/env bash
# META.json is valid JSON, follows PGXN meta spec 1.0.0 and agrees with the control file's version.
. "$(dirname "$0")/lib.sh"
control=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$REPO/smarthub.control")
python3 - "$REPO/META.json" "$control" <<'PY'
import json, re, sys
meta = json.load(open(sys.argv[1]))
control = sys.argv[2]
for key in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
    assert key in meta, f"META.json lacks {key}"
assert meta["meta-spec"]["version"] == "1.0.0"
assert re.fullmatch(r"\d+\.\d+\.\d+", meta["version"]), "version must be semver"
ext = meta["provides"]["smarthub"]
assert ext["file"] == f"sql/smarthub--{control}.sql", ext["file"]
for v in (meta["version"], ext["version"]):
    assert v == control + ".0", f"{v} disagrees with default_version {control}"
assert meta["prereqs"]["runtime"]["requires"]["PostgreSQL"] == "15.0.0"
print("  ok - META.json valid, version", meta["version"], "matches control", control)
PY
