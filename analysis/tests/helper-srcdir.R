# The source tree, for tests that read it (the agent's defaults, the
# checked-in reference): tests/analysis-tests.sh runs them on a copy of
# analysis/ and says where the tree is in MIGBENCH_SRCDIR.
mb_test_srcdir <- function() {
	d <- Sys.getenv("MIGBENCH_SRCDIR")
	if (nzchar(d)) return(d)
	normalizePath(file.path(testthat::test_path(), "..", ".."), mustWork = FALSE)
}

# the classic report (its shapes are what test-reference.R checks)
local({
	top <- normalizePath(file.path(testthat::test_path(), ".."))
	sys.source(file.path(top, "classic.R"), envir = globalenv())
})
