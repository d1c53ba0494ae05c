# migbench report: a campaign folder -> paper-ready tables and plots.
#
#   Rscript analysis/report.R DIR [-o OUT] [--bootstrap N] [--seed S]
#   (what `migbench report DIR [-o OUT]` runs)
#
# DIR is a campaign (campaign.json + SCENARIO/REP.json), or a folder of
# campaigns (the newest is used). Writes into OUT (default DIR/report):
#   runs.csv          the tidy table: one row per run, every parameter and metric
#   summary.csv       per scenario and metric: n, median, 95 % BCa CI, note
#   report.md         status counts, the main table, every metric, the model
#   table.tex         the main table (booktabs), status.tex, model.tex
#   metrics.{png,pdf} the key metrics against the swept parameter (or per scenario)
#   metric-KEY.{png,pdf} one metric per figure
#   timeline-SCENARIO.{png,pdf} one run of each scenario over time
#   model.{csv,md,png,pdf} the analytic pre-copy model vs measurement
#   postcopy_faults.{png,pdf} post-copy blocktime per vCPU and the fault
#                     latency distribution (postcopy_faults.R), when a run has them
#   evacuations.csv   guests=K: each repetition's evacuation (evacuation.R)
# and prints the main table (Markdown) on stdout.

local({
	args <- commandArgs(trailingOnly = FALSE)
	f <- sub("^--file=", "", args[grepl("^--file=", args)])
	dir <- if (length(f)) dirname(normalizePath(f[1])) else "analysis"
	if (!exists("mb_read_campaign")) source(file.path(dir, "migbench.R"))
	if (!exists("mb_model_write")) source(file.path(dir, "model.R"))
	if (!exists("mb_postcopy_faults_data")) source(file.path(dir, "postcopy_faults.R"))
	if (!exists("mb_evacuation_md")) source(file.path(dir, "evacuation.R"))
})
suppressPackageStartupMessages(library(ggplot2))

# ---- tables ---------------------------------------------------------------------

mb_key_metrics <- function(df) {
	k <- mb_metric_catalog()$column[mb_metric_catalog()$key]
	k[k %in% mb_metric_columns(df)]
}

mb_runs_cell <- function(counts, i) {
	r <- counts[i, ]
	s <- sprintf("%d/%d", r$completed, r$runs)
	bad <- c(failed = r$failed, `did-not-converge` = r$`did-not-converge`,
		 cancelled = r$cancelled, missing = r$missing)
	bad <- bad[bad > 0]
	if (length(bad)) s <- paste0(s, " (", paste(sprintf("%d %s", bad, names(bad)), collapse = ", "), ")")
	s
}

# Mode as asked, and as it happened when different (post-copy asked, finished
# as pre-copy).
mb_mode_cell <- function(df, s) {
	d <- df[df$scenario == s, , drop = FALSE]
	m <- if ("mode" %in% names(d)) d$mode[1] else NA
	ca <- d$completed_as[d$status %in% "completed"]
	ca <- ca[!is.na(ca)]
	expected <- c(precopy = "precopy", postcopy = "postcopy", hybrid = "postcopy", cold = "cold")
	if (!is.na(m) && length(ca) && any(ca != if (m %in% names(expected)) expected[[m]] else m)) {
		tb <- table(ca)
		m <- sprintf("%s (completed as %s)", m, paste(sprintf("%s x%d", names(tb), as.integer(tb)), collapse = ", "))
	}
	if (is.na(m)) "–" else m
}

# The paper table: a row per scenario; swept parameters, mode, runs, then
# "median [95 % CI]" for each key metric.
mb_main_table <- function(df, stats, counts, latex = FALSE) {
	sc <- counts$scenario
	swept <- setdiff(mb_swept_params(df), "mode")
	tab <- data.frame(Scenario = sc, stringsAsFactors = FALSE, check.names = FALSE)
	first <- df[match(sc, df$scenario), , drop = FALSE]
	for (p in swept) tab[[p]] <- vapply(first[[p]], function(v) mb_fmt_param(p, v), "")
	tab$Mode <- vapply(sc, function(s) mb_mode_cell(df, s), "")
	tab$`Runs ok` <- vapply(seq_along(sc), function(i) mb_runs_cell(counts, i), "")
	for (m in mb_key_metrics(df)) {
		info <- mb_metric_info(m)
		tab[[mb_metric_header(m)]] <- vapply(sc, function(s) {
			r <- stats[stats$scenario == s & stats$metric == m, ]
			if (!nrow(r)) return("–")
			cell <- mb_fmt_ci(r$median, r$ci_low, r$ci_high, scale = info$scale, integer = info$unit == "pages")
			if (latex && grepl("\\[", cell))
				cell <- sub(" \\[(.*)\\]$", " {\\\\scriptsize[\\1]}", mb_latex_escape(cell))
			else if (latex) cell <- mb_latex_escape(cell)
			cell
		}, "")
	}
	if (latex) {   # metric cells are LaTeX already; escape the others
		plain <- !names(tab) %in% vapply(mb_key_metrics(df), mb_metric_header, "")
		tab[plain] <- lapply(tab[plain], mb_latex_escape)
	}
	tab
}

# Every metric, long: scenario, metric, n, median [CI], note.
mb_long_table <- function(stats) {
	data.frame(check.names = FALSE, stringsAsFactors = FALSE,
		Scenario = stats$scenario,
		Metric = vapply(stats$metric, mb_metric_header, ""),
		Column = stats$metric,
		n = stats$n,
		`Median [95 % CI]` = vapply(seq_len(nrow(stats)), function(i) {
			info <- mb_metric_info(stats$metric[i])
			mb_fmt_ci(stats$median[i], stats$ci_low[i], stats$ci_high[i], scale = info$scale,
				  integer = info$unit == "pages")
		}, ""),
		Note = stats$note)
}

mb_status_table <- function(counts) {
	data.frame(check.names = FALSE, stringsAsFactors = FALSE,
		Scenario = counts$scenario, Runs = counts$runs, Completed = counts$completed,
		Failed = counts$failed, `Did not converge` = counts$`did-not-converge`,
		Cancelled = counts$cancelled, Missing = counts$missing,
		`Completed as` = counts$completed_as, Errors = counts$errors)
}

# ---- plots ------------------------------------------------------------------------

mb_slug <- function(x) gsub("[^A-Za-z0-9]+", "-", gsub("^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", x))

# Per-scenario statistics joined with the scenario's parameters, in the
# metric's display unit; plus the per-run values.
mb_plot_data <- function(df, stats, metrics) {
	sc <- unique(df$scenario)
	first <- df[match(sc, df$scenario), , drop = FALSE]
	s <- stats[stats$metric %in% metrics, , drop = FALSE]
	params <- setdiff(mb_param_columns(df), c("section", "scenario_file"))
	for (p in params) s[[p]] <- first[[p]][match(s$scenario, sc)]
	scale <- vapply(s$metric, function(m) mb_metric_info(m)$scale, 0)
	s$median <- s$median * scale; s$ci_low <- s$ci_low * scale; s$ci_high <- s$ci_high * scale
	s$label <- factor(vapply(s$metric, mb_metric_header, ""), levels = vapply(metrics, mb_metric_header, ""))
	ok <- df[df$status %in% "completed", , drop = FALSE]
	runs <- do.call(rbind, lapply(metrics, function(m) {
		if (!nrow(ok)) return(NULL)
		d <- data.frame(scenario = ok$scenario, metric = m, value = ok[[m]] * mb_metric_info(m)$scale,
				stringsAsFactors = FALSE)
		for (p in params) d[[p]] <- ok[[p]]
		d
	}))
	if (!is.null(runs)) {
		runs <- runs[is.finite(runs$value), , drop = FALSE]
		runs$label <- factor(vapply(runs$metric, mb_metric_header, ""), levels = levels(s$label))
	}
	list(stats = s, runs = runs)
}

# Metric(s) against the first swept numeric parameter, one line per mode,
# CI ribbons, runs as points; other swept parameters as line types. Without
# a swept numeric parameter: median and CI per scenario (dot/interval).
mb_metric_plot <- function(df, stats, metrics, title = NULL) {
	pd <- mb_plot_data(df, stats, metrics)
	s <- pd$stats; runs <- pd$runs
	s <- s[is.finite(s$median), , drop = FALSE]
	if (!nrow(s)) return(NULL)
	if (!"mode" %in% names(s)) s$mode <- "run"
	if (!is.null(runs) && !"mode" %in% names(runs)) runs$mode <- "run"
	swept <- mb_swept_params(df)
	xnum <- swept[vapply(swept, function(p) is.numeric(df[[p]]), TRUE)]
	if (length(xnum)) {
		x <- xnum[1]
		others <- setdiff(swept, c(x, "mode"))
		grp <- if (length(others)) do.call(paste, c(lapply(others, function(p)
			paste0(p, "=", vapply(s[[p]], function(v) mb_fmt_param(p, v), ""))), sep = ", ")) else ""
		s$group <- grp
		if (!is.null(runs)) runs$group <- if (length(others)) do.call(paste, c(lapply(others, function(p)
			paste0(p, "=", vapply(runs[[p]], function(v) mb_fmt_param(p, v), ""))), sep = ", ")) else ""
		s$x <- s[[x]]
		if (!is.null(runs)) runs$x <- runs[[x]]
		xs <- sort(unique(s$x))
		p <- ggplot(s, aes(x, median, colour = mode, fill = mode,
				   group = interaction(mode, group), linetype = group)) +
			geom_ribbon(aes(ymin = ci_low, ymax = ci_high), alpha = 0.18, colour = NA,
				    data = s[is.finite(s$ci_low), , drop = FALSE]) +
			geom_line() + geom_point(size = 1.8)
		if (!is.null(runs) && nrow(runs))
			p <- p + geom_point(data = runs, aes(x, value, colour = mode), inherit.aes = FALSE,
					    size = 0.9, alpha = 0.45, position = position_jitter(width = 0, height = 0, seed = 1))
		labs_x <- vapply(xs, function(v) mb_fmt_param(x, v), "")
		if (length(xs) > 1 && all(xs > 0) && max(xs) / min(xs) >= 4)
			p <- p + scale_x_log10(breaks = xs, labels = labs_x)
		else p <- p + scale_x_continuous(breaks = xs, labels = labs_x)
		p <- p + labs(x = x, linetype = if (length(others)) "" else NULL) +
			guides(linetype = if (length(others)) "legend" else "none")
	} else {
		s$scenario <- factor(s$scenario, levels = rev(unique(df$scenario)))
		p <- ggplot(s, aes(median, scenario, colour = mode)) +
			geom_errorbarh(aes(xmin = ci_low, xmax = ci_high), height = 0.25,
				       data = s[is.finite(s$ci_low), , drop = FALSE]) +
			geom_point(size = 2.4)
		if (!is.null(runs) && nrow(runs)) {
			runs$scenario <- factor(runs$scenario, levels = levels(s$scenario))
			p <- p + geom_point(data = runs, aes(value, scenario, colour = mode), inherit.aes = FALSE,
					    shape = 1, size = 1.4, alpha = 0.6,
					    position = position_jitter(width = 0, height = 0.12, seed = 1))
		}
		p <- p + labs(y = NULL, x = NULL)
	}
	one <- length(metrics) == 1
	if (length(xnum)) {
		p <- p + labs(y = if (one) mb_metric_header(metrics) else NULL)
		if (!one) p <- p + facet_wrap(~label, scales = "free_y")
	} else {
		p <- p + labs(x = if (one) mb_metric_header(metrics) else NULL)
		if (!one) p <- p + facet_wrap(~label, scales = "free_x")
	}
	p + labs(title = title, caption = "median and 95 % BCa bootstrap CI over completed runs; small points: runs") +
		theme_bw(base_size = 10) + theme(legend.position = "bottom")
}

# One run over time: data transferred and remaining (query-migrate samples),
# dirty rate (guest heartbeats and QEMU), heartbeats received per second,
# with migration start, STOP, post-copy switch, RESUME and completion marked.
mb_timeline_data <- function(doc, bin_ms = 100) {
	t <- mb_run_instants(doc)
	if (!is.finite(t$start)) return(NULL)
	t0 <- t$start
	ends <- c(t$completed, t$cancelled, t$resume, t$stop)
	end <- if (any(is.finite(ends))) max(ends, na.rm = TRUE) else NA
	samp <- do.call(rbind, lapply(doc$samples, function(s) {
		r <- s$reply$ram
		if (is.null(r)) return(NULL)
		data.frame(t_us = as.numeric(s$host_real_us), transferred = as.numeric(r$transferred),
			   remaining = as.numeric(r$remaining),
			   dirty = if (is.null(r$`dirty-pages-rate`)) NA_real_ else as.numeric(r$`dirty-pages-rate`))
	}))
	if (!is.finite(end)) end <- if (!is.null(samp)) max(samp$t_us) else t0 + 1e6
	lo <- t0 - 1e6; hi <- end + 1e6
	series <- list()
	if (!is.null(samp) && nrow(samp)) {
		samp$s <- (samp$t_us - t0) / 1e6
		series[[1]] <- data.frame(s = samp$s, panel = "data\n(MiB)", series = "transferred",
					  value = samp$transferred / 2^20)
		series[[2]] <- data.frame(s = samp$s, panel = "data\n(MiB)", series = "remaining",
					  value = samp$remaining / 2^20)
		q <- samp[is.finite(samp$dirty) & samp$dirty > 0, , drop = FALSE]  # 0 = not measured yet
		if (nrow(q)) series[[3]] <- data.frame(s = q$s, panel = "dirty rate\n(pages/s)",
						      series = "QEMU dirty-pages-rate", value = q$dirty)
	}
	hb <- mb_heartbeats(doc)
	if (!is.null(hb) && nrow(hb) > 1) {
		hb <- hb[hb$t_us >= lo & hb$t_us <= hi, , drop = FALSE]
		if (nrow(hb) > 1) {
			edges <- seq(lo, hi, by = bin_ms * 1000)
			mid <- (head(edges, -1) + bin_ms * 500 - t0) / 1e6
			w <- approx(hb$t_us, hb$written, xout = edges, method = "constant", rule = 2, ties = max)$y
			rate <- diff(w) / (bin_ms / 1000)
			cnt <- tabulate(findInterval(hb$t_us, edges, rightmost.closed = TRUE), nbins = length(edges) - 1)
			series[[4]] <- data.frame(s = mid, panel = "dirty rate\n(pages/s)",
						  series = "guest (heartbeats)", value = rate)
			series[[5]] <- data.frame(s = mid, panel = "heartbeats\nper s", series = "received by the host",
						  value = cnt / (bin_ms / 1000))
		}
	}
	series <- do.call(rbind, series)
	if (is.null(series)) return(NULL)
	series$panel <- factor(series$panel, levels = c("data\n(MiB)", "dirty rate\n(pages/s)", "heartbeats\nper s"))
	ev <- data.frame(what = c("migrate", "STOP", "post-copy", "RESUME", "completed", "cancelled"),
			 t_us = c(t$start, t$stop, t$postcopy, t$resume, t$completed, t$cancelled),
			 stringsAsFactors = FALSE)
	ev <- ev[is.finite(ev$t_us), , drop = FALSE]
	ev <- ev[order(ev$t_us), , drop = FALSE]
	ev$s <- (ev$t_us - t0) / 1e6
	list(series = series, events = ev)
}

mb_timeline_plot <- function(doc, title) {
	td <- mb_timeline_data(doc)
	if (is.null(td)) return(NULL)
	ev <- td$events
	ev$what <- factor(ev$what, levels = ev$what)
	ev$panel <- factor(levels(td$series$panel)[1], levels = levels(td$series$panel))
	# events closer than 3 % of the time axis share one label
	span <- diff(range(c(td$series$s, ev$s), na.rm = TRUE))
	grp <- cumsum(c(TRUE, diff(ev$s) > 0.03 * span))
	lab <- do.call(rbind, lapply(split(ev, grp), function(g)
		data.frame(s = g$s[1], label = paste(as.character(g$what), collapse = "\n"), panel = g$panel[1])))
	# a series with one point (QEMU measured its dirty rate once) is a point, not a step
	npts <- table(td$series$series)
	lines <- td$series[td$series$series %in% names(npts)[npts > 1], , drop = FALSE]
	single <- td$series[td$series$series %in% names(npts)[npts == 1], , drop = FALSE]
	ggplot(lines, aes(s, value, colour = series)) +
		geom_point(data = single, size = 1.6) +
		geom_vline(data = ev, aes(xintercept = s, linetype = what), colour = "grey35") +
		geom_blank(data = data.frame(s = 0, value = 0, series = lines$series[1])) +  # y from 0
		scale_x_continuous(sec.axis = dup_axis(name = NULL, breaks = lab$s, labels = lab$label)) +
		geom_step(direction = "hv", linewidth = 0.5) +
		facet_grid(panel ~ ., scales = "free_y", switch = "y") +
		scale_linetype_manual(values = c(migrate = "dotted", STOP = "solid", `post-copy` = "longdash",
						 RESUME = "dashed", completed = "dotdash", cancelled = "twodash")[levels(ev$what)]) +
		labs(x = "time since `migrate` (s)", y = NULL, colour = NULL, linetype = NULL, title = title) +
		theme_bw(base_size = 10) +
		theme(legend.position = "bottom", strip.placement = "outside", legend.box = "vertical",
		      axis.text.x.top = element_text(size = 7, lineheight = 0.85, vjust = 0))
}

# The run to show for a scenario: the completed run with the median total
# time, else the first run that has samples.
mb_timeline_run <- function(df, s) {
	d <- df[df$scenario == s, , drop = FALSE]
	ok <- d[d$status %in% "completed" & is.finite(if ("total_time_ms" %in% names(d)) d$total_time_ms else NA), , drop = FALSE]
	if (nrow(ok)) {
		o <- order(ok$total_time_ms)
		return(ok[o[ceiling(length(o) / 2)], , drop = FALSE])
	}
	d[!d$status %in% "missing", , drop = FALSE][1, , drop = FALSE]
}

# ---- the report ----------------------------------------------------------------

mb_report <- function(dir, out = NULL, R = 2000, seed = 1, quiet = FALSE) {
	df <- mb_read_campaign(dir)
	cdir <- attr(df, "dir")
	if (is.null(out)) out <- file.path(cdir, "report")
	dir.create(out, recursive = TRUE, showWarnings = FALSE)
	if (!dir.exists(out)) mb_fail(sprintf("cannot create '%s'", out), 1L)
	say <- function(...) if (!quiet) message(...)

	write.csv(df, file.path(out, "runs.csv"), row.names = FALSE, na = "")
	counts <- mb_status_counts(df)
	stats <- mb_scenario_stats(df, R = R, seed = seed)
	write.csv(stats, file.path(out, "summary.csv"), row.names = FALSE, na = "")

	main <- mb_main_table(df, stats, counts)
	main_md <- mb_markdown_table(main, align = ifelse(names(main) %in% vapply(mb_key_metrics(df), mb_metric_header, ""),
							  "right", "left"))
	keys <- mb_key_metrics(df)
	tex <- mb_main_table(df, stats, counts, latex = TRUE)
	writeLines(mb_latex_table(tex, paste0(strrep("l", ncol(tex) - length(keys)), strrep("r", length(keys))),
				  caption = sprintf("Campaign %s: median [95 %% BCa bootstrap CI] over completed runs",
						    basename(cdir)),
				  label = "tab:migbench", raw_cols = names(tex)),
		   file.path(out, "table.tex"))
	st <- mb_status_table(counts)
	writeLines(mb_latex_table(st[, 1:8], "lrrrrrrl", caption = "Runs by status", label = "tab:migbench-status"),
		   file.path(out, "status.tex"))

	# plots
	plots <- character()
	plot_try <- function(what, expr) tryCatch(expr, error = function(e) {
		message(sprintf("report: %s plot skipped: %s", what, conditionMessage(e)))
		NULL
	})
	if (length(keys)) {
		p <- plot_try("metrics", mb_metric_plot(df, stats, keys, sprintf("Campaign %s", basename(cdir))))
		if (!is.null(p) && !is.null(plot_try("metrics", mb_save_plot(p, file.path(out, "metrics"), 10, 6.5))))
			plots <- c(plots, "metrics")
		for (m in keys) {
			p <- plot_try(m, mb_metric_plot(df, stats, m, mb_metric_info(m)$label))
			base <- paste0("metric-", mb_slug(m))
			if (!is.null(p) && !is.null(plot_try(m, mb_save_plot(p, file.path(out, base), 6, 4))))
				plots <- c(plots, base)
		}
	}
	timelines <- character()
	for (s in unique(df$scenario)) {
		r <- mb_timeline_run(df, s)
		if (!nrow(r) || is.na(r$file)) next
		doc <- tryCatch(mb_read_json(file.path(cdir, r$file)), error = function(e) NULL)
		if (is.null(doc)) next
		p <- plot_try(paste("timeline", s), mb_timeline_plot(doc,
			sprintf("%s, repetition %s (%s)", s, r$repetition, r$status)))
		base <- paste0("timeline-", mb_slug(s))
		if (!is.null(p) && !is.null(plot_try("timeline", mb_save_plot(p, file.path(out, base), 8, 6.5))))
			timelines <- c(timelines, sprintf("%s: repetition %s", base, r$repetition))
	}

	pf <- plot_try("postcopy_faults", mb_postcopy_faults_data(df))
	p <- if (!is.null(pf)) plot_try("postcopy_faults", mb_postcopy_faults_plot(pf, sprintf("Post-copy faults: %s",
											    basename(cdir))))
	if (!is.null(p) && !is.null(plot_try("postcopy_faults", mb_save_plot(p, file.path(out, "postcopy_faults"), 8, 6.5))))
		plots <- c(plots, "postcopy_faults")
	faults_md <- if (!is.null(pf)) mb_postcopy_faults_md(df, pf, "postcopy_faults" %in% plots)

	evac_md <- tryCatch(mb_evacuation_md(attr(df, "manifest"), out), error = function(e) {
		message("report: evacuations skipped: ", conditionMessage(e))
		character()
	})
	model_md <- tryCatch(mb_model_write(df, out), error = function(e) {
		message("report: model skipped: ", conditionMessage(e))
		c("## Pre-copy model", "", paste("Model failed:", conditionMessage(e)))
	})

	host <- df[1, , drop = FALSE]
	md <- c(sprintf("# migbench report: %s", basename(cdir)), "",
		sprintf("Campaign `%s`: %d run(s) in %d scenario(s); %s, QEMU %s, migbench %s.", cdir, nrow(df),
			nrow(counts), if (!is.na(host$accelerator)) host$accelerator else "accelerator unknown",
			if (!is.na(host$qemu_version)) host$qemu_version else "?",
			if (!is.na(host$tool_version)) host$tool_version else "?"),
		"Medians with 95 % BCa bootstrap confidence intervals (2000 resamples of whole runs) over completed runs;",
		"failed and non-converged runs are counted, not dropped silently. \"–\" = no value; CIs need 3 runs that differ.", "",
		"## Runs", "", mb_markdown_table(st), "",
		"## Main table", "", main_md, "",
		"## Every metric", "", mb_markdown_table(mb_long_table(stats)[, c("Scenario", "Metric", "Column", "n",
									       "Median [95 % CI]", "Note")]), "",
		model_md, "",
		if (length(faults_md)) c(faults_md, ""),
		if (length(evac_md)) c(evac_md, ""),
		"## Files", "",
		"- `runs.csv`: one row per run (parameters, status, every metric flattened by JSON path)",
		"- `summary.csv`: per scenario and metric: n, median, CI, note",
		"- `table.tex`, `status.tex`, `model.tex`: booktabs tables (`\\usepackage{booktabs}`)",
		if (length(plots)) sprintf("- plots (PNG and PDF): %s", paste(sprintf("`%s`", plots), collapse = ", ")),
		if (length(timelines)) sprintf("- timelines (PNG and PDF): %s", paste(sprintf("`%s`", timelines), collapse = ", ")))
	writeLines(md, file.path(out, "report.md"))

	cat(sprintf("migbench report: %s (%d run%s, %d scenario%s)\n\n", basename(cdir), nrow(df),
		    if (nrow(df) == 1) "" else "s", nrow(counts), if (nrow(counts) == 1) "" else "s"))
	cat(main_md, sep = "\n")
	cat("\nmedian [95 % BCa bootstrap CI] over completed runs")
	few <- stats$n[stats$metric %in% keys]
	if (any(few >= 3 & few < 5)) cat("; from 3-4 runs the CIs are coarse (they can only fall on observed values)")
	cat("\n")
	say(sprintf("report: %s", normalizePath(out)))
	invisible(list(df = df, stats = stats, counts = counts, out = out))
}

mb_report_main <- function() {
	a <- mb_parse_args(commandArgs(trailingOnly = TRUE),
			   list(`-o` = "out", `--out` = "out", `--output` = "out", `--bootstrap` = "R",
				`--seed` = "seed", `-q` = "quiet", `--quiet` = "quiet", `-h` = "help", `--help` = "help"),
			   flags = c("quiet", "help"))
	if (isTRUE(a$opts$help)) {
		cat("usage: Rscript report.R DIR [-o OUT] [--bootstrap N] [--seed S] [-q]\n",
		    "Tables (Markdown, LaTeX, CSV) and plots of a campaign into OUT (default DIR/report).\n", sep = "")
		return(0L)
	}
	if (length(a$pos) != 1) mb_fail("usage: report DIR [-o OUT]  (one campaign folder)")
	R <- if (!is.null(a$opts$R)) mb_num_opt(a$opts$R, "bootstrap", 100, 1e6) else 2000
	seed <- if (!is.null(a$opts$seed)) mb_num_opt(a$opts$seed, "seed") else 1
	mb_report(a$pos[1], a$opts$out, R = R, seed = seed, quiet = isTRUE(a$opts$quiet))
	0L
}

if (sys.nframe() == 0L && !interactive()) mb_main("report", mb_report_main)
