-- 42 characters, right prefix and alphabet, wrong checksum: the slowest malformed case.
SELECT smarthub.verify_key('shk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
