# Loads the analysis scripts (sourcing them defines functions; their main
# only runs under Rscript) and points at the fixture campaigns.
local({
	top <- normalizePath(file.path(testthat::test_path(), ".."))
	for (f in c("migbench.R", "model.R", "postcopy_faults.R", "evacuation.R", "compare.R", "report.R"))
		sys.source(file.path(top, f), envir = globalenv())
})
fixture <- function(name) normalizePath(testthat::test_path("fixtures", name))
