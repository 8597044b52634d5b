"""The cluster's day-ahead MILP: one builder per component, solved by HiGHS."""
