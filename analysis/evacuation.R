# guests=K campaigns: the evacuations the manifest records (bench/evacuation.c
# computes them; campaign.json's "evacuations", one per repetition) as a
# table per repetition and a summary per scenario. report.R adds them to
# the report when a campaign has any.
#
#   mb_evacuation_table(manifest)   one row per evacuation
#   mb_evacuation_summary(tab)      per scenario: medians over repetitions
#   mb_evacuation_md(manifest, out) the report's section; writes evacuations.csv

mb_evacuation_num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)

mb_evacuation_table <- function(manifest) {
	ev <- manifest$evacuations
	if (!length(ev)) return(NULL)
	spread <- function(e, m, f) mb_evacuation_num(e[[m]][[f]])
	rows <- lapply(ev, function(e) data.frame(
		scenario = as.character(e$scenario),
		repetition = as.integer(e$repetition),
		guests = as.integer(e$guests),
		completed = as.integer(e$completed),
		span_ms = mb_evacuation_num(e$span_ms),
		aggregate_MiB_s = mb_evacuation_num(e$aggregate_MiB_s),
		MiB = mb_evacuation_num(e$bytes) / 1048576,
		downtime_min_ms = spread(e, "downtime_ms", "min"),
		downtime_median_ms = spread(e, "downtime_ms", "median"),
		downtime_max_ms = spread(e, "downtime_ms", "max"),
		total_median_ms = spread(e, "total_time_ms", "median"),
		total_max_ms = spread(e, "total_time_ms", "max"),
		guest_gap_max_ms = spread(e, "guest_downtime_ms", "max"),
		# the last guest's `migrate` after the first's: the stagger as it happened
		last_start_ms = max(vapply(e$per_guest, function(g) mb_evacuation_num(g$start_ms), 0), na.rm = TRUE),
		stringsAsFactors = FALSE))
	tab <- do.call(rbind, rows)
	tab[order(tab$scenario, tab$repetition), , drop = FALSE]
}

mb_evacuation_summary <- function(tab) {
	by <- split(tab, tab$scenario)
	do.call(rbind, lapply(names(by), function(s) {
		t <- by[[s]]
		med <- function(x) if (all(is.na(x))) NA_real_ else stats::median(x, na.rm = TRUE)
		data.frame(scenario = s, guests = t$guests[1], repetitions = nrow(t),
			   completed = sprintf("%d/%d", sum(t$completed), sum(t$guests)),
			   span_ms = med(t$span_ms), aggregate_MiB_s = med(t$aggregate_MiB_s),
			   downtime_median_ms = med(t$downtime_median_ms), downtime_max_ms = max(t$downtime_max_ms, na.rm = TRUE),
			   total_max_ms = med(t$total_max_ms), stringsAsFactors = FALSE)
	}))
}

mb_evacuation_md <- function(manifest, out = NULL) {
	tab <- mb_evacuation_table(manifest)
	if (is.null(tab)) return(character())
	if (!is.null(out)) write.csv(tab, file.path(out, "evacuations.csv"), row.names = FALSE, na = "")
	sm <- mb_evacuation_summary(tab)
	fmt <- function(x, d = 1) ifelse(is.na(x), "–", formatC(x, format = "f", digits = d))
	show <- data.frame(Scenario = sm$scenario, Guests = sm$guests, Repetitions = sm$repetitions,
			   Completed = sm$completed, `Evacuation ms` = fmt(sm$span_ms, 0),
			   `Aggregate MiB/s` = fmt(sm$aggregate_MiB_s), `Downtime ms (median)` = fmt(sm$downtime_median_ms),
			   `Downtime ms (worst guest)` = fmt(sm$downtime_max_ms), `Slowest guest ms` = fmt(sm$total_max_ms, 0),
			   check.names = FALSE, stringsAsFactors = FALSE)
	c("## Evacuations", "",
	  "Scenarios with guests=K: K guests migrated together (bench/evacuation.c). Evacuation = the first guest's",
	  "`migrate` to the last guest's end of migration; aggregate = the guests' bytes over that time; medians over",
	  "repetitions, worst guest over all of them. Every repetition: `evacuations.csv`.", "",
	  mb_markdown_table(show, align = c("left", rep("right", ncol(show) - 1))))
}
