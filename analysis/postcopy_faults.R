# Post-copy fault latency (metrics.postcopy_faults, bench/postcopy_faults.h):
# QEMU's postcopy-blocktime figures of the destination, per vCPU, and from
# QEMU 10.1 on the distribution of remote-fault latencies. report.R plots
# them (postcopy_faults.{png,pdf}) and writes a section of report.md.
#
# The per-vCPU lists and the buckets are arrays, which the tidy table keeps
# only as "; "-joined text: they are read from the result files.

suppressPackageStartupMessages(library(ggplot2))

# One campaign's figures: per vCPU (scenario, repetition, vcpu, blocktime_ms,
# latency_us) and the latency buckets summed over each scenario's runs
# (scenario, from_us, to_us, faults); why = the reason of runs without
# figures, per scenario (the first one).
mb_postcopy_faults_data <- function(df) {
	cdir <- attr(df, "dir")
	vcpu <- list()
	dist <- list()
	why <- list()
	num <- function(v) if (is.null(v)) NA_real_ else as.numeric(unlist(v))
	for (i in seq_len(nrow(df))) {
		r <- df[i, , drop = FALSE]
		if (!identical(r$status, "completed") || is.na(r$file)) next
		doc <- tryCatch(mb_read_json(file.path(cdir, r$file)), error = function(e) NULL)
		pf <- doc$metrics$postcopy_faults
		if (is.null(pf)) {
			w <- doc$metrics$unavailable$postcopy_faults
			if (!is.null(w) && is.null(why[[r$scenario]])) why[[r$scenario]] <- w
			next
		}
		bt <- num(pf$vcpu_blocktime_ms)
		lat <- num(pf$vcpu_latency_us)
		if (length(lat) != length(bt)) lat <- rep(NA_real_, length(bt))
		vcpu[[length(vcpu) + 1]] <- data.frame(scenario = r$scenario, repetition = r$repetition,
						       vcpu = seq_along(bt) - 1L, blocktime_ms = bt,
						       latency_us = lat, stringsAsFactors = FALSE)
		d <- pf$latency_dist
		if (!is.null(d))
			dist[[length(dist) + 1]] <- data.frame(scenario = r$scenario, from_us = num(d$bucket_from_us),
							       to_us = num(d$bucket_to_us), faults = num(d$faults),
							       stringsAsFactors = FALSE)
	}
	vcpu <- if (length(vcpu)) do.call(rbind, vcpu) else NULL
	if (length(dist)) {
		dist <- do.call(rbind, dist)
		dist <- aggregate(faults ~ scenario + from_us + to_us, data = dist, FUN = sum)
	} else dist <- NULL
	list(vcpu = vcpu, dist = dist, why = unlist(why))
}

mb_us_label <- function(us) ifelse(us >= 1e6, sprintf("%.3gs", us / 1e6),
				   ifelse(us >= 1e3, sprintf("%.3gms", us / 1e3), sprintf("%gus", us)))

# Blocktime per vCPU per scenario (one point per run and vCPU) and, where
# QEMU reported it, the latency distribution: one figure, two panels. NULL
# when no run has figures.
mb_postcopy_faults_plot <- function(pf, title = "Post-copy faults") {
	if (is.null(pf$vcpu)) return(NULL)
	v <- pf$vcpu
	d <- pf$dist
	buckets <- character()
	if (!is.null(d) && any(d$faults > 0)) {
		# from the first to the last bucket with a fault, of any scenario
		hit <- d$from_us[d$faults > 0]
		d <- d[d$from_us >= min(hit) & d$from_us <= max(hit), , drop = FALSE]
		buckets <- mb_us_label(sort(unique(d$from_us)))
	} else d <- NULL
	# one discrete x scale for both panels: scenarios, then buckets in order
	lv <- c(unique(v$scenario), setdiff(buckets, unique(v$scenario)))
	bt <- data.frame(panel = "blocktime per vCPU (ms)", x = factor(v$scenario, levels = lv), y = v$blocktime_ms,
			 vcpu = factor(paste("vCPU", v$vcpu)), stringsAsFactors = FALSE)
	g <- ggplot() +
		geom_point(data = bt, aes(x, y, colour = vcpu), position = position_dodge(width = 0.4), size = 2) +
		expand_limits(y = 0)
	if (!is.null(d)) {
		d <- data.frame(panel = "remote faults by latency (bucket from)",
				x = factor(mb_us_label(d$from_us), levels = lv), y = d$faults,
				scenario = d$scenario, stringsAsFactors = FALSE)
		g <- g + geom_col(data = d, aes(x, y, fill = scenario), position = "dodge")
	}
	# (the free scales of the facets would sort the labels alphabetically)
	g + facet_wrap(~panel, scales = "free", ncol = 1) +
		scale_x_discrete(limits = function(l) lv[lv %in% l]) +
		labs(x = NULL, y = NULL, colour = NULL, fill = NULL, title = title) +
		theme_bw(base_size = 10) +
		theme(legend.position = "bottom", axis.text.x = element_text(angle = 30, hjust = 1))
}

# report.md's section: per scenario the median blocktime, per-vCPU
# blocktime and latency, or why there are none.
mb_postcopy_faults_md <- function(df, pf, plotted) {
	rows <- list()
	cell <- function(x) if (length(x) && any(is.finite(x))) mb_fmt(median(x, na.rm = TRUE)) else "–"
	for (s in unique(df$scenario)) {
		v <- pf$vcpu[pf$vcpu$scenario == s, , drop = FALSE]
		col <- function(k) { x <- df[df$scenario == s, k]; if (is.null(x)) NA_real_ else x }
		if (!is.null(v) && nrow(v)) {
			per <- vapply(split(v$blocktime_ms, v$vcpu), function(x) cell(x), "")
			rows[[length(rows) + 1]] <- data.frame(Scenario = s, Runs = as.character(length(unique(v$repetition))),
				`Blocktime (ms)` = cell(col("postcopy_faults.blocktime_ms")),
				`Per vCPU (ms)` = paste(per, collapse = " / "),
				`Latency (us)` = cell(col("postcopy_faults.latency_us")),
				`Faults` = cell(col("postcopy_faults.faults")), Note = "",
				check.names = FALSE, stringsAsFactors = FALSE)
		} else {
			w <- pf$why[s]
			rows[[length(rows) + 1]] <- data.frame(Scenario = s, Runs = "0", `Blocktime (ms)` = "–",
				`Per vCPU (ms)` = "–", `Latency (us)` = "–", Faults = "–",
				Note = if (is.null(w) || is.na(w)) "no completed run" else unname(w),
				check.names = FALSE, stringsAsFactors = FALSE)
		}
	}
	c("## Post-copy faults", "",
	  paste("QEMU's `postcopy-blocktime` figures of the destination (medians over completed runs):",
		"blocktime = time all vCPUs were blocked on a missing page at once; per vCPU, each vCPU's own;",
		"latency = mean wait of a fault that needed a page from the source (QEMU 10.1 and later)."),
	  if (plotted) "Plot: `postcopy_faults.png`/`.pdf` (blocktime per vCPU; latency distribution where reported).",
	  "", mb_markdown_table(do.call(rbind, rows)))
}
