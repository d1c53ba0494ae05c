# guests=K in the analysis: a real campaign (TCG, two 128 MiB guests migrated
# together, the second 200 ms after the first, twice) read back: each
# guest's runs are a scenario of their own, and the manifest's evacuations
# agree with them.

test_that("evacuations: the manifest's figures, per repetition and per scenario, agree with the guests' runs", {
	df <- suppressMessages(mb_read_campaign(fixture("real-evacuation")))
	expect_setequal(unique(df$scenario), c("evacuate,guest=1", "evacuate,guest=2"))
	tab <- mb_evacuation_table(attr(df, "manifest"))
	expect_equal(nrow(tab), 2)
	expect_equal(tab$repetition, 1:2)
	expect_true(all(tab$guests == 2 & tab$completed == 2))
	for (rep in 1:2) {
		runs <- df[df$repetition == rep, ]
		t <- tab[tab$repetition == rep, ]
		# the spread is the guests' own downtimes, the bytes their sum
		expect_equal(t$downtime_min_ms, min(runs$downtime_ms))
		expect_equal(t$downtime_max_ms, max(runs$downtime_ms))
		expect_equal(t$MiB, sum(runs$pages_transferred.bytes.total) / 1048576)
		# at least the slowest guest's migration, and the aggregate is bytes / span
		expect_gte(t$span_ms, max(runs$total_time_ms) - 0.01)
		expect_equal(t$aggregate_MiB_s, t$MiB / (t$span_ms / 1000))
		# the second guest's `migrate` came about one stagger after the first's
		expect_gt(t$last_start_ms, 100)
		expect_lt(t$last_start_ms, 600)
	}
	sm <- mb_evacuation_summary(tab)
	expect_equal(sm$scenario, "evacuate")
	expect_equal(sm$completed, "4/4")
	expect_equal(sm$span_ms, median(tab$span_ms))

	out <- tempfile("evac-")
	dir.create(out)
	md <- mb_evacuation_md(attr(df, "manifest"), out)
	expect_equal(md[1], "## Evacuations")
	expect_true(any(grepl("^\\| evacuate \\| 2 \\| 2 \\| 4/4 \\|", md)))
	expect_equal(nrow(read.csv(file.path(out, "evacuations.csv"))), 2)
	# a campaign without guests=K has no such section
	expect_length(mb_evacuation_md(list(runs = list())), 0)
})
