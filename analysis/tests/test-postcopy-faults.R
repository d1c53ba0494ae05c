# metrics.postcopy_faults in the analysis: a real campaign (TCG, 2 vCPUs,
# 48 MiB/s dirtied at 128 MiB/s) of a post-copy run on QEMU 10.0.2 (blocktime
# only), one on 11.1.3 (also latencies and their distribution) and a
# pre-copy run (null, with why).

test_that("post-copy faults: per vCPU, the distribution, and why a run has none", {
	df <- suppressMessages(mb_read_campaign(fixture("real-postcopy-faults")))
	pf <- mb_postcopy_faults_data(df)
	# one row per vCPU of each post-copy run, in QEMU's order
	expect_equal(nrow(pf$vcpu), 4)
	v10 <- pf$vcpu[pf$vcpu$scenario == "postcopy-10.0", ]
	expect_equal(v10$blocktime_ms, c(31, 45))
	expect_true(all(is.na(v10$latency_us)))
	v11 <- pf$vcpu[pf$vcpu$scenario == "postcopy-11.1", ]
	expect_equal(v11$blocktime_ms, c(67, 102))
	expect_equal(v11$latency_us, c(3395.789, 6437.227))
	# the buckets of 11.1 only, with QEMU's bounds, 40 faults in all
	expect_equal(unique(pf$dist$scenario), "postcopy-11.1")
	expect_equal(sum(pf$dist$faults), 40)
	expect_true(all(pf$dist$to_us == 2 * pf$dist$from_us))
	expect_match(pf$why[["precopy"]], "mode=precopy")
	# the summary figures are catalogued metrics of the tidy table
	expect_equal(df$postcopy_faults.blocktime_ms[df$scenario == "postcopy-11.1"], 81)
	expect_equal(df$postcopy_faults.latency_us[df$scenario == "postcopy-11.1"], 4675.022)
	expect_true(all(c("postcopy_faults.blocktime_ms", "postcopy_faults.latency_us") %in% mb_metric_columns(df)))
	expect_equal(mb_metric_info("postcopy_faults.latency_us")$unit, "us")
	expect_s3_class(mb_postcopy_faults_plot(pf), "ggplot")
	expect_null(mb_postcopy_faults_plot(list(vcpu = NULL)))
})

test_that("report: postcopy_faults.png/pdf and a section in report.md", {
	out <- tempfile("report")
	on.exit(unlink(out, recursive = TRUE))
	capture.output(suppressMessages(mb_report(fixture("real-postcopy-faults"), out, R = 200)))
	f <- list.files(out)
	expect_true(all(c("postcopy_faults.png", "postcopy_faults.pdf") %in% f))
	md <- readLines(file.path(out, "report.md"))
	expect_true(any(grepl("^## Post-copy faults", md)))
	row11 <- md[grepl("^\\| postcopy-11.1 \\| 1 \\| 81", md)]
	expect_length(row11, 1)
	expect_match(row11, "67.0 / 102 | 4675", fixed = TRUE)
	expect_true(any(grepl("^\\| precopy .*mode=precopy: no post-copy phase", md)))
	png <- readBin(file.path(out, "postcopy_faults.png"), "raw", 8)
	expect_equal(png[2:4], charToRaw("PNG"))
})
