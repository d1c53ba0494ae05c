test_that("median and BCa CI on known data", {
	x <- 10:19                      # hand-stats scenario "ten": downtime 10..19 ms
	st <- mb_median_ci(x, R = 2000, seed = 1)
	expect_equal(st$n, 10)
	expect_equal(st$median, 14.5)
	# the same interval boot.ci gives directly (resampling the 10 runs)
	set.seed(1)
	b <- boot::boot(x, function(d, i) median(d[i]), R = 2000)
	ci <- suppressWarnings(boot::boot.ci(b, type = "bca"))$bca[4:5]
	expect_equal(c(st$ci_low, st$ci_high), unname(ci))
	# and it is a sensible interval for the median of 10..19
	expect_true(st$ci_low < 14.5 && st$ci_high > 14.5)
	expect_true(st$ci_low >= 11 && st$ci_high <= 18)
	# reproducible, and does not disturb the caller's random stream
	set.seed(42); u1 <- runif(1)
	set.seed(42); invisible(mb_median_ci(x)); u2 <- runif(1)
	expect_equal(u1, u2)
	expect_equal(mb_median_ci(x)$ci_low, st$ci_low)
})

test_that("n < 3 and zero variance give an NA CI with a note, not an error", {
	two <- mb_median_ci(c(501, 502))
	expect_equal(two$median, 501.5)
	expect_true(is.na(two$ci_low) && is.na(two$ci_high))
	expect_match(two$note, "n = 2 < 3")
	flat <- mb_median_ci(rep(700, 4))
	expect_equal(flat$median, 700)
	expect_true(is.na(flat$ci_low))
	expect_match(flat$note, "all values equal")
	none <- mb_median_ci(c(NA, NaN))
	expect_equal(none$n, 0)
	expect_match(none$note, "no values")
})

test_that("per-scenario stats use completed runs; failures are counted", {
	df <- mb_read_campaign(fixture("hand-stats"))
	st <- mb_scenario_stats(df, R = 1000)
	ten <- st[st$scenario == "ten" & st$metric == "downtime_ms", ]
	expect_equal(ten$n, 10)
	expect_equal(ten$median, 14.5)
	expect_true(is.finite(ten$ci_low))
	tot <- st[st$scenario == "ten" & st$metric == "total_time_ms", ]
	expect_equal(tot$median, 1055)
	# the failed run's 3 corrupted pages are not in the completed runs' stats
	cor <- st[st$scenario == "ten" & st$metric == "memory_verify.pages_corrupted", ]
	expect_equal(cor$n, 10)
	expect_equal(cor$median, 0)
	expect_match(st$note[st$scenario == "two" & st$metric == "total_time_ms"], "n = 2")
	expect_match(st$note[st$scenario == "flat" & st$metric == "total_time_ms"], "all values equal")
	counts <- mb_status_counts(df)
	ten_c <- counts[counts$scenario == "ten", ]
	expect_equal(c(ten_c$runs, ten_c$completed, ten_c$failed, ten_c$`did-not-converge`), c(12, 10, 1, 1))
	expect_match(ten_c$errors, "3 pages corrupted")
	expect_equal(counts$missing[counts$scenario == "flat"], 1)
})

test_that("rounding: sensible digits, CI rounded like the median", {
	expect_equal(mb_fmt(c(1148.45, 14.069, 1.4712, 0.539, 0)), c("1148", "14.1", "1.47", "0.539", "0"))
	expect_equal(mb_fmt_ci(14.5, 12.25, 16.75), "14.5 [12.2, 16.8]")
	expect_equal(mb_fmt_ci(68105, 67825, 68656, integer = TRUE), "68105 [67825, 68656]")
	expect_equal(mb_fmt_ci(NA, NA, NA), "–")
	expect_equal(mb_fmt_ci(2^20 * 141.2, NA, NA, scale = 2^-20), "141")
})

test_that("swept parameters: a sweep, not per-mode settings", {
	sw <- mb_read_campaign(fixture("real-sweep"))
	expect_equal(mb_swept_params(sw), c("max_bandwidth", "mode"))
	expect_equal(mb_swept_params(mb_read_campaign(fixture("real-a1"))), character())
})

test_that("scenario keys come from migbench: every key, plug-ins' too, is a parameter, not a metric", {
	keys <- mb_scenario_keys()
	# global keys and those a probe declares in its own file
	expect_true(all(c("mode", "max_bandwidth", "counter_events", "cpuset_src", "client_rate") %in% keys$name))
	expect_equal(keys$plugin[keys$name == "counter_events"], "counters")
	expect_equal(keys$plugin[keys$name == "mode"], "")
	expect_equal(keys$unit[keys$name == "downtime_limit"], "ms")
	df <- data.frame(mode = "precopy", counter_events = "none", client_rate = 1000, cpuset_src = "",
			 downtime_ms = 3, stringsAsFactors = FALSE)
	expect_equal(mb_param_columns(df), c("mode", "counter_events", "client_rate", "cpuset_src"))
	expect_equal(mb_metric_columns(df), "downtime_ms")
})

test_that("metrics come from migbench: each one it describes is in real results, with its unit", {
	cat <- mb_metric_catalog()
	own <- cat[!grepl("^(derived|qemu_reported)\\.", cat$column), ]
	expect_true(all(c("downtime_ms", "total_time_ms", "pages_transferred.bytes.total",
			  "postcopy_faults.latency_us") %in% own$column))
	expect_equal(cat$unit[cat$column == "pages_transferred.bytes.total"], "MiB")
	expect_equal(cat$scale[cat$column == "pages_transferred.bytes.total"], 1 / 2^20)
	expect_true(is.na(cat$direction[cat$column == "guest_gap_stopped_ms"]))
	expect_equal(sum(duplicated(cat$column)), 0)
	# every metric migbench describes is one its results hold (a renamed metric
	# would leave the description behind): the real results under tests/fixtures
	# and the checked-in reference campaigns
	top <- mb_test_srcdir()
	ref <- list.files(file.path(top, "results", "reference"), "^1\\.json$", recursive = TRUE, full.names = TRUE)
	files <- c(list.files(file.path(top, "tests", "fixtures", "results"), "\\.json$", full.names = TRUE), ref)
	skip_if(length(files) < 10, "too few real results in the source tree")
	paths <- function(x, p = "") {
		out <- character()
		for (n in names(x)) {
			k <- if (nzchar(p)) paste0(p, ".", n) else n
			v <- x[[n]]
			out <- c(out, if (is.list(v) && length(names(v))) paths(v, k) else k)
		}
		out
	}
	seen <- character()
	for (f in files) {
		m <- jsonlite::fromJSON(f, simplifyVector = FALSE)$metrics
		if (is.list(m)) seen <- union(seen, paths(m))
	}
	missing <- setdiff(own$column, seen)
	expect_equal(missing, character(), label = "metrics migbench describes that no real result holds")
})
