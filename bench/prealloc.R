# bench/prealloc.sh's summary: medians per side of the campaign in DIR and
# the destination QEMU's CPU time while the guest was stopped (counters
# probe), into DIR/prealloc.md.
#
#   Rscript bench/prealloc.R DIR
source(file.path("analysis", "migbench.R"))
a <- commandArgs(trailingOnly = TRUE)
df <- mb_read_campaign(a[1])
ok <- df[df$status == "completed", ]
g <- function(col) mb_col(ok, col)
# CPU time of the destination QEMU while the guest was stopped (counters probe)
cpu <- vapply(seq_len(nrow(ok)), function(i) {
	doc <- mb_read_json(file.path(a[1], ok$scenario[i], sprintf("%d.json", ok$repetition[i])))
	v <- doc$counters$destination$process$downtime$`task-clock`
	if (is.numeric(v)) v / 1e6 else NA_real_
}, 0)
ok$dst_down_cpu_ms <- cpu
ok$stop_MiB <- g("pages_transferred.bytes.downtime") / 2^20
ok$stop_MiB_s <- ok$stop_MiB / (g("downtime_ms") / 1000)
m <- function(s, col) mb_fmt(median(ok[[col]][ok$scenario == s], na.rm = TRUE))
cols <- c(downtime_ms = "downtime (ms)", `qemu_reported.downtime` = "QEMU downtime (ms)",
	  preparation_time_ms = "pre-copy (ms)", total_time_ms = "total (ms)",
	  stop_MiB = "stop-and-copy (MiB)", stop_MiB_s = "stop-and-copy (MiB/s)",
	  dst_down_cpu_ms = "destination CPU while stopped (ms)")
cols <- cols[names(cols) %in% names(ok)]
tab <- data.frame(check.names = FALSE, side = c("plain", "prealloc"),
		  runs = vapply(c("plain", "prealloc"), function(s) sprintf("%d/%d", sum(ok$scenario == s), sum(df$scenario == s)), ""))
for (k in names(cols)) tab[[cols[[k]]]] <- c(m("plain", k), m("prealloc", k))
writeLines(c("# Stop-and-copy onto memory the destination never touched", "",
	     "Made by `bash bench/prealloc.sh`: the same pre-copy (256 MiB guest, 8 MiB/s dirtied, 256 MiB/s cap, so that the guest",
	     "stops while the first pass still has pages the destination never received) to a destination as migbench starts it",
	     "(plain) and to one started with -mem-prealloc (prealloc), interleaved; medians of completed runs.", "",
	     mb_markdown_table(tab), "",
	     "Every metric with its CI: [report/report.md](report/report.md)."), file.path(a[1], "prealloc.md"))
cat(readLines(file.path(a[1], "prealloc.md")), sep = "\n")
