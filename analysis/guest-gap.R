# The guest-seen gap, explained: what bench/guest-gap.sh measured.
#
#   Rscript analysis/guest-gap.R CAMPAIGN_DIR TRACE_DIR OUT_DIR
#
# CAMPAIGN_DIR is the campaign bench/guest-gap.sh ran (one scenario per
# variant, interleaved); TRACE_DIR holds the destination QEMUs' trace logs
# of the traced variants (trace-PID.log: TB translations, virtio kicks,
# post-copy page requests and placements, host realtime stamps). Writes
#   OUT_DIR/guest-gap.tsv  one row per run: the split of the switchover's
#                          silence (migbench's metrics guest_gap_*) and,
#                          for traced runs, what the destination did in it
#   OUT_DIR/guest-gap.md   medians per variant, the tests between them
suppressPackageStartupMessages(library(jsonlite))

`%||%` <- function(a, b) if (is.null(a)) b else a

fail <- function(...) {
	message("guest-gap.R: ", ...)
	quit(status = 1)
}

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 3) fail("usage: Rscript analysis/guest-gap.R CAMPAIGN_DIR TRACE_DIR OUT_DIR")
campaign <- args[1]; trace_dir <- args[2]; out_dir <- args[3]

# ---- the destination's trace logs ----------------------------------------------
# QEMU's log trace backend with -msg timestamp=on: "PID@SEC.USEC:EVENT ARGS".
read_trace <- function(path) {
	l <- readLines(path, warn = FALSE)
	l <- l[grepl("^[0-9]+@", l)]            # not the -d in_asm/op/out_asm dumps
	m <- regmatches(l, regexec("^[0-9]+@([0-9]+)\\.([0-9]+):([a-z_]+) ?(.*)$", l))
	m <- m[lengths(m) == 5]
	if (!length(m)) return(NULL)
	data.frame(us = vapply(m, function(x) as.numeric(x[2]) * 1e6 + as.numeric(x[3]), 0),
		   event = vapply(m, `[`, "", 4), args = vapply(m, `[`, "", 5), stringsAsFactors = FALSE)
}

traces <- list()
for (f in list.files(trace_dir, "^trace-[0-9]+\\.log$", full.names = TRUE)) {
	tr <- read_trace(f)
	run <- tr$us[tr$event == "runstate_set" & grepl("new_state 9 ", tr$args)]
	if (length(run)) traces[[length(traces) + 1]] <- list(start = run[1], ev = tr, file = basename(f))
}

# The union length of intervals [a, b] clipped to [lo, hi]: the time the
# vCPU had at least one page request outstanding.
union_length <- function(a, b, lo, hi) {
	a <- pmax(a, lo); b <- pmin(b, hi)
	keep <- b > a
	a <- a[keep]; b <- b[keep]
	if (!length(a)) return(0)
	o <- order(a); a <- a[o]; b <- b[o]
	total <- 0; cur_a <- a[1]; cur_b <- b[1]
	for (i in seq_along(a)[-1]) {
		if (a[i] > cur_b) { total <- total + cur_b - cur_a; cur_a <- a[i]; cur_b <- b[i] }
		else cur_b <- max(cur_b, b[i])
	}
	total + cur_b - cur_a
}

# What the destination did between RESUME and the first heartbeat.
trace_figures <- function(tr, resume, sent, arrival) {
	ev <- tr$ev
	tb <- ev[ev$event == "translate_block" & ev$us >= resume, ]
	user <- !grepl("pc:0xffff", tb$args)       # guest kernel code lives at 0xffff...
	in_sent <- tb$us <= sent
	win <- tb$us[in_sent]
	kicks <- ev$us[ev$event == "virtio_queue_notify" & ev$us >= sent & ev$us <= arrival]
	req <- ev[ev$event == "postcopy_ram_fault_thread_request" & ev$us >= resume & ev$us <= sent, ]
	placed <- ev[ev$event == "postcopy_place_page", ]
	placed_host <- sub("^host=(0x[0-9a-f]+).*$", "\\1", placed$args)
	req_host <- sub("^.*HVA=(0x[0-9a-f]+).*$", "\\1", req$args)
	req_done <- mapply(function(h, t) {
		p <- placed$us[placed_host == h & placed$us >= t]
		if (length(p)) min(p) else NA_real_
	}, req_host, req$us)
	list(trace = tr$file,
	     first_tb_ms = if (nrow(tb)) (tb$us[1] - resume) / 1e3 else NA_real_,
	     tb_until_sent = sum(in_sent),
	     user_tb_until_sent = sum(user & in_sent),
	     tb_sent_to_arrival = sum(tb$us > sent & tb$us <= arrival),
	     tb_first_second = sum(tb$us <= resume + 1e6),
	     tb_gap_median_us = if (length(win) > 1) median(diff(win)) else NA_real_,
	     # the time translations take, roughly: each TB at the typical spacing
	     translating_ms = if (length(win) > 1) length(win) * median(diff(win)) / 1e3 else NA_real_,
	     kick_to_arrival_ms = if (length(kicks)) (arrival - max(kicks)) / 1e3 else NA_real_,
	     page_requests = nrow(req),
	     page_wait_ms = if (nrow(req)) unname(union_length(req$us, ifelse(is.na(req_done), sent, req_done),
							 resume, sent)) / 1e3 else 0)
}

# ---- one row per run ---------------------------------------------------------------
num <- function(x) if (is.numeric(x) && length(x) == 1) x else NA_real_
rows <- list()
for (scen in list.dirs(campaign, recursive = FALSE, full.names = TRUE)) {
	for (f in list.files(scen, "^[0-9]+\\.json$", full.names = TRUE)) {
		doc <- fromJSON(f, simplifyVector = TRUE)
		if (!identical(doc$run$status, "completed")) {
			message("guest-gap.R: ", f, ": ", doc$run$status, " (", doc$run$error %||% "", "): left out")
			next
		}
		m <- doc$metrics
		ev <- doc$events
		resume <- ev$qemu_us[ev$event == "RESUME" & ev$side == "destination"][1]
		after <- num(m$guest_gap_after_resume_ms)
		sent_ms <- num(m$guest_gap_after_resume_sent_ms)
		row <- list(variant = basename(scen), repetition = doc$run$repetition,
			    completed_as = doc$run$completed_as,
			    downtime_ms = num(m$downtime_ms), guest_downtime_ms = num(m$guest_downtime_ms),
			    switchover_ms = num(m$guest_gap_switchover_ms),
			    before_stop_ms = num(m$guest_gap_before_stop_ms), stopped_ms = num(m$guest_gap_stopped_ms),
			    after_resume_ms = after, sent_ms = sent_ms,
			    in_flight_ms = num(m$guest_gap_after_resume_in_flight_ms))
		# The destination's log: QEMU sends RESUME just before it sets the
		# run state to running, a few ms apart on a loaded host.
		dist <- vapply(traces, function(t) abs(t$start - resume), 0)
		# A first heartbeat stamped before RESUME (sent before STOP, left in
		# the virtqueue and passed on by the destination) says nothing of
		# how long the resumed guest took: no trace figures for that run.
		if (length(dist) && min(dist) < 50000 && !is.na(sent_ms) && sent_ms > 0)
			row <- c(row, trace_figures(traces[[which.min(dist)]], resume, resume + sent_ms * 1e3,
						    resume + after * 1e3))
		rows[[length(rows) + 1]] <- row
	}
}
if (!length(rows)) fail(campaign, ": no completed runs")
cols <- unique(unlist(lapply(rows, names)))
df <- as.data.frame(lapply(setNames(cols, cols), function(k)
	sapply(rows, function(r) if (is.null(r[[k]])) NA else r[[k]])), stringsAsFactors = FALSE)
df <- df[order(df$variant, df$repetition), ]
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
write.table(df, file.path(out_dir, "guest-gap.tsv"), sep = "\t", quote = FALSE, row.names = FALSE, na = "")

# ---- the summary -------------------------------------------------------------------
med <- function(x, digits = 1) {
	x <- x[!is.na(x)]
	if (!length(x)) return("-")
	formatC(median(x), format = "f", digits = digits)
}
range_of <- function(x) {
	x <- x[!is.na(x)]
	if (!length(x)) return("")
	sprintf(" (%s-%s)", formatC(min(x), format = "f", digits = 0), formatC(max(x), format = "f", digits = 0))
}
variants <- unique(df$variant)
order_hint <- c("precopy", "precopy-trace", "precopy-inasm", "precopy-disas", "postcopy", "postcopy-trace",
		"postcopy-disas", "postcopy-preempt")
variants <- c(intersect(order_hint, variants), setdiff(variants, order_hint))
by <- function(v) df[df$variant == v, ]

md <- c("# The guest-seen gap under TCG: where the time after RESUME goes", "",
	sprintf("Generated by `bash bench/guest-gap.sh` (analysis/guest-gap.R) from campaign `%s`, %s.",
		basename(normalizePath(campaign)), format(Sys.time(), "%Y-%m-%d %H:%M %Z")),
	"TCG on a 2-core host that was running other engineers' TCG campaigns at the same time:",
	"the variants ran interleaved (repetition 1 of every variant, then 2, ...), so that load",
	"spreads over all of them, but single runs are noisy; read medians and ranges.", "",
	"Variants differ only in the destination QEMU (the source is the same in all):",
	"`-trace` logs every translated block (TB) and the post-copy page requests with a",
	"host timestamp (a small cost per translation); `-inasm` (traced) also disassembles",
	"every TB's guest code (`-d in_asm`), `-disas` (traced) also dumps its TCG ops and",
	"host code (`-d in_asm,op,op_opt,out_asm`): dearer translations, and nothing else, for",
	"code once translated runs as before; `postcopy-preempt` (traced) is",
	"`postcopy_preempt=yes`.", "",
	"## The silence, split (ms, median (min-max))", "",
	"| variant | runs | guest gap | before STOP | STOP->RESUME | RESUME->first heartbeat | ... guest sent it | ... in flight |",
	"| --- | --- | --- | --- | --- | --- | --- | --- |")
for (v in variants) {
	d <- by(v)
	md <- c(md, sprintf("| %s | %d | %s%s | %s | %s%s | %s%s | %s%s | %s%s |", v, nrow(d),
			    med(d$switchover_ms), range_of(d$switchover_ms), med(d$before_stop_ms),
			    med(d$stopped_ms), range_of(d$stopped_ms), med(d$after_resume_ms), range_of(d$after_resume_ms),
			    med(d$sent_ms), range_of(d$sent_ms), med(d$in_flight_ms), range_of(d$in_flight_ms)))
}
md <- c(md, "",
	"`guest gap` is `guest_gap_switchover_ms` (the silence that holds RESUME, usually",
	"`guest_downtime_ms`), split into `guest_gap_before_stop_ms`, `guest_gap_stopped_ms`",
	"and `guest_gap_after_resume_ms`; the last is split again with the guest's own clock",
	"into `guest_gap_after_resume_sent_ms` (RESUME until the guest stamped the heartbeat)",
	"and `guest_gap_after_resume_in_flight_ms` (the stamp until it arrived, beyond the",
	"quickest arrival of the heartbeats after it).", "")

traced <- variants[vapply(variants, function(v) "tb_until_sent" %in% names(df) &&
			   any(!is.na(by(v)$tb_until_sent)), TRUE)]
if (length(traced)) {
	md <- c(md, "## What the destination did until the first heartbeat (traced variants, medians)", "",
		"| variant | runs | first TB after RESUME (ms) | TBs translated until the guest sent | of them user space | µs between translations | translating (ms) | TBs while in flight | last kick -> arrival (ms) | page requests | waiting for pages (ms) | TBs in the first second |",
		"| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for (v in traced) {
		d <- by(v)
		d <- d[!is.na(d$tb_until_sent), ]
		md <- c(md, sprintf("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", v, nrow(d), med(d$first_tb_ms),
				    med(d$tb_until_sent, 0), med(d$user_tb_until_sent, 0), med(d$tb_gap_median_us, 0),
				    med(d$translating_ms),
				    med(d$tb_sent_to_arrival, 0), med(d$kick_to_arrival_ms, 2), med(d$page_requests, 0),
				    med(d$page_wait_ms), med(d$tb_first_second, 0)))
	}
	md <- c(md, "",
		"A TB is a block of guest code QEMU translated: the destination starts with an empty",
		"translation cache, so each block the guest runs after RESUME is translated once first.",
		"`runs` leaves out runs whose first heartbeat after RESUME was stamped before it (sent",
		"before STOP, left in the virtqueue, passed on by the destination: `sent` 0 above).",
		"`translating` is TBs x the median time between two translations, a rough share of",
		"the time spent translating rather than running what was translated.",
		"User-space TBs are those below the kernel's 0xffff... addresses (the agent). The last",
		"kick is the guest's last virtio-serial notify before the heartbeat arrived: from there",
		"to migbench's arrival stamp is QEMU's and migbench's share of the delivery. Waiting",
		"for pages: the time until the guest sent during which a post-copy page request of",
		"the destination was outstanding (requested, not yet placed).", "")
}

# The experiments: does raising the cost of a translation move the gap?
tests <- list(c("precopy", "precopy-trace"), c("precopy-trace", "precopy-inasm"),
	      c("precopy-trace", "precopy-disas"), c("postcopy", "postcopy-trace"),
	      c("postcopy-trace", "postcopy-disas"), c("postcopy-trace", "postcopy-preempt"))
lines <- character()
for (p in tests) {
	if (!all(p %in% variants)) next
	a <- by(p[1])$after_resume_ms; b <- by(p[2])$after_resume_ms
	a <- a[!is.na(a)]; b <- b[!is.na(b)]
	if (length(a) < 2 || length(b) < 2) next
	w <- suppressWarnings(wilcox.test(b, a, exact = FALSE))
	# What the translations alone predict: the TBs the guest needed until it
	# sent, times the change in the time between translations.
	pred <- "-"
	if (all(p %in% traced)) {
		da <- by(p[1]); db <- by(p[2])
		pred <- sprintf("%+.1f", median(db$translating_ms, na.rm = TRUE) - median(da$translating_ms, na.rm = TRUE))
	}
	lines <- c(lines, sprintf("| %s -> %s | %s -> %s | %+.1f | %s | %.3g |", p[1], p[2], med(a), med(b),
				  median(b) - median(a), pred, w$p.value))
}
if (length(lines))
	md <- c(md, "## The experiments: RESUME -> first heartbeat (ms, medians)", "",
		"| change | median | difference | predicted by the translations | Mann-Whitney p |",
		"| --- | --- | --- | --- | --- |", lines, "",
		"Predicted: the change of `translating` (TBs until the guest sent x the median time",
		"between two translations; both variants traced).", "")
writeLines(md, file.path(out_dir, "guest-gap.md"))
cat(md, sep = "\n")
