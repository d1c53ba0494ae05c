# migbench model: the analytic pre-copy model (Akoush et al. 2010; Liu et al.
# 2011) against measured pre-copy runs.
#
#   Rscript analysis/model.R DIR [-o OUT]     (report.R runs it too)
#
# With memory V (bytes), dirty rate D and bandwidth R (bytes/s), lambda = D/R.
# Round 0 sends V; round i sends what was dirtied during round i-1,
# V * lambda^i. QEMU stops the guest once what remains fits the downtime
# limit: remaining <= R * downtime_limit; that round n is the stop-and-copy.
#   total bytes  = V (1 - lambda^(n+1)) / (1 - lambda)
#   total time   = (V / R) (1 - lambda^(n+1)) / (1 - lambda)
#   downtime     = V lambda^n / R + resume cost
# A guest dirties at most its working set W per round (the dirty workload
# writes only its wss): with W finite, round i sends min(V lambda^i, W) —
# the same as above while V lambda^i <= W, which is when the closed form holds.
# lambda >= 1 with W above the threshold: pre-copy never converges.
#
# Measured inputs per run:
#   V  guest RAM QEMU migrates (ram.total) minus the pages it found zero
#      (ram.duplicate, sent as a few bytes each)
#   D  the guest's dirty rate while pre-copy ran, from its heartbeats'
#      pages-written counter ("guest"), and QEMU's dirty-pages-rate where it
#      measured one ("qemu"); pages x page size
#   R  bandwidth achieved: ram.mbps (Mbit/s) / 8
#   T  the downtime limit of the scenario
#   W  the scenario's wss for the dirty workload (unbounded otherwise)

if (!exists("mb_read_campaign")) {
	local({
		args <- commandArgs(trailingOnly = FALSE)
		f <- sub("^--file=", "", args[grepl("^--file=", args)])
		dir <- if (length(f)) dirname(normalizePath(f[1])) else "analysis"
		source(file.path(dir, "migbench.R"))
	})
}

# The closed form exactly as above (no working-set bound). Returns n (index
# of the stop-and-copy round), rounds (n + 1), bytes, time_s, downtime_s;
# converges = FALSE with NA figures when lambda >= 1 and V is above the
# threshold.
mb_model_closed <- function(V, D, R, T_s, resume_s = 0) {
	lambda <- D / R
	thr <- R * T_s
	if (V <= thr) {
		n <- 0
	} else if (lambda <= 0) {
		n <- 1
	} else if (lambda >= 1) {
		return(list(converges = FALSE, lambda = lambda, n = NA_real_, rounds = NA_real_,
			    bytes = NA_real_, time_s = NA_real_, downtime_s = NA_real_))
	} else {
		n <- ceiling(log(thr / V) / log(lambda) - 1e-9)
	}
	geo <- if (lambda == 1) n + 1 else (1 - lambda^(n + 1)) / (1 - lambda)
	list(converges = TRUE, lambda = lambda, n = n, rounds = n + 1, bytes = V * geo,
	     time_s = (V / R) * geo, downtime_s = V * lambda^n / R + resume_s)
}

# Round by round, with the working-set bound W. Equals mb_model_closed when
# W is Inf.
mb_model_precopy <- function(V, D, R, T_s, W = Inf, resume_s = 0, max_rounds = 10000) {
	lambda <- D / R
	thr <- R * T_s
	nc <- list(converges = FALSE, lambda = lambda, n = NA_real_, rounds = NA_real_,
		   bytes = NA_real_, time_s = NA_real_, downtime_s = NA_real_)
	if (!all(is.finite(c(V, D, R, T_s))) || R <= 0 || V < 0 || D < 0) {
		nc$converges <- NA
		return(nc)
	}
	v <- V
	total <- 0
	i <- 0
	repeat {
		total <- total + v
		if (v <= thr) break
		nxt <- min(v * lambda, W)
		if (nxt >= v || i >= max_rounds) return(nc)  # never shrinks below the threshold
		v <- nxt
		i <- i + 1
	}
	list(converges = TRUE, lambda = lambda, n = i, rounds = i + 1, bytes = total,
	     time_s = total / R, downtime_s = v / R + resume_s)
}

# Model inputs of each pre-copy run of a campaign (tidy table from
# mb_read_campaign): completed pre-copy runs and pre-copy runs that did not
# converge. One row per run and dirty-rate source.
mb_model_inputs <- function(df) {
	g <- function(col) if (col %in% names(df)) df[[col]] else rep(NA, nrow(df))
	pre <- g("mode") %in% "precopy" & g("status") %in% c("completed", "did-not-converge")
	d <- df[pre, , drop = FALSE]
	if (!nrow(d)) return(NULL)
	gd <- function(col) if (col %in% names(d)) d[[col]] else rep(NA_real_, nrow(d))
	page <- gd("derived.ram_page_size")
	page[!is.finite(page)] <- 4096
	V <- gd("derived.ram_total") - gd("derived.ram_duplicate") * page
	W <- ifelse(gd("workload") %in% "dirty", gd("wss"), Inf)
	base <- data.frame(scenario = d$scenario, repetition = d$repetition, status = d$status,
			   V = V, R = gd("derived.ram_mbps") * 1e6 / 8, T_s = gd("downtime_limit") / 1000,
			   W = W, page = page, max_passes = gd("max_passes"), timeout_s = gd("timeout") / 1000,
			   stringsAsFactors = FALSE)
	guest <- cbind(base, D_source = "guest", D = gd("derived.guest_dirty_rate_pages_s") * page)
	qemu <- cbind(base, D_source = "qemu", D = gd("derived.qemu_dirty_pages_rate") * page)
	qemu <- qemu[is.finite(qemu$D), , drop = FALSE]
	measured <- data.frame(
		m_time_s = gd("total_time_ms") / 1000, m_bytes = gd("pages_transferred.bytes.total"),
		m_downtime_s = gd("downtime_ms") / 1000,
		m_rounds = gd("derived.ram_dirty_sync_count") - 1)
	out <- rbind(cbind(guest, measured), cbind(qemu, measured[match(
		paste(qemu$scenario, qemu$repetition), paste(d$scenario, d$repetition)), , drop = FALSE]))
	rownames(out) <- NULL
	out
}

# Predictions and errors for every input row.
mb_model_campaign <- function(df, resume_s = 0) {
	inp <- mb_model_inputs(df)
	if (is.null(inp) || !nrow(inp)) return(NULL)
	pred <- lapply(seq_len(nrow(inp)), function(i) with(inp[i, ],
		mb_model_precopy(V, D, R, T_s, W = W, resume_s = resume_s)))
	inp$lambda <- inp$D / inp$R
	inp$converges <- vapply(pred, function(p) as.logical(p$converges), NA)
	inp$p_rounds <- vapply(pred, `[[`, 0, "rounds")
	inp$p_bytes <- vapply(pred, `[[`, 0, "bytes")
	inp$p_time_s <- vapply(pred, `[[`, 0, "time_s")
	inp$p_downtime_s <- vapply(pred, `[[`, 0, "downtime_s")
	err <- function(p, m) ifelse(is.finite(p) & is.finite(m) & m != 0, 100 * (p - m) / m, NA_real_)
	inp$err_time_pct <- err(inp$p_time_s, inp$m_time_s)
	inp$err_bytes_pct <- err(inp$p_bytes, inp$m_bytes)
	inp$err_downtime_pct <- err(inp$p_downtime_s, inp$m_downtime_s)
	# Did the model get convergence right? A run converges within its
	# scenario's bounds when the model converges in at most max_passes
	# rounds (0 = unbounded) and within the timeout.
	within <- inp$converges &
		(!is.finite(inp$max_passes) | inp$max_passes == 0 | inp$p_rounds <= inp$max_passes) &
		(!is.finite(inp$timeout_s) | inp$p_time_s <= inp$timeout_s)
	inp$converges_within_bounds <- within
	inp$agrees <- ifelse(is.na(within), NA, within == (inp$status == "completed"))
	inp
}

# Markdown / LaTeX table of the model: one row per run and D source.
mb_model_table <- function(mod) {
	mib <- function(b) mb_fmt(b / 2^20)
	ms <- function(s) mb_fmt(s * 1000)
	pct <- function(p) ifelse(is.finite(p), sprintf("%+.0f %%", p), "–")
	data.frame(check.names = FALSE, stringsAsFactors = FALSE,
		Scenario = mod$scenario, Run = mod$repetition, D = mod$D_source,
		`V (MiB)` = mib(mod$V), `D (MiB/s)` = mib(mod$D), `R (MiB/s)` = mib(mod$R),
		`lambda` = mb_fmt(mod$lambda, 3),
		`Rounds pred/meas` = sprintf("%s/%s", ifelse(is.finite(mod$p_rounds), mod$p_rounds, "∞"),
					     ifelse(is.finite(mod$m_rounds), mod$m_rounds, "–")),
		`Total pred (ms)` = ifelse(mod$converges %in% FALSE, "no conv.",
			ifelse(mod$converges_within_bounds %in% FALSE, paste(ms(mod$p_time_s), "(past bounds)"), ms(mod$p_time_s))),
		`Total meas (ms)` = ifelse(mod$status == "completed", ms(mod$m_time_s), mod$status),
		`Total err` = pct(mod$err_time_pct),
		`Data pred (MiB)` = mib(mod$p_bytes), `Data meas (MiB)` = mib(mod$m_bytes),
		`Data err` = pct(mod$err_bytes_pct),
		`Downtime pred (ms)` = ms(mod$p_downtime_s), `Downtime meas (ms)` = ms(mod$m_downtime_s),
		`Downtime err` = pct(mod$err_downtime_pct))
}

# Median absolute error per metric and D source: the model's summary line.
mb_model_summary <- function(mod) {
	rows <- list()
	for (src in unique(mod$D_source)) {
		m <- mod[mod$D_source == src, , drop = FALSE]
		f <- function(x) if (any(is.finite(x))) median(abs(x[is.finite(x)])) else NA_real_
		rows[[length(rows) + 1]] <- data.frame(D_source = src, runs = nrow(m),
			convergence_agrees = sprintf("%d/%d", sum(m$agrees %in% TRUE), sum(!is.na(m$agrees))),
			mdae_time_pct = f(m$err_time_pct), mdae_bytes_pct = f(m$err_bytes_pct),
			mdae_downtime_pct = f(m$err_downtime_pct), stringsAsFactors = FALSE)
	}
	do.call(rbind, rows)
}

# Predicted vs measured (PNG + PDF), one panel per quantity.
mb_model_plot <- function(mod, out_base) {
	suppressPackageStartupMessages(library(ggplot2))
	ok <- mod[mod$status == "completed", , drop = FALSE]
	if (!nrow(ok)) return(invisible(NULL))
	long <- rbind(
		data.frame(q = "Total time (ms)", meas = ok$m_time_s * 1000, pred = ok$p_time_s * 1000),
		data.frame(q = "Data transferred (MiB)", meas = ok$m_bytes / 2^20, pred = ok$p_bytes / 2^20),
		data.frame(q = "Downtime (ms)", meas = ok$m_downtime_s * 1000, pred = ok$p_downtime_s * 1000))
	long$scenario <- rep(ok$scenario, 3)
	long$D <- rep(ok$D_source, 3)
	long <- long[is.finite(long$meas) & is.finite(long$pred), , drop = FALSE]
	if (!nrow(long)) return(invisible(NULL))
	lims <- do.call(rbind, lapply(split(long, long$q), function(x) {
		r <- range(c(x$meas, x$pred))
		data.frame(q = x$q[1], meas = r, pred = r)
	}))
	p <- ggplot(long, aes(meas, pred)) +
		geom_blank(data = lims) +
		geom_abline(slope = 1, intercept = 0, colour = "grey50", linetype = "dashed") +
		geom_point(aes(colour = scenario, shape = D), size = 2.2, alpha = 0.85) +
		facet_wrap(~q, scales = "free") +
		labs(x = "measured", y = "predicted (pre-copy model)", colour = "scenario",
		     shape = "dirty rate from",
		     title = "Analytic pre-copy model vs measurement",
		     subtitle = "dashed: prediction = measurement") +
		theme_bw(base_size = 10) + theme(legend.position = "bottom", legend.box = "vertical")
	mb_save_plot(p, out_base, width = 9, height = 4.2)
}

mb_save_plot <- function(p, base, width = 7, height = 4.5) {
	suppressPackageStartupMessages(library(ggplot2))
	ggsave(paste0(base, ".pdf"), p, width = width, height = height, device = grDevices::pdf)
	ggsave(paste0(base, ".png"), p, width = width, height = height, dpi = 150, device = "png")
	invisible(c(paste0(base, ".pdf"), paste0(base, ".png")))
}

# Writes model.csv, model.md, model.tex and model.{png,pdf} into out;
# returns the Markdown lines (report.R embeds them).
mb_model_write <- function(df, out, resume_s = 0) {
	mod <- mb_model_campaign(df, resume_s = resume_s)
	if (is.null(mod)) {
		md <- c("## Pre-copy model", "", "No pre-copy runs (mode=precopy, completed or did-not-converge) in this campaign.")
		writeLines(md, file.path(out, "model.md"))
		return(md)
	}
	write.csv(mod, file.path(out, "model.csv"), row.names = FALSE, na = "")
	tab <- mb_model_table(mod)
	sm <- mb_model_summary(mod)
	sc <- df[df$mode %in% "precopy" & df$status %in% "completed", , drop = FALSE]
	pct1 <- function(p) ifelse(is.finite(p), sprintf("%.1f %%", p), "–")
	stopbw <- if ("derived.stop_copy_MiB_s" %in% names(sc)) median(sc$derived.stop_copy_MiB_s, na.rm = TRUE) else NA
	md <- c("## Pre-copy model", "",
		"The analytic pre-copy model (Akoush et al. 2010; Liu et al. 2011) predicts each pre-copy run from its measured inputs:",
		"V = RAM QEMU migrates minus zero pages, D = dirty rate (guest heartbeats' pages written; QEMU's dirty-pages-rate where it measured one),",
		"R = bandwidth achieved (ram.mbps), stop when remaining <= R x downtime limit, at most the working set dirtied per round.",
		paste("Rounds include the stop-and-copy round; measured = QEMU's dirty-bitmap syncs - 1, which over-counts when QEMU",
		      "re-syncs to check the threshold. Error = (predicted - measured) / measured;",
		      "\"convergence right\": the model converges within the scenario's max_passes and timeout exactly when the run completed."), "",
		mb_markdown_table(tab), "",
		"Median absolute error:", "",
		mb_markdown_table(data.frame(check.names = FALSE, `dirty rate from` = sm$D_source, runs = sm$runs,
			`convergence right` = sm$convergence_agrees,
			`total time` = pct1(sm$mdae_time_pct), `data` = pct1(sm$mdae_bytes_pct),
			`downtime` = pct1(sm$mdae_downtime_pct))))
	if (is.finite(stopbw) && any(is.finite(mod$R)))
		md <- c(md, "", sprintf(paste("Stop-and-copy ran at %s MiB/s (median; stop-and-copy bytes / downtime) against %s MiB/s",
			"achieved over the whole migration: QEMU does not apply max_bandwidth while the guest is stopped,",
			"so the model's downtime (remaining / R) is an upper bound."), mb_fmt(stopbw), mb_fmt(median(mod$R, na.rm = TRUE) / 2^20)))
	writeLines(md, file.path(out, "model.md"))
	tex <- tab[, c("Scenario", "Run", "D", "lambda", "Rounds pred/meas", "Total pred (ms)", "Total meas (ms)",
		       "Total err", "Data err", "Downtime pred (ms)", "Downtime meas (ms)", "Downtime err")]
	names(tex)[names(tex) == "lambda"] <- "$\\lambda$"
	writeLines(mb_latex_table(tex, "lrlrrrrrrrrr", caption = "Analytic pre-copy model vs measurement",
				  label = "tab:migbench-model", raw_head = "$\\lambda$"), file.path(out, "model.tex"))
	tryCatch(mb_model_plot(mod, file.path(out, "model")),
		 error = function(e) message("model plot: ", conditionMessage(e)))
	md
}

mb_model_main <- function() {
	a <- mb_parse_args(commandArgs(trailingOnly = TRUE),
			   list(`-o` = "out", `--out` = "out", `--resume-ms` = "resume", `-h` = "help", `--help` = "help"),
			   flags = "help")
	if (isTRUE(a$opts$help)) {
		cat("usage: Rscript model.R DIR [-o OUT] [--resume-ms MS]\n",
		    "The analytic pre-copy model against the campaign's pre-copy runs; writes model.{csv,md,tex,png,pdf}.\n")
		return(0L)
	}
	if (length(a$pos) != 1) mb_fail("usage: Rscript model.R DIR [-o OUT]")
	df <- mb_read_campaign(a$pos[1])
	out <- if (!is.null(a$opts$out)) a$opts$out else file.path(attr(df, "dir"), "report")
	dir.create(out, recursive = TRUE, showWarnings = FALSE)
	resume <- if (!is.null(a$opts$resume)) mb_num_opt(a$opts$resume, "resume-ms", 0) / 1000 else 0
	cat(mb_model_write(df, out, resume), sep = "\n")
	0L
}

if (sys.nframe() == 0L && !interactive()) mb_main("model", mb_model_main)
