test_that("a real campaign reads into one row per run with flattened metrics", {
	df <- mb_read_campaign(fixture("real-a1"))
	expect_equal(nrow(df), 4)
	expect_true(all(df$status == "completed"))
	for (col in c("scenario", "repetition", "mode", "max_bandwidth", "downtime_limit", "wss", "rate",
		      "preparation_time_ms", "downtime_ms", "resume_time_ms", "total_time_ms",
		      "pages_transferred.total", "pages_transferred.bytes.total", "guest_downtime_ms",
		      "degradation.recovery_to_95pct_ms", "degradation.phases.precopy.ratio",
		      "memory_verify.pages_corrupted", "qemu_reported.downtime", "qemu_reported.total-time",
		      "qemu_reported.ram.mbps", "derived.passes", "derived.guest_dirty_rate_pages_s"))
		expect_true(col %in% names(df), info = col)
	expect_equal(df$max_bandwidth, rep(128 * 2^20, 4))
	# the values are the files' values
	doc <- jsonlite::fromJSON(file.path(fixture("real-a1"), "default", "2.json"), simplifyVector = FALSE)
	r <- df[df$repetition == 2, ]
	expect_equal(r$total_time_ms, doc$metrics$total_time_ms)
	expect_equal(r$pages_transferred.total, doc$metrics$pages_transferred$total)
	expect_equal(r$`qemu_reported.total-time`, doc$qemu_reported$`total-time`)
	expect_equal(r$memory_verify.pages_corrupted, 0)
	# the guest dirtied at its configured rate (8 MiB/s = 2048 pages/s)
	expect_equal(df$derived.guest_dirty_rate_pages_s, rep(2048, 4), tolerance = 0.02)
})

test_that("statuses, errors and missing files are kept, not dropped", {
	df <- mb_read_campaign(fixture("hand-stats"))
	expect_equal(nrow(df), 12 + 2 + 4 + 1)
	expect_equal(sum(df$status == "failed"), 1)
	expect_equal(sum(df$status == "did-not-converge"), 1)
	expect_equal(sum(df$status == "missing"), 1)
	expect_match(df$error[df$status == "missing"], "flat/5.json missing")
	dnc <- mb_read_campaign(fixture("real-dnc"))
	expect_equal(dnc$status, c("did-not-converge", "did-not-converge"))
	expect_match(dnc$error[1], "not converged")
})

test_that("a folder of campaigns resolves to the newest; a non-campaign is an error", {
	tmp <- tempfile("campaigns")
	dir.create(tmp)
	on.exit(unlink(tmp, recursive = TRUE))
	file.copy(fixture("hand-a"), tmp, recursive = TRUE)
	file.copy(fixture("hand-model"), tmp, recursive = TRUE)
	m <- jsonlite::fromJSON(file.path(tmp, "hand-model", "campaign.json"), simplifyVector = FALSE)
	m$created <- "2027-01-01T00:00:00Z"
	writeLines(jsonlite::toJSON(m, auto_unbox = TRUE, null = "null"), file.path(tmp, "hand-model", "campaign.json"))
	expect_message(d <- mb_campaign_dir(tmp), "newest")
	expect_equal(basename(d), "hand-model")
	empty <- tempfile("empty"); dir.create(empty); on.exit(unlink(empty, recursive = TRUE), add = TRUE)
	expect_error(mb_read_campaign(empty), "not a campaign", class = "mb_error")
	expect_error(mb_read_campaign(file.path(empty, "nope")), "no such folder", class = "mb_error")
})

test_that("without a manifest the result files are read", {
	tmp <- tempfile("nomanifest")
	dir.create(tmp)
	on.exit(unlink(tmp, recursive = TRUE))
	file.copy(file.path(fixture("real-a1"), "default"), tmp, recursive = TRUE)
	df <- mb_read_campaign(tmp)
	expect_equal(nrow(df), 4)
	expect_equal(sort(df$repetition), 1:4)
})

test_that("metric catalogue: direction of worse per metric", {
	expect_equal(mb_metric_info("downtime_ms")$direction, "lower")
	expect_equal(mb_metric_info("total_time_ms")$direction, "lower")
	expect_equal(mb_metric_info("pages_transferred.total")$direction, "lower")
	expect_equal(mb_metric_info("memory_verify.pages_corrupted")$direction, "lower")
	expect_equal(mb_metric_info("degradation.phases.precopy.ratio")$direction, "higher")
	expect_equal(mb_metric_info("qemu_reported.ram.mbps")$direction, "higher")
	expect_true(is.na(mb_metric_info("pages_transferred.postcopy")$direction))
	# uncatalogued: guessed from the name
	expect_equal(mb_metric_info("client_latency_p99_ms")$direction, "lower")
	expect_equal(mb_metric_info("energy.source.package-0.joules")$direction, "lower")
})

test_that("energy blocks flatten: named domains become columns, bookkeeping is not a metric", {
	doc <- jsonlite::fromJSON(file.path(fixture("real-a1"), "default", "1.json"), simplifyVector = FALSE)
	doc$metrics$energy <- list(available = TRUE, source = "powercap", samples = 40, baseline_window_ms = 2000,
		host = list(idle_watts = 20, phases = list(precopy = list(joules = 30.5, watts = 25, joules_above_idle = 6))),
		domains = list(list(name = "package-0", kind = "package", wraps = 0,
				    phases = list(precopy = list(joules = 28, watts = 23, joules_above_idle = 5)))))
	df <- mb_rows_to_df(list(mb_run_row(doc, "default/1.json")))
	expect_equal(df$energy.host.phases.precopy.joules, 30.5)
	expect_equal(df$`energy.domains.package-0.phases.precopy.joules`, 28)
	m <- mb_metric_columns(df)
	expect_true("energy.host.phases.precopy.joules" %in% m)
	expect_false(any(c("energy.samples", "energy.baseline_window_ms", "energy.host.idle_watts",
			   "energy.domains.package-0.wraps") %in% m))
	expect_equal(mb_metric_info("energy.host.phases.precopy.joules")$direction, "lower")
	expect_equal(mb_metric_info("energy.host.phases.precopy.watts")$unit, "W")
})

# Each file is read on its own: an odd one is named in a warning, becomes a
# "missing" row, and the other runs are read. Reading a campaign while
# keeping the warnings it gave; an error (R's "argument is of length zero"
# before the fix) fails the test.
read_warned <- function(dir, patterns) {
	warned <- character()
	df <- withCallingHandlers(mb_read_campaign(dir), warning = function(w) {
		warned <<- c(warned, conditionMessage(w))
		invokeRestart("muffleWarning")
	})
	expect_equal(length(warned), length(patterns))
	for (i in seq_along(patterns)) expect_match(warned[i], patterns[i])
	df
}
read_odd <- function(name, pattern) read_warned(fixture(name), pattern)

test_that("a result file that is [] is named and counted as missing", {
	df <- read_odd("odd-empty-result", "odd-empty-result/s/2\\.json.*not a JSON object")
	expect_equal(nrow(df), 3)
	expect_equal(df$status[order(df$repetition)], c("completed", "missing", "completed"))
	expect_match(df$error[df$status == "missing"], "s/2.json unreadable")
	expect_equal(df$file[df$status == "missing"], "s/2.json")
	expect_equal(sort(df$total_time_ms[df$status == "completed"]), c(1000, 1020))
})

test_that("a manifest run without a file is named and counted as missing", {
	df <- read_odd("odd-manifest-nofile", "odd-manifest-nofile/campaign\\.json: run 2 .*no result file")
	expect_equal(nrow(df), 3)
	expect_equal(df$status[order(df$repetition)], c("completed", "missing", "completed"))
	miss <- df[df$status == "missing", ]
	expect_equal(c(miss$scenario, miss$repetition), c("s", "2"))
	expect_true(is.na(miss$file))
	expect_match(miss$error, "lists no result file")
})

test_that("a truncated campaign.json is named; the folder's result files are read instead", {
	df <- read_odd("odd-manifest-truncated", "odd-manifest-truncated/campaign\\.json.*unreadable")
	expect_equal(nrow(df), 3)
	expect_true(all(df$status == "completed"))
	expect_equal(sort(df$repetition), 1:3)
	expect_null(attr(df, "manifest"))
})

test_that("without a manifest, an odd result file is named and counted, not skipped", {
	tmp <- tempfile("odd")
	dir.create(tmp)
	on.exit(unlink(tmp, recursive = TRUE))
	file.copy(file.path(fixture("odd-empty-result"), "s"), tmp, recursive = TRUE)
	writeLines('{"run": "not an object"}', file.path(tmp, "s", "3.json"))
	df <- read_warned(tmp, c("s/2\\.json.*not a JSON object", "s/3\\.json.*no \"run\" object"))
	expect_equal(df$status[order(df$repetition)], c("completed", "missing", "missing"))
	expect_equal(df$scenario, rep("s", 3))
})

test_that("the report completes on campaigns with an odd file", {
	for (name in c("odd-empty-result", "odd-manifest-nofile", "odd-manifest-truncated")) {
		out <- tempfile("report")
		res <- NULL
		suppressWarnings(suppressMessages(capture.output(res <- mb_report(fixture(name), out, R = 200))))
		runs <- read.csv(file.path(out, "runs.csv"))
		expect_equal(nrow(runs), 3, info = name)
		expect_equal(sum(runs$status == "missing"), if (name == "odd-manifest-truncated") 0 else 1, info = name)
		unlink(out, recursive = TRUE)
	}
})

test_that("heartbeats in a side file read as if they were in the result", {
	dir <- fixture("real-sidefile")
	doc <- mb_read_json(file.path(dir, "default", "1.json"))
	expect_equal(doc$heartbeats$file, "1.heartbeats.tsv")
	hb <- mb_heartbeats(doc)
	expect_equal(nrow(hb), doc$heartbeats$count)
	expect_true(all(diff(hb$t_us) >= 0))  # in arrival order (one read() stamps its lines alike)
	# the guest dirtied at its configured rate (8 MiB/s = 2048 pages/s)
	expect_equal(mb_guest_dirty_rate(doc), 2048, tolerance = 0.1)

	# the same run with the columns inline: the same heartbeats, the same row
	tmp <- tempfile("inline")
	dir.create(file.path(tmp, "default"), recursive = TRUE)
	on.exit(unlink(tmp, recursive = TRUE))
	file.copy(file.path(dir, "campaign.json"), tmp)
	raw <- jsonlite::fromJSON(file.path(dir, "default", "1.json"), simplifyVector = FALSE)
	t <- utils::read.delim(file.path(dir, "default", "1.heartbeats.tsv"))
	raw$heartbeats <- c(raw$heartbeats[c("time_origin", "origin_real_us")], lapply(t, as.list))
	writeLines(jsonlite::toJSON(raw, auto_unbox = TRUE, null = "null", digits = NA), file.path(tmp, "default", "1.json"))
	inline <- mb_read_json(file.path(tmp, "default", "1.json"))
	expect_null(inline$heartbeats$file)
	expect_equal(mb_heartbeats(inline), hb)
	same <- function(df) df[, setdiff(names(df), c("file", "campaign"))]
	expect_equal(same(mb_read_campaign(tmp)), same(mb_read_campaign(dir)))

	# a result whose side file is gone cannot be read: a missing row that says why
	gone <- tempfile("gone")
	dir.create(gone)
	on.exit(unlink(gone, recursive = TRUE), add = TRUE)
	file.copy(dir, gone, recursive = TRUE)
	unlink(file.path(gone, "real-sidefile", "default", "1.heartbeats.tsv"))
	expect_warning(df <- mb_read_campaign(file.path(gone, "real-sidefile")), "side file")
	expect_equal(df$status, "missing")
	expect_match(df$error, "1.heartbeats.tsv is missing")
})

test_that("samples in a side file read as if they were in the result", {
	dir <- fixture("real-sidefile")
	tmp <- tempfile("samples")
	dir.create(tmp)
	on.exit(unlink(tmp, recursive = TRUE))
	file.copy(dir, tmp, recursive = TRUE)
	res <- file.path(tmp, "real-sidefile", "default", "1.json")
	raw <- jsonlite::fromJSON(res, simplifyVector = FALSE)
	lines <- vapply(raw$samples, function(s) as.character(jsonlite::toJSON(s, auto_unbox = TRUE, digits = NA, null = "null")), "")
	writeLines(lines, file.path(dirname(res), "1.samples.jsonl"))
	n <- length(raw$samples)
	raw$samples <- list(file = "1.samples.jsonl", format = "jsonl", count = n,
			    bytes = file.size(file.path(dirname(res), "1.samples.jsonl")))
	writeLines(jsonlite::toJSON(raw, auto_unbox = TRUE, null = "null", digits = NA), res)
	expect_equal(mb_read_json(res)$samples, mb_read_json(file.path(dir, "default", "1.json"))$samples)
	same <- function(df) df[, setdiff(names(df), c("file", "campaign"))]
	expect_equal(same(mb_read_campaign(file.path(tmp, "real-sidefile"))), same(mb_read_campaign(dir)))
	# a side file that is not whole cannot be read
	writeLines(lines[-1], file.path(dirname(res), "1.samples.jsonl"))
	expect_error(mb_read_json(res), "has 4 lines, the result says 5|lines, the result says")
})
