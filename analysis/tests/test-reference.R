# The checked-in classic reference (results/reference/classic, made by
# bash bench/reference.sh): its shapes, read from the results, not rerun.
ref <- file.path(mb_test_srcdir(), "results", "reference", "classic")

shapes <- NULL
get_shapes <- function() {
	if (!file.exists(file.path(ref, "dirty-rate", "campaign.json")))
		skip(sprintf("no checked-in classic reference at %s", ref))
	if (is.null(shapes)) {
		local({
			cs <- mb_classic_read(ref)
			model <- do.call(rbind, lapply(cs, mb_model_campaign))
			shapes <<- mb_classic_shapes(cs, model)
		})
	}
	shapes
}

holds <- function(campaign, pattern) {
	s <- get_shapes()
	row <- s[s$campaign == campaign & grepl(pattern, s$shape, fixed = TRUE), , drop = FALSE]
	expect_equal(nrow(row), 1, label = sprintf("shape '%s' of %s", pattern, campaign))
	if (nrow(row) == 1)
		expect_true(isTRUE(row$holds), label = sprintf("%s: %s [%s]", campaign, row$shape, row$detail))
}

test_that("dirty rate: pre-copy grows with lambda and diverges past 1, post-copy sends each page about once", {
	holds("dirty-rate", "pre-copy data and total time rise")
	holds("dirty-rate", "pre-copy does not converge")
	holds("dirty-rate", "post-copy sends each page about once")
	holds("dirty-rate", "post-copy after one pre-copy pass sends at most")
})

test_that("bandwidth and downtime limit: time follows memory / bandwidth, downtime follows the limit", {
	holds("bandwidth", "total time falls as the bandwidth cap rises, until")
	holds("bandwidth", "total time follows memory / bandwidth")
	holds("bandwidth", "downtime stays under the limit")
	holds("bandwidth", "downtime grows with the limit")
})

test_that("working set and pattern: out-of-order writes send less", {
	holds("pattern", "random and hot/cold writes send less")
})

test_that("optimizations against plain pre-copy past lambda 1", {
	holds("optimizations", "plain pre-copy and multifd do not converge")
	holds("optimizations", "auto-converge's throttle does not slow")
})

test_that("idle guest: linear in memory", {
	holds("memory", "grows linearly with its memory")
})

test_that("post-copy faults are timed", {
	holds("postcopy-faults", "every completed post-copy run has its blocktime")
})

test_that("the pre-copy model: time and data within 15 %, downtime in the median scenario", {
	for (pat in c("sequential", "random", "hotcold"))
		holds("model", sprintf("total time and data within 15 %% of every scenario median (lambda < 0.8, %s writes)", pat))
	holds("model", "downtime within 15 % of the scenario medians in the median scenario")
})
