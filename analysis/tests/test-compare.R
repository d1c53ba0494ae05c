verdicts <- function(cmp) {
	r <- cmp$results
	setNames(r$verdict, r$metric)
}

test_that("A/A on real campaigns (same settings, run twice): no change", {
	cmp <- mb_compare(fixture("real-a1"), fixture("real-a2"))
	v <- verdicts(cmp)
	expect_false(any(v == "regression"))
	expect_equal(unname(v["total_time_ms"]), "no change")
	expect_equal(unname(v["downtime_ms"]), "no change")
	expect_equal(unname(v["runs.completed"]), "no change")
	expect_length(cmp$diffs, 0)
	md <- mb_compare_markdown(cmp)
	expect_match(md[3], "no regression")
})

test_that("half the bandwidth on real campaigns (128 -> 64 MiB/s): total time regression", {
	cmp <- mb_compare(fixture("real-a1"), fixture("real-b-64M"))
	v <- verdicts(cmp)
	expect_equal(unname(v["total_time_ms"]), "regression")
	expect_equal(unname(v["preparation_time_ms"]), "regression")
	expect_equal(unname(v["qemu_reported.ram.mbps"]), "regression")   # lower bandwidth is worse
	tt <- cmp$results[cmp$results$metric == "total_time_ms", ]
	expect_gt(tt$rel_change, 0.5)
	expect_lt(tt$p, 0.05)
	expect_gt(tt$shift_low, 0)                  # HL CI of B - A excludes 0
	expect_match(cmp$diffs, "max_bandwidth 128 MiB/s → 64 MiB/s")
	md <- mb_compare_markdown(cmp)
	expect_match(md[3], "REGRESSION")
	# the other way round, the same data is an improvement, not a regression
	back <- verdicts(mb_compare(fixture("real-b-64M"), fixture("real-a1")))
	expect_equal(unname(back["total_time_ms"]), "improvement")
	expect_false(any(back == "regression"))
})

test_that("hand-made shift: +20 % total time regresses, higher throughput improves, +3 % is no change", {
	cmp <- mb_compare(fixture("hand-a"), fixture("hand-slower"))
	v <- verdicts(cmp)
	expect_equal(unname(v["total_time_ms"]), "regression")
	expect_equal(unname(v["degradation.phases.precopy.ratio"]), "improvement")
	expect_equal(unname(v["downtime_ms"]), "no change")
	tt <- cmp$results[cmp$results$metric == "total_time_ms", ]
	# medians by hand: A 1020, 1030 -> 1025; B = 1.2 x -> 1230
	expect_equal(c(tt$median_a, tt$median_b), c(1025, 1230))
	expect_equal(tt$rel_change, 0.2)
	# HL estimate: median of all 36 pairwise differences B_j - A_i; exact
	# two-sided p for complete separation of 6 vs 6 runs: 2 / choose(12, 6)
	a <- 1000 + 10 * (0:5); b <- 1.2 * a
	expect_equal(tt$shift, median(outer(b, a, "-")), tolerance = 1e-6)
	expect_equal(tt$p, 2 / choose(12, 6))
	v3 <- verdicts(mb_compare(fixture("hand-a"), fixture("hand-slightly")))
	expect_equal(unname(v3["total_time_ms"]), "no change")
	c3 <- mb_compare(fixture("hand-a"), fixture("hand-slightly"))$results
	expect_match(c3$note[c3$metric == "total_time_ms"], "within 5 %")
	# a lower threshold makes the same 3 % a regression
	v4 <- verdicts(mb_compare(fixture("hand-a"), fixture("hand-slightly"), threshold = 0.02))
	expect_equal(unname(v4["total_time_ms"]), "regression")
})

test_that("a corrupted page in B is a regression outright", {
	v <- verdicts(mb_compare(fixture("hand-a"), fixture("hand-corrupt")))
	expect_equal(unname(v["memory_verify.pages_corrupted"]), "regression")
	expect_equal(unname(v["total_time_ms"]), "no change")
})

test_that("per-metric rules: noise floor, ties, too few runs, fewer completed runs", {
	# 0.3 -> 0.6 ms resume time: +100 %, separated, but under the 1 ms floor
	r <- mb_compare_metric(c(0.30, 0.31, 0.32, 0.33), c(0.60, 0.61, 0.62, 0.63), "lower", floor = 1)
	expect_equal(r$verdict, "no change")
	expect_lt(r$p, 0.05)
	# all equal: shift 0, p 1
	r <- mb_compare_metric(rep(0, 4), rep(0, 4), "lower")
	expect_equal(c(r$shift, r$p), c(0, 1))
	expect_equal(r$verdict, "no change")
	# 3 vs 3 runs cannot reach p < 0.05 (smallest exact p is 0.1): neither
	# "no change" nor a pass, but inconclusive
	r <- mb_compare_metric(c(1, 2, 3), c(10, 11, 12), "lower")
	expect_equal(r$verdict, "inconclusive")
	expect_match(r$note, "cannot reach")
	expect_equal(mb_min_p(3, 3), 0.1)
	expect_equal(mb_min_p(4, 4), 2 / 70)
	# higher is better: a drop is the regression
	r <- mb_compare_metric(c(0.9, 0.91, 0.92, 0.93), c(0.5, 0.51, 0.52, 0.53), "higher", floor = 0.01)
	expect_equal(r$verdict, "regression")
	# from zero: a new non-zero value is an infinite relative change
	r <- mb_compare_metric(rep(0, 5), c(3, 4, 5, 6, 7), "lower")
	expect_equal(r$verdict, "regression")
	# informational metrics never get a verdict
	expect_equal(mb_compare_metric(1:5, 11:15, NA)$verdict, "info")
})

test_that("scenarios are matched by name; none in common is an error", {
	expect_error(mb_compare(fixture("hand-a"), fixture("real-a1")), "no scenario in both", class = "mb_error")
	cmp <- mb_compare(fixture("real-sweep"), fixture("real-sweep"))
	expect_equal(length(cmp$common), 4)
	expect_false(any(cmp$results$verdict %in% c("regression", "improvement")))
})

# ---- what a CI gate must not pass ----------------------------------------------

test_that("a candidate whose runs all failed is a regression, never a pass", {
	cmp <- mb_compare(fixture("hand-a"), fixture("hand-failed"))
	r <- cmp$results[cmp$results$metric == "runs.completed", ]
	expect_equal(r$verdict, "regression")
	expect_match(r$note, "no run of B completed")
	expect_equal(mb_compare_status(cmp), mb_exit[["failed"]])
	expect_match(mb_compare_markdown(cmp)[3], "REGRESSION")
	# even against a baseline that failed as often: no completed run cannot pass
	both <- mb_compare(fixture("hand-failed"), fixture("hand-failed"))
	expect_equal(both$results$verdict[both$results$metric == "runs.completed"], "regression")
	expect_equal(mb_compare_status(both), mb_exit[["failed"]])
})

test_that("a candidate that fails more often than the baseline is a regression, said in the table", {
	cmp <- mb_compare(fixture("hand-a"), fixture("hand-onefailed"))
	r <- cmp$results[cmp$results$metric == "runs.completed", ]
	expect_equal(r$verdict, "regression")
	expect_gt(r$p, 0.05)                  # Fisher's test alone would let it pass
	expect_match(r$note, "1/6 of B did not complete, 0/6 of A")
	expect_equal(mb_compare_status(cmp), mb_exit[["failed"]])
	md <- mb_compare_markdown(cmp)
	expect_true(any(grepl("^\\| Runs completed .*\\*\\*regression\\*\\* \\| 1/6 of B did not complete", md)))
	# the other way round: fewer failures is no regression
	back <- mb_compare(fixture("hand-onefailed"), fixture("hand-a"))
	expect_equal(back$results$verdict[back$results$metric == "runs.completed"], "improvement")
})

test_that("3 vs 3 runs: +92 % total time is inconclusive, with its own exit status", {
	cmp <- mb_compare(fixture("hand-a3"), fixture("hand-double3"))
	v <- verdicts(cmp)
	expect_equal(unname(v["total_time_ms"]), "inconclusive")
	tt <- cmp$results[cmp$results$metric == "total_time_ms", ]
	expect_equal(tt$rel_change, 0.92, tolerance = 1e-9)
	expect_equal(tt$p, 0.1)
	expect_match(tt$note, "3 vs 3 runs cannot reach p < 0.05")
	# nothing can be shown, so no metric is "no change" (the run counts are no test)
	expect_false(any(v[names(v) != "runs.completed"] == "no change"))
	expect_equal(mb_compare_status(cmp), mb_exit[["inconclusive"]])
	expect_false(mb_exit[["inconclusive"]] %in% mb_exit[c("ok", "failed", "usage", "no_resource")])
	md <- mb_compare_markdown(cmp)
	expect_match(md[3], "INCONCLUSIVE")
	expect_true(any(grepl("use at least 4 repetitions per side", md)))
	# a regression elsewhere still decides: failed beats inconclusive
	expect_equal(mb_compare_status(mb_compare(fixture("hand-a3"), fixture("hand-failed"))), mb_exit[["failed"]])
})

test_that("enough runs but an unconfirmed worsening beyond the threshold is inconclusive", {
	# 6 vs 6, median +30 %, but overlapping: p > 0.05
	a <- c(100, 101, 102, 103, 104, 200); b <- c(98, 99.5, 132, 134, 136, 138)
	r <- mb_compare_metric(a, b, "lower", floor = 1)
	expect_gt(r$p, 0.05)
	expect_equal(r$verdict, "inconclusive")
	expect_match(r$note, "more runs")
	# the same unconfirmed move in the better direction is no regression
	expect_equal(mb_compare_metric(b, a, "lower", floor = 1)$verdict, "no change")
	# a metric B lost (values in A only) cannot be judged
	r <- mb_compare_metric(c(1, 2, 3, 4), numeric(), "lower")
	expect_equal(r$verdict, "inconclusive")
	expect_match(r$note, "no values in B")
	expect_equal(mb_compare_metric(numeric(), numeric(), "lower")$verdict, "no data")
})

test_that("repetitions per side a rank test needs at alpha", {
	expect_equal(mb_min_reps(0.05), 4)     # 2 / choose(8, 4) = 0.029
	expect_equal(mb_min_reps(0.01), 5)     # 2 / choose(10, 5) = 0.0079
	expect_equal(mb_min_p(5, 5), 2 / 252)
})

test_that("--pool: each side is every campaign in its folder, pooled", {
	top <- tempfile("pool")
	dir.create(file.path(top, "a"), recursive = TRUE)
	dir.create(file.path(top, "b"))
	file.copy(fixture("real-a1"), file.path(top, "a"), recursive = TRUE)
	file.copy(fixture("real-a2"), file.path(top, "a"), recursive = TRUE)
	file.copy(fixture("real-b-64M"), file.path(top, "b"), recursive = TRUE)
	A <- mb_compare_side(file.path(top, "a"), pool = TRUE)
	expect_equal(nrow(A), nrow(mb_read_campaign(fixture("real-a1"))) + nrow(mb_read_campaign(fixture("real-a2"))))
	expect_setequal(unique(A$campaign), c("real-a1", "real-a2"))
	expect_equal(attr(A, "pooled"), 2)
	cmp <- mb_compare(file.path(top, "a"), file.path(top, "b"), pool = TRUE)
	tt <- cmp$results[cmp$results$metric == "total_time_ms", ]
	expect_equal(c(tt$n_a, tt$n_b), c(8, 4))
	expect_equal(tt$verdict, "regression")
	expect_match(mb_compare_markdown(cmp)[5], "\\(8 runs pooled from 2 campaigns, 8 completed")
	# without --pool the folder means its newest campaign, as before
	expect_equal(nrow(suppressMessages(mb_compare_side(file.path(top, "a")))), 4)
	dir.create(file.path(top, "empty"))
	expect_error(mb_compare_side(file.path(top, "empty"), pool = TRUE),
		     "--pool: '.*/empty' holds no campaign folder", class = "mb_error")
})

test_that("--metrics: only those are judged, corruption and run counts still are; a typo is an error", {
	cmp <- mb_compare(fixture("hand-a"), fixture("hand-corrupt"), metrics = "downtime_ms")
	expect_setequal(unique(cmp$results$metric), c("runs.completed", "downtime_ms", "memory_verify.pages_corrupted"))
	expect_equal(mb_compare_status(cmp), mb_exit[["failed"]])
	cmp <- mb_compare(fixture("hand-a"), fixture("hand-slower"), metrics = c("downtime_ms", "total_time_ms"))
	expect_equal(unname(verdicts(cmp)["total_time_ms"]), "regression")
	expect_false("preparation_time_ms" %in% cmp$results$metric)
	expect_error(mb_compare(fixture("hand-a"), fixture("hand-slower"), metrics = c("total_time_ms", "totl_time_ms")),
		     "--metrics: 'totl_time_ms': no such metric in either campaign \\(they have: .*total_time_ms",
		     class = "mb_error")
})
