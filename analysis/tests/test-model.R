MiB <- 2^20

test_that("closed form on known inputs (by hand)", {
	# V = 1024 MiB, R = 128 MiB/s, D = 32 MiB/s: lambda = 1/4; threshold
	# R x 300 ms = 38.4 MiB. Rounds 1024, 256, 64, 16 -> n = 3.
	m <- mb_model_closed(V = 1024 * MiB, D = 32 * MiB, R = 128 * MiB, T_s = 0.3)
	expect_true(m$converges)
	expect_equal(m$lambda, 0.25)
	expect_equal(m$n, 3)
	expect_equal(m$rounds, 4)
	expect_equal(m$bytes, (1024 + 256 + 64 + 16) * MiB)           # V (1 - l^4) / (1 - l) = 1360 MiB
	expect_equal(m$time_s, 1360 / 128)                            # 10.625 s
	expect_equal(m$downtime_s, 16 / 128)                          # 125 ms
	expect_equal(mb_model_closed(1024 * MiB, 32 * MiB, 128 * MiB, 0.3, resume_s = 0.01)$downtime_s, 0.135)
	# the round-by-round model without a working-set bound is the closed form
	it <- mb_model_precopy(V = 1024 * MiB, D = 32 * MiB, R = 128 * MiB, T_s = 0.3)
	expect_equal(it[c("n", "bytes", "time_s", "downtime_s")], m[c("n", "bytes", "time_s", "downtime_s")])
	# V under the threshold: stop at once, downtime V / R
	s <- mb_model_closed(V = 16 * MiB, D = 32 * MiB, R = 128 * MiB, T_s = 0.3)
	expect_equal(c(s$n, s$time_s, s$downtime_s), c(0, 0.125, 0.125))
})

test_that("working-set bound and non-convergence (by hand)", {
	# W = 100 MiB caps round 1: 1024, 100, 25 -> n = 2, 1149 MiB, downtime 25/128 s
	w <- mb_model_precopy(V = 1024 * MiB, D = 32 * MiB, R = 128 * MiB, T_s = 0.3, W = 100 * MiB)
	expect_equal(w$n, 2)
	expect_equal(w$bytes, 1149 * MiB)
	expect_equal(w$time_s, 1149 / 128)
	expect_equal(w$downtime_s, 25 / 128)
	# D > R: never converges ...
	nc <- mb_model_precopy(V = 1024 * MiB, D = 256 * MiB, R = 128 * MiB, T_s = 0.3)
	expect_false(nc$converges)
	expect_true(is.na(nc$time_s))
	expect_false(mb_model_closed(V = 1024 * MiB, D = 256 * MiB, R = 128 * MiB, T_s = 0.3)$converges)
	# ... unless the working set fits the threshold: 1024, then 32 <= 38.4
	wc <- mb_model_precopy(V = 1024 * MiB, D = 256 * MiB, R = 128 * MiB, T_s = 0.3, W = 32 * MiB)
	expect_true(wc$converges)
	expect_equal(c(wc$n, wc$downtime_s), c(1, 0.25))
	# a working set above the threshold with lambda >= 1: no convergence
	expect_false(mb_model_precopy(1024 * MiB, 256 * MiB, 128 * MiB, 0.3, W = 64 * MiB)$converges)
})

test_that("a run's measured inputs give the classic model's hand-computed prediction", {
	# hand-model: V = 256 MiB, R = 64 MiB/s, guest D = 4096 pages/s = 16 MiB/s
	# (lambda 1/4), QEMU D = 2048 pages/s = 8 MiB/s (lambda 1/8), T = 300 ms
	# (threshold 19.2 MiB), W = 32 MiB. Measured 5000 ms, 300 MiB, 100 ms.
	df <- mb_read_campaign(fixture("hand-model"))
	mod <- mb_model_campaign(df)
	expect_equal(nrow(mod), 2)
	g <- mod[mod$D_source == "guest", ]
	expect_equal(g$V, 256 * MiB)
	expect_equal(g$R, 64 * MiB)   # no samples: ram.mbps
	expect_equal(g$D, 16 * MiB)
	expect_equal(g$W, 32 * MiB)
	# classic, guest: 256, min(64, 32) = 32, 8 -> 296 MiB, 4.625 s, 125 ms
	expect_equal(g$c_bytes, 296 * MiB)
	expect_equal(g$c_time_s, 4.625)
	expect_equal(g$c_downtime_s, 0.125)
	expect_equal(g$c_err_time_pct, 100 * (4.625 - 5) / 5)           # -7.5 %
	expect_equal(g$c_err_bytes_pct, 100 * (296 - 300) / 300)        # -1.33 %
	expect_equal(g$c_err_downtime_pct, 100 * (0.125 - 0.1) / 0.1)   # +25 %
	expect_equal(g$m_syncs, 4)
	# classic, QEMU's rate: 256, min(32, 32) = 32, 4 -> 292 MiB, 4.5625 s, 62.5 ms
	q <- mod[mod$D_source == "qemu", ]
	expect_equal(q$D, 8 * MiB)
	expect_equal(q$c_bytes, 292 * MiB)
	expect_equal(q$c_time_s, 4.5625)
	expect_equal(q$c_downtime_s, 0.0625)
	# one run: no other run to draw the stop-and-copy line through
	expect_true(all(is.na(mod$p_downtime_s)))
})

test_that("unique pages per pattern (by hand)", {
	W <- 1000
	expect_equal(mb_unique_pages(400, W, "sequential"), 400)
	expect_equal(mb_unique_pages(4000, W, "sequential"), 1000)
	expect_equal(mb_unique_pages(1000, W, "random"), 1000 * (1 - exp(-1)))
	# hot 200 pages take 800 of 1000 writes, cold 800 pages the other 200
	expect_equal(mb_unique_pages(1000, W, "hotcold"), 200 * (1 - exp(-4)) + 800 * (1 - exp(-0.25)))
	expect_equal(mb_unique_pages(1e9, W, "hotcold"), W)
	expect_equal(mb_unique_pages(5, Inf, "random"), 5)
	# the same writes hit fewer unique pages out of order
	expect_true(mb_unique_pages(500, W, "hotcold") < mb_unique_pages(500, W, "random"))
	expect_true(mb_unique_pages(500, W, "random") < mb_unique_pages(500, W, "sequential"))
})

test_that("the hot/cold split is the agent's", {
	src <- readLines(file.path(mb_test_srcdir(), "workloads", "agent", "config.c"))
	def <- function(k) as.numeric(sub(".*= *([0-9.]+),.*", "\\1", grep(sprintf("^\\s*\\.%s = ", k), src, value = TRUE)[1]))
	expect_equal(def("hot"), mb_hotcold[["hot"]])
	expect_equal(def("hotw"), mb_hotcold[["hotw"]])
})

test_that("QEMU's pre-copy loop (by hand)", {
	# Nothing dirtied: 100 MiB at 10 MiB/s in 1 MiB windows; the threshold is
	# 10 MiB/s x 1 s. After 91 windows 9 MiB are left: sync (nothing new),
	# stop. Syncs: set-up, that one, completion = 3. Stop-and-copy line
	# c = 10 ms, 100 MiB/s: 9 MiB in 100 ms.
	m <- mb_model_qemu_loop(V = 100 * MiB, D = 0, R = 10 * MiB, T_s = 1, setup_s = 0.05,
				stop = c(0.01, 100 * MiB))
	expect_true(m$converges)
	expect_equal(m$syncs, 3)
	expect_equal(m$stop_bytes, 9 * MiB)
	expect_equal(m$bytes, 100 * MiB)
	expect_equal(m$downtime_s, 0.1)
	expect_equal(m$time_s, 0.05 + 9.1 + 0.1)
	# Zero pages count in QEMU's remaining until scanned: 300 MiB of RAM of
	# which 100 MiB data, evenly spread; the threshold (10 MiB) is crossed
	# when 10 MiB of pages are left, 1/3 of them data.
	z <- mb_model_qemu_loop(V = 100 * MiB, D = 0, R = 10 * MiB, T_s = 1, ram = 300 * MiB)
	expect_equal(z$stop_bytes, 3 * MiB, tolerance = 1e-6)
	# A working set rewritten faster than it can be sent never converges;
	# within a working set under the threshold it does.
	expect_false(mb_model_qemu_loop(100 * MiB, 20 * MiB, 10 * MiB, 1, W = 40 * MiB, max_syncs = 50)$converges)
	expect_true(mb_model_qemu_loop(100 * MiB, 20 * MiB, 10 * MiB, 1, W = 8 * MiB)$converges)
	# more dirtying, more data and time; random writes cost less than sequential
	f <- function(D, pat = "sequential") mb_model_qemu_loop(100 * MiB, D, 10 * MiB, 0.3, W = 40 * MiB, pattern = pat)
	expect_true(f(2 * MiB)$bytes < f(5 * MiB)$bytes)
	expect_true(f(5 * MiB, "random")$bytes < f(5 * MiB)$bytes)
	expect_true(f(5 * MiB, "hotcold")$bytes < f(5 * MiB, "random")$bytes)
})

test_that("the stop-and-copy line is fitted without the run it predicts", {
	b <- c(10, 20, 30, 40, 50, 60) * MiB
	d <- 0.005 + b / (1000 * MiB)
	d[4] <- 1  # a run slowed by other load: the others' line does not bend to it
	f <- mb_stop_copy_fit(b, d)
	expect_equal(f[1, ], c(0.005, 1000 * MiB), tolerance = 1e-3)
	expect_equal(f[4, ], c(0.005, 1000 * MiB), tolerance = 1e-3)
	expect_true(all(is.na(mb_stop_copy_fit(b[1:2], d[1:2]))))
})

test_that("real pre-copy runs: total time and data within 15 %, non-convergence predicted", {
	mod <- mb_model_campaign(mb_read_campaign(fixture("real-a2")))
	g <- mod[mod$D_source == "guest", ]
	expect_equal(nrow(g), 4)
	expect_true(all(abs(g$err_time_pct) < 15))
	expect_true(all(abs(g$err_bytes_pct) < 15))
	dnc <- mb_model_campaign(mb_read_campaign(fixture("real-dnc")))
	gd <- dnc[dnc$D_source == "guest", ]
	expect_equal(gd$converges, c(FALSE, FALSE))
	expect_true(all(dnc$agrees))
	# post-copy runs are not modelled
	sw <- mb_model_campaign(mb_read_campaign(fixture("real-sweep")))
	expect_false(any(grepl("postcopy", sw$scenario)))
})
