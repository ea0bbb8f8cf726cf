# Reference values of the calibration and decision-curve tests, computed by R's survival,
# Hmisc, polspline and cmprsk. Run through scripts/regenerate_calibration_fixtures.py:
#   Rscript scripts/calibration_fixtures.R <fixture folder>
# Every number of tests/fixtures/calibration/*_r.json comes from the calls below; the Python
# tests only read them.
suppressMessages({
  library(survival); library(Hmisc); library(polspline); library(cmprsk); library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "tests/fixtures/calibration"

# --- External validation of a Cox model: Rotterdam (development) -> GBSG (validation) ---
# survival's rotterdam (2982 patients) and gbsg (686), recurrence-free survival in days,
# as in McLernon et al. (2023) and Giardiello's public tutorial code.
rott <- survival::rotterdam
rott$rfs <- pmax(rott$recur, rott$death)
rott$time <- ifelse(rott$recur == 1, rott$rtime, rott$dtime)
# deaths after the recurrence-free follow-up ended are censored there
rott$rfs[rott$recur == 0 & rott$death == 1 & rott$dtime > rott$rtime] <- 0
rott$time[rott$recur == 0 & rott$death == 1 & rott$dtime > rott$rtime] <-
  rott$rtime[rott$recur == 0 & rott$death == 1 & rott$dtime > rott$rtime]
dev <- data.frame(time = rott$time, status = rott$rfs, age = rott$age,
                  nodes = pmin(rott$nodes, 9), grade3 = as.numeric(rott$grade == 3),
                  size2050 = as.numeric(rott$size == "20-50"), size50 = as.numeric(rott$size == ">50"),
                  hormon = rott$hormon)
g <- survival::gbsg
val <- data.frame(time = g$rfstime, status = g$status, age = g$age, nodes = pmin(g$nodes, 9),
                  grade3 = as.numeric(g$grade == 3),
                  size2050 = as.numeric(g$size > 20 & g$size <= 50), size50 = as.numeric(g$size > 50),
                  hormon = g$hormon)
model <- coxph(Surv(time, status) ~ age + nodes + grade3 + size2050 + size50 + hormon, data = dev)
covariates <- c("age", "nodes", "grade3", "size2050", "size50", "hormon")
lp <- as.numeric(as.matrix(val[, covariates]) %*% coef(model))  # uncentred linear predictor
bh <- basehaz(model, centered = FALSE)  # H0(t) for covariates 0, at dev's event/censor times
bh <- bh[c(TRUE, diff(bh$hazard) > 0), ]  # keep the jumps
write.csv(cbind(data.frame(time = val$time, status = val$status, lp = lp), val[, covariates]),
          file.path(out, "gbsg_data.csv"), row.names = FALSE)
write.csv(data.frame(time = bh$time, cumhaz = bh$hazard),
          file.path(out, "rotterdam_baseline.csv"), row.names = FALSE)

step_at <- function(x, y, t) sapply(t, function(s) { i <- sum(x <= s); if (i == 0) 0 else y[i] })
horizons <- c(1095, 1826)
tight <- coxph.control(eps = 1e-11, toler.chol = 1e-13, iter.max = 100)
result <- list(horizons = horizons, covariates = covariates, coef = unname(coef(model)))
for (h in seq_along(horizons)) {
  t0 <- horizons[h]
  surv <- exp(-step_at(bh$time, bh$hazard, t0) * exp(lp))
  risk <- 1 - surv
  cll <- log(-log(surv))
  ev <- ifelse(val$time <= t0, val$status, 0)
  tt <- pmin(val$time, t0)
  km <- survfit(Surv(time, status) ~ 1, data = val)
  observed <- 1 - summary(km, times = t0)$surv
  # calibration slope: Cox (Efron) of the outcome censored at t0 on cll(predicted risk)
  slope <- unname(coef(coxph(Surv(tt, ev) ~ cll, ties = "efron", control = tight)))
  # smoothed calibration curve (Austin, Harrell & van Klaveren 2020, restricted cubic spline
  # variant): Cox (Efron) on a 3-knot rcs of cll, observed risk from survfit at t0
  basis <- rcspline.eval(cll, nk = 3, inclx = TRUE)
  knots <- attr(basis, "knots")
  d <- data.frame(tt = tt, ev = ev, b1 = basis[, 1], b2 = basis[, 2])
  fit <- coxph(Surv(tt, ev) ~ b1 + b2, data = d, ties = "efron", control = tight)
  smoothed <- 1 - as.numeric(summary(survfit(fit, newdata = d), times = t0, extend = TRUE)$surv)
  err <- abs(risk - smoothed)
  # Austin et al.'s published code: polspline::hare on the whole follow-up
  hfit <- hare(data = val$time, delta = val$status, cov = as.matrix(cll))
  hare_obs <- phare(t0, cll, hfit)
  hare_err <- abs(risk - hare_obs)
  key <- paste0("t", t0)
  result[[key]] <- list(
    observed_km = observed, expected = mean(risk), slope = slope, knots = unname(knots),
    rcs_coef = unname(coef(fit)), smoothed = smoothed,
    ici = mean(err), e50 = unname(median(err)), e90 = unname(quantile(err, 0.9)),
    hare_ici = mean(hare_err), hare_e50 = unname(median(hare_err)),
    hare_e90 = unname(quantile(hare_err, 0.9)))
}

# --- Competing risks: Fine-Gray on Melanoma, net benefit and observed incidence by cuminc ---
data(Melanoma, package = "riskRegression")
mel <- data.frame(time = Melanoma$time, status = Melanoma$status, age = Melanoma$age,
                  logthick = Melanoma$logthick, ulcer = as.numeric(Melanoma$ulcer == "present"))
fg <- crr(mel$time, mel$status, cov1 = as.matrix(mel[, c("age", "logthick", "ulcer")]),
          failcode = 1, cencode = 0)
t0 <- 1826
pr <- predict(fg, cov1 = as.matrix(mel[, c("age", "logthick", "ulcer")]))
mel$risk <- as.numeric(apply(pr[, -1, drop = FALSE], 2, function(col) step_at(pr[, 1], col, t0)))
write.csv(mel, file.path(out, "melanoma_data.csv"), row.names = FALSE)
cif_at <- function(time, status, cause) {
  ci <- cuminc(time, status, cencode = 0)
  name <- paste("1", cause)
  if (!(name %in% names(ci))) return(0)
  as.numeric(timepoints(ci, t0)$est[name, ])
}
thresholds <- seq(0, 0.55, by = 0.05)
nb <- sapply(thresholds, function(p) {
  pos <- mel$risk >= p
  if (!any(pos)) return(0)
  f <- cif_at(mel$time[pos], mel$status[pos], 1)
  f * mean(pos) - (1 - f) * mean(pos) * p / (1 - p)
})
f_all <- cif_at(mel$time, mel$status, 1)
result$melanoma <- list(horizon = t0, thresholds = thresholds, net_benefit = nb,
                        net_benefit_all = f_all - (1 - f_all) * thresholds / (1 - thresholds),
                        observed_cif = f_all, observed_cif_2 = cif_at(mel$time, mel$status, 2))
# --- Coefficient tables: coxph's model-based standard errors on real data ---
tables <- list()
form <- as.formula(paste("Surv(time, status) ~", paste(covariates, collapse = " + ")))
for (ties in c("breslow", "efron")) {
  fit <- coxph(form, data = val, ties = ties, control = tight)
  tables[[paste0("gbsg_", ties)]] <- list(coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))))
}
# ridge penalty theta/2 * sum(beta^2), as scikit-survival's alpha (not rescaled)
ridge_form <- as.formula(paste("Surv(time, status) ~ ridge(", paste(covariates, collapse = ", "),
                               ", theta = 1, scale = FALSE)"))
fit <- coxph(ridge_form, data = val, ties = "breslow", control = tight)
tables$gbsg_ridge1 <- list(coef = unname(coef(fit)), se = unname(sqrt(diag(fit$var))))
# cause-specific Cox models of Melanoma (Breslow ties, as CauseSpecificCoxPH's default)
for (cause in 1:2) {
  fit <- coxph(Surv(time, status == cause) ~ age + logthick + ulcer, data = mel, ties = "breslow",
               control = tight)
  tables[[paste0("melanoma_csc_", cause)]] <- list(coef = unname(coef(fit)),
                                                  se = unname(sqrt(diag(vcov(fit)))))
}
# Fine-Gray on Melanoma: crr's robust variance, run to a tight gradient tolerance
for (cause in 1:2) {
  fit <- crr(mel$time, mel$status, cov1 = as.matrix(mel[, c("age", "logthick", "ulcer")]),
             failcode = cause, cencode = 0, gtol = 1e-12, maxiter = 100)
  stopifnot(fit$converged)
  tables[[paste0("melanoma_crr_", cause)]] <- list(coef = unname(fit$coef),
                                                  se = unname(sqrt(diag(fit$var))))
}
# and on the competing-risks tests' synthetic cohort (400 patients, many tied days; its
# input is stored by scripts/regenerate_r_fixtures.py)
syn <- read.csv("tests/fixtures/competing_risks/synthetic_data.csv")
for (cause in 1:2) {
  fit <- crr(syn$time, syn$status, cov1 = as.matrix(syn[, c("age10", "logsize", "grade_high", "mets")]),
             failcode = cause, cencode = 0, gtol = 1e-12, maxiter = 100)
  stopifnot(fit$converged)
  tables[[paste0("synthetic_crr_", cause)]] <- list(coef = unname(fit$coef),
                                                   se = unname(sqrt(diag(fit$var))))
}
tables$covariates <- covariates
writeLines(toJSON(tables, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(out, "coef_r.json"))

result$versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                        Hmisc = as.character(packageVersion("Hmisc")),
                        polspline = as.character(packageVersion("polspline")),
                        cmprsk = as.character(packageVersion("cmprsk")))
writeLines(toJSON(result, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(out, "reference_r.json"))
