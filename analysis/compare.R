# migbench compare: campaign B against campaign A, for CI.
#
#   Rscript analysis/compare.R A B [--threshold 0.05] [--alpha 0.05]
#                              [--metrics LIST] [-o FILE] [--junit FILE] [--pool]
#   (what `migbench compare A B ...` runs)
#
# For each scenario in both campaigns and each metric with a direction
# (times, downtime, pages: higher is worse; throughput ratios, bandwidth:
# lower is worse), over completed runs:
#   - Hodges-Lehmann estimate of the shift B - A with its (1 - alpha) CI and
#     the Mann-Whitney (Wilcoxon rank-sum) two-sided p (wilcox.test);
#   - relative change of the median, (median B - median A) / |median A|.
# Verdict: "regression" when p < alpha and the median moved by more than
# the threshold (and by more than the metric's noise floor, 1 ms for times)
# in the worse direction; "improvement" the same in the better direction;
# "inconclusive" when the comparison cannot tell: so few runs that no p can
# fall below alpha, a worsening beyond the threshold that the test does not
# confirm, or values on one side only; otherwise "no change". Per scenario,
# B not completing a run more often than A is a regression, and so is B
# completing none; any corrupted page in B where A had none is a regression
# outright.
# Prints a Markdown summary, writes it to FILE (default
# B/report/compare-vs-A.md, with a .csv beside it), with --junit the same
# verdicts as JUnit XML for CI systems (mb_compare_junit), and exits with
# mb_compare_status(): 1 when anything regressed, else 4 when anything was
# inconclusive, else 0; 2 on bad input.

if (!exists("mb_read_campaign")) {
	local({
		args <- commandArgs(trailingOnly = FALSE)
		f <- sub("^--file=", "", args[grepl("^--file=", args)])
		dir <- if (length(f)) dirname(normalizePath(f[1])) else "analysis"
		source(file.path(dir, "migbench.R"))
	})
}

# Smallest two-sided p an exact rank-sum test can reach with these sizes.
mb_min_p <- function(na, nb) if (na < 1 || nb < 1) 1 else min(1, 2 / choose(na + nb, na))

# Runs per side (the same on both) from which that p is below alpha.
mb_min_reps <- function(alpha) {
	n <- 1
	while (mb_min_p(n, n) >= alpha) n <- n + 1
	n
}

# One metric: A values a, B values b (completed runs). Returns a one-row
# data frame.
mb_compare_metric <- function(a, b, direction, floor = 0, threshold = 0.05, alpha = 0.05) {
	a <- a[is.finite(a)]; b <- b[is.finite(b)]
	r <- data.frame(n_a = length(a), n_b = length(b), median_a = NA_real_, median_b = NA_real_,
			rel_change = NA_real_, shift = NA_real_, shift_low = NA_real_, shift_high = NA_real_,
			p = NA_real_, verdict = "no data", note = "", stringsAsFactors = FALSE)
	if (!length(a) || !length(b)) {
		# on one side only (B lost a measurement, or A lacked it): a change
		# that cannot be judged, unless the metric never decides anything
		if (length(a) || length(b)) {
			r$note <- sprintf("no values in %s", if (!length(a)) "A" else "B")
			if (!is.na(direction)) r$verdict <- "inconclusive"
		}
		return(r)
	}
	ma <- median(a); mb <- median(b)
	r$median_a <- ma; r$median_b <- mb
	r$rel_change <- if (ma != 0) (mb - ma) / abs(ma) else if (mb == 0) 0 else sign(mb) * Inf
	if (length(unique(c(a, b))) == 1) {
		r$shift <- r$shift_low <- r$shift_high <- 0
		r$p <- 1
	} else {
		wt <- tryCatch(suppressWarnings(wilcox.test(b, a, conf.int = TRUE, conf.level = 1 - alpha)),
			       error = function(e) NULL)
		if (is.null(wt))
			wt <- tryCatch(suppressWarnings(wilcox.test(b, a)), error = function(e) NULL)
		if (!is.null(wt)) {
			r$p <- wt$p.value
			if (!is.null(wt$estimate)) r$shift <- unname(wt$estimate)
			if (!is.null(wt$conf.int)) { r$shift_low <- wt$conf.int[1]; r$shift_high <- wt$conf.int[2] }
		}
	}
	if (!is.finite(r$shift)) r$shift <- mb - ma
	if (is.na(direction)) {
		r$verdict <- "info"
		return(r)
	}
	significant <- is.finite(r$p) && r$p < alpha
	large <- is.finite(r$rel_change) && abs(r$rel_change) > threshold && abs(mb - ma) > floor ||
		is.infinite(r$rel_change) && abs(mb - ma) > floor
	worse <- if (direction == "lower") mb > ma else mb < ma
	r$verdict <- if (significant && large) (if (worse) "regression" else "improvement") else "no change"
	# Not significant is not "no change" when the test could not have said
	# otherwise, or when the medians moved the worse way by more than the
	# threshold: a CI gate must not pass either.
	if (!significant && mb_min_p(length(a), length(b)) >= alpha) {
		r$verdict <- "inconclusive"
		r$note <- sprintf("%d vs %d runs cannot reach p < %g", length(a), length(b), alpha)
	} else if (!significant && large && worse) {
		r$verdict <- "inconclusive"
		r$note <- sprintf("%+.0f %% but p = %.2g, not < %g: more runs needed to tell",
				  100 * r$rel_change, r$p, alpha)
	} else if (significant && !large)
		r$note <- sprintf("significant but within %s", if (abs(mb - ma) <= floor && floor > 0)
			sprintf("the %g noise floor", floor) else sprintf("%g %%", 100 * threshold))
	r
}

# Parameter and host differences between the campaigns, per common scenario.
mb_setting_diffs <- function(A, B, scenarios) {
	out <- character()
	skip <- c("section", "scenario_file", "repetitions")
	for (s in scenarios) {
		ra <- A[A$scenario == s, , drop = FALSE][1, ]
		rb <- B[B$scenario == s, , drop = FALSE][1, ]
		ps <- setdiff(union(mb_param_columns(A), mb_param_columns(B)), skip)
		d <- character()
		for (p in ps) {
			va <- if (p %in% names(ra)) ra[[p]] else NA
			vb <- if (p %in% names(rb)) rb[[p]] else NA
			if (!identical(as.character(va), as.character(vb)))
				d <- c(d, sprintf("%s %s → %s", p, mb_fmt_param(p, va), mb_fmt_param(p, vb)))
		}
		if (length(d)) out <- c(out, sprintf("- `%s`: %s", s, paste(d, collapse = ", ")))
	}
	for (k in c("qemu_version", "accelerator", "tool_version")) {
		va <- paste(sort(unique(na.omit(A[[k]]))), collapse = ", ")
		vb <- paste(sort(unique(na.omit(B[[k]]))), collapse = ", ")
		if (va != vb) out <- c(out, sprintf("- %s: %s → %s", k, if (nzchar(va)) va else "?", if (nzchar(vb)) vb else "?"))
	}
	out
}

# One side of the comparison: a campaign, or with pool every campaign in the
# folder DIR as one. Pooling is for runs made in alternating rounds
# (baseline, candidate, baseline, ...): on a shared or drifting host a
# change of load then falls on both sides alike instead of passing for the
# candidate's doing, as it does when one campaign runs after the other.
mb_compare_side <- function(dir, pool = FALSE) {
	if (!pool) return(mb_read_campaign(dir))
	if (!dir.exists(dir)) mb_fail(sprintf("'%s': no such folder", dir))
	subs <- list.dirs(dir, recursive = FALSE)
	subs <- subs[file.exists(file.path(subs, "campaign.json")) |
		     vapply(subs, function(d) length(mb_result_files(d)) > 0, TRUE)]
	if (!length(subs))
		mb_fail(sprintf("--pool: '%s' holds no campaign folder (none with campaign.json or SCENARIO/REP.json files)", dir))
	parts <- lapply(subs, mb_read_campaign)
	cols <- unique(unlist(lapply(parts, names)))
	df <- do.call(rbind, lapply(parts, function(p) {
		for (k in setdiff(cols, names(p))) p[[k]] <- NA
		p[cols]
	}))
	attr(df, "dir") <- normalizePath(dir)
	attr(df, "pooled") <- length(parts)
	df
}

# The comparison as a long data frame (scenario x metric) plus context.
mb_compare <- function(a_dir, b_dir, threshold = 0.05, alpha = 0.05, metrics = NULL, pool = FALSE) {
	A <- mb_compare_side(a_dir, pool)
	B <- mb_compare_side(b_dir, pool)
	sa <- unique(A$scenario); sb <- unique(B$scenario)
	common <- sa[sa %in% sb]
	if (!length(common))
		mb_fail(sprintf("no scenario in both campaigns (A: %s; B: %s)", paste(sa, collapse = ", "),
				paste(sb, collapse = ", ")))
	if (is.null(metrics)) {
		metrics <- intersect(mb_metric_columns(A), mb_metric_columns(B))
		metrics <- metrics[!is.na(vapply(metrics, function(m) mb_metric_info(m)$direction, ""))]
	} else {
		# A name neither campaign has nor the catalogue knows is a typo,
		# not a metric B lost: a gate judging nothing would pass.
		known <- union(union(names(A), names(B)), mb_metric_catalog()$column)
		bad <- setdiff(metrics, known)
		if (length(bad))
			mb_fail(sprintf("--metrics: %s: no such metric in either campaign (they have: %s)",
					paste(sprintf("'%s'", bad), collapse = ", "),
					paste(union(mb_metric_columns(A), mb_metric_columns(B)), collapse = ", ")))
		# lost guest memory fails a gate whichever metrics it times
		metrics <- union(metrics, intersect("memory_verify.pages_corrupted", union(names(A), names(B))))
	}
	rows <- list()
	add <- function(s, metric, label, r) rows[[length(rows) + 1]] <<- cbind(
		data.frame(scenario = s, metric = metric, label = label, stringsAsFactors = FALSE), r)
	for (s in common) {
		a <- A[A$scenario == s, , drop = FALSE]
		b <- B[B$scenario == s, , drop = FALSE]
		# Share of runs that completed. A run that fails is a defect, not
		# noise around a mean: B failing more often than A is a regression
		# however few runs there are (Fisher's p is shown, not used), and a
		# B that completed nothing never passes, whatever A did.
		ka <- sum(a$status %in% "completed"); kb <- sum(b$status %in% "completed")
		ra <- ka / nrow(a); rb <- kb / nrow(b)
		p <- tryCatch(fisher.test(matrix(c(kb, nrow(b) - kb, ka, nrow(a) - ka), 2))$p.value,
			      error = function(e) NA_real_)
		rel <- if (ra > 0) (rb - ra) / ra else if (rb == 0) 0 else Inf
		v <- if (kb == 0 || rb < ra) "regression" else if (rb > ra) "improvement" else "no change"
		note <- sprintf("%d/%d of B did not complete, %d/%d of A", nrow(b) - kb, nrow(b), nrow(a) - ka, nrow(a))
		if (kb == 0) note <- paste0(note, ": no run of B completed")
		else if (rb < ra) note <- paste0(note, ": B fails more often")
		add(s, "runs.completed", "Runs completed (share)", data.frame(n_a = nrow(a), n_b = nrow(b),
			median_a = ra, median_b = rb, rel_change = rel, shift = rb - ra, shift_low = NA_real_,
			shift_high = NA_real_, p = p, verdict = v, note = note, stringsAsFactors = FALSE))
		ok_a <- a[a$status %in% "completed", , drop = FALSE]
		ok_b <- b[b$status %in% "completed", , drop = FALSE]
		for (m in metrics) {
			info <- mb_metric_info(m)
			va <- if (m %in% names(ok_a)) ok_a[[m]] * info$scale else numeric()
			vb <- if (m %in% names(ok_b)) ok_b[[m]] * info$scale else numeric()
			r <- mb_compare_metric(va, vb, info$direction, info$floor, threshold, alpha)
			# Corruption is a correctness failure, not a statistic: any
			# corrupted page in B (any run) where A had none regresses.
			if (m == "memory_verify.pages_corrupted") {
				ca <- if (m %in% names(a)) sum(a[[m]] > 0, na.rm = TRUE) else 0
				cb <- if (m %in% names(b)) sum(b[[m]] > 0, na.rm = TRUE) else 0
				if (cb > 0 && ca == 0) {
					r$verdict <- "regression"
					r$note <- sprintf("%d run(s) of B lost guest memory", cb)
				}
			}
			add(s, m, mb_metric_header(m), r)
		}
	}
	res <- do.call(rbind, rows)
	# The same bandwidth cap but a different bandwidth achieved: the host
	# itself ran at another speed (load from elsewhere?), which moves the
	# times too. Say so rather than let it pass for the hypervisor's doing.
	warn <- character()
	for (s in common) {
		r <- res[res$scenario == s & res$metric == "qemu_reported.ram.mbps", , drop = FALSE]
		cap_a <- A$max_bandwidth[A$scenario == s][1]; cap_b <- B$max_bandwidth[B$scenario == s][1]
		if (nrow(r) && r$verdict %in% c("regression", "improvement") && identical(cap_a, cap_b))
			warn <- c(warn, sprintf(paste("`%s`: the bandwidth achieved changed by %+.0f %% under the same max_bandwidth:",
				"the host ran at another speed in one campaign (load?); time metrics move with it.",
				"Interleave A and B runs on shared machines."), s, 100 * r$rel_change))
	}
	list(results = res, A = A, B = B, common = common, only_a = setdiff(sa, sb), only_b = setdiff(sb, sa),
	     threshold = threshold, alpha = alpha, diffs = mb_setting_diffs(A, B, common), warnings = warn)
}

# The exit status of a comparison: a regression fails the gate; a
# comparison that could not tell never passes it.
mb_compare_status <- function(cmp) {
	v <- cmp$results$verdict
	if (any(v == "regression")) mb_exit[["failed"]]
	else if (any(v == "inconclusive")) mb_exit[["inconclusive"]]
	else mb_exit[["ok"]]
}

# "shift [low, high]" of one result row, rounded like its medians; "–"
# where there is none (the run-count row's shift is no estimate).
mb_fmt_shift <- function(r) {
	if (r$metric == "runs.completed" || !is.finite(r$shift)) return("–")
	d <- mb_decimals(max(abs(c(r$median_a, r$median_b)), na.rm = TRUE))
	if (is.finite(r$shift_low))
		sprintf("%s [%s, %s]", mb_fmt(r$shift, d), mb_fmt(r$shift_low, d), mb_fmt(r$shift_high, d))
	else mb_fmt(r$shift, d)
}

mb_compare_markdown <- function(cmp) {
	res <- cmp$results
	A <- cmp$A; B <- cmp$B
	da <- attr(A, "dir"); db <- attr(B, "dir")
	nimp <- sum(res$verdict == "improvement")
	plural <- function(n, what) sprintf("%d %s%s", n, what, if (n == 1) "" else "s")
	status <- mb_compare_status(cmp)
	verdict <- if (status == mb_exit[["failed"]]) {
		regs <- res[res$verdict == "regression", , drop = FALSE]
		sprintf("**REGRESSION**: %s worse in %s (%s)", plural(nrow(regs), "metric"),
			plural(length(unique(regs$scenario)), "scenario"),
			paste(sprintf("%s: %s %+.0f %%", regs$scenario, regs$label,
				      100 * ifelse(is.finite(regs$rel_change), regs$rel_change, NA)), collapse = "; "))
	}
	else if (status == mb_exit[["inconclusive"]]) {
		inc <- res[res$verdict == "inconclusive", , drop = FALSE]
		# one reason per scenario when it is the scenario's size, else per metric
		why <- unique(vapply(seq_len(nrow(inc)), function(i) {
			r <- inc[i, ]
			if (mb_min_p(r$n_a, r$n_b) >= cmp$alpha) sprintf("%s: %s", r$scenario, r$note)
			else sprintf("%s: %s (%s)", r$scenario, r$label, r$note)
		}, ""))
		sprintf("**INCONCLUSIVE**: %s cannot be judged (%s); exit status %d, not a pass",
			plural(nrow(inc), "metric"), paste(why, collapse = "; "), status)
	}
	else sprintf("**no regression** (%s)", plural(nimp, "improvement"))
	who <- function(df, d) sprintf("`%s` (%d runs%s, %d completed; %s, QEMU %s, migbench %s)", d, nrow(df),
				       if (is.null(attr(df, "pooled"))) "" else sprintf(" pooled from %d campaigns", attr(df, "pooled")),
				       sum(df$status %in% "completed"),
				       paste(unique(na.omit(df$accelerator)), collapse = "/"),
				       paste(unique(na.omit(df$qemu_version)), collapse = "/"),
				       paste(unique(na.omit(df$tool_version)), collapse = "/"))
	md <- c(sprintf("## migbench compare: %s vs %s", basename(db), basename(da)), "",
		sprintf("Verdict: %s", verdict), "",
		sprintf("- A (baseline): %s", who(A, da)),
		sprintf("- B (candidate): %s", who(B, db)),
		sprintf(paste("- rule: regression when the Mann-Whitney test gives p < %g and the median changed by more than",
			      "%g %% (and the metric's noise floor: 1 ms for times) in the worse direction, or when B does not",
			      "complete a run more often than A (or completes none); inconclusive when the runs are too few",
			      "to reach p < %g, or the median got worse by more than %g %% without p < %g; shift = Hodges-Lehmann",
			      "estimate of B - A with its %g %% CI; completed runs only"), cmp$alpha, 100 * cmp$threshold,
			cmp$alpha, 100 * cmp$threshold, cmp$alpha, 100 * (1 - cmp$alpha)))
	if (length(cmp$only_a)) md <- c(md, sprintf("- only in A (not compared): %s", paste(cmp$only_a, collapse = ", ")))
	if (length(cmp$only_b)) md <- c(md, sprintf("- only in B (not compared): %s", paste(cmp$only_b, collapse = ", ")))
	if (length(cmp$diffs)) md <- c(md, "", "Settings that differ (A → B):", "", cmp$diffs)
	if (length(cmp$warnings)) md <- c(md, "", "Caution:", "", paste("-", cmp$warnings))
	for (s in cmp$common) {
		r <- res[res$scenario == s, , drop = FALSE]
		na <- max(r$n_a[r$metric != "runs.completed"], 0); nb <- max(r$n_b[r$metric != "runs.completed"], 0)
		minp <- mb_min_p(na, nb)
		tab <- data.frame(check.names = FALSE, stringsAsFactors = FALSE,
			Metric = r$label,
			`n A/B` = sprintf("%d/%d", r$n_a, r$n_b),
			`Median A` = ifelse(r$metric == "runs.completed", sprintf("%.0f %%", 100 * r$median_a), mb_fmt(r$median_a)),
			`Median B` = ifelse(r$metric == "runs.completed", sprintf("%.0f %%", 100 * r$median_b), mb_fmt(r$median_b)),
			Change = ifelse(is.finite(r$rel_change), sprintf("%+.1f %%", 100 * r$rel_change),
					ifelse(is.na(r$rel_change), "–", "new")),
			`Shift B-A [CI]` = vapply(seq_len(nrow(r)), function(i) mb_fmt_shift(r[i, ]), ""),
			p = ifelse(is.finite(r$p), trimws(formatC(r$p, format = "g", digits = 2)), "–"),
			Verdict = ifelse(r$verdict %in% c("regression", "improvement"), sprintf("**%s**", r$verdict), r$verdict),
			Note = r$note)
		md <- c(md, "", sprintf("### %s", s), "")
		if (minp >= cmp$alpha)
			md <- c(md, sprintf(paste("> %d vs %d completed runs: the smallest p a rank test can give is %.3g >= alpha %g,",
						  "so every metric is inconclusive; use at least %d repetitions per side (%d for alpha 0.01)."),
					    na, nb, minp, cmp$alpha, mb_min_reps(cmp$alpha), mb_min_reps(0.01)), "")
		md <- c(md, mb_markdown_table(tab, align = c("left", "right", "right", "right", "right", "right", "right", "left", "left")))
	}
	md
}

# ---- JUnit XML -------------------------------------------------------------------

# Text for XML character data or attribute values. XML 1.0 cannot carry most
# control characters even as references, so they are dropped; line breaks
# and tabs in attributes become references, since parsers fold them to
# spaces otherwise.
mb_xml_escape <- function(x, attribute = FALSE) {
	x <- enc2utf8(as.character(x))
	x <- gsub("[\\x{01}-\\x{08}\\x{0B}\\x{0C}\\x{0E}-\\x{1F}]", "", x, perl = TRUE)
	x <- gsub("&", "&amp;", x, fixed = TRUE)
	x <- gsub("<", "&lt;", x, fixed = TRUE)
	x <- gsub(">", "&gt;", x, fixed = TRUE)
	if (attribute) {
		x <- gsub("\"", "&quot;", x, fixed = TRUE)
		x <- gsub("\n", "&#10;", x, fixed = TRUE)
		x <- gsub("\r", "&#13;", x, fixed = TRUE)
		x <- gsub("\t", "&#9;", x, fixed = TRUE)
	}
	x
}

# One line saying what a result row found, for readers who see only that
# line (a CI system's test view): the verdict, both medians and the change,
# the Hodges-Lehmann shift with its CI, p, the run counts and the note.
mb_compare_row_text <- function(r, alpha) {
	fmt_p <- function(p) if (is.finite(p)) trimws(formatC(p, format = "g", digits = 2)) else "–"
	if (r$metric == "runs.completed") {
		what <- sprintf("%.0f %% -> %.0f %% of runs completed, Fisher p = %s", 100 * r$median_a,
				100 * r$median_b, fmt_p(r$p))
	} else {
		change <- if (is.finite(r$rel_change)) sprintf("%+.1f %%", 100 * r$rel_change)
			else if (is.na(r$rel_change)) "–" else "new"
		ci <- if (is.finite(r$shift_low)) sprintf(" [%g %% CI]", 100 * (1 - alpha)) else ""
		what <- sprintf("median %s -> %s (%s), shift B-A%s %s, Mann-Whitney p = %s", mb_fmt(r$median_a),
				mb_fmt(r$median_b), change, ci, mb_fmt_shift(r), fmt_p(r$p))
	}
	s <- sprintf("%s: %s: %s; runs A/B %d/%d", r$verdict, r$label, what, r$n_a, r$n_b)
	if (nzchar(r$note)) paste0(s, "; ", r$note) else s
}

# The comparison as JUnit XML, so that CI systems show each verdict as a
# test: one test case per scenario and metric (classname = scenario, name =
# metric). A regression is a <failure>; a metric that could not be judged
# (inconclusive, no data) is <skipped> with the reason, as it is neither a
# pass nor a failure (exit status 4 keeps the gate from passing on it); so
# is a scenario in one campaign only. The layout satisfies both schemas CI
# systems check against, Jenkins' junit-10.xsd and the stricter Apache Ant
# one: a single <testsuite> root; at most one child per test case, so the
# numbers of the passing cases are in the suite's <system-out>, which holds
# the Markdown summary; <properties>, <system-out> and <system-err> always
# there and in that order; a timestamp without time zone (UTC here). Test
# times are 0: each case judges stored runs, it does not time anything.
mb_compare_junit <- function(cmp, md = mb_compare_markdown(cmp), time = Sys.time(),
			     hostname = Sys.info()[["nodename"]]) {
	res <- cmp$results
	att <- function(x) mb_xml_escape(x, attribute = TRUE)
	txt <- function(x) mb_xml_escape(x)
	case <- function(scenario, name, child = "")
		sprintf("  <testcase classname=\"%s\" name=\"%s\" time=\"0\"%s", att(scenario), att(name),
			if (nzchar(child)) sprintf(">%s</testcase>", child) else "/>")
	judged <- c("no change", "improvement", "regression")
	cases <- vapply(seq_len(nrow(res)), function(i) {
		r <- res[i, ]
		text <- mb_compare_row_text(r, cmp$alpha)
		child <- if (r$verdict == "regression")
			sprintf("<failure type=\"regression\" message=\"%s\">%s</failure>", att(text), txt(text))
		else if (!r$verdict %in% judged)
			sprintf("<skipped message=\"%s\">%s</skipped>", att(text), txt(text))
		else ""
		case(r$scenario, r$metric, child)
	}, "")
	alone <- c(sprintf("only in A (baseline) %s: not compared", cmp$only_a),
		   sprintf("only in B (candidate) %s: not compared", cmp$only_b))
	cases <- c(cases, vapply(seq_along(alone), function(i) {
		s <- c(cmp$only_a, cmp$only_b)[i]
		case(s, "runs.completed", sprintf("<skipped message=\"%s\"/>", att(alone[i])))
	}, ""))
	nfail <- sum(res$verdict == "regression")
	nskip <- sum(!res$verdict %in% judged) + length(alone)
	status <- mb_compare_status(cmp)
	props <- c(baseline = attr(cmp$A, "dir"), candidate = attr(cmp$B, "dir"), threshold = cmp$threshold,
		   alpha = cmp$alpha, exit_status = status,
		   verdict = if (status == mb_exit[["failed"]]) "regression"
			else if (status == mb_exit[["inconclusive"]]) "inconclusive" else "pass")
	host <- if (length(hostname) && nzchar(hostname)) hostname else "localhost"
	c("<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
	  sprintf(paste("<testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"0\"",
			"timestamp=\"%s\" hostname=\"%s\">"),
		  att(sprintf("migbench compare %s vs %s", basename(attr(cmp$B, "dir")), basename(attr(cmp$A, "dir")))),
		  length(cases), nfail, nskip, format(time, "%Y-%m-%dT%H:%M:%S", tz = "UTC"), att(host)),
	  "  <properties>",
	  sprintf("    <property name=\"%s\" value=\"%s\"/>", names(props), att(props)),
	  "  </properties>",
	  cases,
	  sprintf("  <system-out>%s</system-out>", txt(paste(md, collapse = "\n"))),
	  "  <system-err></system-err>",
	  "</testsuite>")
}

# Writes PATH whole or not at all (a temporary file beside it, then a
# rename): a CI step that picks up the report after compare was killed, or
# a reader racing it, finds the previous file or the new one, never half.
# WRITE(tmp) writes the content; WHAT names the file in errors.
mb_write_atomic <- function(path, write, what) {
	dir <- dirname(path)
	if (!dir.exists(dir))
		mb_fail(sprintf("cannot write the %s '%s': folder '%s' does not exist", what, path, dir), mb_exit[["failed"]])
	tmp <- file.path(dir, sprintf(".%s.%d.tmp", basename(path), Sys.getpid()))
	why <- tryCatch({
		write(tmp)
		if (!file.rename(tmp, path)) "rename failed"
		else NULL
	}, error = function(e) conditionMessage(e), warning = function(w) conditionMessage(w))
	if (!is.null(why)) {
		unlink(tmp)
		mb_fail(sprintf("cannot write the %s '%s': %s", what, path, why), mb_exit[["failed"]])
	}
	invisible(path)
}

# Lines as UTF-8 bytes whatever the locale (CI jobs often run under C,
# where writeLines would turn the summary's arrows into <U+2192>).
mb_write_lines <- function(lines) function(tmp) writeLines(enc2utf8(lines), tmp, useBytes = TRUE)

mb_compare_main <- function() {
	a <- mb_parse_args(commandArgs(trailingOnly = TRUE),
			   list(`-o` = "out", `--out` = "out", `--output` = "out", `--threshold` = "threshold",
				`--alpha` = "alpha", `--junit` = "junit", `--pool` = "pool", `--metrics` = "metrics",
				`-h` = "help", `--help` = "help",
				`-q` = "quiet", `--quiet` = "quiet"),
			   flags = c("help", "quiet", "pool"))
	usage <- "compare A B [--threshold 0.05] [--alpha 0.05] [--metrics LIST] [-o FILE] [--junit FILE] [--pool]"
	if (isTRUE(a$opts$help)) {
		cat(sprintf("usage: Rscript compare.R %s\n", sub("^compare ", "", usage)),
		    sprintf("Campaign B against baseline A; exit %d when nothing regressed, %d when something did,\n",
			    mb_exit[["ok"]], mb_exit[["failed"]]),
		    sprintf("%d when the runs are too few to tell (inconclusive), %d on bad input.\n",
			    mb_exit[["inconclusive"]], mb_exit[["usage"]]), sep = "")
		return(0L)
	}
	if (length(a$pos) != 2) mb_fail(paste("usage:", usage))
	thr <- if (!is.null(a$opts$threshold)) mb_num_opt(a$opts$threshold, "threshold", 0, 100) else 0.05
	alpha <- if (!is.null(a$opts$alpha)) mb_num_opt(a$opts$alpha, "alpha", 1e-6, 0.5) else 0.05
	metrics <- if (!is.null(a$opts$metrics)) trimws(strsplit(a$opts$metrics, ",", fixed = TRUE)[[1]])
	if (!is.null(metrics) && !all(nzchar(metrics)))
		mb_fail(sprintf("--metrics: '%s' is not a comma-separated list of metric names", a$opts$metrics))
	cmp <- mb_compare(a$pos[1], a$pos[2], threshold = thr, alpha = alpha, metrics = metrics,
			  pool = isTRUE(a$opts$pool))
	md <- mb_compare_markdown(cmp)
	out <- a$opts$out
	if (is.null(out)) {
		dir <- file.path(attr(cmp$B, "dir"), "report")
		dir.create(dir, recursive = TRUE, showWarnings = FALSE)
		out <- file.path(dir, sprintf("compare-vs-%s.md", basename(attr(cmp$A, "dir"))))
	}
	if (!isTRUE(a$opts$quiet)) cat(md, sep = "\n")
	mb_write_atomic(out, mb_write_lines(md), "Markdown summary")
	mb_write_atomic(sub("(\\.md)?$", ".csv", out),
			function(tmp) write.csv(cmp$results, tmp, row.names = FALSE, na = "", fileEncoding = "UTF-8"),
			"CSV of the comparison")
	message(sprintf("compare: written %s", out))
	if (!is.null(a$opts$junit)) {
		mb_write_atomic(a$opts$junit, mb_write_lines(mb_compare_junit(cmp, md)), "JUnit report")
		message(sprintf("compare: written %s", a$opts$junit))
	}
	mb_compare_status(cmp)
}

if (sys.nframe() == 0L && !interactive()) mb_main("compare", mb_compare_main)
