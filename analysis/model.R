# migbench model: pre-copy predicted from its measured inputs, against the
# measured runs. Two models side by side:
#
#   Rscript analysis/model.R DIR [-o OUT]     (report.R runs it too)
#
# The classic analytic model (Akoush et al. 2010; Liu et al. 2011). With
# memory V (bytes), dirty rate D and bandwidth R (bytes/s), lambda = D/R.
# Round 0 sends V; round i sends what was dirtied during round i-1,
# V * lambda^i. The guest stops once what remains fits the downtime
# limit: remaining <= R * downtime_limit; that round n is the stop-and-copy.
#   total bytes  = V (1 - lambda^(n+1)) / (1 - lambda)
#   total time   = (V / R) (1 - lambda^(n+1)) / (1 - lambda)
#   downtime     = V lambda^n / R
# It over-predicts downtime about tenfold here: QEMU (8.1 and later) does
# not hold max_bandwidth while the guest is stopped.
#
# The QEMU-loop model (mb_model_qemu_loop) follows what QEMU's migration
# thread does instead of rounds of a geometric series:
#   - it sends at R in rate-limit windows of 100 ms (QEMU's BUFFER_DELAY) and
#     checks between windows whether what is still to send is below the
#     threshold R * downtime_limit;
#   - only then does it sync the dirty bitmap (so a "round" ends with up to
#     a threshold's worth still unsent, which joins the next round), adding
#     the pages dirtied since the last sync: the UNIQUE pages the guest's
#     writes hit, which for random and hot/cold writes grow slower than the
#     writes (mb_unique_pages), less those still waiting to be sent;
#   - when what remains after the sync is below the threshold the guest
#     stops, and the rest goes without a bandwidth cap:
#       downtime = remaining / R_stop,
#     R_stop the bandwidth the run's stop-and-copy achieved (its bytes over
#     its downtime), as R is pre-copy's: given each phase's bandwidth, what
#     the model predicts is how much is left when the guest stops. R_stop
#     itself spreads fourfold between runs here, with the host's load and
#     with how many of the pages the destination never held
#     (bench/prealloc.sh: the host's first touch of the destination's
#     memory makes them about 4x slower), which nothing before the stop
#     tells. A line c + bytes / R_line through the campaign's other runs
#     predicts the downtime out of sample too (p_line_downtime_s), where
#     the campaign's stop-and-copy sizes vary enough to draw one.
#   total time = QEMU's setup time + the windows + the downtime.
#
# Measured inputs per run:
#   V  guest RAM QEMU migrates (ram.total) minus the pages it found zero
#      (ram.duplicate, sent as a few bytes each)
#   D  the guest's dirty rate while pre-copy ran, from its heartbeats'
#      pages-written counter ("guest"), and QEMU's dirty-pages-rate where it
#      measured one ("qemu"); pages x page size. The classic model reads the
#      QEMU rate as written; the loop model reads it as writes, like the
#      guest's.
#   R  bandwidth pre-copy achieved, from the samples before the guest
#      stopped (derived.precopy_bytes_s; ram.mbps where there are none)
#   T  the downtime limit of the scenario
#   W  the scenario's wss for the dirty workload (unbounded otherwise), and
#      its write pattern

if (!exists("mb_read_campaign")) {
	local({
		args <- commandArgs(trailingOnly = FALSE)
		f <- sub("^--file=", "", args[grepl("^--file=", args)])
		dir <- if (length(f)) dirname(normalizePath(f[1])) else "analysis"
		source(file.path(dir, "migbench.R"))
	})
}

# The dirty workload's hot/cold split: this share of the working set takes
# that share of the writes (the agent's `hot` and `hotw` defaults in
# workloads/agent/config.c; analysis/tests/test-model.R checks they agree).
mb_hotcold <- c(hot = 0.2, hotw = 0.8)

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

# Unique pages that n page writes hit in a working set of W pages.
# sequential: the writes walk the set in order, so n until the whole set;
# random: each write picks a page uniformly, W (1 - e^(-n/W));
# hotcold: a hot part of hot*W pages takes hotw of the writes, each part
# uniform within itself. Unbounded W: every write is a new page.
mb_unique_pages <- function(n, W, pattern = "sequential", hot = mb_hotcold[["hot"]],
			    hotw = mb_hotcold[["hotw"]]) {
	if (!is.finite(W)) return(n)
	uni <- function(n, w) if (w <= 0) 0 else w * -expm1(-n / w)
	switch(pattern,
	       random = uni(n, W),
	       hotcold = uni(hotw * n, hot * W) + uni((1 - hotw) * n, (1 - hot) * W),
	       min(n, W))
}

# QEMU's pre-copy loop (see the head of this file). Sizes in bytes, rates in
# bytes/s, W in bytes (Inf: every write a new page); D is the guest's write
# rate. stop = c(c_s, R_stop) turns the stop-and-copy bytes into a downtime
# (NA without). Returns converges (FALSE when the bounds are hit: syncs past
# max_syncs, or time past timeout_s), syncs (QEMU's dirty-sync-count at the
# end: the set-up sync, each threshold sync and the completion's), bytes,
# time_s, stop_bytes, downtime_s.
mb_model_qemu_loop <- function(V, D, R, T_s, W = Inf, pattern = "sequential", page = 4096,
			       setup_s = 0, stop = c(NA_real_, NA_real_), window_s = 0.1,
			       max_syncs = 0, timeout_s = Inf, ram = V, layout = NULL, R_thr = R) {
	nc <- list(converges = FALSE, lambda = D / R, syncs = NA_real_, bytes = NA_real_,
		   time_s = NA_real_, stop_bytes = NA_real_, downtime_s = NA_real_)
	if (!all(is.finite(c(V, D, R, T_s))) || R <= 0 || V < 0 || D < 0) {
		nc$converges <- NA
		return(nc)
	}
	if (!is.finite(ram) || ram < V) ram <- V
	limit_syncs <- if (is.finite(max_syncs) && max_syncs > 0) max_syncs else 1e5
	limit_s <- if (is.finite(timeout_s)) timeout_s else 3600
	thr <- (if (is.finite(R_thr) && R_thr > 0) R_thr else R) * T_s
	Wp <- W / page
	# QEMU's "remaining" counts dirty pages, zero or not. The first pass
	# starts with every page of RAM dirty; its zero pages (ram - V) cost
	# scanning, not bandwidth. `layout` (mb_layout_fn) says how many pages
	# the first pass has scanned once it has sent a given amount of data;
	# without it the zero pages are taken as spread evenly. Later rounds
	# carry only pages the guest wrote, sent in step with the first pass's
	# rest.
	scanned_at <- if (is.function(layout)) layout else function(d) if (V > 0) d / V * ram else ram
	pending <- V
	first <- V  # of pending: the first pass's data not yet sent
	zero <- ram - V
	ws_share <- if (is.finite(W) && V > 0) min(1, W / V) else 1
	sent <- 0
	t <- setup_s
	writes <- 0
	syncs <- 1
	repeat {
		chunk <- min(pending, R * window_s)
		if (pending > 0) first <- first * (1 - chunk / pending)
		sent_first <- V - first
		zero <- max(0, (ram - V) - (scanned_at(sent_first) - sent_first))
		if (first <= 0) zero <- 0
		pending <- pending - chunk
		sent <- sent + chunk
		t <- t + chunk / R
		writes <- writes + D / page * chunk / R
		if (chunk == 0) {  # nothing left to send: wait a window for the next sync
			t <- t + window_s
			writes <- writes + D / page * window_s
		}
		if (pending + zero < thr) {
			new <- mb_unique_pages(writes, Wp, pattern) * page
			# the part of the new pages still waiting to be sent adds nothing
			if (is.finite(W)) new <- new * max(0, 1 - pending * ws_share / W)
			pending <- pending + new
			writes <- 0
			syncs <- syncs + 1
			ws_share <- 1  # from the first sync on, only the working set is dirty
			if (pending + zero < thr) break
		}
		if (syncs >= limit_syncs || t > limit_s) return(nc)
	}
	down <- if (length(stop) == 2 && all(is.finite(stop)) && stop[2] > 0) stop[1] + pending / stop[2] else NA_real_
	list(converges = TRUE, lambda = D / R, syncs = syncs + 1, bytes = sent + pending,
	     time_s = t + (if (is.finite(down)) down else 0), stop_bytes = pending,
	     downtime_s = down)
}

# The first pass's layout (derived.first_pass_layout: "normal:scanned;..." in
# pages) as a function from data sent (bytes) to RAM scanned (bytes),
# through (0, 0), the samples and (V, ram), linear in between; NULL when
# there are no samples.
mb_layout_fn <- function(layout, V, ram, page = 4096) {
	if (!is.character(layout) || is.na(layout) || !nzchar(layout) || !is.finite(V) || !is.finite(ram))
		return(NULL)
	p <- do.call(rbind, lapply(strsplit(strsplit(layout, ";", fixed = TRUE)[[1]], ":", fixed = TRUE), as.numeric))
	d <- c(0, p[, 1] * page, V)
	sc <- c(0, p[, 2] * page, ram)
	keep <- d <= V & sc <= ram
	d <- d[keep]
	sc <- sc[keep]
	o <- order(d, sc)
	d <- d[o]
	sc <- sc[o]
	# zero pages scanned between two samples count at the later one
	function(x) stats::approx(d, sc, xout = min(max(x, 0), V), ties = max, rule = 2)$y
}

# The stop-and-copy line through a campaign's completed pre-copy runs:
# downtime = c + bytes / R_line, fitted once per run without that run
# (leave one out: no run's downtime is predicted from itself), by least
# absolute deviations (iteratively reweighted least squares), so that a run
# slowed by the host's other load does not drag the line. Returns a matrix
# of (c_s, R_line bytes/s) per run; NA where fewer than two other runs or a
# line that does not rise.
mb_stop_copy_fit <- function(bytes, downtime_s) {
	ok <- is.finite(bytes) & is.finite(downtime_s)
	t(vapply(seq_along(bytes), function(i) {
		use <- ok & seq_along(bytes) != i
		if (sum(use) < 2 || length(unique(bytes[use])) < 2) return(c(NA_real_, NA_real_))
		X <- cbind(1, bytes[use])
		y <- downtime_s[use]
		w <- rep(1, length(y))
		for (it in 1:50) {
			b <- stats::lm.wfit(X, y, w)$coefficients
			w <- 1 / pmax(abs(y - drop(X %*% b)), 1e-4)
		}
		if (!all(is.finite(b)) || b[2] <= 0) return(c(NA_real_, NA_real_))
		unname(c(max(0, b[1]), 1 / b[2]))
	}, c(0, 0)))
}

# Model inputs of each pre-copy run of a campaign (tidy table from
# mb_read_campaign): completed pre-copy runs and pre-copy runs that did not
# converge. One row per run and dirty-rate source.
mb_model_inputs <- function(df) {
	g <- function(col) mb_col(df, col, NA)
	# plain pre-copy: XBZRLE, compression and auto-converge change what a
	# page costs and how fast the guest dirties, which the model does not cover
	plain <- (is.na(g("xbzrle_cache")) | g("xbzrle_cache") %in% 0) &
		(is.na(g("multifd_compression")) | g("multifd_compression") %in% "none") &
		!(g("auto_converge") %in% TRUE)
	pre <- g("mode") %in% "precopy" & g("status") %in% c("completed", "did-not-converge") & plain
	d <- df[pre, , drop = FALSE]
	if (!nrow(d)) return(NULL)
	gd <- function(col) mb_col(d, col)
	page <- gd("derived.ram_page_size")
	page[!is.finite(page)] <- 4096
	V <- gd("derived.ram_total") - gd("derived.ram_duplicate") * page
	W <- ifelse(gd("workload") %in% "dirty", gd("wss"), Inf)
	R <- gd("derived.precopy_bytes_s")
	R_avg <- gd("derived.ram_mbps") * 1e6 / 8
	R[!is.finite(R)] <- R_avg[!is.finite(R)]
	pattern <- as.character(gd("pattern"))
	pattern[is.na(pattern)] <- "sequential"
	setup <- gd("derived.setup_ms") / 1000
	setup[!is.finite(setup)] <- 0
	base <- data.frame(campaign = if ("campaign" %in% names(d)) d$campaign else NA_character_,
			   scenario = d$scenario, repetition = d$repetition, status = d$status,
			   pattern = pattern, V = V, ram = gd("derived.ram_total"), R = R,
			   layout = as.character(gd("derived.first_pass_layout")),
			   R_thr = gd("derived.threshold_bytes_s"), R_avg = R_avg, T_s = gd("downtime_limit") / 1000,
			   W = W, page = page, setup_s = setup, max_passes = gd("max_passes"),
			   timeout_s = gd("timeout") / 1000, stringsAsFactors = FALSE)
	guest <- cbind(base, D_source = "guest", D = gd("derived.guest_dirty_rate_pages_s") * page)
	qemu <- cbind(base, D_source = "qemu", D = gd("derived.qemu_dirty_pages_rate") * page)
	qemu <- qemu[is.finite(qemu$D), , drop = FALSE]
	measured <- data.frame(
		m_time_s = gd("total_time_ms") / 1000, m_bytes = gd("pages_transferred.bytes.total"),
		m_downtime_s = gd("downtime_ms") / 1000, m_stop_bytes = gd("pages_transferred.bytes.downtime"),
		m_rounds = gd("derived.ram_dirty_sync_count") - 1,
		m_syncs = gd("derived.ram_dirty_sync_count"),
		# the run's own stop-and-copy bandwidth (bytes over downtime, bytes/s)
		R_stop = ifelse(gd("derived.stop_copy_MiB_s") > 0, gd("derived.stop_copy_MiB_s") * 2^20, NA_real_))
	out <- rbind(cbind(guest, measured), cbind(qemu, measured[match(
		paste(qemu$scenario, qemu$repetition), paste(d$scenario, d$repetition)), , drop = FALSE]))
	rownames(out) <- NULL
	out
}

# Predictions and errors for every input row: the classic model (c_*) and
# the QEMU-loop model (p_*).
mb_model_campaign <- function(df, resume_s = 0) {
	inp <- mb_model_inputs(df)
	if (is.null(inp) || !nrow(inp)) return(NULL)
	sim <- function(i, stop) with(inp[i, ],
		mb_model_qemu_loop(V, D, R, T_s, W = W, pattern = pattern, page = page, setup_s = setup_s, ram = ram,
				   layout = mb_layout_fn(layout, V, ram, page), R_thr = R_thr,
				   stop = stop, max_syncs = if (is.finite(max_passes) && max_passes > 0)
				   max_passes + 1 else 0, timeout_s = timeout_s))
	# The downtime comes from the run's own stop-and-copy bandwidth (R_stop);
	# the line through the campaign's other runs (c + bytes / R_line)
	# predicts it out of sample, where such a line exists.
	stopfit <- matrix(NA_real_, nrow(inp), 2)
	key <- paste(inp$campaign, inp$scenario, inp$repetition)
	runs <- which(inp$D_source == "guest" & inp$status == "completed")
	for (cg in unique(inp$campaign[runs])) {
		r <- runs[inp$campaign[runs] %in% cg]
		fit <- mb_stop_copy_fit(inp$m_stop_bytes[r], inp$m_downtime_s[r])
		for (k in seq_along(r)) {
			rows <- which(key == key[r[k]])
			stopfit[rows, ] <- matrix(fit[k, ], length(rows), 2, byrow = TRUE)
		}
	}
	inp$line_c_s <- stopfit[, 1]
	inp$R_line <- stopfit[, 2]
	classic <- lapply(seq_len(nrow(inp)), function(i) with(inp[i, ],
		mb_model_precopy(V, D, R_avg, T_s, W = W, resume_s = resume_s)))
	loop <- lapply(seq_len(nrow(inp)), function(i) sim(i, c(0, inp$R_stop[i])))
	num <- function(l, k) vapply(l, function(p) as.numeric(p[[k]]), 0)
	inp$lambda <- inp$D / inp$R
	inp$c_converges <- vapply(classic, function(p) as.logical(p$converges), NA)
	inp$c_bytes <- num(classic, "bytes")
	inp$c_time_s <- num(classic, "time_s")
	inp$c_downtime_s <- num(classic, "downtime_s")
	inp$converges <- vapply(loop, function(p) as.logical(p$converges), NA)
	inp$p_syncs <- num(loop, "syncs")
	inp$p_bytes <- num(loop, "bytes")
	inp$p_time_s <- num(loop, "time_s")
	inp$p_stop_bytes <- num(loop, "stop_bytes")
	inp$p_downtime_s <- num(loop, "downtime_s")
	inp$p_line_downtime_s <- ifelse(is.finite(inp$R_line), inp$line_c_s + inp$p_stop_bytes / inp$R_line, NA_real_)
	# errors of completed runs only: a cancelled run's figures end at the cancel
	done <- inp$status == "completed"
	err <- function(p, m) ifelse(done & is.finite(p) & is.finite(m) & m != 0, 100 * (p - m) / m, NA_real_)
	for (m in c("c", "p")) {
		pre <- if (m == "c") "c_err_" else "err_"
		inp[[paste0(pre, "time_pct")]] <- err(inp[[paste0(m, "_time_s")]], inp$m_time_s)
		inp[[paste0(pre, "bytes_pct")]] <- err(inp[[paste0(m, "_bytes")]], inp$m_bytes)
		inp[[paste0(pre, "downtime_pct")]] <- err(inp[[paste0(m, "_downtime_s")]], inp$m_downtime_s)
	}
	inp$err_stop_bytes_pct <- err(inp$p_stop_bytes, inp$m_stop_bytes)
	inp$line_err_downtime_pct <- err(inp$p_line_downtime_s, inp$m_downtime_s)
	# The loop model stops at the scenario's bounds (max_passes, timeout):
	# it "agrees" when it converges exactly when the run completed.
	inp$agrees <- ifelse(is.na(inp$converges), NA, inp$converges == (inp$status == "completed"))
	inp
}

# Markdown / LaTeX table of the model: one row per run and D source.
mb_model_table <- function(mod) {
	mib <- function(b) mb_fmt(b / 2^20)
	ms <- function(s) mb_fmt(s * 1000)
	pct <- function(p) ifelse(is.finite(p), sprintf("%+.0f %%", p), "–")
	data.frame(check.names = FALSE, stringsAsFactors = FALSE,
		Scenario = mod$scenario, Run = mod$repetition, D = mod$D_source, Pattern = mod$pattern,
		`V (MiB)` = mib(mod$V), `D (MiB/s)` = mib(mod$D), `R (MiB/s)` = mib(mod$R),
		`lambda` = mb_fmt(mod$lambda, 3),
		`Syncs pred/meas` = sprintf("%s/%s", ifelse(is.finite(mod$p_syncs), mod$p_syncs, "∞"),
					    ifelse(is.finite(mod$m_syncs), mod$m_syncs, "–")),
		`Total pred (ms)` = ifelse(mod$converges %in% FALSE, "no conv.", ms(mod$p_time_s)),
		`Total meas (ms)` = ifelse(mod$status == "completed", ms(mod$m_time_s), mod$status),
		`Total err` = pct(mod$err_time_pct),
		`Data pred (MiB)` = mib(mod$p_bytes), `Data meas (MiB)` = mib(mod$m_bytes),
		`Data err` = pct(mod$err_bytes_pct),
		`Stop-copy pred/meas (MiB)` = sprintf("%s/%s", mib(mod$p_stop_bytes), mib(mod$m_stop_bytes)),
		`Downtime pred (ms)` = ms(mod$p_downtime_s), `Downtime meas (ms)` = ms(mod$m_downtime_s),
		`Downtime err` = pct(mod$err_downtime_pct),
		`Line downtime err` = pct(mod$line_err_downtime_pct),
		`Classic downtime err` = pct(mod$c_err_downtime_pct))
}

# The model's summary: per dirty-rate source, model and lambda range, the
# runs, how often convergence was right, the median and the largest
# absolute error of total time, data and downtime, and the share of runs
# within `bound` % on all three.
mb_model_summary <- function(mod, bound = 15, lambda_max = 0.8) {
	rows <- list()
	f <- function(x, g) if (any(is.finite(x))) g(abs(x[is.finite(x)])) else NA_real_
	models <- c("QEMU loop", "QEMU loop, line downtime", "classic")
	for (src in unique(mod$D_source)) for (model in models) for (range in c("low", "all")) {
		m <- mod[mod$D_source == src & (range == "all" | (is.finite(mod$lambda) & mod$lambda < lambda_max)), ,
			 drop = FALSE]
		if (!nrow(m)) next
		pre <- if (model == "classic") "c_err_" else "err_"
		e <- m[, paste0(pre, c("time_pct", "bytes_pct", "downtime_pct")), drop = FALSE]
		if (model == models[2]) e[[3]] <- m$line_err_downtime_pct
		done <- m$status == "completed"
		within <- rowSums(is.finite(as.matrix(e)) & abs(as.matrix(e)) <= bound) == 3
		rows[[length(rows) + 1]] <- data.frame(D_source = src, model = model,
			lambda = if (range == "low") sprintf("< %g", lambda_max) else "all", runs = nrow(m),
			convergence_agrees = if (model == "classic") NA_character_ else
				sprintf("%d/%d", sum(m$agrees %in% TRUE), sum(!is.na(m$agrees))),
			mdae_time_pct = f(e[[1]], median), mdae_bytes_pct = f(e[[2]], median),
			mdae_downtime_pct = f(e[[3]], median),
			max_time_pct = f(e[[1]], max), max_bytes_pct = f(e[[2]], max), max_downtime_pct = f(e[[3]], max),
			within = sprintf("%d/%d", sum(within[done]), sum(done)), stringsAsFactors = FALSE)
	}
	do.call(rbind, rows)
}

# Predicted vs measured (PNG + PDF), one panel per quantity; the classic
# model's downtime beside the loop model's.
mb_model_plot <- function(mod, out_base) {
	suppressPackageStartupMessages(library(ggplot2))
	ok <- mod[mod$status == "completed" & mod$D_source == "guest", , drop = FALSE]
	if (!nrow(ok)) return(invisible(NULL))
	mk <- function(q, meas, pred, model) data.frame(q = q, meas = meas, pred = pred, model = model,
						      lambda = ok$lambda, pattern = ok$pattern)
	long <- rbind(
		mk("Total time (ms)", ok$m_time_s * 1000, ok$p_time_s * 1000, "QEMU loop"),
		mk("Data transferred (MiB)", ok$m_bytes / 2^20, ok$p_bytes / 2^20, "QEMU loop"),
		mk("Downtime (ms)", ok$m_downtime_s * 1000, ok$p_downtime_s * 1000, "QEMU loop"),
		mk("Downtime (ms)", ok$m_downtime_s * 1000, ok$c_downtime_s * 1000, "classic"))
	long <- long[is.finite(long$meas) & is.finite(long$pred), , drop = FALSE]
	if (!nrow(long)) return(invisible(NULL))
	lims <- do.call(rbind, lapply(split(long, long$q), function(x) {
		r <- range(c(x$meas, x$pred[x$model == "QEMU loop"]))
		data.frame(q = x$q[1], meas = r, pred = r, model = "QEMU loop", lambda = NA, pattern = NA)
	}))
	p <- ggplot(long[long$model == "QEMU loop", ], aes(meas, pred)) +
		geom_blank(data = lims) +
		geom_abline(slope = 1, intercept = 0, colour = "grey50", linetype = "dashed") +
		geom_abline(slope = c(0.85, 1.15), intercept = 0, colour = "grey75", linetype = "dotted") +
		geom_point(aes(colour = lambda, shape = pattern), size = 2, alpha = 0.85) +
		scale_colour_viridis_c(end = 0.9) +
		facet_wrap(~q, scales = "free") +
		labs(x = "measured", y = "predicted (QEMU-loop pre-copy model)", colour = "lambda",
		     shape = "write pattern",
		     title = "Pre-copy model vs measurement (dirty rate from the guest)",
		     subtitle = "dashed: prediction = measurement; dotted: +/- 15 %") +
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
	md <- c("## Pre-copy model", "",
		"Each pre-copy run predicted from its measured inputs (analysis/model.R's head has the model):",
		"V = RAM QEMU migrates minus zero pages, D = dirty rate (guest heartbeats' pages written; QEMU's dirty-pages-rate where it measured one),",
		"R = bandwidth pre-copy achieved (samples before the guest stopped), T = downtime limit, W = working set and its write pattern.",
		paste("The QEMU-loop model sends in 100 ms rate-limit windows, syncs the dirty bitmap when less than R x T is left",
		      "(adding the unique pages the writes hit since the last sync), stops when what is left after a sync is under R x T,",
		      "and copies that uncapped: downtime = bytes / R_stop, R_stop the bandwidth the run's stop-and-copy achieved",
		      "(out of sample instead, a line c + bytes / R_line through the campaign's other runs: \"line downtime err\")."),
		paste("The classic model (Akoush et al. 2010) sends rounds of V lambda^i at the whole migration's average bandwidth and",
		      "copies the last round at it too. Error = (predicted - measured) / measured; syncs = QEMU's dirty-sync-count."), "",
		mb_model_summary_md(mod), "",
		mb_markdown_table(tab))
	stopfit <- mod[mod$D_source == "guest" & is.finite(mod$R_stop), , drop = FALSE]
	if (nrow(stopfit))
		md <- c(md, "", sprintf(paste("Stop-and-copy achieved %s MiB/s (median; range %s-%s)",
			"against %s MiB/s pre-copy achieved: QEMU does not apply max_bandwidth while the guest is stopped."),
			mb_fmt(median(stopfit$R_stop) / 2^20),
			mb_fmt(min(stopfit$R_stop) / 2^20), mb_fmt(max(stopfit$R_stop) / 2^20),
			mb_fmt(median(mod$R, na.rm = TRUE) / 2^20)))
	writeLines(md, file.path(out, "model.md"))
	tex <- tab[, c("Scenario", "Run", "D", "lambda", "Syncs pred/meas", "Total pred (ms)", "Total meas (ms)",
		       "Total err", "Data err", "Downtime pred (ms)", "Downtime meas (ms)", "Downtime err")]
	names(tex)[names(tex) == "lambda"] <- "$\\lambda$"
	writeLines(mb_latex_table(tex, "lrlrrrrrrrrr", caption = "Pre-copy model (QEMU loop) vs measurement",
				  label = "tab:migbench-model", raw_head = "$\\lambda$"), file.path(out, "model.tex"))
	tryCatch(mb_model_plot(mod, file.path(out, "model")),
		 error = function(e) message("model plot: ", conditionMessage(e)))
	md
}

# The summary as a Markdown table.
mb_model_summary_md <- function(mod, bound = 15, lambda_max = 0.8) {
	sm <- mb_model_summary(mod, bound, lambda_max)
	pct1 <- function(p) ifelse(is.finite(p), sprintf("%.1f %%", p), "–")
	both <- function(med, mx) sprintf("%s (%s)", pct1(med), pct1(mx))
	c(sprintf("Median (largest) absolute error; \"within %g %%\": completed runs with all three errors within %g %%.",
		  bound, bound), "",
	  mb_markdown_table(data.frame(check.names = FALSE, model = sm$model, `dirty rate from` = sm$D_source,
		lambda = sm$lambda, runs = sm$runs,
		`convergence right` = ifelse(is.na(sm$convergence_agrees), "–", sm$convergence_agrees),
		`total time` = both(sm$mdae_time_pct, sm$max_time_pct), data = both(sm$mdae_bytes_pct, sm$max_bytes_pct),
		downtime = both(sm$mdae_downtime_pct, sm$max_downtime_pct),
		`within 15 %` = sm$within)))
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
