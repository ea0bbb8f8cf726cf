# Reference values of the competing-risks tests, computed by R's cmprsk, riskRegression
# and pec. Run through scripts/regenerate_r_fixtures.py, which writes the synthetic input
# first:  Rscript scripts/competing_risks_fixtures.R <fixture folder>
# Every number of tests/fixtures/competing_risks/*_{crr,cuminc,score,csc}* comes from the
# calls below; the Python tests only read them.
suppressMessages({
  library(survival); library(prodlim); library(cmprsk)
  library(riskRegression); library(pec); library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "tests/fixtures/competing_risks"

# riskRegression's Melanoma (Andersen et al. 1993): status 1 = death from melanoma,
# 2 = death from other causes, 0 = censored; times in days, with ties.
data(Melanoma, package = "riskRegression")
melanoma <- data.frame(
  time = Melanoma$time, status = Melanoma$status, age = Melanoma$age,
  logthick = Melanoma$logthick, male = as.numeric(Melanoma$sex == "Male"),
  ulcer = as.numeric(Melanoma$ulcer == "present"))
write.csv(melanoma, file.path(out, "melanoma_data.csv"), row.names = FALSE)

datasets <- list(
  melanoma = list(data = melanoma, times = c(500, 1000, 2000, 3000)),
  synthetic = list(data = read.csv(file.path(out, "synthetic_data.csv")),
                   times = c(365, 730, 1461, 2191)))

step_at <- function(x, y, t) sapply(t, function(s) { i <- sum(x <= s); if (i == 0) 0 else y[i] })

for (name in names(datasets)) {
  d <- datasets[[name]]$data
  times <- datasets[[name]]$times
  covariates <- setdiff(names(d), c("time", "status"))
  X <- as.matrix(d[, covariates])
  result <- list(covariates = covariates, times = times)

  # Fine-Gray: cmprsk::crr, both causes, default gtol / maxiter.
  for (cause in 1:2) {
    fit <- crr(d$time, d$status, cov1 = X, failcode = cause, cencode = 0)
    stopifnot(fit$converged)
    result[[paste0("crr_coef_", cause)]] <- unname(fit$coef)
    if (cause == 1) {
      result$crr_uftime <- fit$uftime
      result$crr_bfitj <- fit$bfitj
      pr <- predict(fit, cov1 = X)  # columns: time, then one CIF per patient
      P <- t(apply(pr[, -1, drop = FALSE], 2, function(col) step_at(pr[, 1], col, times)))
      write.csv(P, file.path(out, paste0(name, "_crr_incidence.csv")), row.names = FALSE)
    }
  }

  # Aalen-Johansen: cmprsk::cuminc at every distinct observed time.
  ci <- cuminc(d$time, d$status, cencode = 0)
  grid <- sort(unique(d$time))
  tp <- timepoints(ci, grid)$est
  cif <- data.frame(time = grid, cause1 = as.numeric(tp["1 1", ]), cause2 = as.numeric(tp["1 2", ]))
  write.csv(cif, file.path(out, paste0(name, "_cuminc.csv")), row.names = FALSE)

  # Brier score and AUC of crr's predicted incidence (matrix at `times`), cause 1.
  sc <- Score(list(crr = P), formula = Hist(time, status) ~ 1, data = d, times = times,
              cause = 1, cens.model = "km", metrics = c("auc", "brier"),
              null.model = FALSE, conf.int = FALSE, summary = "ibs")
  result$score_auc <- sc$AUC$score$AUC
  result$score_brier <- sc$Brier$score$Brier
  result$score_ibs <- sc$Brier$score$IBS

  # Wolbers' cause-specific concordance: pec::cindex with the same matrix.
  cidx <- pec::cindex(list(crr = P), formula = Hist(time, status) ~ 1, data = d,
                      eval.times = times, cause = 1, cens.model = "marginal")
  result$pec_cindex <- unname(cidx$AppCindex$crr)

  # Cause-specific Cox models (Breslow ties) and their product-limit incidence.
  form <- as.formula(paste("Hist(time, status) ~", paste(covariates, collapse = " + ")))
  csc <- CSC(form, data = d, cause = 1, ties = "breslow")
  result$csc_coef_1 <- unname(coef(csc$models[[1]]))
  result$csc_coef_2 <- unname(coef(csc$models[[2]]))
  result$csc_incidence_1 <- predictRisk(csc, newdata = d[1:20, ], times = times, cause = 1,
                                        product.limit = TRUE)
  result$csc_incidence_2 <- predictRisk(csc, newdata = d[1:20, ], times = times, cause = 2,
                                        product.limit = TRUE)
  result$versions <- list(R = R.version.string,
                          cmprsk = as.character(packageVersion("cmprsk")),
                          riskRegression = as.character(packageVersion("riskRegression")),
                          pec = as.character(packageVersion("pec")),
                          survival = as.character(packageVersion("survival")))
  writeLines(toJSON(result, digits = NA, auto_unbox = TRUE, pretty = TRUE),
             file.path(out, paste0(name, "_r.json")))
}
