# Median milliseconds of one cost-12 bcrypt through libxcrypt alone (Python's crypt module calls
# libcrypt's crypt()) and through python3-bcrypt, over REPS runs. Run with Debian's /usr/bin/python3.
import statistics, sys, time, warnings
warnings.simplefilter("ignore", DeprecationWarning)
import crypt, bcrypt
reps = int(sys.argv[1])
pw = "correct horse battery staple"
setting = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 12)
def ms(f):
    out = []
    for _ in range(reps):
        t = time.perf_counter(); f(); out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)
salt = bcrypt.gensalt(12)
print(ms(lambda: crypt.crypt(pw, setting)), ms(lambda: bcrypt.hashpw(pw.encode(), salt)))
