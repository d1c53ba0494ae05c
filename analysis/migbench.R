# migbench analysis: what report.R, compare.R and model.R share.
#
#   - mb_read_campaign(dir): a campaign folder (campaign.json + SCENARIO/REP.json)
#     as one tidy data frame, one row per run: scenario parameters as columns,
#     every metric flattened by its JSON path (downtime_ms,
#     pages_transferred.total, degradation.recovery_to_95pct_ms,
#     memory_verify.pages_corrupted, qemu_reported.downtime, ...), run status.
#   - mb_metric_info(): label, unit, which direction is worse, for each metric.
#   - mb_scenario_stats(): per scenario and metric, n, median and a 95 % BCa
#     bootstrap confidence interval (whole runs resampled), status counts.
#   - number formatting and Markdown / LaTeX table writers.
#
# Only base R, jsonlite and boot here; plotting (ggplot2) lives in report.R.

suppressPackageStartupMessages({
	library(jsonlite)
	library(boot)
})

mb_statuses <- c("completed", "failed", "did-not-converge", "cancelled", "missing")

# ---- errors with an exit status ---------------------------------------------

# The exit statuses of bench/command.h (MB_EXIT_*): the scripts' statuses
# are migbench's, since `migbench report|compare` replaces itself with
# Rscript. inconclusive: `compare` could not tell (too few runs).
mb_exit <- c(ok = 0L, failed = 1L, usage = 2L, no_resource = 3L, inconclusive = 4L)

# Scripts stop with mb_fail(); main wrappers turn it into a message and the
# shared exit statuses (usage: bad command line or input; failed).
mb_fail <- function(msg, status = mb_exit[["usage"]]) {
	cond <- structure(class = c("mb_error", "error", "condition"),
			  list(message = msg, call = NULL, status = status))
	stop(cond)
}

mb_main <- function(prog, fun) {
	status <- tryCatch(fun(), mb_error = function(e) {
		message(prog, ": ", conditionMessage(e))
		e$status
	}, error = function(e) {
		message(prog, ": ", conditionMessage(e))
		mb_exit[["failed"]]
	})
	quit(save = "no", status = as.integer(status))
}

# ---- reading results ----------------------------------------------------------

mb_read_json <- function(path) {
	mb_read_side_files(jsonlite::fromJSON(path, simplifyVector = FALSE), dirname(path))
}

# A long run's series are in side files beside its result (bench/result.c):
# heartbeats.file (REP.heartbeats.tsv: a header of the column names, then
# one line per heartbeat) and samples.file (REP.samples.jsonl: one sample a
# line). They are read back into what the result carries inline (the
# heartbeats' columns, the list of samples), so that nothing downstream
# knows where they were. A result that names a side file which is not
# there, or not whole, is unreadable.
mb_read_side_files <- function(doc, dir) {
	if (!is.list(doc)) return(doc)
	side <- function(x) if (is.list(x) && is.character(x$file) && length(x$file) == 1) file.path(dir, x$file) else NULL
	whole <- function(x, path, n) {
		if (is.numeric(x$count) && n != x$count)
			stop(sprintf("its side file %s has %d lines, the result says %d", x$file, n, x$count))
	}
	if (!is.null(path <- side(doc$heartbeats))) {
		if (!file.exists(path)) stop(sprintf("its heartbeats' side file %s is missing", doc$heartbeats$file))
		t <- utils::read.delim(path, colClasses = "numeric", check.names = FALSE)
		whole(doc$heartbeats, path, nrow(t))
		for (col in names(t)) doc$heartbeats[[col]] <- t[[col]]
	}
	if (!is.null(path <- side(doc$samples))) {
		if (!file.exists(path)) stop(sprintf("its samples' side file %s is missing", doc$samples$file))
		lines <- readLines(path, warn = FALSE)
		whole(doc$samples, path, length(lines))
		doc$samples <- lapply(lines, jsonlite::fromJSON, simplifyVector = FALSE)
	}
	doc
}

# Named list -> flat named list of scalars, names joined with ".".
# Arrays of scalars become one "; "-joined string; arrays of objects are
# dropped (events, samples: the timeline reads those from the file).
mb_flatten <- function(x, prefix = "") {
	out <- list()
	for (k in names(x)) {
		v <- x[[k]]
		key <- if (nzchar(prefix)) paste0(prefix, ".", k) else k
		if (is.null(v)) {
			out[[key]] <- NA
		} else if (is.list(v) && !is.null(names(v)) && length(v) > 0) {
			out <- c(out, mb_flatten(v, key))
		} else if (is.list(v)) {
			named <- function(e) is.list(e) && is.character(e$name) && length(e$name) == 1
			if (length(v) == 0) {
				out[[key]] <- NA_character_
			} else if (all(vapply(v, function(e) is.atomic(e) && length(e) == 1, TRUE))) {
				out[[key]] <- paste(unlist(v), collapse = "; ")
			} else if (all(vapply(v, named, TRUE))) {
				# objects with a name (energy domains): KEY.NAME.field
				for (e in v) out <- c(out, mb_flatten(e[setdiff(names(e), "name")],
								  paste0(key, ".", e$name)))
			}
		} else if (length(v) == 1) {
			out[[key]] <- v
		}
	}
	out
}

# The numbers of one run that the timeline and model need but no metric
# holds: passes, QEMU's dirty-page rate, the stop-and-copy bandwidth.
mb_derived <- function(doc) {
	d <- list()
	passes <- NA_real_
	for (e in doc$events) {
		if (identical(e$event, "MIGRATION_PASS") && identical(e$side, "source") &&
		    !is.null(e$data$pass))
			passes <- max(passes, e$data$pass, na.rm = TRUE)
	}
	d[["derived.passes"]] <- passes
	rates <- vapply(doc$samples, function(s) {
		r <- s$reply$ram$`dirty-pages-rate`
		if (is.null(r)) NA_real_ else as.numeric(r)
	}, 0)
	rates <- rates[is.finite(rates) & rates > 0]
	d[["derived.qemu_dirty_pages_rate"]] <- if (length(rates)) max(rates) else NA_real_
	m <- doc$metrics
	db <- m$pages_transferred$bytes$downtime
	dt <- m$downtime_ms
	d[["derived.stop_copy_MiB_s"]] <- if (!is.null(db) && !is.null(dt) && is.numeric(dt) && dt > 0)
		db / 2^20 / (dt / 1000) else NA_real_
	# QEMU's last ram block: the final query-migrate, else (a cancelled
	# run's final reply has none) the last sample that had one.
	ram <- doc$qemu_reported$ram
	if (is.null(ram))
		for (s in rev(doc$samples)) if (!is.null(s$reply$ram)) { ram <- s$reply$ram; break }
	num <- function(v) if (is.null(v)) NA_real_ else as.numeric(v)
	d[["derived.ram_total"]] <- num(ram$total)
	d[["derived.ram_duplicate"]] <- num(ram$duplicate)
	d[["derived.ram_page_size"]] <- num(ram$`page-size`)
	d[["derived.ram_mbps"]] <- num(ram$mbps)
	d[["derived.ram_dirty_sync_count"]] <- num(ram$`dirty-sync-count`)
	t <- mb_run_instants(doc)
	d[["derived.guest_dirty_rate_pages_s"]] <- mb_guest_dirty_rate(doc, t)
	setup <- doc$qemu_reported$`setup-time`
	d[["derived.setup_ms"]] <- if (is.numeric(setup)) as.numeric(setup) else NA_real_
	pre <- mb_precopy_samples(doc, t)
	d[["derived.precopy_bytes_s"]] <- mb_precopy_bandwidth(pre)
	d[["derived.first_pass_layout"]] <- mb_first_pass_layout(doc)
	d[["derived.threshold_bytes_s"]] <- mb_threshold_bandwidth(pre)
	thr <- vapply(doc$samples, function(s) {
		v <- s$reply$`cpu-throttle-percentage`
		if (is.numeric(v)) as.numeric(v) else NA_real_
	}, 0)
	d[["derived.cpu_throttle_max_pct"]] <- if (any(is.finite(thr))) max(thr, na.rm = TRUE) else NA_real_
	d
}

# Where pre-copy ends (host realtime µs): the guest's STOP, else the
# cancel of a run that did not converge, else never.
mb_precopy_end <- function(t) if (is.finite(t$stop)) t$stop else if (is.finite(t$cancelled)) t$cancelled else Inf

# The samples of the active pre-copy before it ended (t: mb_run_instants).
mb_precopy_samples <- function(doc, t = mb_run_instants(doc)) {
	end <- mb_precopy_end(t)
	Filter(function(s) identical(s$reply$status, "active") && !is.null(s$host_real_us) &&
		       as.numeric(s$host_real_us) < end, doc$samples)
}

# The bandwidth QEMU's stop threshold uses (threshold = it x downtime
# limit): its own estimate over the last 100 ms window, which query-migrate
# shows as ram.mbps; the median over the pre-copy samples (bytes/s).
mb_threshold_bandwidth <- function(samples) {
	v <- vapply(samples, function(s) {
		m <- s$reply$ram$mbps
		if (is.null(m)) NA_real_ else as.numeric(m) * 1e6 / 8
	}, 0)
	v <- v[is.finite(v) & v > 0]
	if (length(v)) median(v) else NA_real_
}

# Where the guest's data lies in RAM, as QEMU's first pass met it: for each
# sample of the first pass (dirty-sync-count 1), the pages it had sent with
# data (ram.normal) and the pages it had scanned (normal + zero), as
# "normal:scanned;..." (a string, so that it fits a column). The pre-copy
# model needs it: QEMU's "remaining" counts zero pages too, and a guest's
# zero pages sit in blocks, not evenly among the others.
mb_first_pass_layout <- function(doc) {
	pts <- vapply(doc$samples, function(s) {
		r <- s$reply$ram
		if (!identical(s$reply$status, "active") || is.null(r$normal) || is.null(r$duplicate) ||
		    !identical(as.numeric(r$`dirty-sync-count`), 1))
			return(NA_character_)
		sprintf("%.0f:%.0f", as.numeric(r$normal), as.numeric(r$normal) + as.numeric(r$duplicate))
	}, "")
	pts <- unique(pts[!is.na(pts)])
	if (length(pts)) paste(pts, collapse = ";") else NA_character_
}

# Bandwidth pre-copy achieved (bytes/s): the slope of QEMU's transferred
# bytes between the first and the last pre-copy sample (mb_precopy_samples).
# QEMU lifts max_bandwidth once the guest is stopped, so the whole
# migration's average (ram.mbps) mixes two rates.
mb_precopy_bandwidth <- function(samples) {
	pts <- lapply(samples, function(s) {
		x <- s$reply$ram$transferred
		if (is.null(x)) NULL else c(as.numeric(s$host_real_us), as.numeric(x))
	})
	pts <- do.call(rbind, pts[!vapply(pts, is.null, TRUE)])
	if (is.null(pts) || nrow(pts) < 2 || pts[nrow(pts), 1] <= pts[1, 1]) return(NA_real_)
	(pts[nrow(pts), 2] - pts[1, 2]) / ((pts[nrow(pts), 1] - pts[1, 1]) / 1e6)
}

# Instants of a run on the host's realtime clock (µs): migration start (from
# the metrics when complete, else the source's first MIGRATION event), STOP,
# RESUME, post-copy switch, completion.
mb_run_instants <- function(doc) {
	ev <- doc$events
	first <- function(side, event, status = NULL) {
		for (e in ev) if (identical(e$side, side) && identical(e$event, event) &&
				  (is.null(status) || identical(e$data$status, status)))
			return(as.numeric(e$qemu_us))
		NA_real_
	}
	stop <- first("source", "STOP")
	start <- NA_real_
	prep <- doc$metrics$preparation_time_ms
	if (is.finite(stop) && is.numeric(prep)) start <- stop - prep * 1000
	if (!is.finite(start)) start <- first("source", "MIGRATION", "setup")
	if (!is.finite(start)) {
		for (e in ev) if (identical(e$side, "source")) { start <- as.numeric(e$qemu_us); break }
	}
	list(start = start, stop = stop, resume = first("destination", "RESUME"),
	     postcopy = first("source", "MIGRATION", "postcopy-active"),
	     completed = first("source", "MIGRATION", "completed"),
	     cancelled = first("source", "MIGRATION", "cancelled"))
}

# Heartbeats as a data frame on the host realtime clock (µs).
mb_heartbeats <- function(doc) {
	hb <- doc$heartbeats
	if (is.null(hb) || !length(hb$host_us)) return(NULL)
	origin <- as.numeric(hb$origin_real_us)
	data.frame(t_us = origin + as.numeric(unlist(hb$host_us)), seq = as.numeric(unlist(hb$seq)),
		   written = as.numeric(unlist(hb$written)), ops = as.numeric(unlist(hb$ops)))
}

# The guest's own dirty rate while pre-copy ran (pages written per second,
# from its heartbeats' `written` counter between migration start and STOP,
# or the last heartbeat when it never stopped). NA without heartbeats.
mb_guest_dirty_rate <- function(doc, t = mb_run_instants(doc)) {
	hb <- tryCatch(mb_heartbeats(doc), error = function(e) NULL)
	if (is.null(hb) || nrow(hb) < 2) return(NA_real_)
	if (!is.finite(t$start)) return(NA_real_)
	w <- hb[hb$t_us >= t$start & hb$t_us <= mb_precopy_end(t), , drop = FALSE]
	if (nrow(w) < 2 || w$t_us[nrow(w)] <= w$t_us[1]) return(NA_real_)
	(w$written[nrow(w)] - w$written[1]) / ((w$t_us[nrow(w)] - w$t_us[1]) / 1e6)
}

# One result document -> one named list (a row of the tidy table).
mb_run_row <- function(doc, file = NA_character_) {
	run <- doc$run
	sc <- doc$scenario
	row <- list(
		scenario = if (!is.null(sc$name)) sc$name else if (!is.null(run$scenario)) run$scenario else NA_character_,
		repetition = if (!is.null(run$repetition)) run$repetition else NA_integer_,
		status = if (!is.null(run$status)) run$status else NA_character_,
		completed_as = if (!is.null(run$completed_as)) run$completed_as else NA_character_,
		postcopy_requested = if (!is.null(run$postcopy_requested)) run$postcopy_requested else NA,
		healthy = if (!is.null(run$health$healthy)) run$health$healthy else NA,
		error = if (!is.null(run$error)) run$error else NA_character_,
		start_time = if (!is.null(run$start_time)) run$start_time else NA_character_,
		run_id = if (!is.null(run$id)) run$id else NA_character_,
		file = file,
		accelerator = if (!is.null(doc$host$accelerator)) doc$host$accelerator else NA_character_,
		qemu_version = if (!is.null(doc$hypervisor$source$version)) doc$hypervisor$source$version else NA_character_,
		tool_version = if (!is.null(doc$tool$git_describe)) doc$tool$git_describe else NA_character_)
	params <- sc[setdiff(names(sc), "name")]
	names(params)[names(params) == "file"] <- "scenario_file"
	row <- c(row, mb_flatten(params))
	row <- c(row, mb_flatten(doc$metrics))
	q <- doc$qemu_reported
	row <- c(row, mb_flatten(q[setdiff(names(q), c("source", "destination"))], "qemu_reported"))
	c(row, mb_derived(doc))
}

# Rows (named lists) -> data frame; columns in first-seen order, missing = NA.
mb_rows_to_df <- function(rows) {
	cols <- unique(unlist(lapply(rows, names)))
	df <- as.data.frame(lapply(cols, function(k) {
		vals <- lapply(rows, function(r) {
			v <- r[[k]]
			if (is.null(v) || length(v) != 1) NA else v
		})
		types <- vapply(vals, function(v) if (is.na(v) && is.logical(v)) "na" else class(v)[1], "")
		if (all(types %in% c("na", "logical"))) return(as.logical(unlist(vals)))
		if (all(types %in% c("na", "integer", "numeric"))) return(as.numeric(unlist(vals)))
		if (all(types %in% c("na", "logical", "integer", "numeric")) && any(types == "logical"))
			return(as.numeric(unlist(vals)))
		vapply(vals, function(v) if (is.na(v)) NA_character_ else as.character(v), "")
	}), stringsAsFactors = FALSE, check.names = FALSE)
	names(df) <- cols
	df
}

# Which folder is the campaign: DIR itself (campaign.json or SCEN/REP.json),
# or the newest campaign inside DIR (so `migbench report results` works on the
# main job's date-named campaigns).
mb_campaign_dir <- function(dir) {
	if (!dir.exists(dir)) mb_fail(sprintf("'%s': no such folder", dir))
	if (file.exists(file.path(dir, "campaign.json"))) return(normalizePath(dir))
	if (length(mb_result_files(dir))) return(normalizePath(dir))
	subs <- list.dirs(dir, recursive = FALSE)
	subs <- subs[file.exists(file.path(subs, "campaign.json"))]
	if (!length(subs))
		mb_fail(sprintf("'%s' is not a campaign folder (no campaign.json, no SCENARIO/REP.json files) and holds no campaign", dir))
	created <- vapply(subs, function(s) {
		m <- tryCatch(mb_read_json(file.path(s, "campaign.json")), error = function(e) NULL)
		if (!is.null(m$created)) m$created else format(file.mtime(s), "%Y-%m-%dT%H:%M:%OS6Z", tz = "UTC")
	}, "")
	pick <- subs[order(created, decreasing = TRUE)][1]
	message(sprintf("using the newest campaign in %s: %s", dir, basename(pick)))
	normalizePath(pick)
}

mb_result_files <- function(dir) {
	files <- Sys.glob(file.path(dir, "*", "*.json"))
	files[grepl("^[0-9]+\\.json$", basename(files))]
}

# A problem with one input file: said on stderr at once (Rscript would
# print a deferred warning only after the script's quit(), i.e. never) and
# left for the caller to count.
mb_warn <- function(msg) warning(msg, call. = FALSE, immediate. = TRUE)

# The first line of an error: jsonlite's parse errors go on with a quote of
# the text and a "(right here) ------^" marker that means nothing in a table.
mb_first_line <- function(msg) trimws(strsplit(msg, "\n", fixed = TRUE)[[1]][1])

mb_is_object <- function(x) is.list(x) && !is.null(names(x))

# A scalar field of an untrusted JSON object, or `default`.
mb_field <- function(x, key, type = is.character, default = NA) {
	v <- if (mb_is_object(x)) x[[key]] else NULL
	if (length(v) == 1 && type(v) && !is.na(v)) v else default
}

mb_missing_row <- function(scenario, repetition, file, error)
	list(scenario = scenario, repetition = repetition, status = "missing", error = error, file = file)

# One result file (REL inside DIR) -> one row. Whatever is wrong with the
# file (absent, not JSON, not a result, a field of the wrong type) costs that
# run only: it becomes a "missing" row, named on stderr unless simply absent
# (an absent file is an expected state, e.g. an interrupted campaign, and the
# status table shows it). scenario and repetition say whose row it is when
# the file cannot.
mb_result_row <- function(dir, rel, scenario, repetition) {
	path <- file.path(dir, rel)
	if (!file.exists(path))
		return(mb_missing_row(scenario, repetition, rel, sprintf("result file %s missing", rel)))
	why <- NULL
	row <- tryCatch({
		doc <- mb_read_json(path)
		if (!mb_is_object(doc)) stop("not a JSON object")
		if (!mb_is_object(doc$run)) stop("no \"run\" object")
		mb_run_row(doc, rel)
	}, error = function(e) { why <<- mb_first_line(conditionMessage(e)); NULL })
	if (!is.null(row)) return(row)
	mb_warn(sprintf("%s: not a readable result (%s); counted as missing", path, why))
	mb_missing_row(scenario, repetition, rel, sprintf("result file %s unreadable: %s", rel, why))
}

# campaign.json, or NULL (said on stderr) when it cannot be used.
mb_read_manifest <- function(mpath) {
	why <- NULL
	m <- tryCatch(mb_read_json(mpath), error = function(e) { why <<- mb_first_line(conditionMessage(e)); NULL })
	if (is.null(why) && !mb_is_object(m)) why <- "not a JSON object"
	if (is.null(why) && !is.null(m$runs) && !is.list(m$runs)) why <- "\"runs\" is not a list"
	if (is.null(why)) return(m)
	mb_warn(sprintf("%s: unreadable (%s); reading the SCENARIO/REP.json files of the folder instead", mpath, why))
	NULL
}

# Reads a campaign into the tidy table. Runs listed in the manifest whose file
# is missing or unreadable get a row with status "missing"; without a usable
# manifest the folder's SCENARIO/REP.json files are read.
mb_read_campaign <- function(dir) {
	dir <- mb_campaign_dir(dir)
	manifest <- NULL
	mpath <- file.path(dir, "campaign.json")
	if (file.exists(mpath)) manifest <- mb_read_manifest(mpath)
	rows <- list()
	if (!is.null(manifest) && length(manifest$runs)) {
		for (i in seq_along(manifest$runs)) {
			r <- manifest$runs[[i]]
			scenario <- mb_field(r, "scenario", default = "?")
			repetition <- mb_field(r, "repetition", is.numeric, NA_integer_)
			file <- mb_field(r, "file")
			rows[[length(rows) + 1]] <- if (is.na(file)) {
				mb_warn(sprintf("%s: run %d (%s, repetition %s) lists no result file; counted as missing",
						mpath, i, scenario, repetition))
				mb_missing_row(scenario, repetition, NA_character_,
					       sprintf("campaign.json: run %d lists no result file", i))
			} else mb_result_row(dir, file, scenario, repetition)
		}
	} else {
		for (path in mb_result_files(dir)) {
			rel <- file.path(basename(dirname(path)), basename(path))
			rows[[length(rows) + 1]] <- mb_result_row(dir, rel, basename(dirname(path)),
								  as.integer(sub("\\.json$", "", basename(path))))
		}
	}
	if (!length(rows)) mb_fail(sprintf("'%s': no runs in this campaign", dir))
	df <- mb_rows_to_df(rows)
	df <- cbind(campaign = basename(dir), df, stringsAsFactors = FALSE)
	attr(df, "dir") <- dir
	attr(df, "manifest") <- manifest
	df
}

# ---- the metrics: labels, units, which way is worse ----------------------------

# The metrics described: label, unit, scale, direction ("lower" = lower is
# better, "higher" = higher is better, NA = informational, never a verdict),
# floor (a change of the median smaller than this, in the metric's unit, is
# never a verdict) and key (a column of the paper table). Those of a result
# come from migbench itself (`migbench run --list-metrics --json`,
# bench/metric_catalog.c: one source of truth); the rows below are the
# figures this analysis reads from QEMU's own reply or derives itself.
mb_metric_catalog_derived <- data.frame(stringsAsFactors = FALSE, rbind(
	c("qemu_reported.downtime",              "QEMU-reported downtime",   "ms",    "1",        "lower",  "1",    "0"),
	c("qemu_reported.total-time",            "QEMU-reported total time", "ms",    "1",        "lower",  "1",    "0"),
	c("qemu_reported.setup-time",            "QEMU-reported setup time", "ms",    "1",        "lower",  "1",    "0"),
	c("qemu_reported.ram.mbps",              "Bandwidth achieved",       "Mbit/s", "1",       "higher", "1",    "0"),
	c("derived.passes",                      "Pre-copy passes",          "passes", "1",       NA,       "0",    "0"),
	c("derived.guest_dirty_rate_pages_s",    "Guest dirty rate",         "pages/s", "1",      NA,       "0",    "0"),
	c("derived.qemu_dirty_pages_rate",       "QEMU dirty-page rate",     "pages/s", "1",      NA,       "0",    "0"),
	c("derived.stop_copy_MiB_s",             "Stop-and-copy bandwidth",  "MiB/s", "1",        NA,       "0",    "0")
))
names(mb_metric_catalog_derived) <- c("column", "label", "unit", "scale", "direction", "floor", "key")

mb_metric_catalog <- local({
	cat <- NULL
	function() {
		if (!is.null(cat)) return(cat)
		m <- mb_migbench_json(c("run", "--list-metrics", "--json"), "the metrics")
		if (!is.data.frame(m) || !"metric" %in% names(m))
			mb_fail("the metrics: `migbench run --list-metrics --json` did not print a JSON list of metrics",
				mb_exit[["no_resource"]])
		own <- data.frame(stringsAsFactors = FALSE, column = m$metric, label = m$label, unit = m$unit,
				  scale = as.numeric(m$scale), direction = as.character(m$better),
				  floor = as.numeric(m$floor), key = as.logical(m$paper))
		d <- mb_metric_catalog_derived
		d$scale <- as.numeric(d$scale)
		d$floor <- as.numeric(d$floor)
		d$key <- d$key == "1"
		cat <<- rbind(own, d)
		cat
	}
})

# A column of a tidy table, or NAs where the table has none (a campaign
# without that key or metric).
mb_col <- function(df, col, na = NA_real_) if (col %in% names(df)) df[[col]] else rep(na, nrow(df))

# Columns of the tidy table that are not metrics.
mb_id_columns <- c("campaign", "scenario", "repetition", "status", "completed_as", "postcopy_requested",
		   "healthy", "error", "start_time", "run_id", "file", "accelerator", "qemu_version",
		   "tool_version")

# The scenario keys as migbench itself lists them (`migbench run --list-keys
# --json`: the global keys and every plug-in's, with plug-in, kind, type,
# default, unit and help): one source of truth, read once per session. The
# binary is $MIGBENCH_BIN (`migbench report` and `compare` set it to
# themselves), else migbench on the PATH.
# `migbench ARGS` parsed as JSON: how the analysis reads what migbench owns
# (its keys, its metrics). The binary is $MIGBENCH_BIN (`migbench report` and
# `compare` set it to themselves), else migbench on the PATH. NULL when the
# output is not JSON; failing to run is an error naming `what`.
mb_migbench_json <- function(args, what) {
	bin <- Sys.getenv("MIGBENCH_BIN", "migbench")
	if (!nzchar(bin)) bin <- "migbench"
	out <- tryCatch(suppressWarnings(system2(bin, args, stdout = TRUE, stderr = FALSE)),
			error = function(e) structure(conditionMessage(e), status = 127L))
	status <- attr(out, "status")
	if (!is.null(status))
		mb_fail(sprintf(paste0("%s: `%s %s` failed (status %s) (the analysis reads them from migbench; ",
				       "set MIGBENCH_BIN to its binary)"), what, bin, paste(args, collapse = " "), status),
			mb_exit[["no_resource"]])
	tryCatch(jsonlite::fromJSON(paste(out, collapse = "\n")), error = function(e) NULL)
}

# The scenario keys as migbench itself lists them (`migbench run --list-keys
# --json`: the global keys and every plug-in's, with plug-in, kind, type,
# default, unit and help): one source of truth, read once per session.
mb_scenario_keys <- local({
	keys <- NULL
	function() {
		if (!is.null(keys)) return(keys)
		parsed <- mb_migbench_json(c("run", "--list-keys", "--json"), "the scenario keys")
		if (!is.data.frame(parsed) || !"name" %in% names(parsed))
			mb_fail(paste("the scenario keys: `migbench run --list-keys --json` did not print a JSON list of keys",
				      "(set MIGBENCH_BIN to its binary)"), mb_exit[["no_resource"]])
		keys <<- parsed
		keys
	}
})

# Scenario parameters: everything between the run columns and the metrics,
# i.e. what mb_run_row took from doc$scenario. A key missing here would be
# read as a metric when numeric (the report once listed client_rate among the
# metrics) and be no parameter to plot against; hence migbench's own list.
mb_param_columns <- function(df) {
	known <- c("section", "scenario_file", mb_scenario_keys()$name)
	intersect(names(df), known)
}

# Columns kept in the CSV but left out of the statistics: bookkeeping
# constants, and QEMU's raw ram block where pages_transferred holds the same.
mb_stats_skip <- paste0("(page_size|baseline_window_ms|first_corrupted_page|verify_us|",
	"guest_downtime_start_ms|\\.duration_ms|pages_checked|qemu_reported\\.ram\\.(total|page-size|remaining|",
	"transferred|precopy-bytes|normal-bytes|normal|duplicate|downtime-bytes|postcopy-bytes|",
	"multifd-bytes|dirty-sync-missed-zero-copy|dirty-pages-rate)$|expected-downtime|",
	"derived\\.ram_|\\.samples$|\\.windows\\.|max_energy_range|\\.wraps$|\\.package$|read_errors|",
	"interval_ms$|idle_watts$)")

# Metric columns present in df: numeric, not ids or parameters, not constant
# bookkeeping (page size, window lengths). Catalogued metrics first.
mb_metric_columns <- function(df) {
	skip <- c(mb_id_columns, mb_param_columns(df))
	num <- names(df)[vapply(df, is.numeric, TRUE)]
	num <- setdiff(num, skip)
	num <- num[!grepl(mb_stats_skip, num)]
	num <- num[vapply(num, function(k) any(is.finite(df[[k]])), TRUE)]
	c(intersect(mb_metric_catalog()$column, num), setdiff(num, mb_metric_catalog()$column))
}

# Label, unit, scale, direction, floor of any metric column; uncatalogued ones
# get a guess from their name (…_ms: a time, lower is better; …joules: energy).
mb_metric_info <- function(col) {
	i <- match(col, mb_metric_catalog()$column)
	if (!is.na(i)) return(as.list(mb_metric_catalog()[i, ]))
	info <- list(column = col, label = col, unit = "", scale = 1, direction = NA_character_,
		     floor = 0, key = FALSE)
	if (grepl("_ms$", col)) {
		info$unit <- "ms"; info$direction <- "lower"; info$floor <- 1
		info$label <- sub("_ms$", "", col)
	} else if (grepl("joules", col, ignore.case = TRUE)) {
		info$unit <- "J"; info$direction <- "lower"
	} else if (grepl("watts$", col, ignore.case = TRUE)) {
		info$unit <- "W"; info$direction <- "lower"
	}
	info
}

mb_metric_header <- function(col) {
	info <- mb_metric_info(col)
	if (nzchar(info$unit)) sprintf("%s (%s)", info$label, info$unit) else info$label
}

# ---- statistics -------------------------------------------------------------------

# Median and 95 % BCa bootstrap CI of one metric over the runs of one scenario.
# Each value is one whole run; the bootstrap resamples runs. With fewer than 3
# runs or no variation the CI is NA and `note` says why.
mb_median_ci <- function(x, R = 2000, conf = 0.95, seed = 1) {
	x <- x[is.finite(x)]
	n <- length(x)
	res <- list(n = n, median = if (n) median(x) else NA_real_, ci_low = NA_real_,
		    ci_high = NA_real_, note = "")
	if (n == 0) { res$note <- "no values"; return(res) }
	if (n < 3) { res$note <- sprintf("n = %d < 3: no CI", n); return(res) }
	if (length(unique(x)) == 1) { res$note <- "all values equal: no CI"; return(res) }
	old <- if (exists(".Random.seed", envir = globalenv())) get(".Random.seed", envir = globalenv()) else NULL
	on.exit(if (!is.null(old)) assign(".Random.seed", old, envir = globalenv()))
	set.seed(seed)
	b <- boot::boot(x, function(d, i) median(d[i]), R = R)
	if (length(unique(b$t[, 1])) == 1) { res$note <- "bootstrap medians all equal: no CI"; return(res) }
	warn <- character()
	ci <- tryCatch(withCallingHandlers(
		boot::boot.ci(b, conf = conf, type = "bca"),
		warning = function(w) {
			warn <<- c(warn, conditionMessage(w))
			invokeRestart("muffleWarning")
		}), error = function(e) e)
	if (inherits(ci, "error") || is.null(ci$bca)) {
		res$note <- sprintf("BCa undefined (%s)", if (inherits(ci, "error")) conditionMessage(ci) else "no interval")
		return(res)
	}
	res$ci_low <- unname(ci$bca[1, 4])
	res$ci_high <- unname(ci$bca[1, 5])
	if (!is.finite(res$ci_low) || !is.finite(res$ci_high)) {
		res$ci_low <- res$ci_high <- NA_real_
		res$note <- "BCa undefined (non-finite bound)"
	} else if (length(warn)) {
		res$note <- if (any(grepl("extreme order", warn))) "few runs: CI at extreme order statistics" else warn[1]
	}
	res
}

# Run counts per scenario and status, scenarios in first-seen order.
mb_status_counts <- function(df) {
	sc <- unique(df$scenario)
	out <- data.frame(scenario = sc, stringsAsFactors = FALSE)
	out$runs <- vapply(sc, function(s) sum(df$scenario == s), 0L)
	for (st in mb_statuses) out[[st]] <- vapply(sc, function(s) sum(df$scenario == s & df$status %in% st), 0L)
	out$completed_as <- vapply(sc, function(s) {
		ca <- df$completed_as[df$scenario == s & df$status %in% "completed"]
		ca <- ca[!is.na(ca)]
		if (!length(ca)) return("")
		tb <- table(ca)
		paste(sprintf("%s x%d", names(tb), as.integer(tb)), collapse = ", ")
	}, "")
	out$errors <- vapply(sc, function(s) {
		e <- df$error[df$scenario == s & !df$status %in% "completed"]
		e <- unique(e[!is.na(e)])
		if (!length(e)) "" else paste(substr(e, 1, 160), collapse = " | ")
	}, "")
	rownames(out) <- NULL
	out
}

# Long table: scenario x metric -> n, median, CI, note. Only completed runs'
# metrics enter the statistics; the status counts are beside them.
mb_scenario_stats <- function(df, metrics = mb_metric_columns(df), R = 2000, conf = 0.95, seed = 1) {
	rows <- list()
	for (s in unique(df$scenario)) {
		ok <- df[df$scenario == s & df$status %in% "completed", , drop = FALSE]
		for (m in metrics) {
			x <- if (nrow(ok)) ok[[m]] else numeric()
			st <- mb_median_ci(x, R = R, conf = conf, seed = seed)
			rows[[length(rows) + 1]] <- data.frame(scenario = s, metric = m, n = st$n,
				median = st$median, ci_low = st$ci_low, ci_high = st$ci_high,
				note = st$note, stringsAsFactors = FALSE)
		}
	}
	if (!length(rows))
		return(data.frame(scenario = character(), metric = character(), n = integer(),
				  median = numeric(), ci_low = numeric(), ci_high = numeric(), note = character()))
	do.call(rbind, rows)
}

# Parameters that differ between scenarios (what was swept), numeric ones
# first. `mode` counts when it differs; another parameter counts only when it
# differs between scenarios of the same mode (hybrid_passes=1 set only in a
# hybrid section is part of that mode, not a sweep).
mb_swept_params <- function(df) {
	p <- setdiff(mb_param_columns(df), c("section", "scenario_file", "repetitions"))
	sc <- df[!duplicated(df$scenario), , drop = FALSE]
	mode <- if ("mode" %in% names(sc)) sc$mode else rep("", nrow(sc))
	varies <- function(k) {
		if (k == "mode") return(length(unique(sc[[k]])) > 1)
		any(vapply(split(sc[[k]], mode), function(v) length(unique(v)) > 1, TRUE))
	}
	p <- p[vapply(p, varies, TRUE)]
	p[order(!vapply(p, function(k) is.numeric(df[[k]]), TRUE))]
}

# ---- formatting -------------------------------------------------------------------

# Decimals for a value of this magnitude: 1234 -> 0, 12.3 -> 1, 1.23 -> 2, 0.123 -> 3.
mb_decimals <- function(x) {
	a <- abs(x)
	if (!is.finite(a) || a >= 100) 0L else if (a >= 10) 1L else if (a >= 1) 2L else 3L
}

mb_fmt <- function(x, digits = NULL) {
	vapply(x, function(v) {
		if (!is.finite(v)) return("–")
		d <- if (is.null(digits)) mb_decimals(v) else digits
		if (v == 0 || round(v, d) == 0) return("0")
		formatC(v, format = "f", digits = d, big.mark = "")
	}, "")
}

# "median [low, high]" with the CI rounded like the median; scale converts
# units (bytes -> MiB).
mb_fmt_ci <- function(median, lo, hi, scale = 1, integer = FALSE) {
	if (!is.finite(median)) return("–")
	m <- median * scale
	d <- if (integer) 0L else mb_decimals(m)
	s <- mb_fmt(m, d)
	if (is.finite(lo) && is.finite(hi))
		s <- sprintf("%s [%s, %s]", s, mb_fmt(lo * scale, d), mb_fmt(hi * scale, d))
	s
}

mb_md_escape <- function(x) gsub("|", "\\|", x, fixed = TRUE)

mb_markdown_table <- function(df, align = NULL) {
	if (is.null(align)) align <- ifelse(vapply(df, is.numeric, TRUE), "right", "left")
	rule <- ifelse(align == "right", "---:", "---")
	cells <- lapply(df, function(col) mb_md_escape(as.character(col)))
	lines <- c(paste0("| ", paste(mb_md_escape(names(df)), collapse = " | "), " |"),
		   paste0("| ", paste(rule, collapse = " | "), " |"))
	for (i in seq_len(nrow(df)))
		lines <- c(lines, paste0("| ", paste(vapply(cells, `[`, "", i), collapse = " | "), " |"))
	lines
}

mb_latex_escape <- function(x) {
	x <- gsub("\\", "\001", x, fixed = TRUE)
	x <- gsub("([&%$#_{}])", "\\\\\\1", x)
	x <- gsub("\001", "\\textbackslash{}", x, fixed = TRUE)
	x <- gsub("~", "\\\\textasciitilde{}", x, fixed = TRUE)
	x <- gsub("^", "\\\\textasciicircum{}", x, fixed = TRUE)
	x <- gsub("–", "--", x, fixed = TRUE)
	x
}

# A booktabs table; `align` like "llrrr"; cells and headers are escaped
# unless their column is in raw_cols / raw_head.
mb_latex_table <- function(df, align, caption = NULL, label = NULL, raw_cols = character(),
			   raw_head = character()) {
	esc <- function(v, raw) if (raw) as.character(v) else mb_latex_escape(as.character(v))
	head <- paste(vapply(names(df), function(h) esc(h, h %in% raw_head), ""), collapse = " & ")
	lines <- c("% generated by migbench report; needs \\usepackage{booktabs}",
		   "\\begin{table}[htbp]", "\\centering", "\\small")
	if (!is.null(caption)) lines <- c(lines, sprintf("\\caption{%s}", mb_latex_escape(caption)))
	if (!is.null(label)) lines <- c(lines, sprintf("\\label{%s}", label))
	lines <- c(lines, sprintf("\\begin{tabular}{%s}", align), "\\toprule", paste0(head, " \\\\"), "\\midrule")
	for (i in seq_len(nrow(df))) {
		cells <- vapply(seq_along(df), function(j) esc(df[[j]][i], names(df)[j] %in% raw_cols), "")
		lines <- c(lines, paste0(paste(cells, collapse = " & "), " \\\\"))
	}
	c(lines, "\\bottomrule", "\\end{tabular}", "\\end{table}")
}

# Human-readable parameter values for table cells (sizes in MiB/GiB).
mb_fmt_param <- function(name, v) {
	if (is.na(v)) return("–")
	if (name %in% c("memory", "wss", "xbzrle_cache") && is.numeric(v)) return(mb_fmt_bytes(v))
	if (name == "max_bandwidth" && is.numeric(v)) return(paste0(mb_fmt_bytes(v), "/s"))
	if (name == "rate" && is.numeric(v)) return(sprintf("%s pages/s", formatC(v, format = "d", big.mark = "")))
	if (name %in% c("downtime_limit", "timeout", "sample_interval", "settle", "heartbeat_period") && is.numeric(v))
		return(sprintf("%s ms", mb_fmt(v)))
	as.character(v)
}

mb_fmt_bytes <- function(v) {
	units <- c("B", "KiB", "MiB", "GiB", "TiB")
	i <- 1
	while (abs(v) >= 1024 && i < length(units)) { v <- v / 1024; i <- i + 1 }
	paste0(if (v == round(v)) formatC(v, format = "d", big.mark = "") else mb_fmt(v), " ", units[i])
}

# Folder of the running script (Rscript --file=...), for sourcing siblings.
mb_script_dir <- function() {
	args <- commandArgs(trailingOnly = FALSE)
	f <- sub("^--file=", "", args[grepl("^--file=", args)])
	if (length(f)) dirname(normalizePath(f[1])) else getwd()
}

# Minimal option parser: --opt VALUE, --opt=VALUE, -o VALUE, flags.
mb_parse_args <- function(args, spec, flags = character()) {
	opts <- list(); pos <- character()
	i <- 1
	while (i <= length(args)) {
		a <- args[i]
		if (a == "--") { pos <- c(pos, args[-seq_len(i)]); break }
		if (grepl("^-", a) && nchar(a) > 1) {
			name <- sub("=.*$", "", a)
			key <- spec[[name]]
			if (is.null(key)) mb_fail(sprintf("unknown option '%s'", name))
			if (key %in% flags) { opts[[key]] <- TRUE; i <- i + 1; next }
			if (grepl("=", a)) { val <- sub("^[^=]*=", "", a); i <- i + 1 }
			else {
				if (i == length(args)) mb_fail(sprintf("option '%s' needs a value", name))
				val <- args[i + 1]; i <- i + 2
			}
			opts[[key]] <- val
		} else { pos <- c(pos, a); i <- i + 1 }
	}
	list(opts = opts, pos = pos)
}

mb_num_opt <- function(v, name, lo = -Inf, hi = Inf) {
	x <- suppressWarnings(as.numeric(v))
	if (length(x) != 1 || !is.finite(x) || x < lo || x > hi)
		mb_fail(sprintf("--%s: '%s' is not a number in [%s, %s]", name, v, lo, hi))
	x
}
