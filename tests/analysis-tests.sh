#!/bin/sh
# The R analysis's testthat tests (analysis/tests/test-*.R) as TAP for
# automake's driver: one "ok N - file: test" / "not ok N - ..." per
# test_that() block, with the failures' messages as "#" lines. Skips (exit
# 77, "1..0 # SKIP") when Rscript, an R package or migbench is missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tests=${MIGBENCH_ANALYSIS_DIR:-$here/../analysis}/tests
rscript=${MIGBENCH_RSCRIPT:-Rscript}

if ! command -v "$rscript" >/dev/null 2>&1; then
	echo "1..0 # SKIP $rscript not found (install r-base-core: sudo bash .ci/setup)"
	exit 77
fi
missing=$("$rscript" --vanilla -e 'for (p in c("testthat", "jsonlite", "ggplot2", "boot")) if (!requireNamespace(p, quietly = TRUE)) cat(p, "")' 2>/dev/null)
if [ -n "$missing" ]; then
	echo "1..0 # SKIP R packages missing: $missing(r-cran-*: sudo bash .ci/setup)"
	exit 77
fi

# Tests that read the source tree (the agent's defaults, the checked-in
# reference results) find it here: they run on a copy of analysis/.
MIGBENCH_SRCDIR=${MIGBENCH_SRCDIR:-$(cd "$here/.." && pwd)}
export MIGBENCH_SRCDIR

# The analysis reads the scenario keys from migbench (run --list-keys --json).
MIGBENCH_BIN=${MIGBENCH_BIN:-$PWD/migbench}
if [ ! -x "$MIGBENCH_BIN" ]; then
	echo "1..0 # SKIP no migbench binary at $MIGBENCH_BIN (set MIGBENCH_BIN): the analysis reads the scenario keys from it"
	exit 77
fi
export MIGBENCH_BIN

# testthat writes (an empty _snaps/) beside the tests: run a copy, so that a
# read-only source tree (make distcheck) works and stays clean.
work=$(mktemp -d "${TMPDIR:-/tmp}/analysis-tests.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
runner=$work/run-tap.R
mkdir "$work/analysis" &&
	cp "$tests/../"*.R "$work/analysis/" &&
	cp -R "$tests" "$work/analysis/tests" || exit 99
chmod -R u+w "$work/analysis"
tests=$work/analysis/tests
cat >"$runner" <<'RCODE'
suppressPackageStartupMessages(library(testthat))
dir <- commandArgs(trailingOnly = TRUE)[1]
files <- sort(list.files(dir, pattern = "^test-.*\\.R$", full.names = TRUE))
n <- 0L; failed <- 0L
say <- function(...) { cat(..., "\n", sep = ""); flush(stdout()) }
for (f in files) {
	res <- tryCatch(testthat::test_file(f, reporter = testthat::SilentReporter$new(),
					    stop_on_failure = FALSE),
			error = function(e) e)
	if (inherits(res, "error")) {
		n <- n + 1L; failed <- failed + 1L
		say(sprintf("not ok %d - %s: could not run: %s", n, basename(f),
			    gsub("\n", " ", conditionMessage(res))))
		next
	}
	for (t in res) {
		n <- n + 1L
		kinds <- vapply(t$results, function(r) class(r)[1], "")
		bad <- t$results[kinds %in% c("expectation_failure", "expectation_error")]
		name <- sprintf("%s: %s", basename(f), t$test)
		if (length(bad)) {
			failed <- failed + 1L
			say(sprintf("not ok %d - %s", n, name))
			for (b in bad) say(paste0("#   ", strsplit(conditionMessage(b), "\n")[[1]], collapse = "\n"))
		} else if (any(kinds == "expectation_skip")) {
			msg <- conditionMessage(t$results[[which(kinds == "expectation_skip")[1]]])
			say(sprintf("ok %d - %s # SKIP %s", n, name, gsub("\n", " ", msg)))
		} else {
			say(sprintf("ok %d - %s (%d expectations)", n, name, length(t$results)))
		}
	}
}
say(sprintf("1..%d", n))
quit(status = if (failed) 1L else 0L)
RCODE
"$rscript" --vanilla "$runner" "$tests"
