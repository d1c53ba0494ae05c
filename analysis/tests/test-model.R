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

test_that("a run's measured inputs give the hand-computed prediction", {
	# hand-model: V = 256 MiB, R = 64 MiB/s, guest D = 4096 pages/s = 16 MiB/s
	# (lambda 1/4), QEMU D = 2048 pages/s = 8 MiB/s (lambda 1/8), T = 300 ms
	# (threshold 19.2 MiB), W = 32 MiB. Measured 5000 ms, 300 MiB, 100 ms.
	df <- mb_read_campaign(fixture("hand-model"))
	mod <- mb_model_campaign(df)
	expect_equal(nrow(mod), 2)
	g <- mod[mod$D_source == "guest", ]
	expect_equal(g$V, 256 * MiB)
	expect_equal(g$R, 64 * MiB)
	expect_equal(g$D, 16 * MiB)
	expect_equal(g$W, 32 * MiB)
	# guest: 256, min(64, 32) = 32, 8 -> 3 rounds, 296 MiB, 4.625 s, 125 ms
	expect_equal(g$p_rounds, 3)
	expect_equal(g$p_bytes, 296 * MiB)
	expect_equal(g$p_time_s, 4.625)
	expect_equal(g$p_downtime_s, 0.125)
	expect_equal(g$err_time_pct, 100 * (4.625 - 5) / 5)           # -7.5 %
	expect_equal(g$err_bytes_pct, 100 * (296 - 300) / 300)        # -1.33 %
	expect_equal(g$err_downtime_pct, 100 * (0.125 - 0.1) / 0.1)   # +25 %
	expect_equal(g$m_rounds, 3)                                   # dirty-sync-count 4 - 1
	# QEMU's rate: 256, min(32, 32) = 32, 4 -> 292 MiB, 4.5625 s, 62.5 ms
	q <- mod[mod$D_source == "qemu", ]
	expect_equal(q$D, 8 * MiB)
	expect_equal(q$p_bytes, 292 * MiB)
	expect_equal(q$p_time_s, 4.5625)
	expect_equal(q$p_downtime_s, 0.0625)
	expect_true(all(mod$agrees))
})

test_that("real pre-copy runs: total time within 10 %, non-convergence predicted", {
	mod <- mb_model_campaign(mb_read_campaign(fixture("real-a2")))
	g <- mod[mod$D_source == "guest", ]
	expect_equal(nrow(g), 4)
	expect_true(all(abs(g$err_time_pct) < 10))
	expect_true(all(abs(g$err_bytes_pct) < 10))
	dnc <- mb_model_campaign(mb_read_campaign(fixture("real-dnc")))
	gd <- dnc[dnc$D_source == "guest", ]
	expect_equal(gd$converges, c(FALSE, FALSE))
	expect_true(all(dnc$agrees))
	# post-copy runs are not modelled
	sw <- mb_model_campaign(mb_read_campaign(fixture("real-sweep")))
	expect_false(any(grepl("postcopy", sw$scenario)))
})
