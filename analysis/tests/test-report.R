files_in <- function(d) sort(list.files(d))

test_that("report of a real swept campaign: CSV, tables, plots, timelines, model", {
	out <- tempfile("report")
	on.exit(unlink(out, recursive = TRUE))
	res <- NULL
	output <- capture.output(res <- suppressMessages(mb_report(fixture("real-sweep"), out, R = 500)))
	f <- files_in(out)
	for (x in c("runs.csv", "summary.csv", "report.md", "table.tex", "status.tex", "model.tex",
		    "model.csv", "metrics.png", "metrics.pdf", "metric-total-time-ms.png",
		    "metric-total-time-ms.pdf", "model.png", "model.pdf"))
		expect_true(x %in% f, info = x)
	expect_equal(sum(grepl("^timeline-.*\\.png$", f)), 4)
	expect_equal(sum(grepl("^timeline-.*\\.pdf$", f)), 4)
	runs <- read.csv(file.path(out, "runs.csv"), check.names = FALSE)
	expect_equal(nrow(runs), 8)
	expect_true(all(c("pages_transferred.total", "degradation.recovery_to_95pct_ms",
			  "memory_verify.pages_corrupted", "qemu_reported.downtime", "status") %in% names(runs)))
	tex <- readLines(file.path(out, "table.tex"))
	expect_true(any(grepl("\\\\toprule", tex)) && any(grepl("\\\\bottomrule", tex)))
	expect_true(any(grepl("Downtime \\(ms\\)", tex)))
	md <- readLines(file.path(out, "report.md"))
	expect_true(any(grepl("^## Main table", md)))
	expect_true(any(grepl("^## Pre-copy model", md)))
	# the printed table is the report's, with the medians of summary.csv
	expect_true(any(grepl("^\\| Scenario \\| max_bandwidth \\| Mode", output)))
	st <- read.csv(file.path(out, "summary.csv"))
	m <- st$median[st$scenario == "default,mode=precopy,max_bandwidth=64M" & st$metric == "total_time_ms"]
	row <- output[grepl("^\\| default,mode=precopy,max_bandwidth=64M", output)]
	expect_match(row, mb_fmt(m), fixed = TRUE)
})

test_that("CIs in the table with enough runs; PNGs are images", {
	out <- tempfile("report")
	on.exit(unlink(out, recursive = TRUE))
	output <- capture.output(suppressMessages(mb_report(fixture("real-a1"), out, R = 500)))
	row <- output[grepl("^\\| default", output)]
	expect_match(row, "\\[[0-9.]+, [0-9.]+\\]")
	png <- readBin(file.path(out, "metrics.png"), "raw", 8)
	expect_equal(png[2:4], charToRaw("PNG"))
	pdf <- readBin(file.path(out, "timeline-default.pdf"), "raw", 4)
	expect_equal(rawToChar(pdf), "%PDF")
})

test_that("no swept parameter, failures, all runs failed: a report all the same", {
	for (name in c("hand-stats", "real-dnc")) {
		out <- tempfile("report")
		output <- capture.output(suppressMessages(mb_report(fixture(name), out, R = 200)))
		expect_true(file.exists(file.path(out, "report.md")), info = name)
		expect_true(file.exists(file.path(out, "runs.csv")), info = name)
		md <- readLines(file.path(out, "report.md"))
		if (name == "real-dnc") {
			expect_true(any(grepl("0/2 \\(2 did-not-converge\\)", output)))
			expect_true(any(grepl("did-not-converge", md)))
		} else {
			expect_true(any(grepl("10/12 \\(1 failed, 1 did-not-converge\\)", output)))
			expect_true(file.exists(file.path(out, "metrics.png")))     # dot/interval plot per scenario
		}
		unlink(out, recursive = TRUE)
	}
})

test_that("timeline data marks STOP, post-copy and RESUME", {
	f <- list.files(file.path(fixture("real-sweep"), "default,mode=postcopy,max_bandwidth=64M"), full.names = TRUE)[1]
	td <- mb_timeline_data(mb_read_json(f))
	expect_true(all(c("migrate", "STOP", "post-copy", "RESUME", "completed") %in% td$events$what))
	ev <- setNames(td$events$s, td$events$what)
	expect_equal(unname(ev["migrate"]), 0)
	expect_true(ev["STOP"] < ev["RESUME"] && ev["post-copy"] <= ev["RESUME"])
	expect_true(all(c("transferred", "remaining", "guest (heartbeats)", "received by the host") %in%
			td$series$series))
	# the guest dirtied ~12288 pages/s (48 MiB/s) before the migration
	before <- td$series[td$series$series == "guest (heartbeats)" & td$series$s < -0.2 & td$series$s > -0.9, ]
	expect_equal(median(before$value), 12288, tolerance = 0.1)
})
