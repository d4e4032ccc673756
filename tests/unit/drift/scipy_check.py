#!/usr/bin/env python3
"""Compares the drift statistics (tests/unit/drift/stats_tool.cpp) with scipy.

Tolerances (docs/drift.md, "Checked against scipy"):
  * closed forms on the same counts (PSI, Jensen-Shannon, Hellinger, binned
    Wasserstein, chi-square, G-test, homogeneity tests): relative 1e-12 on the
    statistic, 1e-9 on p-values;
  * special functions (regularised incomplete gamma, chi-square survival,
    normal critical values): relative 1e-10 (both sides are iterative
    approximations of the same function);
  * bin edges and bin counts: exact (the edges are numpy.quantile's default
    "linear" quantiles, bit for bit);
  * u = F_ref(x) is quantised to 1/4096: mean u within 1/8192 of the exact
    piecewise-linear CDF, variance within 3e-4;
  * Wasserstein on binned u vs on raw u: within the widest reference bin (in u),
    the bound for moving every value to its bin's centre.

Fails (exit 1) when python3-scipy is not installed: the check is required.
"""
import subprocess
import sys

try:
    import numpy as np
    from scipy import special, stats
    from scipy.spatial import distance
except ImportError as e:  # the test must fail, not skip
    print(f"FAIL: python3-scipy (and numpy) are required for this test: {e}. "
          "Install them with: apt-get install -y python3-scipy", file=sys.stderr)
    sys.exit(1)

failures = []
checks = 0


def close(name, got, want, rtol, atol=0.0):
    global checks
    checks += 1
    if np.isnan(want) and np.isnan(got):
        return
    if not np.isclose(got, want, rtol=rtol, atol=atol):
        failures.append(f"{name}: got {got!r}, scipy {want!r}")


def exact(name, got, want):
    global checks
    checks += 1
    if not np.array_equal(np.asarray(got, dtype=float), np.asarray(want, dtype=float)):
        failures.append(f"{name}: got {list(got)}, expected {list(want)}")


def fmt(values):
    return ",".join("nan" if np.isnan(v) else repr(float(v)) for v in values)


def main():
    tool = sys.argv[1]
    rng = np.random.default_rng(20261127)
    requests, checkers = [], []

    # --- special functions -------------------------------------------------
    for a in [0.5, 1.0, 2.5, 10.0, 17.0, 100.0, 500.5]:
        for x in sorted({0.01, 0.5, max(a - 1, 0.1), a, a + 1, 2 * a, 5 * a + 10, 10 * a + 50}):
            requests.append(f"gamma {a!r} {x!r}")

            def check(out, a=a, x=x):
                close(f"gammainc({a},{x})", out[0], special.gammainc(a, x), 1e-10, 1e-300)
                close(f"gammaincc({a},{x})", out[1], special.gammaincc(a, x), 1e-10, 1e-300)
            checkers.append(check)
    for df in [1, 2, 3, 10, 33, 100, 1000]:
        for x in [0.1, df * 0.5, float(df), df * 2.0, df * 4.0 + 30]:
            requests.append(f"chi2sf {x!r} {df}")
            checkers.append(lambda out, x=x, df=df: close(
                f"chi2.sf({x},{df})", out[0], stats.chi2.sf(x, df), 1e-10, 1e-300))
    for p in [0.05, 1e-3, 1e-6, 4.2e-7, 1e-10, 1e-15]:
        requests.append(f"normcrit {p!r}")
        checkers.append(lambda out, p=p: close(
            f"norm.isf({p}/2)", out[0], stats.norm.isf(p / 2), 1e-10))

    # --- tests on counts ---------------------------------------------------
    for k in [2, 5, 12, 35]:
        probs = rng.dirichlet(np.ones(k) * 3)
        obs = rng.multinomial(2000, probs).astype(float) + 1
        exp = probs * obs.sum()
        requests.append(f"gof {fmt(obs)} {fmt(exp)}")

        def check(out, obs=obs, exp=exp):
            c = stats.chisquare(obs, exp)
            g = stats.power_divergence(obs, exp, lambda_="log-likelihood")
            close("chisquare.stat", out[0], c.statistic, 1e-12)
            close("chisquare.df", out[1], len(obs) - 1, 0)
            close("chisquare.p", out[2], c.pvalue, 1e-9, 1e-300)
            close("G.stat", out[3], g.statistic, 1e-12)
            close("G.p", out[5], g.pvalue, 1e-9, 1e-300)
        checkers.append(check)

    for k, shift in [(4, 0.0), (12, 0.3), (35, 0.05), (35, 0.0)]:
        base = rng.dirichlet(np.ones(k) * 2)
        moved = np.clip(base + shift * rng.standard_normal(k) * base, 1e-6, None)
        a = rng.multinomial(8192, base).astype(float)
        b = rng.multinomial(1000, moved / moved.sum()).astype(float)
        a[-1] = b[-1] = 0  # a column empty on both sides is dropped
        if k > 4:
            a[0] = 0  # reference-empty, window-filled columns stay
        requests.append(f"homog {fmt(a)} {fmt(b)}")

        def check(out, a=a, b=b):
            keep = (a + b) > 0
            table = np.array([a[keep], b[keep]])
            c = stats.chi2_contingency(table, correction=False)
            g = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
            close("contingency.chi2", out[0], c[0], 1e-12)
            close("contingency.df", out[1], c[2], 0)
            close("contingency.p", out[2], c[1], 1e-9, 1e-300)
            close("contingency.G", out[3], g[0], 1e-12)
            close("contingency.G.p", out[5], g[1], 1e-9, 1e-300)
        checkers.append(check)

        requests.append(f"dist {fmt(b)} {fmt(a)}")

        def check_dist(out, a=a, b=b):
            eps = 1e-4
            p = b / b.sum() + eps
            q = a / a.sum() + eps
            close("psi", out[0], stats.entropy(p, q) + stats.entropy(q, p), 1e-12)
            close("jensenshannon", out[1], distance.jensenshannon(b, a), 1e-12)
            close("hellinger", out[2],
                  distance.euclidean(np.sqrt(b / b.sum()), np.sqrt(a / a.sum())) / np.sqrt(2), 1e-12)
        checkers.append(check_dist)

        x = np.sort(rng.uniform(0, 1, k))
        requests.append(f"wass {fmt(x)} {fmt(b)} {fmt(a)}")
        checkers.append(lambda out, x=x, a=a, b=b: close(
            "wasserstein_distance", out[0], stats.wasserstein_distance(x, x, b, a), 1e-12, 1e-15))

    # --- binning against a reference, and window statistics ------------------
    datasets = []
    ref = rng.normal(100, 15, 8192)
    datasets.append(("normal, shifted 0.3 SD", 32, ref, rng.normal(104.5, 15, 1000)))
    ref = rng.lognormal(3, 1, 5000)
    win = np.concatenate([rng.lognormal(3.1, 1.1, 900), [0.0, 1e9]])
    datasets.append(("lognormal with values beyond the range", 32, ref, win))
    ref = rng.normal(0, 1, 3000)
    ref[rng.choice(3000, 200, replace=False)] = np.nan
    win = rng.normal(0, 1, 800)
    win[rng.choice(800, 100, replace=False)] = np.nan
    datasets.append(("nulls on both sides", 16, ref, win))
    datasets.append(("integer counts with ties", 32, rng.poisson(20, 4000).astype(float),
                     rng.poisson(21, 1000).astype(float)))
    datasets.append(("same distribution", 64, rng.uniform(0, 1, 8192), rng.uniform(0, 1, 2000)))

    for name, bins, ref, win in datasets:
        requests.append(f"bins {bins} {fmt(ref)} {fmt(win)}")

        def check(out, name=name, bins=bins, ref=ref, win=win):
            fields = dict(item.split("=", 1) for item in out)
            cuts = np.array([float(v) for v in fields["cuts"].split(",") if v])
            rc = np.array([float(v) for v in fields["ref"].split(",")])
            wc = np.array([float(v) for v in fields["win"].split(",")])
            upos = np.array([float(v) for v in fields["upos"].split(",")])
            st = [float(v) for v in fields["stats"].split(",")]
            (rmin, rmax, ref_u_mean, win_u_mean, psi, js, hel, w1, chi2, chi2_df, chi2_p, g, g_p,
             z, z_p, ref_un, win_un, ref_u_var) = st
            values = ref[~np.isnan(ref)]
            # Bin edges: numpy's default quantiles, duplicates and the minimum dropped.
            q = np.quantile(values, np.arange(1, bins) / bins)
            want = []
            for c in q:
                if c > values.min() and (not want or c > want[-1]):
                    want.append(c)
            exact(f"{name}: cuts", cuts, want)
            inner = len(want) + 1

            def counts(x):
                nulls = np.isnan(x)
                v = x[~nulls]
                below = v < values.min()
                above = v > values.max()
                mid = v[~below & ~above]
                c = np.bincount(np.searchsorted(want, mid, side="right"), minlength=inner)
                return np.concatenate([c, [below.sum(), above.sum(), nulls.sum()]])
            exact(f"{name}: reference counts", rc, counts(ref))
            exact(f"{name}: window counts", wc, counts(win))

            # Window statistics from the counts, by scipy.
            eps = 1e-4
            p, r = wc / wc.sum() + eps, rc / rc.sum() + eps
            close(f"{name}: psi", psi, stats.entropy(p, r) + stats.entropy(r, p), 1e-12)
            close(f"{name}: js", js, distance.jensenshannon(wc, rc), 1e-12)
            close(f"{name}: hellinger", hel,
                  distance.euclidean(np.sqrt(wc / wc.sum()), np.sqrt(rc / rc.sum())) / np.sqrt(2),
                  1e-12)
            keep = (rc + wc) > 0
            ct = stats.chi2_contingency(np.array([rc[keep], wc[keep]]), correction=False)
            gt = stats.chi2_contingency(np.array([rc[keep], wc[keep]]), correction=False,
                                        lambda_="log-likelihood")
            close(f"{name}: chi2", chi2, ct[0], 1e-12)
            close(f"{name}: chi2 df", chi2_df, ct[2], 0)
            close(f"{name}: chi2 p", chi2_p, ct[1], 1e-9, 1e-300)
            close(f"{name}: G", g, gt[0], 1e-12)
            close(f"{name}: G p", g_p, gt[1], 1e-9, 1e-300)

            def u_order(c):
                return np.concatenate([[c[inner]], c[:inner], [c[inner + 1]]])
            close(f"{name}: wasserstein (binned)", w1,
                  stats.wasserstein_distance(upos, upos, u_order(wc), u_order(rc)), 1e-12, 1e-15)

            # u against the exact piecewise-linear reference CDF.
            cum = np.concatenate([[0], np.cumsum(rc[:inner])]) / len(values)
            knots = np.concatenate([[values.min()], want, [values.max()]])
            if np.all(np.diff(knots) > 0):
                def u_raw(x):
                    x = x[~np.isnan(x)]
                    return np.interp(x, knots, cum)  # 0 below the minimum, 1 above the maximum
                ur, uw = u_raw(ref), u_raw(win)
                close(f"{name}: reference mean u", ref_u_mean, ur.mean(), 0, 1 / 8192)
                close(f"{name}: window mean u", win_u_mean, uw.mean(), 0, 1 / 8192)
                close(f"{name}: reference var u", ref_u_var, ur.var(), 0, 3e-4)
                widest = (rc[:inner] / len(values)).max()
                close(f"{name}: wasserstein binned vs raw", w1,
                      stats.wasserstein_distance(uw, ur), 0, widest)
            se = np.sqrt(ref_u_var * (1 / win_un + 1 / ref_un))
            close(f"{name}: z", z, (win_u_mean - ref_u_mean) / se, 1e-12)
            close(f"{name}: z p", z_p, 2 * stats.norm.sf(abs(z)), 1e-10, 1e-300)
        checkers.append(check)

    result = subprocess.run([tool], input="\n".join(requests) + "\n", capture_output=True,
                            text=True, check=True)
    lines = result.stdout.splitlines()
    if len(lines) != len(requests):
        print(f"FAIL: {len(requests)} requests, {len(lines)} answers", file=sys.stderr)
        return 1
    for request, line, check in zip(requests, lines, checkers):
        parts = line.split()
        if parts[0] != request.split()[0]:
            failures.append(f"answer {parts[0]} to {request.split()[0]}")
            continue
        payload = parts[1:]
        check(payload if parts[0] == "bins" else [float(v) for v in payload])
    if failures:
        print(f"FAIL: {len(failures)} of {checks} checks differ from scipy:", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print(f"drift statistics match scipy {__import__('scipy').__version__}: {checks} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
