# migbench classic: the classic migration results from the campaigns of
# bench/scenarios/classic/ (bash bench/reference.sh runs them), each with
# its question, migbench's numbers, whether the classic shape holds, and the
# pre-copy model's error on total time, data and downtime.
#
#   Rscript analysis/classic.R DIR [--wall-s S]
#
# DIR holds one campaign folder per scenario file (DIR/dirty-rate, ...).
# Writes DIR/report.md, DIR/shapes.csv, DIR/model.{csv,md,png,pdf} (every
# pre-copy run of every campaign) and DIR/classic-*.{png,pdf}.
# analysis/tests/test-reference.R asserts the same shapes on the checked-in
# reference (results/reference/classic) through mb_classic_shapes.

if (!exists("mb_read_campaign")) {
	local({
		args <- commandArgs(trailingOnly = FALSE)
		f <- sub("^--file=", "", args[grepl("^--file=", args)])
		dir <- if (length(f)) dirname(normalizePath(f[1])) else "analysis"
		source(file.path(dir, "migbench.R"))
		source(file.path(dir, "model.R"))
	})
}

mb_classic_campaigns <- c("dirty-rate", "pattern", "bandwidth", "optimizations", "memory", "postcopy-faults")

# Every classic campaign found in dir, read (a list by name).
mb_classic_read <- function(dir) {
	out <- list()
	for (n in mb_classic_campaigns) {
		d <- file.path(dir, n)
		if (file.exists(file.path(d, "campaign.json")))
			out[[n]] <- suppressWarnings(mb_read_campaign(d))
	}
	if (!length(out)) mb_fail(sprintf("'%s': none of the classic campaigns (%s)", dir,
					  paste(mb_classic_campaigns, collapse = ", ")))
	out
}

# Medians of the completed runs per scenario (with the scenario's keys), and
# the completed/total count.
mb_classic_points <- function(df, keys) {
	sc <- unique(df$scenario)
	rows <- lapply(sc, function(s) {
		d <- df[df$scenario == s, , drop = FALSE]
		ok <- d$status == "completed"
		med <- function(col) { v <- mb_col(d, col)[ok]; if (any(is.finite(v))) median(v, na.rm = TRUE) else NA_real_ }
		r <- data.frame(scenario = s, runs = nrow(d), completed = sum(ok), stringsAsFactors = FALSE)
		for (k in keys) r[[k]] <- if (k %in% names(d)) d[[k]][1] else NA
		r$total_time_ms <- med("total_time_ms")
		r$downtime_ms <- med("downtime_ms")
		r$guest_downtime_ms <- med("guest_downtime_ms")
		r$data_MiB <- med("pages_transferred.bytes.total") / 2^20
		r$postcopy_MiB <- med("pages_transferred.bytes.postcopy") / 2^20
		r$nonzero_MiB <- med("derived.ram_total") / 2^20 - med("derived.ram_duplicate") * 4096 / 2^20
		r$throughput_ratio <- med("degradation.phases.precopy.ratio")
		r$precopy_MiB_s <- med("derived.precopy_bytes_s") / 2^20
		r$blocktime_ms <- med("postcopy_faults.blocktime_ms")
		r$fault_latency_us <- med("postcopy_faults.latency_us")
		r$faults <- med("postcopy_faults.faults")
		r$lambda <- med("derived.guest_dirty_rate_pages_s") * 4096 / (if ("max_bandwidth" %in% names(d)) d$max_bandwidth[1] else NA)
		r
	})
	do.call(rbind, rows)
}

# Is x non-decreasing along its order, allowing each step to fall by `slack`
# (a share of the previous value)?
mb_rises <- function(x, slack = 0.05) {
	x <- x[is.finite(x)]
	length(x) >= 2 && all(diff(x) >= -slack * abs(head(x, -1))) && tail(x, 1) > x[1]
}

# The classic shapes, checked on the campaigns (a list from
# mb_classic_read): one row per shape with holds (TRUE/FALSE/NA when its
# campaign is missing) and the numbers behind it.
mb_classic_shapes <- function(cs, model = NULL, bound = 15) {
	rows <- list()
	add <- function(campaign, shape, holds, detail)
		rows[[length(rows) + 1]] <<- data.frame(campaign = campaign, shape = shape, holds = holds,
							detail = detail, stringsAsFactors = FALSE)
	num <- function(x) paste(mb_fmt(x), collapse = ", ")
	if (!is.null(d <- cs[["dirty-rate"]])) {
		p <- mb_classic_points(d, c("section", "mode", "rate", "max_bandwidth", "wss"))
		p <- p[order(p$section, p$rate), ]
		pre <- p[p$section == "precopy", ]
		conv <- pre[pre$rate * 4096 < pre$max_bandwidth, ]
		add("dirty-rate", "pre-copy data and total time rise with the dirty rate (lambda < 1)",
		    mb_rises(conv$data_MiB) && mb_rises(conv$total_time_ms),
		    sprintf("rate %s MiB/s: data %s MiB, total %s ms", num(conv$rate * 4096 / 2^20),
			    num(conv$data_MiB), num(conv$total_time_ms)))
		over <- pre[pre$rate * 4096 >= pre$max_bandwidth, ]
		add("dirty-rate", "pre-copy does not converge once the guest dirties as fast as the link sends (lambda >= 1)",
		    nrow(over) > 0 && all(over$completed == 0),
		    sprintf("rate %s MiB/s: completed %s of %s", num(over$rate * 4096 / 2^20),
			    paste(over$completed, collapse = ", "), paste(over$runs, collapse = ", ")))
		once <- p[p$section == "postcopy_at_once", ]
		ratio <- once$data_MiB / once$nonzero_MiB
		add("dirty-rate", "post-copy sends each page about once whatever the rate (switched at once: data within 1.15x the guest's non-zero memory)",
		    nrow(once) > 0 && all(once$completed == once$runs) && all(is.finite(ratio) & ratio <= 1.15),
		    sprintf("data / non-zero memory at rate %s MiB/s: %s", num(once$rate * 4096 / 2^20), num(ratio)))
		post <- p[p$section == "postcopy", ]
		upto <- post$data_MiB / (post$nonzero_MiB + post$wss / 2^20)
		add("dirty-rate", "post-copy after one pre-copy pass sends at most memory + the working set whatever the rate",
		    nrow(post) > 0 && all(post$completed == post$runs) && all(is.finite(upto) & upto <= 1.05),
		    sprintf("data / (non-zero memory + wss) at rate %s MiB/s: %s", num(post$rate * 4096 / 2^20), num(upto)))
	}
	if (!is.null(d <- cs[["bandwidth"]])) {
		p <- mb_classic_points(d, c("section", "max_bandwidth", "downtime_limit"))
		bw <- p[p$section == "bandwidth", ]
		bw <- bw[order(bw$max_bandwidth), ]
		# the cap binds while pre-copy achieves it; above that the host (the
		# destination's first touch of its memory, bench/prealloc.sh) is the limit
		binds <- bw$precopy_MiB_s >= 0.85 * bw$max_bandwidth / 2^20
		tb <- bw$total_time_ms[binds %in% TRUE]
		tf <- bw$total_time_ms[binds %in% FALSE]
		add("bandwidth", "total time falls as the bandwidth cap rises, until pre-copy no longer achieves the cap",
		    length(tb) >= 2 && all(diff(tb) < 0) && all(tf >= 0.85 * min(tb)),
		    sprintf("cap %s MiB/s: pre-copy achieved %s MiB/s, total %s ms", num(bw$max_bandwidth / 2^20),
			    num(bw$precopy_MiB_s), num(bw$total_time_ms)))
		lo <- bw[bw$max_bandwidth <= 64 * 2^20, ]
		r <- lo$total_time_ms / 1000 / (lo$nonzero_MiB / (lo$max_bandwidth / 2^20))
		add("bandwidth", "where the cap binds (32, 64 MiB/s), total time follows memory / bandwidth (0.9x to 1.5x: each re-sent round adds)",
		    nrow(lo) > 0 && all(is.finite(r) & r >= 0.9 & r <= 1.5),
		    sprintf("total time / (non-zero memory / cap): %s", num(r)))
		dl <- p[p$section == "downtime_limit", ]
		dl <- dl[order(dl$downtime_limit), ]
		runs <- d[d$section %in% "downtime_limit" & d$status == "completed", , drop = FALSE]
		add("bandwidth", "downtime stays under the limit wherever pre-copy converges",
		    nrow(runs) > 0 && all(runs$downtime_ms <= runs$downtime_limit),
		    sprintf("%d runs; largest downtime / limit %s", nrow(runs),
			    mb_fmt(max(runs$downtime_ms / runs$downtime_limit))))
		add("bandwidth", "downtime grows with the limit",
		    mb_rises(dl$downtime_ms, 0.25),
		    sprintf("limit %s ms: downtime %s ms", num(dl$downtime_limit), num(dl$downtime_ms)))
	}
	if (!is.null(d <- cs[["pattern"]])) {
		p <- mb_classic_points(d, c("section", "wss", "rate", "pattern"))
		w <- p[p$section == "pattern" & p$rate == max(p$rate[p$section == "pattern"]), ]
		get <- function(pat) w$data_MiB[w$pattern == pat]
		add("pattern", "at the same write rate, random and hot/cold writes send less than sequential ones",
		    length(get("sequential")) == 1 && get("random") < get("sequential") && get("hotcold") < get("sequential"),
		    sprintf("rate %s MiB/s, data MiB: sequential %s, random %s, hotcold %s",
			    mb_fmt(w$rate[1] * 4096 / 2^20), mb_fmt(get("sequential")), mb_fmt(get("random")), mb_fmt(get("hotcold"))))
	}
	if (!is.null(d <- cs[["optimizations"]])) {
		p <- mb_classic_points(d, c("scenario"))
		cnt <- function(s) p$completed[p$scenario == s]
		tot <- function(s) p$runs[p$scenario == s]
		add("optimizations", "at lambda 1.25 plain pre-copy and multifd do not converge; XBZRLE, zstd-compressed multifd and post-copy complete",
		    cnt("baseline") == 0 && cnt("multifd") == 0 && cnt("xbzrle") == tot("xbzrle") &&
		    cnt("multifd_zstd") == tot("multifd_zstd") && cnt("postcopy") == tot("postcopy"),
		    sprintf("completed: %s", paste(sprintf("%s %d/%d", p$scenario, p$completed, p$runs), collapse = ", ")))
		ac <- d[d$scenario == "auto_converge", , drop = FALSE]
		g <- function(col) mb_col(ac, col)
		add("optimizations", "auto-converge's throttle does not slow a guest whose writes are paced and cheap (it does not converge)",
		    nrow(ac) > 0 && all(ac$status != "completed"),
		    sprintf("auto_converge completed %d/%d; throttle reached %s %%; the guest still wrote %s MiB/s",
			    sum(ac$status == "completed"), nrow(ac), num(g("derived.cpu_throttle_max_pct")),
			    num(g("derived.guest_dirty_rate_pages_s") * 4096 / 2^20)))
	}
	if (!is.null(d <- cs[["memory"]])) {
		# on the scenario medians: one run slowed by the host's other load
		# (a 1.4 s run among 0.7 s ones) must not decide the shape
		p <- mb_classic_points(d, "memory")
		p$GiB <- p$memory / 2^30
		f <- stats::lm(total_time_ms ~ GiB, data = p)
		fd <- stats::lm(data_MiB ~ GiB, data = p)
		r2 <- summary(f)$r.squared
		add("memory", "an idle guest's total time grows linearly with its memory (medians, R^2 >= 0.9)",
		    is.finite(r2) && r2 >= 0.9 && coef(f)[2] > 0,
		    sprintf("%s ms + %s ms per GiB, R^2 = %s; data %s MiB + %s MiB per GiB, R^2 = %s", mb_fmt(coef(f)[1]),
			    mb_fmt(coef(f)[2]), mb_fmt(r2, 3), mb_fmt(coef(fd)[1]), mb_fmt(coef(fd)[2]),
			    mb_fmt(summary(fd)$r.squared, 3)))
	}
	if (!is.null(d <- cs[["postcopy-faults"]])) {
		ok <- d[d$status == "completed", , drop = FALSE]
		g <- function(col) mb_col(ok, col)
		timed <- is.finite(g("postcopy_faults.blocktime_ms")) & is.finite(g("postcopy_faults.latency_us")) &
			g("postcopy_faults.faults") > 0
		add("postcopy-faults", "every completed post-copy run has its blocktime per vCPU and timed faults (QEMU 10.1 and later)",
		    nrow(ok) > 0 && nrow(ok) == nrow(d) && all(timed %in% TRUE),
		    sprintf("%d of %d runs completed, %d with figures; mean fault latency %s us (median)", nrow(ok), nrow(d),
			    sum(timed %in% TRUE), mb_fmt(median(g("postcopy_faults.latency_us"), na.rm = TRUE))))
	}
	if (!is.null(model)) {
		pts <- mb_model_points(model)
		low <- pts[is.finite(pts$lambda) & pts$lambda < 0.8, ]
		for (pat in unique(low$pattern)) {
			m <- low[low$pattern == pat, ]
			e <- abs(as.matrix(m[, c("err_time_pct", "err_bytes_pct")]))
			add("model", sprintf("the QEMU-loop model: total time and data within %g %% of every scenario median (lambda < 0.8, %s writes)",
					     bound, pat),
			    nrow(m) > 0 && all(is.finite(e) & e <= bound),
			    sprintf("%d scenarios; largest error: total time %s %%, data %s %%", nrow(m),
				    mb_fmt(max(e[, 1])), mb_fmt(max(e[, 2]))))
		}
		dt <- abs(low$err_downtime_pct)
		ct <- abs(low$c_err_downtime_pct)
		md <- stats::median(dt, na.rm = TRUE)
		add("model", sprintf("the QEMU-loop model: downtime within %g %% of the scenario medians in the median scenario, and 5x closer than the classic model (lambda < 0.8)", bound),
		    is.finite(md) && md <= bound && stats::median(ct, na.rm = TRUE) >= 5 * md,
		    sprintf("%d scenarios: median |error| %s %% (classic %s %%); within %g %%: %d; largest %s %% (%s)",
			    sum(is.finite(dt)), mb_fmt(md), mb_fmt(stats::median(ct, na.rm = TRUE)), bound,
			    sum(dt <= bound, na.rm = TRUE), mb_fmt(max(dt, na.rm = TRUE)),
			    low$scenario[which.max(dt)]))
	}
	do.call(rbind, rows)
}

# The model's predictions against the scenario medians: per campaign and
# scenario (dirty rate from the guest), the median prediction and the
# median measurement of the completed runs, and their errors. The model
# predicts what a scenario costs; a single run adds where QEMU's 100 ms
# windows happen to fall, which no input of the model carries.
mb_model_points <- function(mod) {
	g <- mod[mod$D_source == "guest" & mod$status == "completed", , drop = FALSE]
	if (!nrow(g)) return(NULL)
	key <- paste(g$campaign, g$scenario, sep = "/")
	rows <- lapply(unique(key), function(k) {
		m <- g[key == k, , drop = FALSE]
		med <- function(x) if (any(is.finite(x))) median(x, na.rm = TRUE) else NA_real_
		err <- function(p, q) if (is.finite(p) && is.finite(q) && q != 0) 100 * (p - q) / q else NA_real_
		data.frame(campaign = m$campaign[1], scenario = m$scenario[1], pattern = m$pattern[1], runs = nrow(m),
			   lambda = med(m$lambda),
			   p_time_s = med(m$p_time_s), m_time_s = med(m$m_time_s),
			   p_bytes = med(m$p_bytes), m_bytes = med(m$m_bytes),
			   p_downtime_s = med(m$p_downtime_s), m_downtime_s = med(m$m_downtime_s),
			   c_downtime_s = med(m$c_downtime_s),
			   err_time_pct = err(med(m$p_time_s), med(m$m_time_s)),
			   err_bytes_pct = err(med(m$p_bytes), med(m$m_bytes)),
			   err_downtime_pct = err(med(m$p_downtime_s), med(m$m_downtime_s)),
			   c_err_downtime_pct = err(med(m$c_downtime_s), med(m$m_downtime_s)),
			   stringsAsFactors = FALSE)
	})
	do.call(rbind, rows)
}

# The question a scenario file answers: its header's "Question:" paragraph
# and the "Expected" one after it.
mb_classic_question <- function(name) {
	f <- file.path(mb_classic_scenario_dir(), paste0(name, ".ini"))
	if (!file.exists(f)) return(character())
	l <- readLines(f)
	l <- l[seq_len(match(FALSE, grepl("^#", l), nomatch = length(l) + 1) - 1)]
	l <- sub("^# ?", "", l)
	end <- match(TRUE, grepl("^\\s*bash |^\\s*$", l), nomatch = length(l) + 1)
	paste(l[seq_len(end - 1)], collapse = " ")
}

mb_classic_scenario_dir <- function() {
	args <- commandArgs(trailingOnly = FALSE)
	f <- sub("^--file=", "", args[grepl("^--file=", args)])
	top <- if (length(f)) dirname(dirname(normalizePath(f[1]))) else "."
	file.path(top, "bench", "scenarios", "classic")
}

# The environment the figures come from, from the first run's result.
mb_classic_environment <- function(cs) {
	d <- cs[[1]]
	dir <- attr(d, "dir")
	f <- mb_result_files(dir)[1]
	doc <- mb_read_json(f)
	h <- doc$host$host
	q <- doc$hypervisor$source
	sprintf(paste("These are **TCG figures from a %d-core machine** (%s, %s), not KVM: QEMU %s (%s), accelerator %s,",
		      "guest kernel and agent built by `migbench image`; migbench %s (%s). First run %s."),
		h$cores_online, h$cpu_model, h$kernel, q$version, q$binary, q$accelerator,
		doc$tool$version, doc$tool$git_describe, doc$run$start_time)
}

mb_classic_plots <- function(cs, out) {
	suppressPackageStartupMessages(library(ggplot2))
	if (!is.null(d <- cs[["dirty-rate"]])) {
		p <- mb_classic_points(d, c("section", "rate", "max_bandwidth"))
		p$lambda_nominal <- p$rate * 4096 / p$max_bandwidth
		cols <- c("section", "lambda_nominal", "completed", "runs")
		long <- rbind(data.frame(p[, cols], q = "Data transferred (MiB)", v = p$data_MiB),
			      data.frame(p[, cols], q = "Total time (ms)", v = p$total_time_ms),
			      data.frame(p[, cols], q = "Downtime (ms)", v = p$downtime_ms))
		g <- ggplot(long[is.finite(long$v), ], aes(lambda_nominal, v, colour = section)) +
			geom_vline(xintercept = 1, colour = "grey60", linetype = "dashed") +
			geom_line() + geom_point() + facet_wrap(~q, scales = "free_y") +
			labs(x = "lambda = dirty rate / bandwidth cap", y = NULL, colour = NULL,
			     title = "Dirty rate against migration mode (medians of completed runs)",
			     subtitle = "pre-copy past lambda = 1: no completed run (timeout)") +
			theme_bw(base_size = 10) + theme(legend.position = "bottom")
		mb_save_plot(g, file.path(out, "classic-dirty-rate"), width = 9, height = 3.8)
	}
	if (!is.null(d <- cs[["bandwidth"]])) {
		p <- mb_classic_points(d, c("section", "max_bandwidth", "downtime_limit"))
		bw <- p[p$section == "bandwidth", ]
		dl <- p[p$section == "downtime_limit", ]
		long <- rbind(data.frame(x = bw$max_bandwidth / 2^20, v = bw$total_time_ms, q = "Total time (ms) vs cap (MiB/s)", what = "measured"),
			      data.frame(x = bw$max_bandwidth / 2^20, v = 1000 * bw$nonzero_MiB / (bw$max_bandwidth / 2^20),
					 q = "Total time (ms) vs cap (MiB/s)", what = "non-zero memory / cap"),
			      data.frame(x = dl$downtime_limit, v = dl$downtime_ms, q = "Downtime (ms) vs limit (ms)", what = "measured"),
			      data.frame(x = dl$downtime_limit, v = dl$downtime_limit, q = "Downtime (ms) vs limit (ms)", what = "the limit"))
		g <- ggplot(long[is.finite(long$v), ], aes(x, v, linetype = what)) + geom_line() + geom_point() +
			scale_x_log10() + scale_y_log10() + facet_wrap(~q, scales = "free") +
			labs(x = NULL, y = NULL, linetype = NULL, title = "Bandwidth cap and downtime limit (pre-copy, medians)") +
			theme_bw(base_size = 10) + theme(legend.position = "bottom")
		mb_save_plot(g, file.path(out, "classic-bandwidth"), width = 9, height = 3.8)
	}
	if (!is.null(d <- cs[["pattern"]])) {
		p <- mb_classic_points(d, c("section", "wss", "rate", "pattern"))
		p$wss_MiB <- p$wss / 2^20
		g <- ggplot(p, aes(lambda, data_MiB, colour = pattern, shape = factor(wss_MiB))) +
			geom_point(size = 2.2) +
			labs(x = "lambda (measured dirty rate / cap)", y = "Data transferred (MiB)", shape = "wss (MiB)",
			     title = "Writable working set and write pattern (pre-copy, medians)") +
			theme_bw(base_size = 10) + theme(legend.position = "bottom")
		mb_save_plot(g, file.path(out, "classic-pattern"), width = 7, height = 4.2)
	}
	if (!is.null(d <- cs[["memory"]])) {
		ok <- d[d$status == "completed", , drop = FALSE]
		g <- ggplot(ok, aes(memory / 2^30, total_time_ms)) + geom_point() +
			geom_smooth(method = "lm", formula = y ~ x, se = FALSE, colour = "grey40", linewidth = 0.5) +
			labs(x = "guest memory (GiB)", y = "Total time (ms)", title = "Idle guest: memory size") +
			theme_bw(base_size = 10)
		mb_save_plot(g, file.path(out, "classic-memory"), width = 5, height = 3.6)
	}
}

mb_classic_write <- function(dir, wall_s = NA) {
	cs <- mb_classic_read(dir)
	all <- do.call(rbind, lapply(cs, function(d) {
		m <- mb_model_campaign(d)
		if (is.null(m)) NULL else m
	}))
	shapes <- mb_classic_shapes(cs, all)
	write.csv(shapes, file.path(dir, "shapes.csv"), row.names = FALSE)
	md <- c("# Classic migration results on this host", "",
		mb_classic_environment(cs), "",
		if (file.exists(file.path(dir, "provenance.txt")))
			c("Provenance (`provenance.txt`):", "",
			  paste0("    ", readLines(file.path(dir, "provenance.txt"))), "") else character(),
		sprintf("Made by `bash bench/reference.sh` from `bench/scenarios/classic/`%s. Each campaign has its own",
			if (is.finite(wall_s)) sprintf(" in %d min %d s of campaign time", wall_s %/% 60, wall_s %% 60) else ""),
		"`migbench report` in CAMPAIGN/report/ (every metric with BCa CIs, timelines); this page gathers the classic results.", "",
		"## Shapes", "",
		mb_markdown_table(data.frame(check.names = FALSE, campaign = shapes$campaign, shape = shapes$shape,
					     holds = ifelse(shapes$holds, "yes", "**no**"), numbers = shapes$detail)), "")
	for (n in names(cs)) {
		d <- cs[[n]]
		keys <- setdiff(mb_swept_params(d), "scenario")
		p <- mb_classic_points(d, unique(c("mode", keys)))
		tab <- data.frame(check.names = FALSE, scenario = p$scenario, completed = sprintf("%d/%d", p$completed, p$runs),
				  lambda = mb_fmt(p$lambda, 2),
				  `data (MiB)` = mb_fmt(p$data_MiB), `total (ms)` = mb_fmt(p$total_time_ms),
				  `downtime (ms)` = mb_fmt(p$downtime_ms), `guest gap (ms)` = mb_fmt(p$guest_downtime_ms),
				  `guest throughput in pre-copy` = mb_fmt(p$throughput_ratio, 2))
		if (any(is.finite(p$blocktime_ms)))
			tab <- cbind(tab, data.frame(check.names = FALSE, `blocktime (ms)` = mb_fmt(p$blocktime_ms),
				`fault latency (us)` = mb_fmt(p$fault_latency_us), faults = mb_fmt(p$faults)))
		md <- c(md, sprintf("## %s", n), "", mb_classic_question(n), "",
			mb_markdown_table(tab), "",
			sprintf("Medians of completed runs; every metric with its CI: [%s/report/report.md](%s/report/report.md).", n, n))
		for (img in c(sprintf("classic-%s.png", n), file.path(n, "report", "postcopy_faults.png")))
			if (file.exists(file.path(dir, img)) && (n == "postcopy-faults" || !grepl("postcopy_faults", img)))
				md <- c(md, "", sprintf("![%s](%s)", n, img))
		md <- c(md, "")
	}
	if (!is.null(all)) {
		write.csv(all, file.path(dir, "model.csv"), row.names = FALSE, na = "")
		pts <- mb_model_points(all)
		write.csv(pts, file.path(dir, "model-points.csv"), row.names = FALSE, na = "")
		pct <- function(p) ifelse(is.finite(p), sprintf("%+.0f %%", p), "–")
		ptab <- data.frame(check.names = FALSE, campaign = pts$campaign, scenario = pts$scenario, runs = pts$runs,
				   lambda = mb_fmt(pts$lambda, 2),
				   `total pred/meas (ms)` = sprintf("%s/%s", mb_fmt(pts$p_time_s * 1000), mb_fmt(pts$m_time_s * 1000)),
				   `total err` = pct(pts$err_time_pct),
				   `data pred/meas (MiB)` = sprintf("%s/%s", mb_fmt(pts$p_bytes / 2^20), mb_fmt(pts$m_bytes / 2^20)),
				   `data err` = pct(pts$err_bytes_pct),
				   `downtime pred/meas (ms)` = sprintf("%s/%s", mb_fmt(pts$p_downtime_s * 1000), mb_fmt(pts$m_downtime_s * 1000)),
				   `downtime err` = pct(pts$err_downtime_pct), `classic downtime err` = pct(pts$c_err_downtime_pct))
		md <- c(md, "## The pre-copy model", "",
			"Every completed pre-copy run of the campaigns above, predicted from its measured inputs (analysis/model.R).",
			"Per scenario: the median prediction against the median measurement.", "",
			mb_markdown_table(ptab), "",
			"Per run:", "", mb_model_summary_md(all), "",
			"![model](model.png)", "")
		tryCatch(mb_model_plot(all, file.path(dir, "model")),
			 error = function(e) message("model plot: ", conditionMessage(e)))
	}
	pre <- file.path(dir, "prealloc", "prealloc.md")
	if (file.exists(pre)) {
		l <- readLines(pre)
		l <- sub("(report/report.md)", "(prealloc/report/report.md)", l, fixed = TRUE)
		md <- c(md, "### Why the stop-and-copy bandwidth spreads", "",
			paste("The model takes each run's stop-and-copy bandwidth as measured: it spreads fourfold here. Pages the",
			      "destination receives for the first time land on memory its QEMU never touched, and the host's first",
			      "touch of each page is slow in this VM. The experiment (bench/prealloc.sh) preallocates the",
			      "destination's memory:"), "", l[-(1:2)], "")
	}
	tryCatch(mb_classic_plots(cs, dir), error = function(e) message("classic plots: ", conditionMessage(e)))
	writeLines(md, file.path(dir, "report.md"))
	invisible(shapes)
}

mb_classic_main <- function() {
	a <- mb_parse_args(commandArgs(trailingOnly = TRUE),
			   list(`--wall-s` = "wall", `-h` = "help", `--help` = "help"), flags = "help")
	if (isTRUE(a$opts$help)) {
		cat("usage: Rscript classic.R DIR [--wall-s S]\n",
		    "The classic results from the campaigns of bench/scenarios/classic/ in DIR; writes DIR/report.md.\n")
		return(0L)
	}
	if (length(a$pos) != 1) mb_fail("usage: Rscript classic.R DIR [--wall-s S]")
	wall <- if (!is.null(a$opts$wall)) mb_num_opt(a$opts$wall, "wall-s", 0) else NA
	shapes <- mb_classic_write(a$pos[1], wall)
	cat(sprintf("%s: %s\n", ifelse(shapes$holds, "holds", "DOES NOT HOLD"), shapes$shape), sep = "")
	cat(sprintf("written: %s\n", file.path(a$pos[1], "report.md")))
	0L
}

if (sys.nframe() == 0L && !interactive()) mb_main("classic", mb_classic_main)
