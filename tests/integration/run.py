"""Run the integration tests: every test_* function in test_*.py here.

Usage: run.py [-k SUBSTRING]   Prints one line per test and a summary
line "N passed, N failed"; exits 1 if any failed.
"""
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def main():
    pattern = None
    if len(sys.argv) > 2 and sys.argv[1] == "-k":
        pattern = sys.argv[2]
    passed = failed = 0
    failures = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(fn[:-3],
                                                      os.path.join(HERE, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(dir(mod)):
            if not name.startswith("test_"):
                continue
            full = "%s::%s" % (fn, name)
            if pattern and pattern not in full:
                continue
            env = harness.Env(name)
            t0 = time.monotonic()
            ok = False
            try:
                getattr(mod, name)(env)
                ok = True
            except Exception:
                failures.append((full, traceback.format_exc()))
            finally:
                problems = env.close(failed=not ok)
                if ok and problems:
                    ok = False
                    failures.append((full, "\n".join(problems) + "\n"))
            dt = time.monotonic() - t0
            print("%s %s (%.1fs)" % ("PASS" if ok else "FAIL", full, dt),
                  flush=True)
            if ok:
                passed += 1
            else:
                failed += 1
    for full, tb in failures:
        print("\n==== %s\n%s" % (full, tb))
        d = os.path.join(harness.OUT, full.split("::")[1], "mannersd.log")
        if os.path.exists(d):
            with open(d, errors="replace") as f:
                print("---- mannersd.log (last 40 lines)")
                print("".join(f.readlines()[-40:]))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
