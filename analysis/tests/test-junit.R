# compare's JUnit XML (mb_compare_junit) and its atomic writer. R has no XML
# parser here (xml2 is not installed), so the structure is read back with
# xmllint (libxml2-utils) where it exists: the schema in junit-ci.xsd, the
# counts, and attribute values through XPath.

xmllint <- Sys.which("xmllint")
schema <- testthat::test_path("junit-ci.xsd")

# The XML of a comparison, written to a file the way compare writes it.
junit_file <- function(cmp, ...) {
	f <- tempfile(fileext = ".xml")
	mb_write_atomic(f, mb_write_lines(mb_compare_junit(cmp, ...)), "JUnit report")
	f
}

lint <- function(...) suppressWarnings(system2(xmllint, c(...), stdout = TRUE, stderr = TRUE))
lint_status <- function(out) { s <- attr(out, "status"); if (is.null(s)) 0L else s }
xpath <- function(f, expr) paste(lint("--xpath", shQuote(expr), f), collapse = "\n")
validates <- function(f, xsd = schema) {
	out <- lint("--noout", "--schema", xsd, f)
	if (lint_status(out) != 0) message(paste(out, collapse = "\n"))
	lint_status(out) == 0
}

# Counts on the suite element, read with a regular expression so that they
# are checked on hosts without xmllint too.
suite_counts <- function(lines) {
	head <- grep("^<testsuite ", lines, value = TRUE)
	get <- function(k) as.integer(sub(sprintf('.* %s="([0-9]+)".*', k), "\\1", head))
	c(tests = get("tests"), failures = get("failures"), skipped = get("skipped"), errors = get("errors"))
}

test_that("one test case per scenario and metric; a regression is a failure with its numbers", {
	cmp <- mb_compare(fixture("real-a1"), fixture("real-b-64M"))
	x <- mb_compare_junit(cmp)
	res <- cmp$results
	n <- suite_counts(x)
	expect_equal(unname(n), c(nrow(res), sum(res$verdict == "regression"), 0L, 0L))
	expect_equal(length(grep("<testcase ", x)), nrow(res))
	expect_equal(length(grep("<failure ", x)), sum(res$verdict == "regression"))
	tt <- grep('classname="default" name="total_time_ms"', x, value = TRUE)
	expect_length(tt, 1)
	expect_match(tt, '<failure type="regression" message="regression: Total time \\(ms\\): median 1148 -&gt; 2015')
	expect_match(tt, "\\+75\\.4 %.*shift B-A \\[95 % CI\\] 866 \\[395, 998\\].*p = 0\\.029; runs A/B 4/4")
	# what passed has no child; its numbers are in the summary in system-out
	expect_match(grep('name="downtime_ms"', x, value = TRUE), "/>$")
	expect_true(any(grepl("^  <system-out>## migbench compare: real-b-64M vs real-a1", x)))
	expect_true(any(grepl('<property name="exit_status" value="1"/>', x, fixed = TRUE)))
	expect_true(any(grepl('<property name="verdict" value="regression"/>', x, fixed = TRUE)))
})

test_that("inconclusive and not compared are skipped with the reason; A/A has no failure", {
	cmp <- mb_compare(fixture("hand-a3"), fixture("hand-double3"))
	x <- mb_compare_junit(cmp)
	inc <- sum(cmp$results$verdict == "inconclusive")
	expect_gt(inc, 0)
	expect_equal(unname(suite_counts(x)[c("failures", "skipped")]), c(0L, inc))
	tt <- grep('name="total_time_ms"', x, value = TRUE)
	expect_match(tt, '<skipped message="inconclusive: Total time \\(ms\\).*\\+92\\.0 %.*p = 0\\.1; runs A/B 3/3; 3 vs 3 runs cannot reach p &lt; 0\\.05">')
	expect_true(any(grepl('<property name="verdict" value="inconclusive"/>', x, fixed = TRUE)))
	# a scenario in one campaign only is a skipped case of its own
	cmp$only_b <- "new-scenario"
	x <- mb_compare_junit(cmp)
	expect_equal(unname(suite_counts(x)[c("tests", "skipped")]), c(nrow(cmp$results) + 1L, inc + 1L))
	expect_true(any(grepl('classname="new-scenario" name="runs.completed" time="0"><skipped message="only in B (candidate) new-scenario: not compared"/>',
			      x, fixed = TRUE)))
	aa <- mb_compare_junit(mb_compare(fixture("real-a1"), fixture("real-a2")))
	expect_equal(unname(suite_counts(aa)["failures"]), 0L)
	expect_false(any(grepl("<failure", aa)))
})

test_that("names and notes with markup or control characters are escaped", {
	expect_equal(mb_xml_escape("a<b & \"c\">"), "a&lt;b &amp; \"c\"&gt;")
	expect_equal(mb_xml_escape("a<b & \"c\"\n\td", attribute = TRUE), "a&lt;b &amp; &quot;c&quot;&#10;&#9;d")
	expect_equal(mb_xml_escape("bell\a, nul-free\001 ok"), "bell, nul-free ok")
	cmp <- mb_compare(fixture("hand-a"), fixture("hand-slower"))
	odd <- "s<1>&\"x\"\001"
	cmp$results$scenario <- odd
	cmp$results$note[cmp$results$metric == "total_time_ms"] <- "line one\nline <two>"
	x <- mb_compare_junit(cmp, hostname = "")
	expect_match(x[2], 'hostname="localhost"')
	skip_if(!nzchar(xmllint), "xmllint not found (libxml2-utils: sudo bash .ci/setup)")
	f <- junit_file(cmp)
	expect_true(validates(f))
	expect_equal(xpath(f, "string(//testcase[@name='total_time_ms']/@classname)"), "s<1>&\"x\"")
	expect_match(xpath(f, "string(//testcase[@name='total_time_ms']/failure/@message)"), "; line one\nline <two>$")
})

test_that("the XML validates against the CI schema; counts agree with the elements", {
	skip_if(!nzchar(xmllint), "xmllint not found (libxml2-utils: sudo bash .ci/setup)")
	# the external schemas CI systems use (Jenkins' junit-10.xsd, Ant's), when given
	extra <- Filter(nzchar, strsplit(Sys.getenv("MIGBENCH_JUNIT_XSD"), ":", fixed = TRUE)[[1]])
	for (pair in list(c("real-a1", "real-b-64M"), c("hand-a3", "hand-double3"), c("hand-a", "hand-failed"),
			  c("real-a1", "real-a2"), c("real-sweep", "real-sweep"))) {
		f <- junit_file(mb_compare(fixture(pair[1]), fixture(pair[2])))
		expect_true(validates(f), label = paste(pair, collapse = " vs "))
		for (xsd in extra) expect_true(validates(f, xsd), label = paste(basename(xsd), pair[2]))
		for (k in c("tests", "failures", "skipped")) {
			el <- c(tests = "testcase", failures = "testcase/failure", skipped = "testcase/skipped")[[k]]
			expect_equal(xpath(f, sprintf("string(/testsuite/@%s)", k)), xpath(f, sprintf("count(/testsuite/%s)", el)),
				     label = paste(pair[2], k))
		}
	}
	# the schema does reject what CI systems would: a case both failed and skipped
	x <- mb_compare_junit(mb_compare(fixture("hand-a"), fixture("hand-slower")))
	i <- grep("<failure ", x)[1]
	x[i] <- sub("</testcase>$", "<skipped message=\"x\"/></testcase>", x[i])
	bad <- tempfile(fileext = ".xml")
	writeLines(x, bad)
	expect_false(suppressMessages(validates(bad)))
})

test_that("reports are written whole or not at all, and a failure names the file and why", {
	dir <- tempfile("junit")
	dir.create(dir)
	f <- file.path(dir, "report.xml")
	writeLines("old", f)
	expect_error(mb_write_atomic(f, function(tmp) { writeLines("half", tmp); stop("disk full") }, "JUnit report"),
		     sprintf("cannot write the JUnit report '%s': disk full", f), fixed = TRUE, class = "mb_error")
	expect_equal(readLines(f), "old")
	expect_equal(list.files(dir, all.files = TRUE, no.. = TRUE), "report.xml")
	e <- tryCatch(mb_write_atomic(file.path(dir, "no", "r.xml"), mb_write_lines("x"), "JUnit report"),
		      mb_error = function(e) e)
	expect_match(conditionMessage(e), "folder '.*/no' does not exist")
	expect_equal(e$status, mb_exit[["failed"]])
	mb_write_atomic(f, mb_write_lines(c("new", "→")), "JUnit report")
	expect_equal(readLines(f, encoding = "UTF-8"), c("new", "→"))
	expect_equal(list.files(dir, all.files = TRUE, no.. = TRUE), "report.xml")
})
