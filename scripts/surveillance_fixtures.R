#!/usr/bin/env Rscript
# The reference numbers medlake's surveillance algorithms are tested against, computed by R's
# own packages: surveillance (earsC, farringtonFlexible, glrnb) and EpiEstim (estimate_R).
#
#   apt-get install -y r-cran-surveillance r-cran-epiestim     # Debian / Ubuntu
#   Rscript scripts/surveillance_fixtures.R [REFERENCE_DIR]     # from the repository root
#
# REFERENCE_DIR (default ../shared/reference) holds surveillance/salmonella.agona.txt and
# surveillance/salmNewport.csv. Writes tests/surveil/fixtures/: one CSV per case (date, count,
# expected, upperbound, alarm as the package returns them), cases.csv (which data set, method
# and options each file is, in medlake's option names), the Flu2009 incidence from EpiEstim and
# estimate_R's results on it, and versions.txt (the R and package versions used).

suppressPackageStartupMessages({
  library(surveillance)
  library(EpiEstim)
})

args <- commandArgs(trailingOnly = TRUE)
reference <- if (length(args) >= 1) args[1] else file.path("..", "shared", "reference")
out <- file.path("tests", "surveil", "fixtures")
dir.create(out, showWarnings = FALSE, recursive = TRUE)

write <- function(frame, name) {
  write.csv(frame, file.path(out, name), row.names = FALSE, quote = FALSE, na = "")
}
num <- function(x) ifelse(is.na(x), NA, trimws(formatC(as.numeric(x), digits = 15, format = "g")))  # full precision as text
flag <- function(x) ifelse(is.na(x), "", ifelse(x, "true", "false"))

# --- the data sets, as medlake reads them (date = Monday starting the week, count) -------------
agona <- read.table(file.path(reference, "surveillance", "salmonella.agona.txt"), header = TRUE)
newport <- read.csv(file.path(reference, "surveillance", "salmNewport.csv"))
datasets <- list(
  agona = data.frame(date = seq(as.Date("1990-01-01"), by = "7 days", length.out = nrow(agona)),
                     count = agona$observed),
  newport = data.frame(date = as.Date(newport$week_start), count = newport$germany_total)
)

as_sts <- function(d) {
  sts(observed = matrix(d$count, ncol = 1), epoch = as.numeric(d$date), epochAsDate = TRUE,
      frequency = 52)
}

# --- the cases: file, data set, method, medlake options, the R call ----------------------------
cases <- list()
add <- function(name, dataset, method, options, run) {
  d <- datasets[[dataset]]
  res <- run(as_sts(d))
  expected <- if (is.null(res$expected)) rep(NA, length(res$upperbound)) else res$expected
  write(data.frame(date = format(res$date), count = res$count, expected = num(expected),
                   upperbound = num(res$upperbound), alarm = flag(res$alarm)), name)
  cases[[length(cases) + 1]] <<- data.frame(file = name, dataset = dataset, method = method,
                                            options = options)
}
from_sts <- function(res, expected = NULL) {
  list(date = as.Date(epoch(res), origin = "1970-01-01"), count = as.vector(res@observed),
       expected = expected, upperbound = as.vector(res@upperbound), alarm = as.vector(res@alarm))
}
ears_case <- function(ctl) function(s) from_sts(earsC(s, control = ctl))
farrington_case <- function(ctl) function(s) {
  res <- suppressWarnings(farringtonFlexible(s, control = c(ctl, list(glmWarnings = FALSE))))
  from_sts(res, as.vector(res@control$expected))
}
noufaily <- list(b = 5, w = 3, reweight = TRUE, weightsThreshold = 2.58, alpha = 0.05,
                 trend = TRUE, pThresholdTrend = 1, noPeriods = 10, pastWeeksNotIncluded = 26,
                 thresholdMethod = "nbPlugin")
glr_case <- function(ctl) function(s) {
  res <- glrnb(s, control = ctl)
  from_sts(res, as.vector(res@control$mu0))
}

for (dataset in names(datasets)) {
  n <- nrow(datasets[[dataset]])
  for (m in c("C1", "C2", "C3")) {
    add(sprintf("%s_ears_%s.csv", dataset, tolower(m)), dataset, paste0("ears-", tolower(m)), "",
        ears_case(list(method = m)))
  }
  add(sprintf("%s_ears_c1_alpha05_baseline10.csv", dataset), dataset, "ears-c1",
      "alpha=0.05;baseline=10", ears_case(list(method = "C1", alpha = 0.05, baseline = 10)))
  add(sprintf("%s_ears_c3_minsigma05.csv", dataset), dataset, "ears-c3", "min_sigma=0.5",
      ears_case(list(method = "C3", minSigma = 0.5)))
  add(sprintf("%s_farrington.csv", dataset), dataset, "farrington-flexible", "",
      farrington_case(list()))
  add(sprintf("%s_noufaily.csv", dataset), dataset, "noufaily", "",
      farrington_case(noufaily))
  add(sprintf("%s_farrington_b3_notrend.csv", dataset), dataset, "farrington-flexible",
      "b=3;w=2;trend=false", farrington_case(list(b = 3, w = 2, trend = FALSE)))
  add(sprintf("%s_farrington_muan.csv", dataset), dataset, "farrington-flexible",
      "threshold_method=muan;no_periods=4;past_weeks_not_included=8",
      farrington_case(list(thresholdMethod = "muan", noPeriods = 4, pastWeeksNotIncluded = 8)))
  add(sprintf("%s_cusum.csv", dataset), dataset, "cusum", "",
      glr_case(list(range = (2 * 52 + 1):n)))
  add(sprintf("%s_cusum_value.csv", dataset), dataset, "cusum", "ret=value;c_arl=3",
      glr_case(list(range = (2 * 52 + 1):n, ret = "value", c.ARL = 3)))
  if (dataset == "agona") {  # the package's brute-force search: minutes per case, so one data set
    add(sprintf("%s_cusum_cases.csv", dataset), dataset, "cusum", "ret=cases;c_arl=3",
        glr_case(list(range = (2 * 52 + 1):min(n, 2 * 52 + 60), ret = "cases", c.ARL = 3)))
  }
  add(sprintf("%s_cusum_poisson.csv", dataset), dataset, "cusum", "alpha=0;ret=cases",
      glr_case(list(range = (2 * 52 + 1):n, alpha = 0, ret = "cases")))
}
write(do.call(rbind, cases), "cases.csv")

# --- EpiEstim: estimate_R with a parametric serial interval ------------------------------------
data("Flu2009", package = "EpiEstim")
incidence <- Flu2009$incidence
write(data.frame(date = format(incidence$dates), count = incidence$I), "flu2009.csv")
rt_cases <- list()
rt_case <- function(name, mean_si, std_si, window = 7, mean_prior = 5, std_prior = 5) {
  T <- nrow(incidence)
  t_start <- seq(2, T - window + 1)
  config <- make_config(list(mean_si = mean_si, std_si = std_si, t_start = t_start,
                             t_end = t_start + window - 1, mean_prior = mean_prior,
                             std_prior = std_prior))
  res <- suppressWarnings(estimate_R(incidence, method = "parametric_si", config = config))$R
  write(data.frame(t_start = res$t_start, t_end = res$t_end, mean_r = num(res$`Mean(R)`),
                   std_r = num(res$`Std(R)`), q025_r = num(res$`Quantile.0.025(R)`),
                   q975_r = num(res$`Quantile.0.975(R)`)), name)
  rt_cases[[length(rt_cases) + 1]] <<- data.frame(
    file = name, si_mean = mean_si, si_sd = std_si, window = window, mean_prior = mean_prior,
    std_prior = std_prior)
}
rt_case("flu2009_rt.csv", 2.6, 1.5)
rt_case("flu2009_rt_window14.csv", 2.6, 1.5, window = 14)
rt_case("flu2009_rt_prior.csv", 3.4, 2.1, window = 5, mean_prior = 2, std_prior = 1)
write(do.call(rbind, rt_cases), "rt_cases.csv")

writeLines(c(R.version.string,
             paste("surveillance", packageVersion("surveillance")),
             paste("EpiEstim", packageVersion("EpiEstim"))),
           file.path(out, "versions.txt"))
